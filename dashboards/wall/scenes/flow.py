"""Scene 2: the dossier flow — received today, in processing, due today, at risk, overdue — by
agency and by commune (the agencies serving a commune summed), and dossiers received per day."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from dashboards.i18n import t
from dashboards.wall.data import WallData
from dashboards.wall.formatting import age_badge, fmt_int
from dashboards.wall.model import Model, put, put_row, row, slot

FLOW = ("received_today", "in_processing", "due_today", "at_risk", "overdue")
ROWS = 8
TREND_DAYS = 14


def busiest(views: dict[str, dict[str, Any]], n: int) -> list[tuple[str, dict[str, Any]]]:
    """Units with open or new dossiers, most overdue first, then at risk, then in processing."""
    active = [(c, v) for c, v in views.items() if any(v.get(k) for k in FLOW)]
    return sorted(active, key=lambda cv: (-cv[1]["overdue"], -cv[1]["at_risk"], -cv[1]["in_processing"],
                                          cv[0]))[:n]


def _cells(name: str, v: dict[str, Any], lang: str) -> list[str]:
    return [name] + [fmt_int(v.get(k, 0), lang) for k in FLOW]


def model(d: WallData, lang: str) -> Model:
    m: Model = {}
    text, cls = age_badge(d.age_s, d.stale_after_s, lang)
    put(m, "fl-age", children=text, className=cls)
    put_row(m, "fl-total", _cells(t("province_total", lang), d.province, lang) if d.has_kpi
            else [t("province_total", lang)] + ["—"] * len(FLOW), "total")
    for kind, views, name in (("ag", {c: v for c, v in d.units.items()
                                       if d.directory.info(c).level == "province"}, d.name),
                              ("cm", d.communes, lambda c: d.directory.commune_names.get(c) or c)):
        top = busiest(views, ROWS)
        for i in range(ROWS):
            if i < len(top):
                code, v = top[i]
                put_row(m, f"fl-{kind}-{i}", _cells(name(code), v, lang),
                        "bad" if v["overdue"] else "warn" if v["at_risk"] else "")
            else:
                put_row(m, f"fl-{kind}-{i}", [""] * (len(FLOW) + 1), "empty")
    days = d.trend[-TREND_DAYS:]
    put(m, "fl-trend", **{"~x": {"trace": 0, "attr": "x", "values": [day for day, _ in days]},
                          "~y": {"trace": 0, "attr": "y", "values": [n for _, n in days]}})
    return m


def trend_figure(m: Model, lang: str) -> go.Figure:
    x, y = m["fl-trend"]["~x"]["values"], m["fl-trend"]["~y"]["values"]
    fig = go.Figure(go.Bar(x=x, y=y, marker_color="#4f8cff"))
    fig.update_layout(margin=dict(l=50, r=10, t=10, b=40), paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)", font=dict(color="#e8eef8", size=16),
                      xaxis=dict(type="category"), yaxis=dict(gridcolor="#1f2f4a"),
                      separators=",." if lang == "vi" else ".,")
    return fig


def layout(d: WallData, lang: str, m: Model) -> html.Div:
    head = html.Thead(html.Tr([html.Th(t("unit", lang))] + [html.Th(t(k, lang)) for k in FLOW]))

    def table(kind: str, title: str) -> html.Div:
        return html.Div([html.H2(title), html.Table([head, html.Tbody(
            [row(m, f"fl-{kind}-{i}", len(FLOW) + 1) for i in range(ROWS)])], className="wall-table flow")],
            className="panel")

    return html.Div([
        html.Div([html.H2([t("scene_flow", lang), " ", slot(m, "fl-age", html.Span)]),
                  html.Table([head, html.Tbody([row(m, "fl-total", len(FLOW) + 1)])],
                             className="wall-table flow")], className="panel flow-total"),
        table("ag", t("by_agency", lang)),
        table("cm", t("by_commune", lang)),
        html.Div([html.H2(t("trend", lang)),
                  dcc.Graph(id="fl-trend", figure=trend_figure(m, lang), config={"displayModeBar": False,
                                                                                  "staticPlot": True},
                            className="graph")], className="panel flow-trend"),
    ], className="scene scene-flow")
