"""Scene 6 and the ticker under every scene: current alerts in the contracts.md §5 shape
(``{id, source, system, unit, severity, state, summary, started_at, updated_at}``), from a callable
``alerts() -> list[dict]`` given to ``wall.register`` (the web process's copy of the alert book).
Resolved alerts are left out; the most severe and newest come first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from dashboards.i18n import TEXT, t
from dashboards.wall.data import WallData
from dashboards.wall.formatting import age_badge, fmt_age, fmt_int
from dashboards.wall.model import Model, put, put_row, row, slot

ROWS = 12
TICKER_ITEMS = 3
SEVERITY_RANK = {"critical": 2, "warning": 1, "info": 0}


def _started(a: dict[str, Any]) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(a.get("started_at")))
    except ValueError:
        return None
    return at if at.tzinfo else None


def open_alerts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    live = [a for a in alerts if isinstance(a, dict) and a.get("state") != "resolved"]
    return sorted(live, key=lambda a: (-SEVERITY_RANK.get(str(a.get("severity")), -1),
                                       -_started_s(a), str(a.get("id"))))


def _started_s(a: dict[str, Any]) -> float:
    at = _started(a)
    return at.timestamp() if at is not None else 0.0


def _since(a: dict[str, Any], d: WallData, lang: str) -> str:
    started = _started(a)
    return fmt_age((d.now - started).total_seconds(), lang) if started else "—"


def _unit(a: dict[str, Any], d: WallData) -> str:
    unit = a.get("unit")
    if not unit:
        units = a.get("units") or []  # an alert of a grouped rule: the units it lists
        if units:
            first = d.directory.commune_names.get(units[0]) or d.name(str(units[0]))
            return first + (f" (+{len(units) - 1})" if len(units) > 1 else "")
        return "—"
    return d.directory.commune_names.get(unit) or d.name(str(unit))


def _severity(a: dict[str, Any], lang: str) -> str:
    sev = str(a.get("severity"))
    return t(f"sev_{sev}", lang) if sev in SEVERITY_RANK else sev


def _state(a: dict[str, Any], lang: str) -> str:
    state = str(a.get("state"))
    return t(f"state_{state}", lang) if f"state_{state}" in TEXT else state


def ticker_model(d: WallData, lang: str) -> Model:
    m: Model = {}
    alerts = open_alerts(d.alerts)
    counts = {s: sum(1 for a in alerts if a.get("severity") == s) for s in SEVERITY_RANK}
    put(m, "tk-counts", children=t("ticker_counts", lang).format(
        critical=fmt_int(counts["critical"], lang), warning=fmt_int(counts["warning"], lang),
        info=fmt_int(counts["info"], lang)), className="tk-counts crit" if counts["critical"] else "tk-counts")
    for i in range(TICKER_ITEMS):
        if i < len(alerts):
            a = alerts[i]
            put(m, f"tk-{i}", className=f"tk-item {a.get('severity')}",
                children=f"{_severity(a, lang)} · {_unit(a, d)} · {a.get('summary', '')} ({_since(a, d, lang)})")
        else:
            put(m, f"tk-{i}", className="tk-item empty", children="")
    text, cls = age_badge(d.alerts_age_s, d.stale_after_s, lang) if d.alerts_age_s is not None \
        else ((t("alerts_not_wired", lang) if "alerts" in d.problems or not d.alerts else ""), "age")
    put(m, "tk-age", children=text, className=cls)
    return m


def model(d: WallData, lang: str) -> Model:
    m: Model = {}
    alerts = open_alerts(d.alerts)
    for i in range(ROWS):
        if i < len(alerts):
            a = alerts[i]
            put_row(m, f"al-{i}", [_severity(a, lang), _state(a, lang), str(a.get("system") or a.get("source") or ""),
                                   _unit(a, d), str(a.get("summary", "")), _since(a, d, lang)],
                    str(a.get("severity", "")))
        else:
            put_row(m, f"al-{i}", [""] * 6, "empty")
    put(m, "al-count", children=t("alerts_open", lang).format(n=fmt_int(len(alerts), lang)))
    return m


def ticker(m: Model) -> html.Div:
    """Under every scene (part of the page chrome, not of a scene)."""
    return html.Div([slot(m, "tk-counts", html.Span)] + [slot(m, f"tk-{i}", html.Span) for i in range(TICKER_ITEMS)]
                    + [slot(m, "tk-age", html.Span)], className="ticker", id="wall-ticker")


def layout(d: WallData, lang: str, m: Model) -> html.Div:
    head = html.Thead(html.Tr([html.Th(t(k, lang)) for k in
                               ("w_severity", "w_state", "w_system", "unit", "w_summary", "w_since")]))
    return html.Div([html.H2([t("scene_alerts", lang), " ", slot(m, "al-count", html.Span, className="muted")]),
                     html.Table([head, html.Tbody([row(m, f"al-{i}", 6) for i in range(ROWS)])],
                                className="wall-table alerts")], className="scene scene-alerts panel")
