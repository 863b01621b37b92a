"""The wall's map figures: 34 provinces (or one province's communes), offline, coloured by value.

What a browser would fetch is decided by the figure JSON: no geo/map/mapbox subplot (plotly.js
downloads a topojson for geo subplots even with ``visible=False`` when a trace has a
``locationmode``) and no URL anywhere.
"""

from __future__ import annotations

import math
import re

import pytest
from pydantic import ValidationError

from dashboards.wall import province_map as pm
from ioc.reference import geometry as geo
from ioc.reference import units as u

CODES = {p.code for p in u.provinces(u.REFORM_DATE)}


@pytest.fixture(scope="module")
def national() -> "pm.go.Figure":
    values = {"25": 0.99, "01": 0.81, "79": None, "48": 0.5, "56": 1.2}
    return pm.national_map_figure(values, highlight="25")


def province_traces(fig) -> dict[str, int]:
    return {t.meta["province_code"]: i for i, t in enumerate(fig.data) if t.meta and "province_code" in t.meta}


def assert_offline(fig) -> None:
    spec = fig.to_plotly_json()
    assert not re.search(r"https?://|mapbox|maplibre|topojson", fig.to_json())
    assert not any(k.startswith(("geo", "map", "mapbox")) for k in spec["layout"])
    assert {t["type"] for t in spec["data"]} == {"scatter"}  # no scattergeo/choropleth/*map traces


# --- national map ------------------------------------------------------------------------------


def test_national_map_has_the_34_provinces_once_each(national) -> None:
    traces = province_traces(national)
    assert set(traces) == CODES and len(traces) == 34
    assert list(traces) == sorted(traces)  # fixed order: national_map_patch addresses traces by index


def test_national_map_needs_nothing_from_the_internet(national) -> None:
    assert_offline(national)


def test_outlines_are_the_shipped_2025_geometry(national) -> None:
    trace = national.data[province_traces(national)["25"]]
    rings = geo.polygon_rings(geo.province_outline("25"))
    xs = [x for x in trace.x if x is not None]
    assert len(xs) == sum(len(r) for r in rings)
    assert trace.fill == "toself" and trace.hoveron == "fills"


def test_colours_follow_the_values(national) -> None:
    traces = province_traces(national)
    fill = {code: national.data[i].fillcolor for code, i in traces.items()}
    given = {"25", "01", "79", "48", "56"}
    assert all(fill[code] == pm.NO_DATA_FILL for code in CODES - given) and fill["79"] == pm.NO_DATA_FILL
    assert fill["25"] == pm.value_colour(0.99, pm.ON_TIME_RATE)
    assert fill["48"] == pm.value_colour(pm.ON_TIME_RATE.vmin, pm.ON_TIME_RATE)  # below range: clipped
    assert fill["56"] == pm.value_colour(pm.ON_TIME_RATE.vmax, pm.ON_TIME_RATE)
    assert len({fill["25"], fill["01"], fill["79"]}) == 3


def test_colour_scale_runs_from_bad_to_good() -> None:
    def rgb(colour: str) -> tuple[int, ...]:
        if colour.startswith("#"):
            return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return tuple(int(v) for v in re.findall(r"\d+", colour))

    low, high = (rgb(pm.value_colour(v, pm.ON_TIME_RATE)) for v in (0.8, 1.0))
    assert low[0] > low[1] and high[1] > high[0]  # red at the bottom, green at the top
    lower_better = pm.ON_TIME_RATE.model_copy(update={"higher_is_better": False})
    assert pm.value_colour(0.8, lower_better) == pm.value_colour(1.0, pm.ON_TIME_RATE)


def test_hover_text_is_vietnamese_with_the_merger(national) -> None:
    trace = national.data[province_traces(national)["25"]]
    assert "Tỉnh Phú Thọ" in trace.text and "Tỷ lệ đúng hạn: 99,0 %" in trace.text
    assert "Hợp nhất từ: Hòa Bình, Phú Thọ, Vĩnh Phúc" in trace.text
    no_data = national.data[province_traces(national)["79"]].text
    assert "chưa có dữ liệu" in no_data and "Hợp nhất từ" in no_data
    assert "Hợp nhất từ" not in national.data[province_traces(national)["20"]].text  # Lạng Sơn: unchanged
    labels = next(t for t in national.data if t.name == "labels")
    assert "Phú Thọ" in labels.text and len(labels.text) == 34
    assert national.layout.separators == ",."


def test_english_switch() -> None:
    fig = pm.national_map_figure({"25": 0.9731}, lang="en")
    text = fig.data[province_traces(fig)["25"]].text
    assert "On-time rate: 97.3%" in text and "Merged from" in text
    assert fig.layout.separators == ".,"


def test_highlighted_province_has_a_bright_border(national) -> None:
    traces = province_traces(national)
    assert national.data[traces["25"]].line.color == pm.HIGHLIGHT_BORDER
    assert national.data[traces["01"]].line.color == pm.BORDER_COLOUR


def test_axes_fit_the_country_and_keep_its_shape(national) -> None:
    x0, y0, x1, y1 = geo.provinces_2025_geojson()["bbox"]
    xr, yr = national.layout.xaxis.range, national.layout.yaxis.range
    assert xr[0] < x0 and yr[0] < y0 and yr[1] > y1
    assert national.layout.yaxis.scaleanchor == "x"
    assert national.layout.yaxis.scaleratio == pytest.approx(1 / math.cos(math.radians(sum(yr) / 2)), rel=0.02)
    assert national.layout.xaxis.visible is False and national.layout.xaxis.fixedrange is True


def test_hoang_sa_and_truong_sa_are_marked_and_in_frame(national) -> None:
    islands = next(t for t in national.data if t.name == "islands")
    assert any("Hoàng Sa" in s and "Đà Nẵng" in s for s in islands.text)
    assert any("Trường Sa" in s and "Khánh Hòa" in s for s in islands.text)
    xr, yr = national.layout.xaxis.range, national.layout.yaxis.range
    assert all(xr[0] < x < xr[1] for x in islands.x) and all(yr[0] < y < yr[1] for y in islands.y)


def test_commune_dots_on_request() -> None:
    fig = pm.national_map_figure(communes=True)
    dots = next(t for t in fig.data if t.name == "communes")
    assert len(dots.x) == 3321


def test_colour_bar_carries_the_metric() -> None:
    fig = pm.national_map_figure()
    bar = next(t for t in fig.data if t.marker and t.marker.showscale)
    assert bar.marker.cmin == 0.8 and bar.marker.cmax == 1.0
    assert bar.marker.colorbar.title.text == "Tỷ lệ đúng hạn"


def test_patch_recolours_the_right_traces(national) -> None:
    ops = pm.national_map_patch({"25": 0.81, "01": None}).to_plotly_json()["operations"]
    assigned = {tuple(op["location"]): op["params"]["value"] for op in ops}
    traces = province_traces(national)
    assert assigned[("data", traces["25"], "fillcolor")] == pm.value_colour(0.81, pm.ON_TIME_RATE)
    assert assigned[("data", traces["01"], "fillcolor")] == pm.NO_DATA_FILL
    assert "81,0 %" in assigned[("data", traces["25"], "text")]
    assert len(assigned) == 2 * 34


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("values, message", [
    ({"99": 0.9}, "unknown province code '99'"),
    ({"25": float("nan")}, "province 25: value nan"),
    ({"25": "97%"}, "province 25: value '97%'"),
    ({"25": True}, "province 25: value True"),
])
def test_bad_values_are_named(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        pm.national_map_figure(values)


def test_bad_language_highlight_and_metric_are_named() -> None:
    with pytest.raises(ValueError, match="language 'fr'"):
        pm.national_map_figure(lang="fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'26'"):
        pm.national_map_figure(highlight="26")  # Vĩnh Phúc: no province since 1/7/2025
    with pytest.raises(ValidationError, match="vmin"):
        pm.MapMetric(key="x", label_vi="x", label_en="x", vmin=1, vmax=1)


# --- province map ------------------------------------------------------------------------------


def test_province_map_draws_every_commune_at_its_centre() -> None:
    communes = u.communes("25", u.REFORM_DATE)
    values = {communes[0].code: 0.95, communes[1].code: None}
    fig = pm.province_map_figure("25", values)
    assert_offline(fig)
    dots = next(t for t in fig.data if t.meta and t.meta.get("communes_of") == "25")
    assert list(dots.ids) == [c.code for c in communes]
    assert list(zip(dots.x, dots.y)) == [(c.lon, c.lat) for c in communes]
    assert dots.marker.color[0] == pm.value_colour(0.95, pm.ON_TIME_RATE)
    assert dots.marker.color[1] == pm.NO_DATA_FILL
    assert communes[0].name in dots.text[0] and "95,0 %" in dots.text[0]
    outline = next(t for t in fig.data if t.meta and t.meta.get("province_code") == "25")
    assert outline.line.color == pm.HIGHLIGHT_BORDER
    x0, y0, x1, y1 = geo.province_outline("25")["bbox"]
    assert fig.layout.xaxis.range[0] < x0 < x1 < fig.layout.xaxis.range[1]


def test_province_map_patch_targets_the_commune_trace() -> None:
    communes = u.communes("25", u.REFORM_DATE)
    fig = pm.province_map_figure("25")
    index = next(i for i, t in enumerate(fig.data) if t.meta and t.meta.get("communes_of") == "25")
    ops = pm.province_map_patch("25", {communes[2].code: 1.0}).to_plotly_json()["operations"]
    colours = next(op for op in ops if op["location"] == ["data", index, "marker", "color"])["params"]["value"]
    assert colours[2] == pm.value_colour(1.0, pm.ON_TIME_RATE) and colours[0] == pm.NO_DATA_FILL


def test_far_offshore_communes_are_listed_not_lost() -> None:
    fig = pm.province_map_figure("48")  # Đà Nẵng: Hoàng Sa lies ~400 km offshore
    assert "Đặc khu Hoàng Sa" in fig.layout.annotations[-1].text


def test_province_map_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="'99'"):
        pm.province_map_figure("99")
    with pytest.raises(ValueError, match="unknown commune of province 25 code '00004'"):
        pm.province_map_figure("25", {"00004": 0.9})  # a Hà Nội commune


def test_format_value() -> None:
    assert pm.format_value(0.97253, pm.ON_TIME_RATE) == "97,3 %"
    assert pm.format_value(0.97253, pm.ON_TIME_RATE, "en") == "97.3%"
    count = pm.MapMetric(key="n", label_vi="Số hồ sơ", label_en="Dossiers", vmin=0, vmax=1000,
                         percent=False, decimals=0)
    assert pm.format_value(12345, count) == "12.345"
    assert pm.format_value(None, count) == "chưa có dữ liệu"
