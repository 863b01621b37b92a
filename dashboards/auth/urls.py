"""Checks on URLs from the request: same-origin for state-changing requests (CSRF) and the
local-only ``?next=`` after sign-in (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def _netloc(scheme: str, host: str, port: int | None) -> str:
    host = host.lower()
    return host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, default port dropped; else None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return f"{parts.scheme}://{_netloc(parts.scheme, parts.hostname, port)}"


def host_of(origin: str) -> str:
    return origin.split("://", 1)[1]


def same_origin(origin: str | None, referer: str | None, host: str,
                trusted: tuple[str, ...] = ()) -> bool:
    """Whether a request with these headers was sent by a page of ``host`` (the Host header).

    The Origin header decides when present (browsers send it on every POST), else the
    Referer; neither (or ``Origin: null``) is refused. The host and port are compared, not
    the scheme, so a TLS-terminating proxy that keeps the Host header works; a proxy that
    rewrites Host needs the public origin in ``trusted``."""
    source = origin if origin and origin != "null" else referer
    if not source:
        return False
    seen = origin_of(source)
    if seen is None:
        return False
    trusted_origins = {o for o in (origin_of(t) for t in trusted) if o}
    if seen in trusted_origins:
        return True
    expected = origin_of(f"http://{host}")
    return expected is not None and host_of(seen) == host_of(expected)


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site (``/wall?x=1``), else ``default``.

    Refused: absolute URLs, scheme-relative ``//host``, backslashes (browsers read ``/\\host``
    as ``//host``), control characters, and the sign-in pages themselves."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if parts.path in ("/login", "/logout"):
        return default
    return target
