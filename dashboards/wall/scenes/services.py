"""Scene 4: the IT systems as a control room reads them: per system its health (state,
availability, p95, errors) beside its own figures (signatures and certificates, documents and
agencies, sync to the national portal, LGSP connectors, payments, SOC incidents by severity,
the WAN's commune links on a small map, parking per car park), the service centre's queue
(cameras joined with the dossier intake), and a card for each system declared in the settings.

Its sources: ``service_figures() -> {system_id: figures}`` given to ``wall.register`` (the
figures of ``ioc.services.figures.FigureBoard``, flat or as ``ServiceHealth.latest()``'s
``{"figures", "at", "age_s"}``), the camera tiles (their ``queues`` and ``zones``,
dashboards/wall/service_queue.py), and the systems to show (``WallData.systems``: the built-in ten
and the declared ones). Until wired, or when a source fails, the cards read "no data"."""

from __future__ import annotations

import copy
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable

import plotly.graph_objects as go
from dash import dcc, html

from dashboards.i18n import t
from dashboards.wall import province_map as pm
from dashboards.wall.data import WallData
from dashboards.wall.formatting import age_badge, fmt_dec, fmt_int, fmt_rate, is_stale
from dashboards.wall.model import Model, put, slot
from dashboards.wall.service_queue import service_queue
from ioc.reference import geometry
from ioc.services.catalogue import SYSTEMS, SystemSpec

AVAILABILITY_WARN = 0.99  # below this a system is shown degraded
COLUMNS = 5  # cards per row; the WAN card is two rows high (its map)
LOTS = 4  # car parks listed at most
DOWN_NAMED = 3  # communes named under the WAN map; the rest counted
LINK_UP = pm.MapMetric(key="link_up", label_vi="Kết nối", label_en="Link", vmin=0, vmax=1, percent=False,
                       decimals=0)

Fig = dict[str, Any]
Row = tuple[str, str, Callable[[Fig, str], str]]  # (key, i18n label, value text)

TEXT: dict[str, dict[str, str]] = {
    "sv_signatures_today": {"vi": "Lượt ký số hôm nay", "en": "Signatures today"},
    "sv_certs_today": {"vi": "Chứng thư cấp hôm nay", "en": "Certificates issued today"},
    "sv_certs_active": {"vi": "Chứng thư đang hiệu lực", "en": "Certificates active"},
    "sv_docs_sent": {"vi": "Văn bản đi hôm nay", "en": "Documents sent today"},
    "sv_docs_received": {"vi": "Văn bản đến hôm nay", "en": "Documents received today"},
    "sv_signed_share": {"vi": "Tỷ lệ có ký số", "en": "Signed share"},
    "sv_agencies": {"vi": "Cơ quan kết nối", "en": "Agencies connected"},
    "sv_synced_today": {"vi": "Hồ sơ đồng bộ hôm nay", "en": "Dossiers synced today"},
    "sv_synced_ratio": {"vi": "Tỷ lệ đồng bộ thành công", "en": "Synced ratio"},
    "sv_sync_lag": {"vi": "Độ trễ đồng bộ", "en": "Sync lag"},
    "sv_transactions": {"vi": "Giao dịch hôm nay", "en": "Transactions today"},
    "sv_connectors": {"vi": "Kết nối đang lỗi", "en": "Connectors failing"},
    "sv_payments": {"vi": "Giao dịch thanh toán hôm nay", "en": "Payments today"},
    "sv_payment_ok": {"vi": "Tỷ lệ thành công", "en": "Success rate"},
    "sv_payment_value": {"vi": "Giá trị hôm nay", "en": "Value today"},
    "sv_soc_incidents": {"vi": "Sự cố đang mở", "en": "Open incidents"},
    "sv_soc_alerts": {"vi": "Cảnh báo 5 phút", "en": "Alerts, 5 min"},
    "sv_links": {"vi": "Xã kết nối", "en": "Communes linked"},
    "sv_links_down": {"vi": "Mất kết nối", "en": "Down"},
    "sv_none_down": {"vi": "không có", "en": "none"},
    "sv_more": {"vi": "và {n} xã khác", "en": "and {n} more"},
    "sv_queue": {"vi": "Trung tâm Phục vụ hành chính công — hàng chờ", "en": "Public service centre — queue"},
    "sv_waiting": {"vi": "Đang chờ", "en": "Waiting"},
    "sv_wait": {"vi": "Thời gian chờ ước tính", "en": "Estimated wait"},
    "sv_counters": {"vi": "Quầy đang mở", "en": "Counters open"},
    "sv_received": {"vi": "Hồ sơ tiếp nhận hôm nay", "en": "Dossiers received today"},
    "sv_queue_none": {"vi": "chưa có camera hàng chờ", "en": "no queue camera yet"},
    "sv_people": {"vi": "{n} người", "en": "{n} people"},
    "sv_sev": {"vi": "NT {critical} · Cao {high}", "en": "Crit {critical} · High {high}"},
    "sv_sev_low": {"vi": "TB {medium} · Thấp {low}", "en": "Med {medium} · Low {low}"},
}


def tr(key: str, lang: str) -> str:
    return TEXT[key][lang] if key in TEXT else t(key, lang)


# -- formatting ----------------------------------------------------------------------------------

def _n(v: Any, lang: str) -> str:
    return fmt_int(v, lang) if isinstance(v, (int, float)) else "—"


def _of(a: Any, b: Any, lang: str) -> str:
    return f"{_n(a, lang)}/{_n(b, lang)}" if isinstance(b, (int, float)) else "—"


def _rate(v: Any, lang: str, decimals: int = 1) -> str:
    return fmt_rate(v, lang, decimals) if isinstance(v, (int, float)) else "—"


def _duration(seconds: Any, lang: str) -> str:
    if not isinstance(seconds, (int, float)):
        return "—"
    if seconds < 120:
        return f"{fmt_int(seconds, lang)} s"
    return f"{fmt_dec(seconds / 60, 1, lang)} {'phút' if lang == 'vi' else 'min'}"


def _money(vnd: Any, lang: str) -> str:
    if not isinstance(vnd, (int, float)):
        return "—"
    return f"{fmt_dec(vnd / 1e6, 1, lang)} {'triệu đ' if lang == 'vi' else 'M VND'}"


def _severities(counts: Any, key: str, lang: str) -> str:
    counts = counts if isinstance(counts, dict) else {}
    return tr(key, lang).format(**{s: _n(counts.get(s, 0), lang) for s in ("critical", "high", "medium", "low")})


# Each built-in system's figures, beside its health. Found by the figures present, so a scraped
# or pushed system reporting the same metrics reads the same.
ROWS: dict[str, list[Row]] = {
    "chukyso": [("signatures", "sv_signatures_today", lambda f, lang: _n(f.get("signatures_today"), lang)),
                ("certs-today", "sv_certs_today", lambda f, lang: _n(f.get("certificates_issued_today"), lang)),
                ("certs-active", "sv_certs_active", lambda f, lang: _n(f.get("certificates_active"), lang))],
    "lienthong": [("sent", "sv_docs_sent", lambda f, lang: _n(f.get("documents_sent_today"), lang)),
                  ("received", "sv_docs_received", lambda f, lang: _n(f.get("documents_received_today"), lang)),
                  ("signed", "sv_signed_share", lambda f, lang: _rate(f.get("signed_share"), lang)),
                  ("agencies", "sv_agencies",
                   lambda f, lang: _of(f.get("agencies_connected"), f.get("agencies_total"), lang))],
    "dvcqg_sync": [("synced", "sv_synced_today", lambda f, lang: _n(f.get("records_synced_today"), lang)),
                   ("ratio", "sv_synced_ratio", lambda f, lang: _rate(f.get("synced_ratio"), lang, 2)),
                   ("lag", "sv_sync_lag", lambda f, lang: _duration(f.get("sync_lag_s"), lang))],
    "lgsp": [("transactions", "sv_transactions", lambda f, lang: _n(f.get("requests_today"), lang)),
             ("connectors", "sv_connectors",
              lambda f, lang: _of(f.get("connectors_failing"), f.get("connectors_total"), lang))],
    "payment": [("count", "sv_payments", lambda f, lang: _n(f.get("payments_today"), lang)),
                ("success", "sv_payment_ok", lambda f, lang: _rate(f.get("payment_success_rate"), lang, 2)),
                ("value", "sv_payment_value", lambda f, lang: _money(f.get("payments_value_today"), lang))],
    "soc": [("incidents", "sv_soc_incidents", lambda f, lang: _severities(f.get("soc_open"), "sv_sev", lang)),
            ("alerts", "sv_soc_alerts", lambda f, lang: _severities(f.get("soc_alerts"), "sv_sev_low", lang))],
    "wan": [("links", "sv_links", lambda f, lang: _of(f.get("communes_connected"), f.get("communes_total"), lang))],
    "portal": [("requests", "sv_transactions", lambda f, lang: _n(f.get("requests_today"), lang))],
    "motcua": [("requests", "sv_transactions", lambda f, lang: _n(f.get("requests_today"), lang))],
}
QUEUE_ROWS = ("waiting", "wait", "counters", "received")


def figure_age(fig: dict[str, Any], now: datetime) -> float | None:
    if isinstance(fig.get("age_s"), (int, float)):
        return float(fig["age_s"])
    at = fig.get("updated_at") or fig.get("at")
    if isinstance(at, str):
        try:
            stamp = datetime.fromisoformat(at)
        except ValueError:
            return None
        if stamp.tzinfo is not None:
            return (now - stamp).total_seconds()
    return None


def status(fig: dict[str, Any] | None, age_s: float | None, stale_after_s: float) -> str:
    """ok, degraded, down, stale or nodata."""
    if not fig:
        return "nodata"
    if is_stale(age_s, stale_after_s):
        return "stale"
    if fig.get("up") is not None and fig["up"] < 1:
        return "down"
    availability = fig.get("availability")
    if fig.get("communes_down") or (availability is not None and availability < AVAILABILITY_WARN):
        return "degraded"
    return "ok"


def _detail(fig: dict[str, Any], lang: str) -> str:
    parts = []
    if fig.get("latency_p95_s") is not None:
        parts.append(f"p95 {fmt_dec(fig['latency_p95_s'] * 1000, 0, lang)} ms")
    if fig.get("error_rate") is not None:
        parts.append(f"{t('w_errors', lang)} {fmt_rate(fig['error_rate'], lang, 2)}")
    if fig.get("throughput_rps") is not None:
        parts.append(f"{fmt_dec(fig['throughput_rps'], 1, lang)} {t('w_per_s', lang)}")
    return " · ".join(parts)


def flatten(entry: Any) -> dict[str, Any] | None:
    """A system's figures, whether given flat or as ``{"figures", "at", "age_s"}``
    (dashboards.console.alert_state.ServiceHealth.latest)."""
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("figures"), dict):
        return {**entry["figures"], "age_s": entry.get("age_s"), "updated_at": entry.get("at")}
    return entry


def systems_of(d: WallData) -> tuple[SystemSpec, ...]:
    return d.systems or tuple(SYSTEMS.values())


def rows_of(spec: SystemSpec) -> list[Row]:
    """The figure rows of a system's card: its built-in ones, or a declared system's own."""
    if spec.declared:
        return [(f"c{i}", f.metric, _custom(i)) for i, f in enumerate(spec.figures)]
    return ROWS.get(spec.id, [])


def _custom(i: int) -> Callable[[Fig, str], str]:
    def value(fig: Fig, lang: str) -> str:
        custom = fig.get("custom") or []
        return _n(custom[i].get("value"), lang) if i < len(custom) and isinstance(custom[i], dict) else "—"
    return value


def _label(spec: SystemSpec, row: Row, lang: str) -> str:
    if spec.declared:
        figure = spec.figures[int(row[0][1:])]
        return figure.name_vi if lang == "vi" else figure.name_en
    return tr(row[1], lang)


# -- the WAN map ---------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _wan_base(province_code: str, lang: str) -> tuple[go.Figure, int, tuple[geometry.CommunePoint, ...]]:
    """The province's communes as points (no tiles: the project's own outlines), without values."""
    fig = pm.province_map_figure(province_code, metric=LINK_UP, lang=lang, font_size=9)  # type: ignore[arg-type]
    fig.data = tuple(tr_ for tr_ in fig.data if tr_.name not in ("colour bar", "labels"))
    fig.update_layout(margin=dict(l=0, r=0, t=0, b=0), annotations=[])
    index = next(i for i, tr_ in enumerate(fig.data) if tr_.meta and tr_.meta.get("communes_of") == province_code)
    return fig, index, geometry.commune_points(province_code)


def _wan_model(m: Model, d: WallData, fig: Fig | None, lang: str) -> None:
    code = d.directory.province_code
    _, index, points = _wan_base(code, lang)
    down = set(fig.get("communes_down") or []) if fig else set()
    linked = bool(fig and fig.get("communes_total"))
    colours = [pm.value_colour((0.0 if c.code in down else 1.0) if linked else None, LINK_UP) for c in points]
    sizes = [11 if c.code in down else 5 for c in points]  # a commune cut off stands out
    put(m, "sv-wan-map", **{"~colour": {"trace": index, "attr": "marker.color", "values": colours},
                            "~size": {"trace": index, "attr": "marker.size", "values": sizes}})
    names = sorted(d.directory.commune_names.get(c, c) for c in down)
    text = ", ".join(names[:DOWN_NAMED]) if names else tr("sv_none_down", lang)
    if len(names) > DOWN_NAMED:
        text += " " + tr("sv_more", lang).format(n=len(names) - DOWN_NAMED)
    put(m, "sv-wan-down", children=text if linked else "—", className="svc-down bad" if names else "svc-down")


def _queue_model(m: Model, d: WallData, lang: str) -> None:
    q = service_queue(d.cameras, d.units)
    if q is None:
        for key in QUEUE_ROWS:
            put(m, f"sv-queue-{key}", children="—")
        put(m, "sv-queue", className="card svc queue nodata")
        put(m, "sv-queue-note", children=tr("sv_queue_none", lang))
        return
    put(m, "sv-queue", className="card svc queue ok")
    put(m, "sv-queue-waiting", children=tr("sv_people", lang).format(n=_n(q["waiting"], lang)))
    put(m, "sv-queue-wait", children=_duration(q["wait_s"], lang))
    put(m, "sv-queue-counters", children=_of(q["counters_open"], q["counters_total"], lang)
        if q["counters_total"] else "—")
    put(m, "sv-queue-received", children=_n(q["received_today"], lang))
    put(m, "sv-queue-note", children="")


def model(d: WallData, lang: str) -> Model:
    m: Model = {}
    ages = []
    for spec in systems_of(d):
        sid = spec.id
        fig = flatten(d.services.get(sid))
        age = figure_age(fig, d.now) if fig else None
        ages.append(age)
        state = status(fig, age, d.stale_after_s)
        put(m, f"sv-{sid}", className=f"card svc {state}" + (" wan" if sid == "wan" else ""))
        put(m, f"sv-{sid}-state", children=t(f"svc_{state}", lang))
        put(m, f"sv-{sid}-avail", children=fmt_rate(fig.get("availability"), lang, 2) if fig else "—")
        put(m, f"sv-{sid}-detail", children=_detail(fig, lang) if fig else t("no_data", lang))
        text, cls = age_badge(age, d.stale_after_s, lang) if fig else ("", "age")
        put(m, f"sv-{sid}-age", children=text, className=cls)
        for key, _, value in rows_of(spec):
            put(m, f"sv-{sid}-{key}", children=value(fig, lang) if fig else "—")
        if sid == "parking":
            lots = (fig or {}).get("lots") or []
            for i in range(LOTS):
                lot = lots[i] if i < len(lots) and isinstance(lots[i], dict) else None
                put(m, f"sv-parking-lot-{i}-name", children=str(lot.get("name") or lot.get("lot")) if lot else "")
                put(m, f"sv-parking-lot-{i}", children=_lot(lot, lang) if lot else "")
        if sid == "wan":
            _wan_model(m, d, fig, lang)
    _queue_model(m, d, lang)
    known = [a for a in ages if a is not None]
    if not d.services:
        put(m, "sv-age", children=t("services_not_wired", lang) if "services" not in d.problems
            else t("source_failed", lang), className="age stale")
    else:
        text, cls = age_badge(max(known) if known else None, d.stale_after_s, lang)
        put(m, "sv-age", children=text, className=cls)
    return m


def _lot(lot: dict[str, Any], lang: str) -> str:
    occupied, capacity = lot.get("occupied"), lot.get("capacity")
    share = occupied / capacity if isinstance(occupied, (int, float)) and isinstance(capacity, (int, float)) \
        and capacity > 0 else None
    return f"{_of(occupied, capacity, lang)} ({_rate(share, lang, 0)})"


# -- layout --------------------------------------------------------------------------------------

def _figure_rows(m: Model, spec: SystemSpec, lang: str) -> list[Any]:
    out = [html.Div([html.Span(_label(spec, row, lang), className="fig-label"),
                     slot(m, f"sv-{spec.id}-{row[0]}", html.Span, className="fig-value")], className="fig-row")
           for row in rows_of(spec)]
    if spec.id == "parking":
        out += [html.Div([slot(m, f"sv-parking-lot-{i}-name", html.Span, className="fig-label"),
                          slot(m, f"sv-parking-lot-{i}", html.Span, className="fig-value")], className="fig-row")
                for i in range(LOTS)]
    return out


def _card(d: WallData, m: Model, spec: SystemSpec, lang: str) -> Any:
    sid = spec.id
    parts: list[Any] = [
        html.Div([html.Span(spec.name_vi if lang == "vi" else spec.name_en, className="card-title"),
                  slot(m, f"sv-{sid}-age", html.Span)], className="svc-head"),
        html.Div([slot(m, f"sv-{sid}-avail", html.Span, className="card-value"),
                  slot(m, f"sv-{sid}-state", html.Span, className="card-state")], className="svc-health"),
        slot(m, f"sv-{sid}-detail", html.Div, className="card-detail"),
        html.Div(_figure_rows(m, spec, lang), className="fig-list"),
    ]
    if sid == "wan":
        base, _, _ = _wan_base(d.directory.province_code, lang)
        figure = copy.deepcopy(base)
        for spec_ in m["sv-wan-map"].values():
            node = figure.data[spec_["trace"]]
            *parents, leaf = spec_["attr"].split(".")
            for part in parents:
                node = node[part]
            node[leaf] = spec_["values"]
        parts += [dcc.Graph(id="sv-wan-map", figure=figure, className="graph svc-map",
                            config={"displayModeBar": False, "scrollZoom": False, "staticPlot": True}),
                  html.Div([html.Span(tr("sv_links_down", lang) + ": ", className="fig-label"),
                            slot(m, "sv-wan-down", html.Span)], className="fig-row")]
    return slot(m, f"sv-{sid}", html.Div, children=parts)


def _queue_card(m: Model, lang: str) -> Any:
    labels = {"waiting": "sv_waiting", "wait": "sv_wait", "counters": "sv_counters", "received": "sv_received"}
    rows = [html.Div([html.Span(tr(labels[k], lang), className="fig-label"),
                      slot(m, f"sv-queue-{k}", html.Span, className="fig-value")], className="fig-row")
            for k in QUEUE_ROWS]
    return slot(m, "sv-queue", html.Div, children=[
        html.Div(html.Span(tr("sv_queue", lang), className="card-title"), className="svc-head"),
        html.Div(rows, className="fig-list"), slot(m, "sv-queue-note", html.Div, className="card-detail")])


def layout(d: WallData, lang: str, m: Model) -> html.Div:
    systems = systems_of(d)
    cards = [_card(d, m, spec, lang) for spec in systems] + [_queue_card(m, lang)]
    cells = len(cards) + (1 if any(s.id == "wan" for s in systems) else 0)  # the WAN card spans two rows
    rows = -(-cells // COLUMNS)
    return html.Div([html.H2([t("scene_services", lang), " ", slot(m, "sv-age", html.Span)]),
                     html.Div(cards, className="cards services",
                              style={"gridTemplateRows": f"repeat({rows}, minmax(0, 1fr))"})],
                    className="scene scene-services panel")
