"""Scene 4: IT service health, one card per system of the catalogue (ioc/services/catalogue.py).

Its source is a callable ``service_figures() -> {system_id: figures}`` given to ``wall.register``;
figures are those of ``ioc.services.figures.FigureBoard`` (``up``, ``availability``,
``error_rate``, ``latency_p95_s``, ``throughput_rps``, ``communes_down`` ...) plus, for the age,
``age_s`` (seconds since the newest sample) or ``updated_at`` (ISO-8601); or the shape of
``ServiceHealth.latest()``: ``{"figures": {...}, "at", "age_s"}``. Until it is wired, or
when it fails, every card reads "no data"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from dashboards.i18n import t
from dashboards.wall_data import WallData
from dashboards.wall_format import age_badge, fmt_dec, fmt_int, fmt_rate, is_stale
from dashboards.wall_model import Model, put, slot
from ioc.services.catalogue import SYSTEMS

AVAILABILITY_WARN = 0.99  # below this a system is shown degraded


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
    if fig.get("communes_total") is not None:
        parts.append(t("links_up", lang).format(up=fmt_int(fig.get("communes_connected"), lang),
                                                total=fmt_int(fig["communes_total"], lang)))
    if fig.get("throughput_rps") is not None:
        parts.append(f"{fmt_dec(fig['throughput_rps'], 1, lang)} {t('w_per_s', lang)}")
    return " · ".join(parts)


def flatten(entry: Any) -> dict[str, Any] | None:
    """A system's figures, whether given flat or as ``{"figures", "at", "age_s"}``
    (dashboards.alerts_feed.ServiceHealth.latest)."""
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("figures"), dict):
        return {**entry["figures"], "age_s": entry.get("age_s"), "updated_at": entry.get("at")}
    return entry


def model(d: WallData, lang: str) -> Model:
    m: Model = {}
    ages = []
    for sid in SYSTEMS:
        fig = flatten(d.services.get(sid))
        age = figure_age(fig, d.now) if fig else None
        ages.append(age)
        state = status(fig, age, d.stale_after_s)
        put(m, f"sv-{sid}", className=f"card svc {state}")
        put(m, f"sv-{sid}-state", children=t(f"svc_{state}", lang))
        put(m, f"sv-{sid}-avail", children=fmt_rate(fig.get("availability"), lang, 2) if fig else "—")
        put(m, f"sv-{sid}-detail", children=_detail(fig, lang) if fig else t("no_data", lang))
        text, cls = age_badge(age, d.stale_after_s, lang) if fig else ("", "age")
        put(m, f"sv-{sid}-age", children=text, className=cls)
    known = [a for a in ages if a is not None]
    if not d.services:
        put(m, "sv-age", children=t("services_not_wired", lang) if "services" not in d.problems
            else t("source_failed", lang), className="age stale")
    else:
        text, cls = age_badge(max(known) if known else None, d.stale_after_s, lang)
        put(m, "sv-age", children=text, className=cls)
    return m


def layout(d: WallData, lang: str, m: Model) -> html.Div:
    cards = [slot(m, f"sv-{sid}", html.Div, children=[
        html.Div(spec.name_vi if lang == "vi" else spec.name_en, className="card-title"),
        html.Div([slot(m, f"sv-{sid}-avail", html.Span, className="card-value"),
                  slot(m, f"sv-{sid}-state", html.Span, className="card-state")]),
        slot(m, f"sv-{sid}-detail", html.Div, className="card-detail"),
        slot(m, f"sv-{sid}-age", html.Div)]) for sid, spec in SYSTEMS.items()]
    return html.Div([html.H2([t("scene_services", lang), " ", slot(m, "sv-age", html.Span)]),
                     html.Div(cards, className="cards services")], className="scene scene-services panel")
