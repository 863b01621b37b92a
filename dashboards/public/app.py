"""The public surface at ``/public/``: routes, headers, cache and rate limit (see the package doc).

Every response is built here from aggregates only (:mod:`dashboards.public.figures` for the
month widgets, :mod:`dashboards.public.reports` for /public/766); each view sets its own
Content-Security-Policy, which the security layer keeps:

* widgets (all kinds): ``default-src 'none'`` (no script, no fetch: nothing on the page can
  call the server), styles and images from this site, ``frame-ancestors 'self'`` plus the
  allow-list of ``public.frame_ancestors``;
* the index: the same plus its own script and frames from this site, and it is not
  embeddable itself (``frame-ancestors 'none'``);
* /public/766: its own script only (``script-src 'self'``), its GET form, not embeddable;
* /public/tra-cuu: no script, its GET form, not embeddable; /public/766.csv and .json: nothing.

Cache-Control ``public, max-age=public.cache_s`` and an ETag on widgets, pages and open data;
the lookup's answers ``no-store``; errors are ``no-store``. Rate limit per client
(:func:`dashboards.clients.request_client`): ``public.burst`` then ``public.rate_per_minute``
for every request, and for each dossier code looked up also ``public.lookup_burst`` then
``public.lookup_rate_per_minute``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

import flask

from dashboards.auth import Access, Kind, WebSecurity, open_access
from dashboards.clients import request_client
from dashboards.i18n import t
from dashboards.live_state import LiveState
from dashboards.public.cache import TTLCache
from dashboards.public.figures import figure, tally_for
from dashboards.public.params import (
    GROUPS,
    RANKINGS,
    ParamError,
    WidgetQuery,
    current_month,
    parse_data_query,
    parse_item_widget,
    parse_lookup,
    parse_query,
    parse_report_query,
    period_choices,
    trend_months,
)
from dashboards.public.ratelimit import RateLimiter
from dashboards.public.render import WidgetView, index_page, message_page, widget_page
from dashboards.public.reports import Computing, PeriodReport, ReportStore
from dashboards.public.source import FigureSource, MonthFigures
from dashboards.public.texts import tx
from ioc import clock
from ioc.config import PublicSettings
from ioc.kpi.periods import Period, parse_period
from ioc.warehouse.backends import Warehouse

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
STATIC_MAX_AGE_S = 3600
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
INDEX_MONTHS = 13  # the month picker: this month and the twelve before
ROUTES = ("/public/", "/public/widget/<kind>", "/public/widget/<kind>/<item>", "/public/766",
          "/public/766/unit/<code>", "/public/766.csv", "/public/766.json", "/public/tra-cuu",
          "/public/static/<path:filename>", "/public/<path:rest>")
RENDERED_ENTRIES = 256  # rendered pages kept (each up to ~100 KB)
COLD_WAIT_S = 8.0  # a period never computed: a request waits this long for it, then 503 "computing"
COMPUTING_RETRY_S = 5


def utc_now() -> datetime:
    return clock.now()  # the period shown (this month) is the business month


def csp(frame_ancestors: str, page: str) -> str:
    """The policy of a public page; ``page`` is ``widget``, ``index``, ``page`` (/public/766),
    ``lookup`` or ``data`` (module doc)."""
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
    elif page == "page":  # /public/766: its own script (sorting, search), its own form
        directives |= {"script-src": "'self'", "form-action": "'self'"}
    elif page == "lookup":  # /public/tra-cuu: a form, no script
        directives |= {"form-action": "'self'"}
    elif page == "data":  # CSV and JSON: nothing to run or show
        directives = {"default-src": "'none'", "frame-ancestors": frame_ancestors}
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
    warehouse: Callable[[], Warehouse | None] = lambda: None
    levels: Mapping[str, str] = field(default_factory=dict)  # unit code -> province | commune
    figures: TTLCache[MonthFigures] = field(init=False)
    limiter: RateLimiter = field(init=False)
    lookup_limiter: RateLimiter = field(init=False)  # a stricter budget for dossier codes tried
    reports: ReportStore = field(init=False)  # /public/766: the period reports (ioc kpi --from-warehouse)
    rendered: TTLCache[tuple[bytes, str]] = field(init=False)  # (body, etag) per page and report versions
    # The sign-in's own (web.trusted_proxy_hops): one chain of proxies, one idea of the client.
    trusted_proxy_hops: int = field(init=False, default=0)
    cold_wait_s: float | None = field(init=False, default=COLD_WAIT_S)  # None: wait as long as it takes
    _static: dict[str, tuple[bytes, str, str]] = field(init=False, default_factory=dict)
    _items: dict[str, list[tuple[str, str]]] = field(init=False, default_factory=dict)  # the index's widget list

    def __post_init__(self) -> None:
        self.figures = TTLCache(self.settings.cache_s, max_entries=64)
        self.limiter = RateLimiter(self.settings.rate_per_minute, self.settings.burst)
        self.lookup_limiter = RateLimiter(self.settings.lookup_rate_per_minute, self.settings.lookup_burst)
        self.reports = ReportStore(self.warehouse, self.settings.cache_s, self.clock)
        self.rendered = TTLCache(self.settings.cache_s, max_entries=RENDERED_ENTRIES)
        if not self.levels:
            from ioc.commands.kpi_warehouse import command_sources

            self.levels = dict(command_sources().unit_levels)

    # -- wiring ----------------------------------------------------------------------------

    def register(self, server: flask.Flask, security: WebSecurity) -> None:
        """The routes, their (open) access, and the hook that sets their Cache-Control."""
        self.trusted_proxy_hops = security.trusted_proxy_hops
        server.add_url_rule("/public/", "public_index", self.index)
        server.add_url_rule("/public/widget/<kind>", "public_widget", self.widget)
        server.add_url_rule("/public/widget/<kind>/<item>", "public_item_widget", self.item_widget)
        server.add_url_rule("/public/766", "public_766", self.page)
        server.add_url_rule("/public/766/unit/<code>", "public_766_unit", self.page)
        server.add_url_rule("/public/766.csv", "public_766_csv", self.data, defaults={"fmt": "csv"})
        server.add_url_rule("/public/766.json", "public_766_json", self.data, defaults={"fmt": "json"})
        server.add_url_rule("/public/tra-cuu", "public_lookup", self.lookup)
        server.add_url_rule("/public/static/<path:filename>", "public_static", self.static)
        server.add_url_rule("/public/<path:rest>", "public_not_found", self.not_found)
        for rule in ROUTES:
            kind = Kind.static if rule.startswith("/public/static/") else Kind.page
            security.policy.declare(rule, open_access(kind) if kind is Kind.page else Access(None, Kind.static))

    def stop(self) -> None:
        self.reports.stop()

    # -- views -----------------------------------------------------------------------------

    def _client(self) -> str:
        return request_client(flask.request, self.trusted_proxy_hops)

    def _limited(self, limiter: RateLimiter | None = None) -> flask.Response | None:
        client = self._client()
        wait = (limiter or self.limiter).take(client)
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
        if page in ("page", "lookup", "data"):
            return csp("'none'", page)
        return csp(frame_ancestors(self.settings.frame_ancestors), "widget")

    def _args(self) -> tuple[dict[str, str], dict[str, int]]:
        args = flask.request.args
        return args.to_dict(), {name: len(args.getlist(name)) for name in args}

    def _query(self, kind: str) -> WidgetQuery:
        args, repeated = self._args()
        return parse_query(kind, args, self.units, self.clock(), repeated)

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

    def _failed(self, exc: Exception, page: str, period: Period) -> flask.Response:
        """503: being computed (the page reloads itself), or the warehouse cannot be read."""
        if isinstance(exc, Computing):
            lines = [tx("computing", "vi"), tx("computing", "en")]
            refresh = COMPUTING_RETRY_S if page in ("page", "widget") else None
            response = _page(503, message_page("503", lines, refresh_s=refresh), self._csp(page))
            response.headers["Retry-After"] = str(COMPUTING_RETRY_S)
            return response
        log.error("public: the 766 report of %s cannot be computed: %s", period.label, exc)
        return self._unavailable(page)

    def _cacheable(self, response: flask.Response, etag: str | None = None) -> flask.Response:
        response.headers["Cache-Control"] = f"public, max-age={self.settings.cache_s}"
        if etag:
            response.set_etag(etag)
        else:
            response.add_etag()
        response.make_conditional(flask.request)  # 304 when the client's ETag matches (in place)
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
        except Exception:  # the warehouse is down or refused: say so, cache nothing
            log.exception("public: figures of %s cannot be read", query.month)
            return self._unavailable("widget")
        at = figures.as_of or self.clock()
        shown = figure(query.kind, tally_for(figures.per_unit, query.unit), at)
        live = query.month == current_month(self.clock())
        view = WidgetView(query, self.units.get(query.unit, query.unit) if query.unit else self.province_name,
                          shown, figures.as_of, max(30, self.settings.cache_s) if live else None)
        response = _page(200, widget_page(view), self._csp("widget"))
        response.headers["X-Cache"] = "HIT" if hit else "MISS"
        return self._cacheable(response)

    def index(self) -> flask.Response:
        if (limited := self._limited()) is not None:
            return limited
        args, repeated = self._args()
        lang = "en" if args.get("lang") == "en" else "vi"
        items = self._items.get(lang) or self._items.setdefault(lang, self._item_choices(lang))
        item = args.pop("widget", None) or "indicator/2.1"
        try:
            if repeated.pop("widget", 0) > 1:
                raise ParamError("widget", "tham số chỉ được cho một lần", "the parameter may be given only once")
            if item not in dict(items):
                raise ParamError("widget", f"'{item[:40]}' không có (xem danh sách trong biểu mẫu)",
                                 f"'{item[:40]}' does not exist (see the list in the form)")
            query = parse_query("score", args, self.units, self.clock(), repeated)
        except ParamError as error:
            return self._bad(error, "index")
        now = self.clock()
        base = self.settings.base_url.rstrip("/") if self.settings.base_url else flask.request.host_url.rstrip("/")
        key = ("index", query, item, base, current_month(now))
        body, etag, _ = self._rendered(key, lambda: index_page(
            query, self.units, recent_months(now), base, query.query_string(current_month(now)), item=item, items=items))
        return self._cacheable(_page(200, body, self._csp("index")), etag)

    def _item_choices(self, lang: str) -> list[tuple[str, str]]:
        """Every widget of /public/766 for the index's picker: path after /public/widget/, label."""
        from dashboards.public.tables import registry_of
        from dashboards.wall.scenes.scorecard import group_name, indicator_name

        registry = registry_of(parse_period(current_month(self.clock())))
        out = [(f"indicator/{r.id}", f"{r.id}. {indicator_name(r, lang)}") for r in registry.rules]
        out += [(f"group/{g}", tx("item_group", lang, g=g) + ". " + group_name(registry, g, lang)) for g in GROUPS]
        out += [(f"ranking/{r}", tx("w_ranking_title", lang, group=tx(f"ranking_{r}", lang).lower()))
                for r in RANKINGS]
        out += [("trend/total", tx("item_trend", lang, name=tx("w_total_name", lang)))]
        out += [(f"trend/{r.id}", tx("item_trend", lang, name=f"{r.id}. {indicator_name(r, lang)}"))
                for r in registry.rules]
        return out

    # -- /public/766 -------------------------------------------------------------------------

    def _period_reports(self, period: Period, trend: bool) -> tuple[PeriodReport, list[PeriodReport]]:
        """The period's report and (``trend``) the twelve months' up to it, oldest first."""
        months = trend_months(period, self.clock()) if trend else []
        wanted = [period] + [m for m in months if m.label != period.label]
        got = {r.period.label: r for r in self.reports.get_many(wanted, self.cold_wait_s)}
        return got[period.label], [got[m.label] for m in months]

    def _rendered(self, key: tuple[Any, ...], render: Callable[[], str]) -> tuple[bytes, str, bool]:
        """A rendered body (encoded, with its ETag) from the cache, or rendered now and kept:
        a hit costs neither the rendering, nor the encoding, nor the hash."""
        cached = self.rendered.get(key)
        if cached is not None:
            return cached[0], cached[1], True
        body = render().encode("utf-8")
        etag = hashlib.sha1(body).hexdigest()
        self.rendered.put(key, (body, etag))
        return body, etag, False

    def page(self, code: str | None = None) -> flask.Response:
        from dashboards.public.page766 import PageView, report_page

        if (limited := self._limited()) is not None:
            return limited
        now = self.clock()
        args, repeated = self._args()
        try:
            query = parse_report_query(args, self.units, now, repeated, unit_in_path=code)
        except ParamError as error:
            return self._bad(error, "page")
        try:
            report, months = self._period_reports(query.period, trend=True)
        except Exception as exc:  # computing, no warehouse, or it refused: say so, cache nothing
            return self._failed(exc, "page", query.period)
        key = ("page", code is not None, query, report.version, *(m.version for m in months))
        body, etag, hit = self._rendered(key, lambda: report_page(PageView(
            query, report, months, period_choices(now), self.units, self.levels, self.province_name,
            current_month(now))))
        response = _page(200, body, self._csp("page"))
        response.headers["X-Cache"] = "HIT" if hit else "MISS"
        return self._cacheable(response, etag)

    def data(self, fmt: str) -> flask.Response:
        from dashboards.public import tables

        if (limited := self._limited()) is not None:
            return limited
        now = self.clock()
        args, repeated = self._args()
        try:
            query = parse_data_query(args, self.units, now, repeated)
        except ParamError as error:
            return self._bad(error, "data")
        try:
            report, months = self._period_reports(query.period, trend=query.table == "trend")
        except Exception as exc:
            return self._failed(exc, "data", query.period)

        def render() -> str:
            registry = tables.registry_of(query.period)
            scope = query.unit or report.province
            rows = {
                "indicators": lambda: tables.indicator_rows(report.row(query.unit), registry, scope),
                "groups": lambda: tables.group_rows(report.row(query.unit), registry, scope),
                "units": lambda: tables.unit_rows(report, self.units, self.levels),
                "unit-indicators": lambda: tables.unit_indicator_rows(report, registry),
                "trend": lambda: tables.trend_rows(months, query.unit, report.province),
            }[query.table]()
            if fmt == "csv":
                return tables.to_csv(query.table, rows, report)
            return tables.to_json(query.table, rows, report, query.unit)

        key = ("data", fmt, query, report.version, *(m.version for m in months))
        body, etag, hit = self._rendered(key, render)
        mimetype = "text/csv" if fmt == "csv" else "application/json"
        response = flask.Response(body, status=200, mimetype=mimetype)
        response.headers["Content-Security-Policy"] = self._csp("data")
        name = f"766-{query.period.label}-{query.table}" + (f"-{query.unit}" if query.unit else "")
        response.headers["Content-Disposition"] = f'inline; filename="{name}.{fmt}"'
        response.headers["Access-Control-Allow-Origin"] = "*"  # open data: aggregates for anyone
        response.headers["X-Cache"] = "HIT" if hit else "MISS"
        return self._cacheable(response, etag)

    def item_widget(self, kind: str, item: str) -> flask.Response:
        from dashboards.public.tables import registry_of
        from dashboards.public.widgets766 import ItemView, item_widget

        if (limited := self._limited()) is not None:
            return limited
        now = self.clock()
        args, repeated = self._args()
        try:
            ids = registry_of(parse_period(current_month(now))).indicator_ids
            query = parse_item_widget(kind, item, args, self.units, now, ids, repeated)
        except ParamError as error:
            return self._bad(error, "widget")
        try:
            report, months = self._period_reports(query.period, trend=kind == "trend")
        except Exception as exc:
            return self._failed(exc, "widget", query.period)
        # No self-reload here (unlike the month widgets): a delayed meta refresh fails WCAG 2.2.1
        # (axe's meta-refresh); the embedding page's own reload gets figures at most cache_s old.
        key = ("widget", query, report.version, *(m.version for m in months))
        body, etag, hit = self._rendered(key, lambda: item_widget(ItemView(
            query, report, months, self.units, self.levels, self.province_name, None)))
        response = _page(200, body, self._csp("widget"))
        response.headers["X-Cache"] = "HIT" if hit else "MISS"
        return self._cacheable(response, etag)

    # -- /public/tra-cuu -------------------------------------------------------------------

    def lookup(self) -> flask.Response:
        from dashboards.public.lookup import FLOOR_S, look_up, lookup_page
        from ioc.warehouse.queries import dossier_events_of

        if (limited := self._limited()) is not None:
            return limited
        args, repeated = self._args()
        try:
            query = parse_lookup(args, repeated)
        except ParamError as error:
            return self._bad(error, "lookup")
        per_minute = self.settings.lookup_rate_per_minute
        if query.code is None:  # the empty form
            response = _page(200, lookup_page(query, None, self.units, self.province_name, per_minute),
                             self._csp("lookup"))
            return self._cacheable(response)
        if (limited := self._limited(self.lookup_limiter)) is not None:
            return limited
        started = time.perf_counter()
        wh = self.warehouse()
        if wh is None:
            return self._unavailable("lookup")
        try:
            events = dossier_events_of(wh, query.code)
        except Exception:
            log.exception("public: a dossier lookup cannot be read")
            return self._unavailable("lookup")
        answer = look_up(events, query.code, self.clock(), self.units, self.settings.lookup_hidden_procedures)
        body = lookup_page(query, answer, self.units, self.province_name, per_minute)
        # Found, unknown and hidden take the same floor of time, so timing does not tell them apart.
        time.sleep(max(0.0, FLOOR_S - (time.perf_counter() - started)))
        response = _page(200 if answer is not None else 404, body, self._csp("lookup"))
        response.headers["Cache-Control"] = "no-store"  # one person's dossier: never kept by a proxy
        response.headers["X-Robots-Tag"] = "noindex"
        return response

    def static(self, filename: str) -> flask.Response:
        """The stylesheets and scripts of this package, read once (a few KB; no path is
        looked up on disk per request, so nothing outside the folder can be named)."""
        if not self._static:
            for path in STATIC_DIR.iterdir():
                if path.is_file() and path.suffix in STATIC_TYPES:
                    data = path.read_bytes()
                    self._static[path.name] = (data, STATIC_TYPES[path.suffix], hashlib.sha1(data).hexdigest())
        found = self._static.get(filename)
        if found is None:
            return self.not_found(filename)
        data, mimetype, etag = found
        response = flask.Response(data, status=200, mimetype=mimetype)
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_S}"
        response.set_etag(etag)
        response.make_conditional(flask.request)
        return response

    def not_found(self, rest: str) -> flask.Response:
        if (limited := self._limited()) is not None:
            return limited
        return _page(404, message_page("404", [t("not_found", "vi"), t("not_found", "en")]), self._csp("widget"))


def _page(status: int, body: str | bytes, policy: str) -> flask.Response:
    response = flask.Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy
    return response


def mount_public(server: flask.Flask, security: WebSecurity, settings: PublicSettings, state: LiveState,
                 warehouse: Callable[[], Warehouse | None], units: dict[str, str], province_name: str,
                 clock: Callable[[], datetime] = utc_now, levels: Mapping[str, str] | None = None) -> PublicSurface:
    """Add the public surface to the web process's ``server`` (call after ``security.install``)."""
    surface = PublicSurface(settings, FigureSource(state, warehouse), units, province_name, clock, warehouse,
                            dict(levels or {}))
    surface.register(server, security)
    return surface


__all__ = ["PublicSurface", "csp", "mount_public"]
