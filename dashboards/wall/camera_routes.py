"""The camera pages: ``/cameras`` (the live grid), the pictures ``/camera/<id>/thumbnail.jpg`` (as
sent) and ``/camera/<id>/live.jpg`` (annotated: boxes, zones, lines, health; camera/overlay.py),
and ``/api/v1/cameras``. A thumbnail not in memory (the web process just started and the camera has
not sent one since) is read from the warehouse's ``camera_thumbnails``."""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import flask

from dashboards.auth import WALL, Access, Kind
from dashboards.wall.camera_state import CameraState

log = logging.getLogger(__name__)

CAMERA_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PAGE_REFRESH_S = 2

# Leaders and operators watch the cameras; the pictures are never public.
CAMERA_ROUTE_ACCESS: dict[str, Access] = {
    "/cameras": Access(WALL, Kind.page),
    "/camera/<camera_id>/thumbnail.jpg": Access(WALL, Kind.api),
    "/camera/<camera_id>/live.jpg": Access(WALL, Kind.api),
    "/api/v1/cameras": Access(WALL, Kind.api),
}



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
            except Exception as exc:  # the warehouse is a fallback here
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
