"""Requests per client address: a token bucket (``burst`` at once, then ``per_minute``), in
memory and bounded in addresses. The client is :func:`dashboards.clients.client_address`
(the peer, or behind ``web.trusted_proxy_hops`` proxies the address they recorded)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Callable

from dashboards.clients import client_address  # noqa: F401 - its former home; kept importable


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
