"""The leaders' wall: live figures from the stream, the daily trend from the warehouse."""

from __future__ import annotations


from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from dashboards.i18n import t
from dashboards.live import LiveState

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TILES = ("received_today", "in_processing", "due_today", "at_risk", "overdue", "ontime_rate")
# Tiles whose non-zero value needs attention, and how much.
TILE_TONE = {"at_risk": "warn", "overdue": "bad"}


def fmt_int(n: int | None) -> str:
    return "—" if n is None else f"{n:,}".replace(",", ".")  # Vietnamese thousands separator


def fmt_rate(r: float | None) -> str:
    return "—" if r is None else f"{r * 100:.2f}".replace(".", ",") + " %"


def tile(key: str) -> html.Div:
    return html.Div(
        [html.Div(t(key), className="tile-label"), html.Div("—", id=f"tile-{key}", className="tile-value")],
        id=f"tile-box-{key}", className="tile",
    )


def layout(refresh_ms: int) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Div([html.Div(t("title"), className="wall-title"),
                              html.Div(t("subtitle"), className="wall-subtitle")]),
                    html.Div([html.Div(id="wall-clock", className="wall-clock"),
                              html.Div(t("waiting"), id="wall-freshness", className="freshness")]),
                ],
                className="wall-header",
            ),
            html.Div([tile(k) for k in TILES], id="wall-tiles", className="tiles"),
            html.Div(
                [
                    html.Div([html.H2(t("trend")), dcc.Graph(id="wall-trend", config={"displayModeBar": False},
                                                            style={"height": "100%"})], className="panel"),
                    html.Div([html.H2(t("unit")), html.Div(id="wall-units")], className="panel"),
                ],
                className="lower",
            ),
            dcc.Interval(id="wall-tick", interval=refresh_ms),
            dcc.Interval(id="wall-trend-tick", interval=30_000),
        ],
        className="wall",
    )


def unit_table(units: dict[str, dict[str, Any]], names: dict[str, str]) -> html.Table:
    head = html.Tr([html.Th(t("unit"))] + [html.Th(t(k)) for k in TILES])
    rows = [
        html.Tr([html.Td(names.get(code, code))]
                + [html.Td(fmt_rate(f["ontime_rate"]) if k == "ontime_rate" else fmt_int(f[k])) for k in TILES])
        for code, f in sorted(units.items(), key=lambda kv: -kv[1]["overdue"])[:12]
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="units")


def trend_figure(points: list[tuple[str, int]]) -> go.Figure:
    fig = go.Figure(go.Bar(x=[d for d, _ in points], y=[n for _, n in points], marker_color="#4f8cff"))
    fig.update_layout(
        margin=dict(l=40, r=10, t=10, b=40), paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font=dict(color="#e8eef8", size=16), xaxis=dict(type="category"), yaxis=dict(gridcolor="#1f2f4a"),
    )
    return fig


def register(app: dash.Dash, state: LiveState, stale_after_s: float,
             trend: Callable[[], list[tuple[str, int]]], unit_names: dict[str, str]) -> None:
    outputs = [Output(f"tile-{k}", "children") for k in TILES] + [
        Output(f"tile-box-{k}", "className") for k in TILES] + [
        Output("wall-tiles", "className"), Output("wall-freshness", "children"),
        Output("wall-freshness", "className"), Output("wall-clock", "children"), Output("wall-units", "children"),
    ]

    @app.callback(outputs, Input("wall-tick", "n_intervals"))
    def refresh(_n: int | None) -> list[Any]:
        summary = state.summary()
        now = datetime.now(LOCAL_TZ)
        clock = now.strftime("%H:%M:%S %d/%m/%Y")
        if summary["updated_at"] is None:
            return ["—"] * len(TILES) + ["tile"] * len(TILES) + [
                "tiles stale", t("waiting"), "freshness stale-text", clock, None]
        p = summary["province"]
        values = [fmt_rate(p[k]) if k == "ontime_rate" else fmt_int(p[k]) for k in TILES]
        updated = datetime.fromisoformat(summary["updated_at"]).astimezone(LOCAL_TZ)
        stale = summary["age_s"] > stale_after_s
        fresh = f"{t('updated')} {updated:%H:%M:%S}" + (f" — {t('stale')}" if stale else "")
        tones = [f"tile {TILE_TONE[k]}" if k in TILE_TONE and p[k] else "tile" for k in TILES]
        return values + tones + [
            "tiles stale" if stale else "tiles", fresh,
            "freshness stale-text" if stale else "freshness", clock, unit_table(summary["units"], unit_names),
        ]

    @app.callback(Output("wall-trend", "figure"), Input("wall-trend-tick", "n_intervals"))
    def refresh_trend(_n: int | None) -> go.Figure:
        return trend_figure(trend())


def since_days(days: int) -> datetime:
    return datetime.now(LOCAL_TZ) - timedelta(days=days)


__all__ = ["layout", "register", "since_days"]
