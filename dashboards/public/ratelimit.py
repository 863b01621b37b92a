"""Requests per client address: a token bucket (``burst`` at once, then ``per_minute``), in
memory and bounded in addresses. The client is the peer address, or, behind
``trusted_proxy_hops`` reverse proxies, the address they recorded in X-Forwarded-For."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Callable


def client_address(peer: str | None, forwarded_for: str | None, trusted_hops: int) -> str:
    """Who sent the request. Each trusted proxy appends the address it saw, so the client is
    the ``trusted_hops``-th entry from the right; a shorter header (a request that bypassed
    the proxies) falls back to the peer, never to a value the client could choose."""
    peer = peer or "?"
    if trusted_hops <= 0 or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    if len(hops) < trusted_hops:
        return peer
    return hops[-trusted_hops]


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 50_000) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        # Bounded: a flood from many addresses evicts the quietest ones, not our memory.
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one request for ``client``: 0 when allowed, else the whole seconds to wait."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = float(max(1, math.ceil((1.0 - tokens) / self.rate_per_s)))
            self._buckets.move_to_end(client)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait
