"""The map scene of the wall: the 34 provinces of 2025, or one province with its communes.

Why plain x/y traces and not a geo subplot: plotly.js (4.1, from the plotly wheel, which is
what Dash serves) downloads a world topojson from ``topojsonURL`` (https://cdn.plot.ly/un/ by
default) for a ``geo`` subplot whenever a base layer is shown *or any trace has a
``locationmode``*; ``go.Choropleth(geojson=...)`` always gets ``locationmode="geojson-id"``, so
``geo.visible=False`` does not stop the download (checked in headless Chromium: it requests
world_110m.json and, offline, draws nothing), and ``map``/``mapbox`` subplots need style and
tile URLs. Here each province is a filled ``go.Scatter`` path in longitude/latitude, the y axis
scaled by 1/cos(mid-latitude) (equirectangular, true to shape at Vietnam's latitudes), the
axes fitted to the drawn features ("fitbounds"). No geo/map/mapbox layout, no URL: nothing
can be fetched.

Values are coloured on a dark-wall bad-to-good palette (red, amber, green) with a colour bar;
a unit without a value is drawn in a neutral dark blue and reads "chưa có dữ liệu". Text is
Vietnamese by default (``lang="en"`` for English); numbers use the Vietnamese decimal comma.

Updating: build the figure once, then send ``national_map_patch``/``province_map_patch``
(Dash ``Patch``) to recolour it: province traces keep a fixed order (by code).
"""

from __future__ import annotations

import math
from typing import Iterable, Literal, Mapping

import plotly.graph_objects as go
from dash import Patch
from plotly.colors import sample_colorscale
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ioc.reference import geometry

Lang = Literal["vi", "en"]

# Dark wall palette (matches dashboards/assets/wall.css: text #e8eef8 on a dark navy page).
TEXT_COLOUR = "#e8eef8"
BORDER_COLOUR = "#8da2c8"
HIGHLIGHT_BORDER = "#ffffff"
NO_DATA_FILL = "#26324a"
CONTEXT_FILL = "#141c2c"  # neighbouring provinces around a province view
BAD_TO_GOOD = ((0.0, "#d64545"), (0.5, "#e8a33d"), (1.0, "#3fb37f"))

TEXT: dict[str, dict[str, str]] = {
    "no_data": {"vi": "chưa có dữ liệu", "en": "no data"},
    "formed_from": {"vi": "Hợp nhất từ", "en": "Merged from"},
    "source": {"vi": "Ranh giới: Natural Earth (trước 1/7/2025), hợp nhất theo NQ 202/2025/QH15; "
                     "xã/phường: điểm trung tâm",
               "en": "Boundaries: Natural Earth (before 1 Jul 2025), merged per Resolution 202/2025/QH15; "
                     "communes: centre points"},
    "off_frame": {"vi": "Ngoài khung hình", "en": "Outside the frame"},
    "islands": {"vi": "Quần đảo {name}<br>({province})", "en": "{name} Islands<br>({province})"},
}


class MapMetric(BaseModel):
    """What the colours mean: a figure per unit, its range on the colour scale and its label."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    label_vi: str
    label_en: str
    vmin: float = Field(description="value drawn in the 'bad' colour (or the good one if lower is better)")
    vmax: float
    higher_is_better: bool = True
    percent: bool = Field(True, description="the value is a ratio 0..1 shown as a percentage")
    decimals: int = Field(1, ge=0, le=4)

    @model_validator(mode="after")
    def _range(self) -> "MapMetric":
        if not self.vmin < self.vmax:
            raise ValueError(f"metric {self.key}: vmin ({self.vmin}) must be below vmax ({self.vmax})")
        return self

    def label(self, lang: Lang) -> str:
        return self.label_vi if lang == "vi" else self.label_en


ON_TIME_RATE = MapMetric(key="ontime_rate", label_vi="Tỷ lệ đúng hạn", label_en="On-time rate",
                         vmin=0.8, vmax=1.0)
"""On-time share of finished dossiers (0..1); below 80 % is as red as it gets."""


# --- pure helpers ------------------------------------------------------------------------------


def _text(key: str, lang: Lang) -> str:
    return TEXT[key][lang]


def _check_lang(lang: str) -> Lang:
    if lang not in ("vi", "en"):
        raise ValueError(f"unknown language {lang!r}: use 'vi' or 'en'")
    return lang  # type: ignore[return-value]


def colorscale(metric: MapMetric) -> list[list[float | str]]:
    stops = BAD_TO_GOOD if metric.higher_is_better else tuple((1 - t, c) for t, c in reversed(BAD_TO_GOOD))
    return [[t, c] for t, c in stops]


def value_colour(value: float | None, metric: MapMetric) -> str:
    """Fill colour of a value (clipped to the metric's range); neutral when there is none."""
    if value is None:
        return NO_DATA_FILL
    t = min(1.0, max(0.0, (value - metric.vmin) / (metric.vmax - metric.vmin)))
    return sample_colorscale(colorscale(metric), [t])[0]


def format_value(value: float | None, metric: MapMetric, lang: Lang = "vi") -> str:
    """E.g. 0.9725 -> "97,3 %" (vi) / "97.3%" (en); None -> "chưa có dữ liệu"."""
    if value is None:
        return _text("no_data", lang)
    number = value * 100 if metric.percent else value
    text = f"{number:,.{metric.decimals}f}"
    if lang == "vi":  # Vietnamese: decimal comma, dot between thousands
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text + (" %" if metric.percent else "")
    return text + ("%" if metric.percent else "")


def clean_values(values: Mapping[str, float | int | None] | None, known: Iterable[str],
                 what: str) -> dict[str, float | None]:
    """Check values keyed by unit code: every code must be known, every value a finite number
    or None (no data). Raises ValueError naming the first bad code or value."""
    known_set = set(known)
    out: dict[str, float | None] = {code: None for code in known_set}
    for code, value in (values or {}).items():
        if code not in known_set:
            raise ValueError(f"unknown {what} code {code!r} (not on this map)")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{what} {code}: value {value!r} is not a finite number")
        out[code] = float(value)
    return out


def _path(feature: geometry.GeoJSON) -> tuple[list[float | None], list[float | None]]:
    """A feature's rings as one x/y path, rings separated by None (each ring filled on its own)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for ring in geometry.polygon_rings(feature):
        if xs:
            xs.append(None)
            ys.append(None)
        xs.extend(p[0] for p in ring)
        ys.extend(p[1] for p in ring)
    return xs, ys


def _fit(bounds: tuple[float, float, float, float], pad: float = 0.03) -> dict[str, dict]:
    """Axes fitted to [lon0, lat0, lon1, lat1], hidden, shape kept (1° lat = 1/cos φ × 1° lon)."""
    x0, y0, x1, y1 = bounds
    dx, dy = (x1 - x0) * pad or 0.05, (y1 - y0) * pad or 0.05
    ratio = 1 / math.cos(math.radians((y0 + y1) / 2))
    axis = dict(visible=False, showgrid=False, zeroline=False, fixedrange=True)
    return {"xaxis": dict(axis, range=[x0 - dx, x1 + dx]),
            "yaxis": dict(axis, range=[y0 - dy, y1 + dy], scaleanchor="x", scaleratio=ratio)}


def _layout(bounds: tuple[float, float, float, float], lang: Lang, font_size: int) -> dict:
    return dict(
        **_fit(bounds),
        margin=dict(l=0, r=0, t=0, b=28), paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font=dict(color=TEXT_COLOUR, size=font_size), showlegend=False, hovermode="closest", dragmode=False,
        separators=",." if lang == "vi" else ".,",
        hoverlabel=dict(bgcolor="#0f1a2e", bordercolor=BORDER_COLOUR, font=dict(size=font_size + 2)),
        annotations=[dict(text=_text("source", lang), xref="paper", yref="paper", x=0, y=0, yanchor="top",
                          yshift=-6, xanchor="left", showarrow=False, font=dict(size=max(9, font_size - 4),
                                                                                   color="#7d8db0"))],
    )


def _colour_bar(metric: MapMetric, lang: Lang) -> go.Scatter:
    """An invisible trace that only carries the colour bar (fills cannot have one)."""
    return go.Scatter(
        x=[None], y=[None], mode="markers", hoverinfo="skip", name="colour bar",
        marker=dict(colorscale=colorscale(metric), cmin=metric.vmin, cmax=metric.vmax, color=[metric.vmin],
                    showscale=True, colorbar=dict(
                        title=dict(text=metric.label(lang), side="right"), thickness=14, len=0.6,
                        tickformat=f".{max(0, metric.decimals - 1)}%" if metric.percent else None,
                        outlinewidth=0, bgcolor="rgba(0,0,0,0)")))


def _province_hover(props: Mapping, value: float | None, metric: MapMetric, lang: Lang) -> str:
    olds = props["predecessors"]
    lines = [f"<b>{props['name']}</b>", f"{metric.label(lang)}: {format_value(value, metric, lang)}"]
    if len(olds) > 1:
        lines.append(f"{_text('formed_from', lang)}: " + ", ".join(o["short_name"] for o in olds))
    return "<br>".join(lines)


def _commune_hover(point: geometry.CommunePoint, value: float | None, metric: MapMetric, lang: Lang) -> str:
    return f"<b>{point.name}</b><br>{metric.label(lang)}: {format_value(value, metric, lang)}"


def offshore_communes() -> tuple[geometry.CommunePoint, ...]:
    """Communes whose centre lies beyond the extent of the province outlines: the Hoàng Sa and
    Trường Sa archipelagos, which the 2024 boundaries leave out; the national map marks them."""
    x0, y0, x1, y1 = geometry.map_bbox()
    return tuple(c for c in geometry.commune_points()
                 if not (x0 <= c.lon <= x1 and y0 <= c.lat <= y1))


# --- figures -----------------------------------------------------------------------------------


def national_map_figure(values: Mapping[str, float | None] | None = None, *, metric: MapMetric = ON_TIME_RATE,
                        lang: Lang = "vi", highlight: str | None = None, communes: bool = False,
                        font_size: int = 13) -> go.Figure:
    """The 34 provinces of 2025 coloured by ``values`` (2025 province code -> value or None).

    ``highlight``: a province code drawn with a bright border (the centre's own province).
    ``communes``: also draw every commune of 2025 as a small dot at its centre."""
    lang = _check_lang(lang)
    collection = geometry.provinces_2025_geojson()
    features = sorted(collection["features"], key=lambda f: f["id"])
    clean = clean_values(values, (f["id"] for f in features), "province")
    if highlight is not None and highlight not in clean:
        raise ValueError(f"unknown province code {highlight!r} to highlight")

    traces: list[go.BaseTraceType] = []
    for f in features:  # one trace per province, in code order: national_map_patch relies on it
        xs, ys = _path(f)
        value = clean[f["id"]]
        traces.append(go.Scatter(
            x=xs, y=ys, mode="lines", fill="toself", fillcolor=value_colour(value, metric),
            line=dict(color=HIGHLIGHT_BORDER if f["id"] == highlight else BORDER_COLOUR,
                      width=2.5 if f["id"] == highlight else 0.8),
            hoveron="fills", hoverinfo="text", text=_province_hover(f["properties"], value, metric, lang),
            name=f["properties"]["short_name"], meta={"province_code": f["id"]}))
    if communes:
        points = geometry.commune_points()
        traces.append(go.Scatter(
            x=[c.lon for c in points], y=[c.lat for c in points], mode="markers", name="communes",
            marker=dict(size=3, color="#c9d4ea", opacity=0.55), text=[c.name for c in points],
            hovertemplate="%{text}<extra></extra>"))
    traces.append(go.Scatter(
        x=[f["properties"]["label"][0] for f in features], y=[f["properties"]["label"][1] for f in features],
        mode="text", text=[f["properties"]["short_name"] for f in features], hoverinfo="skip", name="labels",
        textfont=dict(size=font_size, color=TEXT_COLOUR)))
    islands = offshore_communes()
    provinces_by_code = {f["id"]: f["properties"]["short_name"] for f in features}
    traces.append(go.Scatter(
        x=[c.lon for c in islands], y=[c.lat for c in islands], mode="markers+text", name="islands",
        marker=dict(size=7, color=BORDER_COLOUR, symbol="circle"), textposition="bottom center",
        text=[_text("islands", lang).format(name=c.short_name, province=provinces_by_code[c.province_code])
              for c in islands],
        textfont=dict(size=font_size - 1, color=TEXT_COLOUR), hovertemplate="%{text}<extra></extra>"))
    traces.append(_colour_bar(metric, lang))

    x0, y0, x1, y1 = collection["bbox"]
    # Room for the island labels, which are centred under their points.
    bounds = (min([x0, *(c.lon - 1.0 for c in islands)]), min([y0, *(c.lat - 0.6 for c in islands)]),
              max([x1, *(c.lon + 1.0 for c in islands)]), max([y1, *(c.lat for c in islands)]))
    return go.Figure(data=traces, layout=_layout(bounds, lang, font_size))


def national_map_patch(values: Mapping[str, float | None] | None, *, metric: MapMetric = ON_TIME_RATE,
                       lang: Lang = "vi") -> Patch:
    """A Dash Patch recolouring a figure from ``national_map_figure`` (same metric and language)."""
    lang = _check_lang(lang)
    properties = geometry.province_properties()  # sorted by code, as the figure's traces
    clean = clean_values(values, properties, "province")
    patch = Patch()
    for i, (code, props) in enumerate(properties.items()):
        patch["data"][i]["fillcolor"] = value_colour(clean[code], metric)
        patch["data"][i]["text"] = _province_hover(props, clean[code], metric, lang)
    return patch


def _province_view(province_code: str) -> tuple[geometry.GeoJSON, tuple[float, float, float, float],
                                                 list[geometry.GeoJSON], tuple[geometry.CommunePoint, ...]]:
    try:
        outline = geometry.province_outline(province_code)
    except KeyError as e:
        raise ValueError(e.args[0]) from None
    points = geometry.commune_points(province_code)
    # Communes can sit far offshore (Hoàng Sa, Trường Sa): the view covers the outline only and
    # the figure lists such communes in a note instead.
    x0, y0, x1, y1 = outline["bbox"]
    pad = max(x1 - x0, y1 - y0) * 0.08
    neighbours = [f for f in geometry.provinces_2025_geojson()["features"]
                  if f["id"] != province_code and f["bbox"][0] <= x1 + pad and f["bbox"][2] >= x0 - pad
                  and f["bbox"][1] <= y1 + pad and f["bbox"][3] >= y0 - pad]
    return outline, (x0, y0, x1, y1), neighbours, points


def province_map_figure(province_code: str, commune_values: Mapping[str, float | None] | None = None, *,
                        metric: MapMetric = ON_TIME_RATE, lang: Lang = "vi", font_size: int = 13) -> go.Figure:
    """One 2025 province: its outline, its neighbours dimmed for context, and its communes as
    points at their centres coloured by ``commune_values`` (2025 commune code -> value or None)."""
    lang = _check_lang(lang)
    outline, bounds, neighbours, points = _province_view(province_code)
    clean = clean_values(commune_values, (c.code for c in points), f"commune of province {province_code}")

    traces: list[go.BaseTraceType] = []
    for f in neighbours:
        xs, ys = _path(f)
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=CONTEXT_FILL,
                                 line=dict(color="#3a4766", width=0.6), hoverinfo="skip",
                                 name=f["properties"]["short_name"], meta={"context_province": f["id"]}))
    xs, ys = _path(outline)
    traces.append(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=NO_DATA_FILL,
                             line=dict(color=HIGHLIGHT_BORDER, width=2), hoverinfo="skip",
                             name=outline["properties"]["short_name"], meta={"province_code": province_code}))
    traces.append(go.Scatter(
        x=[c.lon for c in points], y=[c.lat for c in points], mode="markers", name="communes",
        ids=[c.code for c in points], meta={"communes_of": province_code},
        marker=dict(size=max(6, font_size - 2), color=[value_colour(clean[c.code], metric) for c in points],
                    line=dict(color="#0b1220", width=1)),
        text=[_commune_hover(c, clean[c.code], metric, lang) for c in points],
        hovertemplate="%{text}<extra></extra>"))
    x0, y0, x1, y1 = bounds
    named = [f for f in neighbours if x0 <= f["properties"]["label"][0] <= x1 and y0 <= f["properties"]["label"][1] <= y1]
    traces.append(go.Scatter(
        x=[f["properties"]["label"][0] for f in named], y=[f["properties"]["label"][1] for f in named],
        mode="text", text=[f["properties"]["short_name"] for f in named], hoverinfo="skip", name="labels",
        textfont=dict(size=font_size, color="#5d6c8c")))
    traces.append(_colour_bar(metric, lang))
    layout = _layout(bounds, lang, font_size)
    off_frame = [c for c in points if not (x0 <= c.lon <= x1 and y0 <= c.lat <= y1)]
    if off_frame:  # e.g. Hoàng Sa of Đà Nẵng: hundreds of km offshore, listed instead of drawn
        layout["annotations"].append(dict(
            text=f"{_text('off_frame', lang)}: " + "; ".join(
                f"{c.name} ({format_value(clean[c.code], metric, lang)})" for c in off_frame),
            xref="paper", yref="paper", x=0, y=1, xanchor="left", yanchor="top", showarrow=False,
            font=dict(size=font_size, color=TEXT_COLOUR)))
    return go.Figure(data=traces, layout=layout)


def province_map_patch(province_code: str, commune_values: Mapping[str, float | None] | None, *,
                       metric: MapMetric = ON_TIME_RATE, lang: Lang = "vi") -> Patch:
    """A Dash Patch recolouring the commune points of a figure from ``province_map_figure``."""
    lang = _check_lang(lang)
    _, _, neighbours, points = _province_view(province_code)
    clean = clean_values(commune_values, (c.code for c in points), f"commune of province {province_code}")
    index = len(neighbours) + 1  # the commune trace follows the neighbours and the outline
    patch = Patch()
    patch["data"][index]["marker"]["color"] = [value_colour(clean[c.code], metric) for c in points]
    patch["data"][index]["text"] = [_commune_hover(c, clean[c.code], metric, lang) for c in points]
    return patch
