"""Security headers of every internal response.

Content-Security-Policy, measured against the wall in Chromium (tests/integration/
test_web_security.py fails on any CSP violation the browser reports):

* ``script-src 'self'`` plus the SHA-256 of Dash's one inline script (``new DashRenderer``,
  from ``Dash.csp_hashes()``); no ``'unsafe-inline'`` and no ``'unsafe-eval'`` for scripts.
* ``style-src 'self' 'unsafe-inline'``: Dash's renderer, dcc and plotly.js apply inline
  styles at run time (24 violations without it; inline styles cannot execute code).
* no ``'unsafe-eval'``: plotly.js (the full bundle Dash ships) draws the wall without it;
  images and fonts only from this server (no ``data:``): add a source here only when a
  browser test shows a violation, and name what needs it.
* no external origin anywhere: the wall works with no internet, and nothing else may load.
* ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY``) for internal pages. A view that
  sets its own Content-Security-Policy (the public embeds, with their allow-list of embedding
  sites) keeps it, and then gets no X-Frame-Options.
"""

from __future__ import annotations

from typing import Sequence

import flask

BASE_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def content_security_policy(script_hashes: Sequence[str] = (), frame_ancestors: str = "'none'") -> str:
    directives = dict(BASE_DIRECTIVES)
    directives["script-src"] = " ".join(["'self'", *script_hashes])
    directives["frame-ancestors"] = frame_ancestors
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def apply_security_headers(response: flask.Response, csp: str, cacheable: bool,
                           public: bool = False) -> flask.Response:
    """Add the headers (keeping a CSP the view set itself); no-store unless ``cacheable``, or
    ``public`` (an open route: the public embeds) with a Cache-Control the view chose."""
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = csp
        headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    # same-origin: our own requests keep a Referer (a CSRF fallback); other sites get none.
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if public and "Cache-Control" in headers and response.status_code in (200, 304):
        pass  # aggregates for anyone: the view's own caching (public, max-age) stands
    elif cacheable:
        response.cache_control.private = True
    else:
        response.headers["Cache-Control"] = "no-store"
    return response
