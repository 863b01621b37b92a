"""Camera topics -> warehouse rows (ioc/warehouse/camera_rows.py) and the camera tables' DDL."""

import base64
import json
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from ioc.warehouse.camera_rows import ThumbnailSampler, camera_event_rows, thumbnail_headers, thumbnail_rows
from ioc.warehouse.schema import CAMERA_EVENTS, CAMERA_THUMBNAILS, LEGACY, MODERN, TABLES, render_create

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
JPEG = cv2.imencode(".jpg", np.full((24, 32, 3), 128, np.uint8))[1].tobytes()


def record(**extra):
    base = {"camera": "vtest", "ts": "2026-03-02T01:00:01.000+00:00", "frames": 10, "fps": 9.8, "motion": 0.021,
            "objects": 4, "people": 5, "zones": {"q": 3}, "lines": {}, "queues": {}, "health": "ok", "skipped": 0}
    return json.dumps({**base, **extra}).encode()


def test_an_interval_becomes_one_row_with_its_figures():
    [row] = camera_event_rows(record(), NOW)
    assert row["camera_id"] == "vtest" and row["event"] == "interval" and row["health"] == "ok"
    assert row["ts"] == datetime(2026, 3, 2, 1, 0, 1, tzinfo=timezone.utc)
    assert (row["frames"], row["people"], row["objects"]) == (10, 5, 4)
    assert json.loads(row["zones"]) == {"q": 3}
    assert set(row) == set(CAMERA_EVENTS.column_names)


def test_an_interval_without_frames_keeps_unknown_counts_null():
    [row] = camera_event_rows(record(frames=0, motion=None, objects=None, people=None, health="offline"), NOW)
    assert row["motion"] is None and row["people"] is None and row["health"] == "offline"


def test_a_health_change_becomes_one_row():
    value = json.dumps({"event": "health_changed", "camera": "c", "from": "ok", "to": "frozen",
                        "ts": "2026-03-02T01:00:05+00:00"}).encode()
    [row] = camera_event_rows(value, NOW)
    assert (row["event"], row["health_from"], row["health"]) == ("health_changed", "ok", "frozen")
    assert set(row) == set(CAMERA_EVENTS.column_names)


@pytest.mark.parametrize("value", [
    record(health="melted"),
    record(ts="2026-03-02T01:00:01"),  # no offset
    json.dumps({"event": "exploded", "camera": "c", "ts": "2026-03-02T01:00:05+00:00"}).encode(),
    b"[1, 2]",
])
def test_bad_records_are_refused(value):
    with pytest.raises((ValueError, KeyError)):
        camera_event_rows(value, NOW)


def headers(ts: datetime, overlay=None):
    h = [("ts", ts.isoformat().encode()), ("content-type", b"image/jpeg")]
    if overlay is not None:
        h.append(("overlay", json.dumps(overlay).encode()))
    return h


def test_thumbnails_are_sampled_per_camera_and_keep_their_overlay():
    sampler = ThumbnailSampler(every_s=60)
    t0 = NOW
    first = thumbnail_rows(b"a", JPEG, headers(t0, {"health": "ok"}), None, NOW, sampler)
    assert len(first) == 1 and set(first[0]) == set(CAMERA_THUMBNAILS.column_names)
    assert base64.b64decode(first[0]["jpeg_base64"]) == JPEG
    assert json.loads(first[0]["overlay"]) == {"health": "ok"}
    assert thumbnail_rows(b"a", JPEG, headers(t0 + timedelta(seconds=2)), None, NOW, sampler) == []
    assert len(thumbnail_rows(b"b", JPEG, headers(t0 + timedelta(seconds=2)), None, NOW, sampler)) == 1
    assert len(thumbnail_rows(b"a", JPEG, headers(t0 + timedelta(seconds=61)), None, NOW, sampler)) == 1


def test_thumbnail_without_ts_header_uses_the_message_time_and_tombstones_are_skipped():
    [row] = thumbnail_rows(b"a", JPEG, [], 1_772_413_200_000, NOW, ThumbnailSampler())
    assert row["captured_at"] == datetime.fromtimestamp(1_772_413_200, timezone.utc)
    assert thumbnail_rows(b"a", None, [], 0, NOW, ThumbnailSampler()) == []
    with pytest.raises(ValueError, match="JPEG"):
        thumbnail_rows(b"a", b"GIF89a...", [], 0, NOW, ThumbnailSampler())


def test_unreadable_overlay_header_is_an_empty_overlay():
    ts, overlay = thumbnail_headers([("ts", b"2026-03-02T01:00:00+00:00"), ("overlay", b"{not json")])
    assert ts == NOW and overlay == {}


def test_camera_tables_render_for_both_dialects():
    assert CAMERA_EVENTS in TABLES and CAMERA_THUMBNAILS in TABLES
    events = render_create(CAMERA_EVENTS, "ioc", MODERN)
    assert "camera_id LowCardinality(String)" in events and "INTERVAL 90 DAY" in events
    assert "ENGINE = ReplacingMergeTree(ingested_at)" in events and "ORDER BY (camera_id, ts, event)" in events
    assert "CODEC(Delta, ZSTD)" in events
    thumbs = render_create(CAMERA_THUMBNAILS, "ioc", MODERN)
    assert "INTERVAL 7 DAY" in thumbs and "PARTITION BY toYYYYMMDD(captured_at)" in thumbs
    legacy = render_create(CAMERA_EVENTS, "ioc", LEGACY)
    assert "LowCardinality" not in legacy and "TTL" not in legacy and "CODEC" not in legacy
