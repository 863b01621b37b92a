"""Scene 3: the map — the province's communes at their official centres coloured by on-time rate,
the province-level agencies (which serve the whole province and cannot be placed) listed beside
it, and the 34 provinces with this province coloured (the stream has no other province's data,
so the others honestly read "no data").

Units are agency codes; an agency serving one commune (its UBND, its service centre, its police)
is placed at that commune (ioc.reference.agencies), and the commune's rate is over all of them."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from dashboards.i18n import t
from dashboards.wall import province_map as pm
from dashboards.wall.data import WallData
from dashboards.wall.formatting import age_badge, fmt_rate
from dashboards.wall.model import Model, put, put_row, row, slot
from ioc.reference import geometry

AGENCY_ROWS = 12


def _rounded(rate: float | None) -> float | None:
    # A tenth of a percent: finer changes would recolour the map every second for nothing.
    return None if rate is None else round(rate, 3)


@lru_cache(maxsize=8)
def _province_base(province_code: str, lang: str) -> tuple[go.Figure, int, tuple[geometry.CommunePoint, ...]]:
    """The province figure without values, the index of its commune trace, and the communes in order."""
    fig = pm.province_map_figure(province_code, lang=lang)  # type: ignore[arg-type]
    index = next(i for i, tr in enumerate(fig.data) if tr.meta and tr.meta.get("communes_of") == province_code)
    return fig, index, geometry.commune_points(province_code)


@lru_cache(maxsize=4)
def _national_base(province_code: str, lang: str) -> tuple[go.Figure, int]:
    fig = pm.national_map_figure({}, highlight=province_code, lang=lang)  # type: ignore[arg-type]
    index = next(i for i, tr in enumerate(fig.data) if tr.meta and tr.meta.get("province_code") == province_code)
    return fig, index


def commune_rates(d: WallData) -> dict[str, float | None]:
    return {c.code: _rounded(d.communes.get(c.code, {}).get("ontime_rate"))
            for c in geometry.commune_points(d.directory.province_code)}


def model(d: WallData, lang: pm.Lang) -> Model:
    m: Model = {}
    code = d.directory.province_code
    text, cls = age_badge(d.age_s, d.stale_after_s, lang)
    put(m, "mp-age", children=text, className=cls)
    _, index, points = _province_base(code, lang)
    rates = commune_rates(d)
    label = pm.ON_TIME_RATE.label(lang)
    put(m, "mp-province", **{
        "~colour": {"trace": index, "attr": "marker.color",
                    "values": [pm.value_colour(rates[c.code], pm.ON_TIME_RATE) for c in points]},
        "~text": {"trace": index, "attr": "text",
                  "values": [f"<b>{c.name}</b><br>{label}: {pm.format_value(rates[c.code], pm.ON_TIME_RATE, lang)}"
                             for c in points]}})
    placed = sum(1 for r in rates.values() if r is not None)
    put(m, "mp-placed", children=t("map_placed", lang).format(n=placed, total=len(points)))
    _, nat_index = _national_base(code, lang)
    rate = _rounded(d.province.get("ontime_rate")) if d.has_kpi else None
    put(m, "mp-national", **{"~fill": {"trace": nat_index, "attr": "fillcolor",
                                       "value": pm.value_colour(rate, pm.ON_TIME_RATE)}})
    agencies = sorted(((c, v) for c, v in d.units.items()
                       if d.directory.info(c).level == "province" and v.get("ontime_rate") is not None),
                      key=lambda cv: (cv[1]["ontime_rate"], cv[0]))[:AGENCY_ROWS]
    for i in range(AGENCY_ROWS):
        if i < len(agencies):
            c, v = agencies[i]
            put_row(m, f"mp-ag-{i}", [d.name(c), fmt_rate(v["ontime_rate"], lang, 1)],
                    "bad" if v["ontime_rate"] < pm.ON_TIME_RATE.vmin else "")
        else:
            put_row(m, f"mp-ag-{i}", ["", ""], "empty")
    return m


def _with_values(fig: go.Figure, m: Model, cid: str) -> go.Figure:
    out = copy.deepcopy(fig)
    for spec in m[cid].values():
        node = out.data[spec["trace"]]
        *parents, leaf = spec["attr"].split(".")
        for part in parents:
            node = node[part]
        node[leaf] = spec["value"] if "value" in spec else spec["values"]
    return out


def layout(d: WallData, lang: str, m: Model) -> html.Div:
    code = d.directory.province_code
    province_fig = _with_values(_province_base(code, lang)[0], m, "mp-province")
    national_fig = _with_values(_national_base(code, lang)[0], m, "mp-national")
    config: Any = {"displayModeBar": False, "scrollZoom": False}
    return html.Div([
        html.Div([html.H2([t("scene_map", lang), " ", slot(m, "mp-age", html.Span), " ",
                           slot(m, "mp-placed", html.Span, className="muted")]),
                  dcc.Graph(id="mp-province", figure=province_fig, config=config, className="graph")],
                 className="panel map-main"),
        html.Div([html.H2(t("agencies_unplaced", lang)),
                  html.Table([html.Thead(html.Tr([html.Th(t("unit", lang)), html.Th(t("ontime_short", lang))])),
                              html.Tbody([row(m, f"mp-ag-{i}", 2) for i in range(AGENCY_ROWS)])],
                             className="wall-table")], className="panel map-agencies"),
        html.Div([html.H2(t("w_national", lang)),
                  dcc.Graph(id="mp-national", figure=national_fig, config=config, className="graph")],
                 className="panel map-national"),
    ], className="scene scene-map")
