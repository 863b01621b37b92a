"""The wall's pure parts: the view from the URL, the playlist, the model diff (partial updates),
and each scene's model built from live tallies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import plotly
import pytest

from dashboards.live_state import LiveState
from dashboards.wall import app as wall
from dashboards.wall.data import build_wall_data, unit_directory
from dashboards.wall.model import ModelCache, diff, version_of
from dashboards.wall.scenes import alerts as wall_alerts
from dashboards.wall.scenes import cameras as wall_cameras
from dashboards.wall.scenes import flow as wall_flow
from dashboards.wall.scenes import map as wall_map
from dashboards.wall.scenes import scorecard as wall_scorecard
from dashboards.wall.scenes import services as wall_services
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


# --- the whole index on the scorecard, its periods, the national score; the petitions scene ------

from dashboards.wall import period_reports as pr  # noqa: E402
from dashboards.wall.data import WallData  # noqa: E402
from dashboards.wall.scenes import pakn as wall_pakn  # noqa: E402
from ioc.domain.events import parse_event  # noqa: E402
from ioc.kpi.indicators import Sources  # noqa: E402
from ioc.kpi.national import rank_scores  # noqa: E402
from ioc.kpi.scoring import registry_for  # noqa: E402

LONG = "3.5"  # "Tỷ lệ TTHC có nghĩa vụ tài chính được tích hợp thanh toán trực tuyến trên Cổng DVCQG"


def hand_view(complete: bool = False) -> dict[str, Any]:
    """A province view as ioc.kpi.live.wall_view gives it: some indicators computed, 5.1 monitored,
    the catalogue ones missing (unless ``complete``)."""
    def ind(i: str, num: int, den: int, score: float | None, max_score: int) -> dict[str, Any]:
        return {"indicator": i, "numerator": num, "denominator": den, "ratio": num / den if den else None,
                "score": score, "max_score": max_score}

    indicators = {"2.1": ind("2.1", 9075, 9471, 19.16, 20), "5.1": ind("5.1", 120, 260, None, 0),
                  "5.2": ind("5.2", 192, 260, 4.43, 6), "5.3": ind("5.3", 151, 260, 3.48, 6),
                  "5.4": ind("5.4", 8952, 9471, 6.0, 6)}
    missing = {"1.1": "no procedure catalogue given (ioc catalogue import / ioc kpi --catalogue)",
               LONG: "no procedure catalogue given (ioc catalogue import / ioc kpi --catalogue)",
               "4.2": "no dossier of the input carries digitized"}
    if complete:
        indicators[LONG] = ind(LONG, 21, 28, 1.88, 2)
        indicators["1.1"] = ind("1.1", 0, 0, None, 6)
        missing = {}
    groups = {"1": {"score": 0.0, "max_score": 6 if complete else 0, "points": 18},
              "2": {"score": 19.16, "max_score": 20, "points": 20},
              "3": {"score": 1.88 if complete else 0.0, "max_score": 2 if complete else 0, "points": 22},
              "4": {"score": 0.0, "max_score": 0, "points": 22},
              "5": {"score": 13.91, "max_score": 18, "points": 18}}
    return {"received_today": 5, "in_processing": 40, "due_today": 1, "at_risk": 0, "overdue": 2,
            "ontime_rate": 9075 / 9471, "indicators": indicators, "groups": groups, "missing": missing,
            "quality": {"5.4": "TEST_FLAG"} if not complete else {}, "score": 80.0 if complete else 39.07,
            "max_score": 100 if complete else 38, "band": "good" if complete else None,
            "profile": "Cổng DVCQG current profile (domain.md §2.5)"}


def hand_data(directory, view: dict[str, Any] | None = None, **extra: Any) -> WallData:
    return WallData(now=NOW, stale_after_s=5.0, age_s=1.0, province=view or hand_view(), units={}, communes={},
                    tallies={}, directory=directory, **extra)


def provinces_table() -> list:
    """The portal's 34 provinces of 2026-10, ours (by its short name) 12th with 88.5; an older month."""
    rows = [(f"Tỉnh trên {i}", "2026-10", 95.0 - i * 0.5) for i in range(11)]
    rows += [(f"Tỉnh dưới {i}", "2026-10", 80.0 - i * 0.5) for i in range(22)]
    return rank_scores(rows + [("Phú Thọ", "2026-10", 88.5), ("Phú Thọ", "2026-09", 70.0)])


def test_scorecard_shows_the_groups_and_every_indicator_whole(directory):
    m = wall_scorecard.model(hand_data(directory), "vi")
    registry = registry_for(NOW)
    shown = [k[len("sc-ind-"):-len("-name")] for k in m if k.startswith("sc-ind-") and k.endswith("-name")]
    assert len(shown) == 23 and "2_2" not in shown  # the 23 of the index; 2.2 is per procedure only
    # The five groups: name and score / points (the portal's group 3: online services + payment).
    assert texts(m)["sc-grp-1-name"] == "1. Công khai, minh bạch"
    assert texts(m)["sc-grp-3-name"] == "3. Dịch vụ công trực tuyến và thanh toán trực tuyến"
    assert texts(m)["sc-grp-2-score"] == "19,16 / 20" and texts(m)["sc-grp-4-score"] == "— / 22"  # none computed
    assert texts(m)["sc-grp-5-part"] == "" and texts(m)["sc-grp-4-part"] == ""
    partial = hand_view()
    partial["groups"]["5"] = {"score": 7.91, "max_score": 12, "points": 18}
    assert texts(wall_scorecard.model(hand_data(directory, partial), "vi"))["sc-grp-5-part"] == "đã tính 12/18 điểm"
    # A name longer than 60 characters, whole, in the model and in the layout built from it.
    name = registry.rule(LONG).name_vi
    assert len(name) > 60 and texts(m)["sc-ind-3_5-name"] == name
    assert name in json.dumps(wall_scorecard.layout(hand_data(directory), "vi", m), cls=plotly.utils.PlotlyJSONEncoder,
                              ensure_ascii=False)
    # Computed: counts, ratio, score / max.
    assert texts(m)["sc-ind-2_1-note"] == "9.075 / 9.471"
    assert texts(m)["sc-ind-2_1-ratio"] == "95,82 %" and texts(m)["sc-ind-2_1-score"] == "19,16 / 20"
    # Missing: "chưa tính được" with the reason, on screen and in the tooltip.
    note = texts(m)["sc-ind-1_1-note"]
    assert note == "chưa tính được: chưa có danh mục thủ tục hành chính (ioc catalogue import)"
    assert m["sc-ind-1_1"]["title"] == note and m["sc-ind-1_1"]["className"] == "ind missing"
    assert texts(m)["sc-ind-1_1-score"] == "— / 6" and texts(m)["sc-ind-1_1-ratio"] == "—"
    assert "trường digitized" in texts(m)["sc-ind-4_2-note"]
    assert texts(m)["sc-ind-4_4-note"].startswith("chưa tính được")  # absent from both: still shown
    # Monitor only: marked, not scored; a data-quality flag is shown too.
    assert texts(m)["sc-ind-5_1-score"] == "theo dõi" and "chỉ theo dõi" in texts(m)["sc-ind-5_1-note"]
    assert "⚠ TEST_FLAG" in texts(m)["sc-ind-5_4-note"]
    # The headline: n of 100 computed, no band while incomplete, the profile in small print.
    assert texts(m)["sc-score"] == "39,07" and texts(m)["sc-max"] == "/ 38"
    assert texts(m)["sc-computed"] == "đã tính 38/100 điểm"
    assert m["sc-band"] == {"children": "", "className": "band hidden"}
    assert texts(m)["sc-profile"] == "Cách tính điểm: Cổng DVCQG current profile (domain.md §2.5)"
    en = wall_scorecard.model(hand_data(directory), "en")
    assert texts(en)["sc-computed"] == "38 of 100 points computed"
    assert texts(en)["sc-ind-3_5-name"] == \
        "Fee-bearing procedures integrated with online payment on the national portal"
    assert texts(en)["sc-ind-1_1-note"] == "not computed: no procedure catalogue given (ioc catalogue import)"


def test_the_band_shows_only_on_a_complete_index(directory):
    m = wall_scorecard.model(hand_data(directory, hand_view(complete=True)), "vi")
    assert texts(m)["sc-computed"] == "đã tính 100/100 điểm"
    assert m["sc-band"] == {"children": "Xếp loại: Tốt", "className": "band"}
    assert texts(m)["sc-ind-1_1-note"] == "0 / 0 · mẫu số bằng 0" and texts(m)["sc-ind-1_1-score"] == "— / 6"
    assert wall_scorecard.model(hand_data(directory, hand_view(complete=True)), "en")["sc-band"]["children"] \
        == "Rating: Good"


def test_the_national_score_and_rank_beside_the_projection(directory):
    nothing = wall_scorecard.model(hand_data(directory), "vi")
    assert nothing["sc-national"] == {"children": "Chưa nhập bảng điểm Cổng DVCQG công bố",
                                      "className": "national none"}
    table = provinces_table()
    assert len({s.province for s in table if s.period == "2026-10"}) == 34
    m = wall_scorecard.model(hand_data(directory, national=table), "vi")
    assert m["sc-national"] == {"children": "Cổng DVCQG công bố: 88,5 — hạng 12/34 (2026-10)", "className": "national"}
    assert wall_scorecard.model(hand_data(directory, national=table), "en")["sc-national"]["children"] \
        == "National portal published: 88.5 — rank 12 of 34 (2026-10)"
    # Matched by the province's name however the table spells it; another province's table only.
    spelled = rank_scores([("TỈNH PHÚ THỌ", "2026-11", 90.0), ("Hà Nội", "2026-11", 91.0)])
    assert wall_scorecard.model(hand_data(directory, national=spelled), "vi")["sc-national"]["children"] \
        == "Cổng DVCQG công bố: 90 — hạng 2/2 (2026-11)"
    others = rank_scores([("Hà Nội", "2026-11", 91.0)])
    assert wall_scorecard.model(hand_data(directory, national=others), "vi")["sc-national"] == {
        "children": "Bảng điểm Cổng DVCQG đã nhập không có Phú Thọ", "className": "national none"}


def test_the_scorecard_period_comes_from_the_background_replay(directory):
    view = hand_view(complete=True)
    computing = wall_scorecard.model(hand_data(directory), "vi", period="quarter")
    assert computing["sc-period"] == {"children": "Đang tính số liệu quý 2026/Q1 từ kho dữ liệu…",
                                      "className": "period computing"}
    assert texts(computing)["sc-score"] == "—" and texts(computing)["sc-ind-2_1-note"].startswith("Đang tính")
    ready = {"quarter": pr.PeriodResult("quarter", "2026-Q1", NOW, view, {}),
             "year": pr.PeriodResult("year", "2025", NOW, view, {})}  # last year's: a new one is coming
    m = wall_scorecard.model(hand_data(directory, period_reports=ready), "vi", period="quarter")
    assert texts(m)["sc-score"] == "80,00" and texts(m)["sc-computed"] == "đã tính 100/100 điểm"
    assert m["sc-period"]["children"] == "Quý 1/2026 đến nay, tính lúc 10:00 10/03"
    assert texts(m)["sc-rate-label"] == "Tỷ lệ đúng hạn (quý): "
    year = wall_scorecard.model(hand_data(directory, period_reports=ready), "vi", period="year")
    assert year["sc-period"]["className"] == "period computing"
    failed = {"year": pr.PeriodResult("year", "2026", NOW, None, {}, error="RuntimeError: no warehouse connection")}
    assert wall_scorecard.model(hand_data(directory, period_reports=failed), "en", period="year")["sc-period"] == {
        "children": "The year 2026 figures failed: RuntimeError: no warehouse connection", "className": "period failed"}
    empty = {"year": pr.PeriodResult("year", "2026", NOW, None, {})}
    m = wall_scorecard.model(hand_data(directory, period_reports=empty), "vi", period="year")
    assert m["sc-period"]["children"].endswith("Không có hồ sơ trong kỳ")
    assert texts(m)["sc-ind-2_1-note"] == "chưa tính được: không có hồ sơ trong kỳ"
    # The switch: links to the pinned scorecard per period; the layout marks the current one.
    ids = layout_ids(wall_scorecard.layout(hand_data(directory), "vi", m, period="year"))
    assert {"sc-per-month", "sc-per-quarter", "sc-per-year"} <= ids
    assert wall_scorecard.period_href("year", "en") == "/?scene=scorecard&pin=1&lang=en&period=year"


def test_the_period_travels_in_the_url(directory):
    v = wall.parse_view("?scene=scorecard&period=year&lang=en", SCENES, 20, NOW)
    assert (v.scene, v.pinned, v.period, v.error) == ("scorecard", True, "year", None)
    bad = wall.parse_view("?scene=scorecard&period=decade", SCENES, 20, NOW)
    assert bad.period == "month" and "decade" in bad.error
    assert wall.view_href("scorecard", "vi", "quarter") == "/?scene=scorecard&pin=1&period=quarter"
    assert wall.parse_view(wall.view_href(None, "en", "year")[1:], SCENES, 20, NOW).period == "year"
    chrome = wall.chrome_model(data(directory), wall.View("scorecard", True, "vi", None, "year"), SCENES)
    assert chrome["wall-lang"]["href"] == "/?scene=scorecard&pin=1&lang=en&period=year"
    assert chrome["wall-pin"]["href"] == "/?period=year"
    # The engine answers a period change of the same scene with the whole scene.
    state = LiveState()
    state.apply_snapshot({"computed_at": (NOW - timedelta(seconds=1)).isoformat(), "partition": 0, "units": tallies()})
    engine = wall.WallEngine(state, wall.WallOptions(), directory, clock=lambda: NOW,
                             period_reports=lambda: {"quarter": pr.PeriodResult("quarter", "2026-Q1", NOW,
                                                                                hand_view(True), {})})
    _, children, seen, _ = engine.update("?scene=scorecard", None)
    assert children is not wall.no_update and seen["period"] == "month"
    _, children, seen, changes = engine.update("?scene=scorecard&period=quarter", seen)
    assert children is not wall.no_update and seen["period"] == "quarter"
    model = engine.models(wall.parse_view("?scene=scorecard&period=quarter", SCENES, 20, NOW), NOW)[2]
    assert model["sc-score"]["children"] == "80,00"


def test_movers_score_the_what_if_with_the_views_sources(directory):
    d = data(directory, index_sources=Sources(pakn=True))
    assert "5.2" in d.province["indicators"]  # the sources count: 5.2/5.3 present with petitions
    assert wall_scorecard._province_whatif(d, wall_scorecard.sum_tallies(d.tallies.values()))["score"] \
        == d.province["score"]
    assert all(-1 < mv["score_delta"] <= 0 for mv in wall_scorecard.movers(d))


def test_the_period_replay_is_the_ioc_kpi_replay():
    base = {"unit_code": "U1", "procedure_code": "1.001612"}
    events = [parse_event(e) for e in (
        {**base, "event_id": "a2", "dossier_code": "A", "status": 2, "occurred_at": "2026-01-05T09:00:00+07:00",
         "due_at": "2026-01-09T17:00:00+07:00", "channel": 2},
        {**base, "event_id": "a9", "dossier_code": "A", "status": 9, "occurred_at": "2026-01-07T10:00:00+07:00"},
        {**base, "unit_code": "U2", "event_id": "b2", "dossier_code": "B", "status": 2,
         "occurred_at": "2026-02-02T10:00:00+07:00", "due_at": "2026-02-04T17:00:00+07:00", "channel": 1},
    )]
    quarter = pr.compute(events, [], "quarter", NOW, Sources(pakn=True), "25")
    assert (quarter.kind, quarter.label) == ("quarter", "2026-Q1")
    assert quarter.province["indicators"]["2.1"]["numerator"] == 1 and quarter.province["ontime_rate"] == 0.5
    assert set(quarter.units) == {"U1", "U2"} and quarter.units["U1"]["ontime_rate"] == 1.0
    assert quarter.province["profile"] and quarter.province["max_score"] < 100 and quarter.province["band"] is None
    assert "5.2" in quarter.province["indicators"]  # petitions given (none): 5.2 scores full marks
    from ioc.commands.kpi_replay import replay
    from ioc.kpi.periods import period_to_date
    report = replay(events, period_to_date(NOW, "quarter"), NOW, province="25", sources=Sources(pakn=True))
    assert quarter.province["score"] == report["units"][0]["total_score"]
    assert pr.compute(events, [], "year", NOW, Sources(), "25").label == "2026"


def test_period_reports_job_keeps_the_last_result_and_names_a_failure():
    class Broken:
        database = "x"

        def query(self, *a: Any) -> Any:
            raise RuntimeError("warehouse down")

    job = pr.PeriodReports(lambda: Broken(), Sources, "25", clock=lambda: NOW, every_s=0.05)
    try:
        job.start()
        deadline = datetime.now() + timedelta(seconds=10)
        while "quarter" not in job._results and datetime.now() < deadline:
            import time as _t
            _t.sleep(0.02)
        got = job.latest()
        assert got["quarter"].error == "RuntimeError: warehouse down" and got["quarter"].province is None
        assert got["year"].label == "2026"
    finally:
        job.stop()


# --- the petitions scene -----------------------------------------------------------------------


def pakn_tallies() -> dict[str, dict[str, int]]:
    t = tallies()
    t[DEPT] = dict(t[DEPT], **{"pakn:counted": 10, "pakn:on_time": 7, "pakn:late": 3, "pakn:satisfied": 6,
                               "pakn:categorised": 9, "pakn:about_rules": 5, "pakn:category:regulation": 2,
                               "pakn:category:procedure": 3, "pakn:category:conduct": 3, "pakn:category:other": 1,
                               "pakn:category:unknown": 1, "pakn:open": 4, "pakn:near_limit": 1,
                               "pakn:overdue": 2, "pakn:received": 8, "pakn:awaiting_publication": 1})
    t[COMMUNE_UBND] = dict(t[COMMUNE_UBND], **{"pakn:counted": 3, "pakn:on_time": 3, "pakn:satisfied": 3,
                                               "pakn:categorised": 3, "pakn:about_rules": 1,
                                               "pakn:category:conduct": 2, "pakn:category:other": 1,
                                               "pakn:open": 2, "pakn:overdue": 1, "pakn:received": 3})
    return t


def test_pakn_scene_counts_categories_indicators_map_and_units(directory):
    d = data(directory, pakn_tallies(), index_sources=Sources(pakn=True))
    m = wall_pakn.model(d, "vi")
    assert [texts(m)[f"pk-{k}"] for k in ("open", "near_limit", "overdue", "received")] == ["6", "1", "3", "11"]
    assert m["pk-box-overdue"]["className"] == "card pk-card bad" and m["pk-box-open"]["className"] == "card pk-card"
    assert texts(m)["pk-awaiting"] == "Đã trả lời, chờ công khai: 1"
    cats = {c: (texts(m)[f"pk-cat-{c}-0"], texts(m)[f"pk-cat-{c}-1"]) for c in wall_pakn.CATEGORIES}
    assert cats == {"regulation": ("Quy định", "2"), "procedure": ("Thủ tục hành chính", "3"),
                    "conduct": ("Hành vi cán bộ", "5"), "other": ("Khác", "2"), "unknown": ("Chưa phân loại", "1")}
    assert texts(m)["pk-cat-conduct-2"] == "38,5 %"  # 5 of 13
    # 5.1-5.3 of the province: 5.2 = 10 on time of 13, 5.1 monitored.
    assert texts(m)["pk-ind-5_2-note"] == "10 / 13" and texts(m)["pk-ind-5_2-ratio"] == "76,92 %"
    assert texts(m)["pk-ind-5_2-score"] == "4,62 / 6" and texts(m)["pk-ind-5_1-score"] == "theo dõi"
    assert texts(m)["pk-ind-5_3-name"] == "Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị"
    # The map: Tân Hòa (its UBND's petitions) coloured and sized, every other commune "no data".
    figures = wall_pakn.commune_figures(d)
    assert figures["04792"]["overdue"] == 1 and sum(v is not None for v in figures.values()) == 1
    colours, sizes = m["pk-map"]["~colour"]["values"], m["pk-map"]["~size"]["values"]
    assert len(set(colours)) == 2 and len(set(sizes)) == 2
    assert any("Phường Tân Hòa" in x and "Quá hạn: 1" in x for x in m["pk-map"]["~text"]["values"])
    assert texts(m)["pk-placed"].startswith("(1/")
    # Units, most past their limit first.
    assert [texts(m)["pk-un-0-0"], texts(m)["pk-un-0-3"], texts(m)["pk-un-1-3"]] == [d.name(DEPT), "2", "1"]
    assert m["pk-un-0"]["className"] == "bad" and m["pk-un-2"]["className"] == "empty"
    en = wall_pakn.model(d, "en")
    assert texts(en)["pk-cat-conduct-0"] == "Officials' conduct" and texts(en)["pk-ind-5_2-name"] == \
        "Petitions handled on time"


def test_pakn_scene_without_petition_data(directory):
    m = wall_pakn.model(data(directory), "vi")
    assert texts(m)["pk-open"] == "—" and texts(m)["pk-age"] == "chưa có dữ liệu phản ánh, kiến nghị"
    assert texts(m)["pk-ind-5_2-note"].startswith("chưa tính được: chưa có dữ liệu phản ánh")
    assert texts(m)["pk-un-0-0"] == "" and texts(m)["pk-un-note"] == ""
