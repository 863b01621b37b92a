"""The public surface at ``/public/``: routes, headers, cache and rate limit (see the package doc).

Every response is built here from aggregates only (:mod:`dashboards.public.figures`); each
view sets its own Content-Security-Policy, which the security layer keeps:

* widgets: ``default-src 'none'`` (no script, no fetch: nothing on the page can call the
  server), styles and images from this site, ``frame-ancestors 'self'`` plus the allow-list
  of ``public.frame_ancestors``;
* the index: the same plus its own script and frames from this site, and it is not
  embeddable itself (``frame-ancestors 'none'``).

Cache-Control ``public, max-age=public.cache_s`` on widgets; errors are ``no-store``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import flask

from dashboards.auth import Access, Kind, WebSecurity, open_access
from dashboards.i18n import t
from dashboards.live import LiveState
from dashboards.public.cache import TTLCache
from dashboards.public.figures import figure, tally_for
from dashboards.public.params import ParamError, WidgetQuery, current_month, parse_query
from dashboards.clients import request_client
from dashboards.public.ratelimit import RateLimiter
from dashboards.public.render import WidgetView, index_page, message_page, widget_page
from dashboards.public.source import FigureSource, MonthFigures
from ioc import clock
from ioc.config import PublicSettings
from ioc.warehouse.backends import Warehouse

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
STATIC_MAX_AGE_S = 3600
INDEX_MONTHS = 13  # the month picker: this month and the twelve before
ROUTES = ("/public/", "/public/widget/<kind>", "/public/static/<path:filename>", "/public/<path:rest>")


def utc_now() -> datetime:
    return clock.now()  # the period shown (this month) is the business month


def csp(frame_ancestors: str, page: str) -> str:
    """The policy of a public page; ``page`` is ``widget`` or ``index`` (module doc)."""
    directives = {
        "default-src": "'none'",
        "style-src": "'self'",
        "img-src": "'self'",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": frame_ancestors,
    }
    if page == "index":
        directives |= {"script-src": "'self'", "frame-src": "'self'", "form-action": "'self'"}
    return "; ".join(f"{k} {v}" for k, v in directives.items())


def frame_ancestors(allowed: tuple[str, ...]) -> str:
    return " ".join(["'self'", *allowed])


def recent_months(now: datetime, n: int = INDEX_MONTHS) -> list[str]:
    """This month and the ``n - 1`` before it, newest first (``YYYY-MM``)."""
    year, month = (int(x) for x in current_month(now).split("-"))
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


@dataclass
class PublicSurface:
    settings: PublicSettings
    source: FigureSource
    units: dict[str, str]  # unit code -> display name
    province_name: str
    clock: Callable[[], datetime] = utc_now
    figures: TTLCache[MonthFigures] = field(init=False)
    limiter: RateLimiter = field(init=False)
    # The sign-in's own (web.trusted_proxy_hops): one chain of proxies, one idea of the client.
    trusted_proxy_hops: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.figures = TTLCache(self.settings.cache_s, max_entries=64)
        self.limiter = RateLimiter(self.settings.rate_per_minute, self.settings.burst)

    # -- wiring ----------------------------------------------------------------------------

    def register(self, server: flask.Flask, security: WebSecurity) -> None:
        """The routes, their (open) access, and the hook that sets their Cache-Control."""
        self.trusted_proxy_hops = security.trusted_proxy_hops
        server.add_url_rule("/public/", "public_index", self.index)
        server.add_url_rule("/public/widget/<kind>", "public_widget", self.widget)
        server.add_url_rule("/public/static/<path:filename>", "public_static", self.static)
        server.add_url_rule("/public/<path:rest>", "public_not_found", self.not_found)
        for rule in ROUTES:
            kind = Kind.static if rule.startswith("/public/static/") else Kind.page
            security.policy.declare(rule, open_access(kind) if kind is Kind.page else Access(None, Kind.static))

    # -- views -----------------------------------------------------------------------------

    def _limited(self) -> flask.Response | None:
        request = flask.request
        client = request_client(request, self.trusted_proxy_hops)
        wait = self.limiter.take(client)
        if wait <= 0:
            return None
        seconds = int(wait)
        log.info("public: rate limit for %s (%s s)", client, seconds)
        response = _page(429, message_page("429", [t("too_many_requests", "vi").format(seconds=seconds),
                                                   t("too_many_requests", "en").format(seconds=seconds)]),
                         self._csp("widget"))
        response.headers["Retry-After"] = str(seconds)
        return response

    def _csp(self, page: str) -> str:
        if page == "index":
            return csp("'none'", "index")
        return csp(frame_ancestors(self.settings.frame_ancestors), "widget")

    def _query(self, kind: str) -> WidgetQuery:
        args = flask.request.args
        repeated = {name: len(args.getlist(name)) for name in args}
        return parse_query(kind, args.to_dict(), self.units, self.clock(), repeated)

    def _bad(self, error: ParamError, page: str) -> flask.Response:
        lines = [f"{t('bad_param', 'vi')} '{error.name}': {error.vi}", f"{t('bad_param', 'en')} '{error.name}': {error.en}"]
        return _page(400, message_page(f"400 — {error.name}", lines), self._csp(page))

    def _month(self, month: str) -> tuple[MonthFigures, bool]:
        return self.figures.get_or_compute(month, lambda: self.source.month(month, self.clock()))

    def _unavailable(self, page: str) -> flask.Response:
        response = _page(503, message_page("503", [t("figures_unavailable", "vi"), t("figures_unavailable", "en")]),
                         self._csp(page))
        response.headers["Retry-After"] = "30"
        return response

    def widget(self, kind: str) -> flask.Response:
        if (limited := self._limited()) is not None:
            return limited
        try:
            query = self._query(kind)
        except ParamError as error:
            return self._bad(error, "widget")
        try:
            figures, hit = self._month(query.month)
        except Exception:  # noqa: BLE001 - the warehouse is down or refused: say so, cache nothing
            log.exception("public: figures of %s cannot be read", query.month)
            return self._unavailable("widget")
        at = figures.as_of or self.clock()
        shown = figure(query.kind, tally_for(figures.per_unit, query.unit), at)
        live = query.month == current_month(self.clock())
        view = WidgetView(query, self.units.get(query.unit, query.unit) if query.unit else self.province_name,
                          shown, figures.as_of, max(30, self.settings.cache_s) if live else None)
        response = _page(200, widget_page(view), self._csp("widget"))
        response.headers["X-Cache"] = "HIT" if hit else "MISS"
        response.headers["Cache-Control"] = f"public, max-age={self.settings.cache_s}"
        response.add_etag()
        return response.make_conditional(flask.request)

    def index(self) -> flask.Response:
        if (limited := self._limited()) is not None:
            return limited
        try:
            query = self._query("score")
        except ParamError as error:
            return self._bad(error, "index")
        now = self.clock()
        base = self.settings.base_url.rstrip("/") if self.settings.base_url else flask.request.host_url.rstrip("/")
        body = index_page(query, self.units, recent_months(now), base, query.query_string(current_month(now)))
        response = _page(200, body, self._csp("index"))
        response.headers["Cache-Control"] = f"public, max-age={self.settings.cache_s}"
        return response

    def static(self, filename: str) -> flask.Response:
        response = flask.send_from_directory(STATIC_DIR, filename, max_age=STATIC_MAX_AGE_S)
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_S}"
        return response

    def not_found(self, rest: str) -> flask.Response:
        if (limited := self._limited()) is not None:
            return limited
        return _page(404, message_page("404", [t("not_found", "vi"), t("not_found", "en")]), self._csp("widget"))


def _page(status: int, body: str, policy: str) -> flask.Response:
    response = flask.Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy
    return response


def mount_public(server: flask.Flask, security: WebSecurity, settings: PublicSettings, state: LiveState,
                 warehouse: Callable[[], Warehouse | None], units: dict[str, str], province_name: str,
                 clock: Callable[[], datetime] = utc_now) -> PublicSurface:
    """Add the public surface to the web process's ``server`` (call after ``security.install``)."""
    surface = PublicSurface(settings, FigureSource(state, warehouse), units, province_name, clock)
    surface.register(server, security)
    return surface


__all__ = ["PublicSurface", "csp", "mount_public"]
