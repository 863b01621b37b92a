"""Scene 5: the camera grid, a fixed number of tiles (the page never grows).

Its source is a callable ``camera_tiles() -> [{camera_id, name, status, people, thumbnail_url,
age_s}]`` given to ``wall.register``. A thumbnail is shown only from this server (a path starting
with ``/``): the wall loads nothing from elsewhere (CSP ``img-src 'self'``). Until the source is
wired, or when it fails, the grid reads "no data"."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboards.i18n import t
from dashboards.wall.data import WallData
from dashboards.wall.formatting import age_badge, fmt_int, is_stale
from dashboards.wall.model import Model, put, slot

TILES = 12
HEALTHY = {"ok", "online", "healthy", "up"}


def local_thumbnail(url: Any) -> str | None:
    return url if isinstance(url, str) and url.startswith("/") and not url.startswith("//") else None


def tile_state(cam: dict[str, Any], stale_after_s: float) -> str:
    # The camera feed judges staleness with its own limit when it says so.
    if cam.get("stale") is True or ("stale" not in cam and is_stale(cam.get("age_s"), stale_after_s)):
        return "stale"
    return "ok" if str(cam.get("status", "")).lower() in HEALTHY else "bad"


def ordered(cameras: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems first (a wall shows what needs attention), then by name."""
    valid = [c for c in cameras if isinstance(c, dict) and c.get("camera_id")]
    return sorted(valid, key=lambda c: (str(c.get("status", "")).lower() in HEALTHY, str(c.get("name", ""))))


def model(d: WallData, lang: str) -> Model:
    m: Model = {}
    cams = ordered(d.cameras)
    for i in range(TILES):
        if i >= len(cams):
            put(m, f"cm-{i}", className="card cam empty")
            for part in ("name", "status", "people"):
                put(m, f"cm-{i}-{part}", children="")
            put(m, f"cm-{i}-img", src="", className="thumb none")
            put(m, f"cm-{i}-age", children="", className="age")
            continue
        cam = cams[i]
        state = tile_state(cam, d.stale_after_s)
        put(m, f"cm-{i}", className=f"card cam {state}")
        put(m, f"cm-{i}-name", children=str(cam.get("name") or cam["camera_id"]))
        put(m, f"cm-{i}-status", children=str(cam.get("status", "—")))
        put(m, f"cm-{i}-people", children=t("w_people", lang).format(n=fmt_int(cam.get("people"), lang)))
        thumb = local_thumbnail(cam.get("thumbnail_url"))
        put(m, f"cm-{i}-img", src=thumb or "", className="thumb" if thumb else "thumb none")
        text, cls = age_badge(cam.get("age_s"), d.stale_after_s, lang)
        put(m, f"cm-{i}-age", children=text, className=cls)
    if not cams:
        put(m, "cm-note", children=t("cameras_not_wired", lang) if "cameras" not in d.problems
            else t("source_failed", lang), className="age stale")
    else:
        more = len(cams) - TILES
        put(m, "cm-note", className="muted",
            children=t("cameras_count", lang).format(n=len(cams)) + (f" (+{more})" if more > 0 else ""))
    return m


def layout(d: WallData, lang: str, m: Model) -> html.Div:
    tiles = [slot(m, f"cm-{i}", html.Div, children=[
        slot(m, f"cm-{i}-img", html.Img, alt=""),
        html.Div([slot(m, f"cm-{i}-name", html.Span, className="card-title"),
                  slot(m, f"cm-{i}-status", html.Span, className="card-state")]),
        slot(m, f"cm-{i}-people", html.Div, className="card-value small"),
        slot(m, f"cm-{i}-age", html.Div)]) for i in range(TILES)]
    return html.Div([html.H2([t("scene_cameras", lang), " ", slot(m, "cm-note", html.Span)]),
                     html.Div(tiles, className="cards cameras")], className="scene scene-cameras panel")
