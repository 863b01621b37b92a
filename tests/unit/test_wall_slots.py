"""The wall's scene slots: per-scene versions in the browser's marker, the quiet-second
prefetch of the playlist's next scene, and a playlist scene change that sends no layout."""

from __future__ import annotations

from datetime import timedelta

from dashboards.live_state import LiveState
from dashboards.wall import app as wall
from dashboards.wall import slots as wall_slots
from dashboards.wall.data import unit_directory
from tests.unit.test_wall import NOW, tallies

PLAYLIST = ("scorecard", "flow", "map")


def test_held_scenes_are_those_of_the_same_language_and_period():
    seen = wall_slots.marker("v2", "flow", "vi", "month", {"flow": "v2", "map": "v1"}, 0.5)
    assert wall_slots.held_scenes(seen, "vi", "month") == {"flow": "v2", "map": "v1"}
    assert wall_slots.held_scenes(seen, "en", "month") == {}  # another page: slots anew
    assert wall_slots.held_scenes(seen, "vi", "quarter") == {}
    assert wall_slots.held_scenes({"v": "x", "scene": "flow", "lang": "vi"}, "vi", "month") == {}  # older marker
    assert wall_slots.held_scenes(None, "vi", "month") == {}
    assert wall_slots.held_scenes({**seen, "scenes": {"map": 3}}, "vi", "month") == {}  # not a version


def test_prefetch_the_next_scene_in_the_browsers_quiet_second_only():
    # rotate 20 s: quiet seconds 1..17 of the step; phase 0 -> second 1, phase 0.5 -> second 9.
    assert wall_slots.prefetch(PLAYLIST, "scorecard", {"scorecard": "a"}, 1.3, 20, 0.0) == "flow"
    assert wall_slots.prefetch(PLAYLIST, "scorecard", {"scorecard": "a"}, 2.3, 20, 0.0) is None
    assert wall_slots.prefetch(PLAYLIST, "scorecard", {"scorecard": "a"}, 9.5, 20, 0.5) == "flow"
    assert wall_slots.prefetch(PLAYLIST, "scorecard", {"scorecard": "a"}, 0.5, 20, 0.0) is None  # the change
    assert wall_slots.prefetch(PLAYLIST, "scorecard", {"scorecard": "a"}, 18.5, 20, 0.999) is None  # just before
    assert wall_slots.prefetch(PLAYLIST, "scorecard", {"scorecard": "a"}, 17.5, 20, 0.999) == "flow"
    # The soonest scene not held yet, wrapping round the playlist; nothing once all are held.
    assert wall_slots.prefetch(PLAYLIST, "map", {"map": "a", "scorecard": "b"}, 1.0, 20, 0.0) == "flow"
    assert wall_slots.prefetch(PLAYLIST, "map", dict.fromkeys(PLAYLIST, "v"), 1.0, 20, 0.0) is None
    assert wall_slots.prefetch(PLAYLIST, "alerts", {"alerts": "a"}, 1.0, 20, 0.0) is None  # not in the playlist
    # The shortest step (5 s) still has two quiet seconds, every phase lands in one of them.
    assert {wall_slots.prefetch(PLAYLIST, "flow", {}, s + 0.5, 5, p) for s in range(5) for p in (0.0, 0.99)} \
        == {None, "map"}


def test_phase_is_kept_from_the_marker_or_given():
    assert wall_slots.phase_of({"phase": 0.25}) == 0.25
    assert 0 <= wall_slots.phase_of({"phase": 7}) < 1
    assert 0 <= wall_slots.phase_of(None) < 1


def test_a_playlist_scene_change_sends_no_layout_only_the_changes_since_last_shown():
    state = LiveState()
    state.apply_snapshot({"computed_at": (NOW - timedelta(seconds=1)).isoformat(), "partition": 0,
                          "units": tallies()})
    clock = [NOW]
    engine = wall.WallEngine(state, wall.WallOptions(scenes=PLAYLIST, rotate_s=5), unit_directory("25", "H44", ()),
                             clock=lambda: clock[0])
    step0 = NOW - timedelta(seconds=NOW.timestamp() % 15)  # the step of scorecard
    seen: dict = {}
    sent: dict[int, tuple] = {}
    for i in range(15):
        clock[0] = step0 + timedelta(seconds=i)
        tiles, children, marker, changes = engine.update("", seen or None)
        sent[i] = (children, changes)
        seen = marker if marker is not wall.no_update else seen
    first, _ = sent[0]
    assert [c.id for c in first] == [f"wall-slot-{s}" for s in wall.SCENES]  # a slot per scene
    assert [c.className for c in first if c.children is not None] == ["scene-slot"]  # the shown one
    # Each next scene was laid out, hidden, in a quiet second of the step before its change...
    prefetched = {i: [k for k, v in ch.items() if k.startswith("wall-slot") and "children" in v]
                  for i, (_, ch) in sent.items()}
    assert [p for i, p in sorted(prefetched.items()) if p] == [["wall-slot-flow"], ["wall-slot-map"]]
    assert all(1 <= i % 5 < 3 for i, p in prefetched.items() if p)
    # ...so a change is classes and values: map shown, flow hidden, no component sent.
    children, changes = sent[10]
    assert children is wall.no_update
    assert changes["wall-slot-map"] == {"className": "scene-slot"}
    assert changes["wall-slot-flow"] == {"className": "scene-slot hidden"}
    assert "mp-placed" not in changes  # unchanged since its slot was laid out
    assert set(seen["scenes"]) == set(PLAYLIST)
    # Back to the first scene: its values changed since it was shown: only they travel.
    changed = tallies()
    changed["H44.07"] = dict(changed["H44.07"], in_processing=3500)
    state.apply_snapshot({"computed_at": clock[0].isoformat(), "partition": 0, "units": changed})
    clock[0] = step0 + timedelta(seconds=15)
    tiles, children, marker, changes = engine.update("", seen)
    assert children is wall.no_update and marker["scene"] == "scorecard"
    assert changes["wall-slot-scorecard"] == {"className": "scene-slot"} and tiles == {"in_processing": "3.533"}
    assert not any("children" in v for k, v in changes.items() if k.startswith("wall-slot"))
