"""The web process's camera state (dashboards/wall/camera_*.py) and the live view's overlay (camera/overlay.py)."""

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from camera.overlay import annotate
from dashboards.wall.camera_routes import cameras_page
from dashboards.wall.camera_state import CameraState, camera_tiles

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jpeg(value: int = 128, w: int = 320, h: int = 240) -> bytes:
    return cv2.imencode(".jpg", np.full((h, w, 3), value, np.uint8))[1].tobytes()


def interval(camera: str, ts: datetime, health: str = "ok", people: int | None = 3) -> dict:
    return {"camera": camera, "ts": ts.isoformat(), "frames": 5, "people": people, "health": health}


def test_tiles_follow_records_and_thumbnails():
    clock = Clock()
    state = CameraState(stale_after_s=10, clock=clock)
    state.apply_record(interval("b", T0, people=4))
    state.apply_record(interval("a", T0, health="frozen"))
    state.apply_thumbnail("b", jpeg(), T0, {"name": "Bãi xe", "unit": "H44.07"})
    clock.now += 2.5
    a, b = state.tiles()
    assert (a["camera_id"], a["status"], a["thumbnail_url"], a["name"]) == ("a", "frozen", None, "a")
    assert (b["status"], b["people"], b["name"], b["unit"], b["age_s"]) == ("ok", 4, "Bãi xe", "H44.07", 2.5)
    assert b["thumbnail_url"] == f"/camera/b/thumbnail.jpg?t={int(T0.timestamp() * 1000)}"
    assert b["live_url"].startswith("/camera/b/live.jpg?t=")
    assert camera_tiles(state) == state.tiles()


def test_a_health_change_updates_the_status_and_the_live_overlay():
    state = CameraState(clock=Clock())
    state.apply_record(interval("a", T0))
    state.apply_thumbnail("a", jpeg(), T0, {"health": "ok"})
    state.apply_record({"event": "health_changed", "camera": "a", "from": "ok", "to": "dark",
                        "ts": (T0 + timedelta(seconds=1)).isoformat()})
    assert state.tiles()[0]["status"] == "dark"
    assert state.thumbnail("a")[2]["health"] == "dark"


def test_a_camera_without_news_is_stale_and_offline():
    clock = Clock()
    state = CameraState(stale_after_s=10, clock=clock)
    state.apply_record(interval("a", T0, people=6))
    clock.now += 10.5
    [tile] = state.tiles()
    assert tile["stale"] and tile["status"] == "offline" and tile["people"] is None


def test_older_records_and_thumbnails_read_late_are_ignored():
    state = CameraState(clock=Clock())
    state.apply_record(interval("a", T0 + timedelta(seconds=5), health="blurred"))
    state.apply_record(interval("a", T0, health="ok"))
    new, old = jpeg(200), jpeg(20)
    state.apply_thumbnail("a", new, T0 + timedelta(seconds=5), {})
    state.apply_thumbnail("a", old, T0, {})
    assert state.tiles()[0]["status"] == "blurred"
    assert state.thumbnail("a")[0] == new


def test_annotate_draws_boxes_zones_and_health_on_the_picture():
    plain = jpeg(128)
    overlay = {"health": "tampered", "people": 2, "boxes": [[0.2, 0.3, 0.2, 0.4, 2]],
               "zones": {"q": [[0.1, 0.6], [0.9, 0.6], [0.9, 0.95], [0.1, 0.95]]}, "counts": {"q": 1}}
    out = cv2.imdecode(np.frombuffer(annotate(plain, overlay), np.uint8), cv2.IMREAD_COLOR)
    base = cv2.imdecode(np.frombuffer(plain, np.uint8), cv2.IMREAD_COLOR)
    assert out.shape == base.shape
    diff = cv2.absdiff(out, base).max(axis=2) > 40
    assert diff[:10].mean() > 0.3  # the banner
    assert diff[72, 64:128].any()  # the box's top edge (y 0.3 of 240, x 0.2-0.4 of 320)
    assert diff[144, 40:280].any()  # the zone's top edge
    assert diff[120, 0:3].all()  # a red frame around a tampered camera
    ok = cv2.imdecode(np.frombuffer(annotate(plain, {"health": "ok"}), np.uint8), cv2.IMREAD_COLOR)
    assert not (cv2.absdiff(ok, base).max(axis=2)[120, 0:3] > 40).any()


def test_annotate_refuses_what_is_not_a_picture():
    with pytest.raises(ValueError):
        annotate(b"not a jpeg", {})


def test_cameras_page_escapes_names_and_links_the_live_view():
    state = CameraState(clock=Clock())
    state.apply_record(interval("a", T0))
    state.apply_thumbnail("a", jpeg(), T0, {"name": "<script>x</script>"})
    page = cameras_page(state.tiles())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'src="/camera/a/live.jpg?t=' in page and "bình thường" in page
    assert "Chưa có camera" in cameras_page([])
