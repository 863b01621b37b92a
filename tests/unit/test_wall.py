"""The wall's pure parts: the view from the URL, the playlist, the model diff (partial updates),
and each scene's model built from live tallies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import plotly
import pytest

from dashboards import wall, wall_alerts, wall_cameras, wall_flow, wall_map, wall_scorecard, wall_services
from dashboards.live import LiveState
from dashboards.wall_data import build_wall_data, unit_directory
from dashboards.wall_model import ModelCache, diff, version_of
from ioc.kpi.live import wall_view

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=timezone.utc)  # 10:00 in Vietnam
SCENES = tuple(wall.SCENES)
DEPT = "H44.07"  # Sở Xây dựng (province level)
COMMUNE_UBND, COMMUNE_CENTRE = "H44.101", "H44.101.01"  # both serve commune 04792 (Tân Hòa)


def tallies(at_risk: int = 5) -> dict[str, dict[str, int]]:
    return {
        DEPT: {"received_today": 12, "in_processing": 3456, "counted": 100, "good": 90, "at_risk": at_risk,
               "due_today": 2, "overdue": 3, "in_progress_on_time": 20, "in_progress_overdue": 3,
               "counted_overdue": 3},
        COMMUNE_UBND: {"received_today": 3, "in_processing": 30, "counted": 50, "good": 49, "at_risk": 2,
                       "in_progress_on_time": 5},
        COMMUNE_CENTRE: {"received_today": 1, "in_processing": 3, "counted": 10, "good": 7, "at_risk": 1,
                         "in_progress_on_time": 2},
    }


@pytest.fixture(scope="module")
def directory():
    return unit_directory("25", "H44", ())


def data(directory, per_unit=None, age_s: float = 1.0, **extra: Any):
    per_unit = tallies() if per_unit is None else per_unit
    updated = NOW - timedelta(seconds=age_s)
    return build_wall_data(per_unit, updated if per_unit else None, NOW, 5.0, directory, **extra)


def texts(model) -> dict[str, Any]:
    return {cid: props.get("children") for cid, props in model.items()}


def layout_ids(component) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("props"), dict) and isinstance(node["props"].get("id"), str):
                found.add(node["props"]["id"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)))
    return found


# --- the view and the playlist -----------------------------------------------------------------


def test_playlist_rotates_with_the_clock_and_is_the_same_for_every_screen():
    scenes = ("scorecard", "flow", "map")
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    seen = [wall.scene_at(base + timedelta(seconds=20 * i), scenes, 20) for i in range(6)]
    start = scenes.index(seen[0])
    assert seen == [scenes[(start + i) % 3] for i in range(6)]
    assert wall.scene_at(base + timedelta(seconds=19.9), scenes, 20) == seen[0]


def test_url_pins_a_scene_picks_the_language_and_names_a_bad_scene():
    v = wall.parse_view("?scene=map&pin=1&lang=en", SCENES, 20, NOW)
    assert (v.scene, v.pinned, v.lang, v.error) == ("map", True, "en", None)
    assert wall.parse_view("?scene=flow", SCENES, 20, NOW).pinned
    playlist = wall.parse_view("", SCENES, 20, NOW)
    assert not playlist.pinned and playlist.lang == "vi" and playlist.scene == wall.scene_at(NOW, SCENES, 20)
    bad = wall.parse_view("?scene=bando", SCENES, 20, NOW)
    assert not bad.pinned and "bando" in bad.error and "scorecard" in bad.error
    assert wall.parse_view(1, SCENES, 20, NOW).lang == "vi"  # not a string: the playlist in Vietnamese
    assert wall.parse_view("?lang=fr", SCENES, 20, NOW).lang == "vi"


def test_hrefs_round_trip():
    for scene in (None, "map"):
        for lang in ("vi", "en"):
            v = wall.parse_view(wall.view_href(scene, lang)[1:], SCENES, 20, NOW)
            assert v.lang == lang and v.pinned == (scene is not None)
            if scene:
                assert v.scene == scene


def test_options_refuse_an_unknown_scene():
    with pytest.raises(ValueError, match="bando"):
        wall.WallOptions(scenes=("map", "bando"))


# --- partial updates ----------------------------------------------------------------------------


def test_diff_sends_only_changed_props_and_figure_positions():
    old = {"a": {"children": "1", "className": "x"}, "g": {"~c": {"trace": 2, "attr": "marker.color",
                                                                     "values": ["r", "g", "b", "w"]}}}
    new = {"a": {"children": "2", "className": "x"}, "g": {"~c": {"trace": 2, "attr": "marker.color",
                                                                     "values": ["r", "g", "y", "w"]}}}
    changes = diff(old, new)
    assert changes["a"] == {"children": "2"}
    ops = changes["g"]["figure"].to_plotly_json()["operations"]
    assert ops == [{"operation": "Assign", "location": ["data", 2, "marker", "color", 2], "params": {"value": "y"}}]
    assert diff(new, new) == {}
    full = diff(None, new)
    assert full["a"] == {"children": "2", "className": "x"}
    assert full["g"]["figure"].to_plotly_json()["operations"][0]["location"] == ["data", 2, "marker", "color"]


def test_model_cache_is_bounded_and_versions_follow_content():
    cache = ModelCache(size=3)
    for i in range(10):
        cache.put(str(i), {"x": {"children": i}})
    assert len(cache) == 3 and cache.get("0") is None and cache.get("9") == {"x": {"children": 9}}
    assert version_of({"a": {"children": "1"}}) == version_of({"a": {"children": "1"}})
    assert version_of({"a": {"children": "1"}}) != version_of({"a": {"children": "2"}})


def test_engine_sends_the_scene_once_then_only_what_changed(directory):
    state = LiveState()
    clock = [NOW]
    state.apply_snapshot({"computed_at": (NOW - timedelta(seconds=1)).isoformat(), "partition": 0, "units": tallies()})
    engine = wall.WallEngine(state, wall.WallOptions(), directory, clock=lambda: clock[0])
    tiles, children, seen, changes = engine.update("?scene=flow", None)
    assert tiles["in_processing"] == "3.489" and children is not wall.no_update
    assert "wall-clock" in changes and "fl-total-2" not in changes  # scene values travel in the layout
    # Same second, same data: nothing to send.
    assert engine.update("?scene=flow", seen) == ({}, wall.no_update, wall.no_update, {})
    # A new snapshot one second later changes one unit's figure: only that and the clock/ages travel.
    changed = tallies()
    changed[DEPT] = dict(changed[DEPT], in_processing=3500)
    clock[0] = NOW + timedelta(seconds=1)
    state.apply_snapshot({"computed_at": NOW.isoformat(), "partition": 0, "units": changed})
    tiles2, children2, seen2, changes2 = engine.update("?scene=flow", seen)
    assert children2 is wall.no_update and seen2["v"] != seen["v"]
    assert tiles2 == {"in_processing": "3.533"}
    assert changes2["fl-total-2"] == {"children": "3.533"}
    assert "fl-total-1" not in changes2 and "wall-title" not in changes2
    # Another scene or language: the whole scene again.
    assert engine.update("?scene=flow&lang=en", seen2)[1] is not wall.no_update


def test_engine_survives_failing_sources(directory):
    def broken() -> Any:
        raise RuntimeError("topic gone")

    engine = wall.WallEngine(LiveState(), wall.WallOptions(), directory, trend=broken, service_figures=broken,
                             camera_tiles=broken, alerts=broken, clock=lambda: NOW)
    tiles, children, _, changes = engine.update("?scene=services", None)
    assert tiles["in_processing"] == "—" and children is not wall.no_update
    assert changes["wall-freshness"]["children"] == "Đang chờ dữ liệu…"
    model = engine.models(wall.parse_view("?scene=services", SCENES, 20, NOW), NOW)[2]
    assert model["sv-age"]["children"] == "nguồn dữ liệu đang lỗi"


# --- scenes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("scene", SCENES)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_scene_lays_out_every_id_of_its_model(directory, scene, lang):
    d = data(directory)
    module = wall.SCENES[scene]
    model = module.model(d, lang)
    ids = layout_ids(module.layout(d, lang, model))
    assert set(model) <= ids, set(model) - ids


def test_chrome_layout_holds_every_id_of_its_model(directory):
    model = wall.chrome_model(data(directory), wall.View("map", True, "en"), SCENES)
    assert set(model) <= layout_ids(wall.layout(wall.WallOptions()))
    assert model["wall-lang"]["children"] == "Tiếng Việt" and model["wall-pin"]["children"] == "Rotate scenes"
    assert model["tile-label-overdue"]["children"] == "Overdue"


def test_chrome_tiles_and_staleness(directory):
    fresh = wall.chrome_model(data(directory, age_s=1), wall.View("flow", False, "vi"), SCENES)
    assert fresh["tile-in_processing"]["children"] == "3.489"
    assert fresh["tile-box-overdue"]["className"] == "tile bad"
    assert fresh["wall-tiles"]["className"] == "tiles"
    stale = wall.chrome_model(data(directory, age_s=60), wall.View("flow", False, "vi"), SCENES)
    assert stale["wall-tiles"]["className"] == "tiles stale"
    assert "chưa cập nhật" in stale["wall-freshness"]["children"]


def test_late_tally_moves_on_time_dossiers_to_overdue():
    t = tallies()[DEPT]
    late = wall_scorecard.late_tally(t, 5)
    assert late["good"] == t["good"] - 5 and late["counted_overdue"] == t["counted_overdue"] + 5
    before, after = wall_view(t, NOW), wall_view(late, NOW)
    assert after["ontime_rate"] == pytest.approx(before["ontime_rate"] - 5 / t["counted"])
    assert after["score"] < before["score"]
    assert wall_scorecard.late_tally(t, 10_000)["good"] == t["good"] - t["in_progress_on_time"]


def test_scorecard_ranks_units_and_names_the_dossiers_that_move_the_score(directory):
    d = data(directory)
    m = wall_scorecard.model(d, "vi")
    total = sum(u["counted"] for u in tallies().values())
    good = sum(u["good"] for u in tallies().values())
    assert m["sc-rate"]["children"] == f"{good / total * 100:.2f}".replace(".", ",") + " %"
    assert m["sc-score"]["children"] == f"{d.province['score']:.2f}".replace(".", ",")
    # Agencies: only the province-level one; communes: Tân Hòa with its two agencies summed.
    assert texts(m)["sc-ag-0-1"] == d.name(DEPT) and texts(m)["sc-ag-1-1"] == ""
    assert texts(m)["sc-cm-0-1"] == "Phường Tân Hòa"
    assert texts(m)["sc-cm-0-3"] == "93,3 %"  # (49 + 7) / (50 + 10)
    # Movers: the department's 5 at-risk dossiers cost the province most, first.
    assert texts(m)["sc-mv-0-0"] == d.name(DEPT) and texts(m)["sc-mv-0-1"] == "5"
    rate_delta = -5 / total * 100
    assert texts(m)["sc-mv-0-4"] == "−" + f"{abs(rate_delta):.2f}".replace(".", ",")
    assert "8 hồ sơ sắp đến hạn" in m["sc-move-summary"]["children"]
    movers = wall_scorecard.movers(d)
    assert [x["unit"] for x in movers][0] == DEPT and all(x["score_delta"] <= 0 for x in movers)


def test_ranking_best_and_worst_rows():
    views = {f"u{i}": {"score": 100 - i, "max_score": 100, "ontime_rate": 0.9} for i in range(12)}
    rows = wall_scorecard.best_and_worst(wall_scorecard.ranking(views), 5)
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]
    few = wall_scorecard.best_and_worst(wall_scorecard.ranking(dict(list(views.items())[:3])), 5)
    assert [r[0] if r else None for r in few] == [1, 2, 3, None, None, None, None, None, None, None]


def test_flow_totals_and_busiest_units(directory):
    m = wall_flow.model(data(directory, trend=[("2026-03-09", 40), ("2026-03-10", 12)]), "en")
    assert [m[f"fl-total-{j}"]["children"] for j in range(6)] == ["Province", "16", "3,489", "2", "8", "3"]
    assert m["fl-ag-0-0"]["children"].startswith("Sở Xây dựng") and m["fl-ag-0"]["className"] == "bad"
    assert m["fl-cm-0-0"]["children"] == "Phường Tân Hòa" and m["fl-cm-0-2"]["children"] == "33"
    assert m["fl-trend"]["~y"]["values"] == [40, 12]


def test_map_places_commune_agencies_at_their_commune(directory):
    d = data(directory)
    rates = wall_map.commune_rates(d)
    assert rates["04792"] == pytest.approx(0.933)
    assert sum(r is not None for r in rates.values()) == 1
    m = wall_map.model(d, "vi")
    colours = m["mp-province"]["~colour"]["values"]
    assert len(colours) == len(rates) and len(set(colours)) == 2  # Tân Hòa coloured, the rest "no data"
    assert m["mp-placed"]["children"].startswith("1/")
    assert m["mp-ag-0-1"]["children"] == "90,0 %"


def test_services_without_data_then_with_figures(directory):
    empty = wall_services.model(data(directory), "vi")
    assert empty["sv-portal"]["className"] == "card svc nodata"
    assert empty["sv-age"]["children"] == "chưa có dữ liệu hệ thống"
    services = {"portal": {"figures": {"up": 1, "availability": 0.9995, "latency_p95_s": 0.42, "error_rate": 0.0005},
                           "at": NOW.isoformat(), "age_s": 2.0},
                "motcua": {"up": 0, "availability": 0.5, "age_s": 1.0},
                "lgsp": {"up": 1, "availability": 1.0, "age_s": 30.0}}
    m = wall_services.model(data(directory, services=services), "en")
    assert m["sv-portal"]["className"] == "card svc ok" and m["sv-portal-avail"]["children"] == "99.95%"
    assert "p95 420 ms" in m["sv-portal-detail"]["children"]
    assert m["sv-motcua"]["className"] == "card svc down"
    assert m["sv-lgsp"]["className"] == "card svc stale" and m["sv-lgsp-age"]["className"] == "age stale"


def test_camera_grid(directory):
    assert wall_cameras.model(data(directory), "vi")["cm-note"]["children"] == "chưa có dữ liệu camera"
    cams = [{"camera_id": "c1", "name": "Cổng", "status": "ok", "people": 4, "thumbnail_url": "/camera/c1/t.jpg",
             "age_s": 1.0},
            {"camera_id": "c2", "name": "Sảnh", "status": "offline", "people": None,
             "thumbnail_url": "http://evil.example/x.jpg", "age_s": 40.0}]
    m = wall_cameras.model(data(directory, cameras=cams), "vi")
    assert m["cm-0-name"]["children"] == "Sảnh" and m["cm-0"]["className"] == "card cam stale"
    assert m["cm-0-img"]["src"] == ""  # only this server's pictures
    assert m["cm-1-img"]["src"] == "/camera/c1/t.jpg" and m["cm-1-people"]["children"] == "4 người"
    assert m["cm-2"]["className"] == "card cam empty"


def test_alerts_ticker_and_scene(directory):
    def alert(i: int, severity: str, state: str = "firing", minutes: int = 5) -> dict[str, Any]:
        return {"id": f"a{i}", "source": "service", "system": "portal", "unit": "04792", "severity": severity,
                "state": state, "summary": f"alert {i}", "started_at": (NOW - timedelta(minutes=minutes)).isoformat(),
                "updated_at": NOW.isoformat()}

    alerts = [alert(1, "warning"), alert(2, "critical", minutes=1), alert(3, "critical", "resolved"),
              alert(4, "info", "acknowledged")]
    d = data(directory, alerts=alerts)
    tk = wall_alerts.ticker_model(d, "vi")
    assert tk["tk-counts"]["children"] == "Cảnh báo: 1 nghiêm trọng · 1 cảnh báo · 1 thông tin"
    assert tk["tk-0"]["children"].startswith("Nghiêm trọng · Phường Tân Hòa · alert 2")
    m = wall_alerts.model(d, "en")
    assert [m[f"al-{i}-4"]["children"] for i in range(4)] == ["alert 2", "alert 1", "alert 4", ""]
    assert m["al-2-1"]["children"] == "Acknowledged" and m["al-1-5"]["children"] == "5 min ago"
