"""Cameras in the web process: the newest record and thumbnail of every camera, read from the
camera topics by a background thread, for the wall's camera grid (:func:`camera_tiles`), the
page ``/cameras`` and the pictures ``/camera/<id>/thumbnail.jpg`` (as sent) and
``/camera/<id>/live.jpg`` (annotated: boxes, zones, lines, health; camera/overlay.py).

A thumbnail not in memory (the web process just started and the camera has not sent one
since) is read from the warehouse's ``camera_thumbnails``.
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from urllib.parse import quote

import flask

from dashboards.auth import WALL, Access, Kind
from ioc.broker.background import BackgroundLoop
from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, ConsumerLoop, Subscription, backlog

log = logging.getLogger(__name__)

CAMERA_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
BACKLOG = 50  # messages per partition read back at start: the newest record of each camera
PAGE_REFRESH_S = 2

# Leaders and operators watch the cameras; the pictures are never public.
CAMERA_ROUTE_ACCESS: dict[str, Access] = {
    "/cameras": Access(WALL, Kind.page),
    "/camera/<camera_id>/thumbnail.jpg": Access(WALL, Kind.api),
    "/camera/<camera_id>/live.jpg": Access(WALL, Kind.api),
    "/api/v1/cameras": Access(WALL, Kind.api),
}


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


class CameraFeed(BackgroundLoop):
    """Background thread with its own event loop keeping a :class:`CameraState` current."""

    thread_name = "camera-feed"

    def __init__(self, bootstrap: str, events_topic: str, frames_topic: str, state: CameraState, *,
                 fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
        super().__init__()
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.bootstrap = bootstrap
        self.events_topic = events_topic
        self.frames_topic = frames_topic
        self.state = state

    async def _run(self) -> None:
        def connected(up: bool) -> Any:
            return lambda: setattr(self.state, "connected", up)

        # The newest few of each partition: each camera's latest record and picture.
        await self._follow(ConsumerLoop(
            self.bootstrap, [Subscription(t, backlog(BACKLOG)) for t in (self.events_topic, self.frames_topic)],
            self._handle, name="camera feed", fetch_max_wait_ms=self.fetch_max_wait_ms, on_connect=connected(True),
            on_disconnect=connected(False)))

    def _handle(self, records: list[Any]) -> None:
        for msg in records:
            self._apply(msg.topic, msg)

    def _apply(self, topic: str, msg: Any) -> None:
        from ioc.warehouse.camera_rows import thumbnail_headers

        try:
            if topic == self.events_topic:
                self.state.apply_record(json.loads(msg.value or b"{}"))
            elif msg.key and msg.value:
                captured_at, overlay = thumbnail_headers(msg.headers)
                self.state.apply_thumbnail(msg.key.decode("utf-8"), msg.value, captured_at, overlay)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("camera feed: unreadable message on %s: %s", topic, exc)


# --- routes ---------------------------------------------------------------------------------

class _Refused(Exception):
    def __init__(self, response: Any) -> None:
        super().__init__("refused")
        self.response = response


def _error(status: int, vi: str, en: str) -> Any:
    return flask.jsonify({"error": f"{vi} / {en}"}), status


def _jpeg(data: bytes) -> flask.Response:
    r = flask.Response(data, mimetype="image/jpeg")
    r.headers["Cache-Control"] = "no-store"
    return r


STATUS_VI = {"ok": "bình thường", "offline": "mất kết nối", "frozen": "hình bị đứng", "dark": "quá tối",
             "bright": "quá sáng", "blurred": "bị mờ", "tampered": "bị che / lệch góc"}


def cameras_page(tiles: list[dict[str, Any]]) -> str:
    """The live camera grid as a plain page that reloads itself (no script: the CSP allows none)."""
    cells = []
    for t in tiles:
        status = str(t["status"])
        picture = (f'<img src="{html.escape(t["live_url"])}" alt="{html.escape(t["name"])}" width="320">'
                   if t["live_url"] else '<div class="none">Chưa có hình / no picture yet</div>')
        people = "—" if t["people"] is None else str(t["people"])
        cells.append(
            f'<figure class="cam {html.escape(status)}">{picture}<figcaption><b>{html.escape(t["name"])}</b> '
            f'<span class="status">{html.escape(STATUS_VI.get(status, status))} ({html.escape(status)})</span> '
            f'· người / people: {people}</figcaption></figure>')
    body = "".join(cells) or "<p>Chưa có camera nào gửi dữ liệu / no camera has reported yet.</p>"
    return (
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"refresh\" content=\"{PAGE_REFRESH_S}\">"
        "<title>Camera — trực tiếp / live</title><style>"
        "body{background:#0b1320;color:#e8eef7;font-family:sans-serif;margin:16px}"
        ".grid{display:flex;flex-wrap:wrap;gap:12px}.cam{margin:0;background:#15233a;padding:6px;border:3px solid #2e7d32}"
        ".cam.offline,.cam.tampered{border-color:#c62828}.cam.frozen,.cam.dark,.cam.bright,.cam.blurred"
        "{border-color:#f9a825}.none{width:320px;height:180px;display:flex;align-items:center;justify-content:center}"
        "figcaption{font-size:14px;margin-top:4px;max-width:320px}a{color:#9ecbff}"
        "</style></head><body><h1>Camera — trực tiếp / live</h1>"
        f"<p><a href=\"/\">← Tường hiển thị / wall</a></p><div class=\"grid\">{body}</div></body></html>"
    )


def register_camera_routes(server: flask.Flask, state: CameraState, warehouse: Any = None) -> None:
    """``/cameras``, ``/camera/<id>/thumbnail.jpg``, ``/camera/<id>/live.jpg``, ``/api/v1/cameras``;
    declare :data:`CAMERA_ROUTE_ACCESS` with the server's access policy."""
    from camera.overlay import annotate

    def picture(camera_id: str) -> tuple[bytes, dict[str, Any]]:
        """The newest picture of a camera and its overlay; _Refused with a JSON error if none."""
        if not CAMERA_ID.match(camera_id):
            raise _Refused(_error(404, f"mã camera không hợp lệ '{camera_id[:80]}'",
                                  "invalid camera id (letters, digits, '.', '_', '-', at most 64)"))
        found = state.thumbnail(camera_id)
        if found is None and warehouse is not None:
            from ioc.warehouse.camera_rows import latest_thumbnail

            try:
                found = latest_thumbnail(warehouse, camera_id)
            except Exception as exc:  # noqa: BLE001 - the warehouse is a fallback here
                log.warning("camera %s: no thumbnail from the warehouse (%s)", camera_id, exc)
        if found is None:
            raise _Refused(_error(404, f"chưa có hình của camera '{camera_id}'", f"no picture of camera '{camera_id}'"))
        return found[0], found[2]

    @server.get("/camera/<camera_id>/thumbnail.jpg")
    def camera_thumbnail(camera_id: str) -> Any:
        try:
            return _jpeg(picture(camera_id)[0])
        except _Refused as refused:
            return refused.response

    @server.get("/camera/<camera_id>/live.jpg")
    def camera_live(camera_id: str) -> Any:
        try:
            jpeg, overlay = picture(camera_id)
        except _Refused as refused:
            return refused.response
        try:
            return _jpeg(annotate(jpeg, overlay))
        except ValueError:
            return _jpeg(jpeg)  # not decodable here: the picture as sent

    @server.get("/cameras")
    def cameras() -> Any:
        return flask.Response(cameras_page(state.tiles()), mimetype="text/html")

    @server.get("/api/v1/cameras")
    def cameras_api() -> Any:
        return flask.jsonify(state.tiles())
