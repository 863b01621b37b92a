"""Who sent a request: the peer address, or, behind ``trusted_proxy_hops`` reverse proxies
(``web.trusted_proxy_hops``), the address they recorded in X-Forwarded-For. Every per-client
limit of the web process (the sign-in lockout, the public rate limit) asks this one function."""

from __future__ import annotations

from typing import Any


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


def request_client(request: Any, trusted_hops: int) -> str:
    """:func:`client_address` of a Flask request. Several X-Forwarded-For headers count as one
    list, in order (a proxy may add its own line instead of appending to the client's)."""
    forwarded = ", ".join(request.headers.getlist("X-Forwarded-For")) or None
    return client_address(request.remote_addr, forwarded, trusted_hops)
