"""Camera topics -> warehouse rows (pure), and the thumbnail queries of the web process.

Records of the camera-events topic (contracts.md §4) become ``camera_events`` rows keyed by
(camera, time, event), so a record delivered twice collapses. Thumbnails arrive every few
seconds per camera; the warehouse keeps a sample (:class:`ThumbnailSampler`, one per camera
per ``THUMBNAIL_STORE_EVERY_S``) for 7 days, enough to see what a camera showed at the time
of an alert without storing gigabytes a day. The newest picture is served from memory by the
web process (dashboards/wall/camera_routes.py); the warehouse answers when memory has none.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any, Iterable

from ioc.warehouse.backends import Row, Warehouse
from ioc.warehouse.schema import CAMERA_THUMBNAILS

THUMBNAIL_STORE_EVERY_S = 60.0
HEALTH_STATES = ("ok", "offline", "frozen", "dark", "bright", "blurred", "tampered")


def _json(value: Any) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def camera_event_rows(value: bytes | None, ingested_at: datetime) -> list[Row]:
    """One row for an interval or a health change; ValueError/KeyError for anything else."""
    data = json.loads(value or b"{}")
    if not isinstance(data, dict):
        raise ValueError("a camera record must be a JSON object")
    camera = str(data["camera"])
    ts = datetime.fromisoformat(str(data["ts"]))
    if ts.tzinfo is None:
        raise ValueError(f"camera record ts {data['ts']!r} has no UTC offset")
    if data.get("event") == "health_changed":
        to, was = str(data["to"]), str(data["from"])
        if to not in HEALTH_STATES or was not in HEALTH_STATES:
            raise ValueError(f"unknown health state in {was!r} -> {to!r}")
        return [{"camera_id": camera, "ts": ts, "event": "health_changed", "health": to, "health_from": was,
                 "frames": 0, "fps": 0.0, "motion": None, "objects": None, "people": None, "skipped": 0,
                 "zones": "{}", "lines": "{}", "queues": "{}", "ingested_at": ingested_at}]
    if "event" in data:
        raise ValueError(f"unknown camera event {data['event']!r}")
    health = str(data["health"])
    if health not in HEALTH_STATES:
        raise ValueError(f"unknown health state {health!r}")
    motion = data.get("motion")
    return [{
        "camera_id": camera, "ts": ts, "event": "interval", "health": health, "health_from": "",
        "frames": int(data.get("frames", 0)), "fps": float(data.get("fps", 0.0)),
        "motion": None if motion is None else float(motion),
        "objects": _count(data.get("objects")), "people": _count(data.get("people")),
        "skipped": int(data.get("skipped", 0)),
        "zones": _json(data.get("zones")), "lines": _json(data.get("lines")), "queues": _json(data.get("queues")),
        "ingested_at": ingested_at,
    }]


def thumbnail_headers(headers: Iterable[tuple[str, bytes]] | None) -> tuple[datetime | None, dict[str, Any]]:
    """The capture time and the overlay of a camera-frames message's headers."""
    found = {k: v for k, v in (headers or ())}
    ts = datetime.fromisoformat(found["ts"].decode()) if "ts" in found else None
    overlay: dict[str, Any] = {}
    if "overlay" in found:
        try:
            parsed = json.loads(found["overlay"])
            overlay = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            overlay = {}
    return ts, overlay


class ThumbnailSampler:
    """Keeps a camera's thumbnail when ``every_s`` passed since the last one it kept.

    Its memory is per process: after a restart the first thumbnail of each camera is kept
    again, which at worst stores one extra picture (a replayed one collapses on its key)."""

    def __init__(self, every_s: float = THUMBNAIL_STORE_EVERY_S) -> None:
        self.every_s = every_s
        self._kept: dict[str, datetime] = {}

    def keep(self, camera: str, captured_at: datetime) -> bool:
        last = self._kept.get(camera)
        if last is not None and (captured_at - last).total_seconds() < self.every_s \
                and captured_at >= last:
            return False
        self._kept[camera] = captured_at
        return True


def thumbnail_rows(key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]] | None,
                   timestamp_ms: int | None, ingested_at: datetime, sampler: ThumbnailSampler) -> list[Row]:
    """The row of one camera-frames message, if the sampler keeps it (a JPEG, keyed by camera id)."""
    if not key or not value:
        return []  # a tombstone, or a message without a camera
    if not value.startswith(b"\xff\xd8"):
        raise ValueError("a camera thumbnail must be a JPEG")
    camera = key.decode("utf-8")
    ts, overlay = thumbnail_headers(headers)
    if ts is None:
        ts = datetime.fromtimestamp((timestamp_ms or 0) / 1000, timezone.utc)
    if not sampler.keep(camera, ts):
        return []
    return [{"camera_id": camera, "captured_at": ts, "jpeg_base64": base64.b64encode(value).decode("ascii"),
             "overlay": _json(overlay), "ingested_at": ingested_at}]


def latest_thumbnail(wh: Warehouse, camera: str) -> tuple[bytes, datetime, dict[str, Any]] | None:
    """The newest stored thumbnail of ``camera``: (JPEG, capture time, overlay), or None."""
    rows = wh.query(
        f"SELECT jpeg_base64, toString(captured_at, 'UTC'), overlay FROM {wh.database}.{CAMERA_THUMBNAILS.name} "
        "WHERE camera_id = {camera:String} ORDER BY captured_at DESC LIMIT 1",
        {"camera": camera},
    )
    if not rows:
        return None
    jpeg, at, overlay = rows[0]
    when = datetime.fromisoformat(str(at)).replace(tzinfo=timezone.utc)
    try:
        meta = json.loads(overlay) if overlay else {}
    except ValueError:
        meta = {}
    return base64.b64decode(jpeg), when, meta if isinstance(meta, dict) else {}
