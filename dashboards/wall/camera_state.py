"""Cameras as the web process knows them: the newest record and thumbnail of every camera, for the
wall's camera grid (:func:`camera_tiles`) and the camera pages (:mod:`dashboards.wall.camera_routes`).
No I/O: :mod:`dashboards.wall.camera_feed` fills it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from urllib.parse import quote


@dataclass
class CameraView:
    camera_id: str
    name: str | None = None
    unit: str | None = None
    health: str | None = None
    people: int | None = None
    record_ts: str | None = None
    received_at: float | None = None  # wall clock of the newest record: staleness
    jpeg: bytes | None = None
    captured_at: datetime | None = None
    overlay: dict[str, Any] = field(default_factory=dict)


class CameraState:
    """The newest of each camera; thread-safe (the feed writes, requests read)."""

    def __init__(self, stale_after_s: float = 10.0, clock: Callable[[], float] = time.time) -> None:
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.connected = False
        self._cameras: dict[str, CameraView] = {}
        self._lock = threading.Lock()

    def _view(self, camera: str) -> CameraView:
        view = self._cameras.get(camera)
        if view is None:
            view = self._cameras[camera] = CameraView(camera)
        return view

    def apply_record(self, record: dict[str, Any]) -> None:
        """An interval or a health change (contracts.md §4)."""
        camera = str(record["camera"])
        with self._lock:
            view = self._view(camera)
            if view.record_ts is not None and str(record["ts"]) < view.record_ts:
                return  # an older record read late
            view.record_ts = str(record["ts"])
            view.received_at = self.clock()
            if record.get("event") == "health_changed":
                view.health = str(record["to"])
            else:
                view.health = str(record["health"])
                view.people = record.get("people")

    def apply_thumbnail(self, camera: str, jpeg: bytes, captured_at: datetime | None,
                        overlay: dict[str, Any]) -> None:
        with self._lock:
            view = self._view(camera)
            if captured_at is not None and view.captured_at is not None and captured_at < view.captured_at:
                return
            view.jpeg, view.captured_at, view.overlay = jpeg, captured_at, overlay
            view.name = overlay.get("name") or view.name
            view.unit = overlay.get("unit") or view.unit

    def thumbnail(self, camera: str) -> tuple[bytes, datetime | None, dict[str, Any]] | None:
        with self._lock:
            view = self._cameras.get(camera)
            if view is None or view.jpeg is None:
                return None
            overlay = dict(view.overlay)
            # The live view shows the newest health, not the one at the thumbnail's time.
            if view.health is not None:
                overlay["health"] = view.health
            return view.jpeg, view.captured_at, overlay

    def tiles(self) -> list[dict[str, Any]]:
        """One dict per camera, by id: camera_id, name, unit, status, people, thumbnail_url
        (None until a picture came), live_url, age_s (of the newest record; None: none yet)
        and stale (no record for ``stale_after_s``: its process is gone; status is then offline)."""
        now = self.clock()
        with self._lock:
            views = sorted(self._cameras.values(), key=lambda v: v.camera_id)
            out = []
            for v in views:
                age = None if v.received_at is None else max(0.0, now - v.received_at)
                stale = age is None or age > self.stale_after_s
                path = f"/camera/{quote(v.camera_id)}"
                version = f"?t={int(v.captured_at.timestamp() * 1000)}" if v.captured_at else ""
                out.append({
                    "camera_id": v.camera_id, "name": v.name or v.camera_id, "unit": v.unit,
                    "status": "offline" if stale else (v.health or "ok"), "people": None if stale else v.people,
                    "thumbnail_url": f"{path}/thumbnail.jpg{version}" if v.jpeg is not None else None,
                    "live_url": f"{path}/live.jpg{version}" if v.jpeg is not None else None,
                    "age_s": None if age is None else round(age, 1), "stale": stale,
                })
            return out


DEFAULT_STATE = CameraState()


def camera_tiles(state: CameraState | None = None) -> list[dict[str, Any]]:
    """The wall's camera grid: see :meth:`CameraState.tiles` (default: this process's cameras)."""
    return (state or DEFAULT_STATE).tiles()
