"""The leaders' wall: a playlist of scenes over the live figures, updated every second with
only what changed.

Page: a header (title, scene, clock, freshness, pin and language switches, one dot per scene),
six province tiles, the current scene, the alert ticker. One server callback per tick:

* the view comes from the URL: ``?scene=map`` (pinned to that scene; ``&pin=1`` is accepted
  too), ``?lang=en``, ``?period=quarter`` (the scorecard's period: month, live, by default;
  quarter or year to date, replayed in the background by dashboards/wall/period_reports.py); with
  no scene the playlist shows ``scene_at(now)``, the same scene on every screen of the room,
  changing every ``rotate_s`` seconds;
* the browser echoes the version of the model it shows (``wall-seen``); the server answers with
  the props that changed since (``dash.set_props``; figures by ``Patch``; see
  dashboards/wall/model.py), the whole scene only when the page has no slot of it yet: each
  scene keeps its own hidden box, so a scene change of the playlist is a class change plus what
  changed in that scene since it was last shown (dashboards/wall/slots.py);
* figures are computed once a second for all browsers, the slow sources (warehouse trend)
  every 30 s, and every source another team owns is called inside a guard ("no data").

Long-running kiosks: nothing accumulates in the browser (fixed-size scenes, one small store);
assets/wall.js reloads the page every ``reload_h`` hours and after ``stall_reload_s`` without a
successful update once the server answers again (restart, network cut).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import ModuleType
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode

import dash
from dash import Input, Output, dcc, html, no_update

from dashboards.i18n import pick_lang, t
from dashboards.live_state import LiveState
from dashboards.wall import slots as wall_slots
from dashboards.wall.data import UnitDirectory, WallData, build_wall_data, safe_call, unit_directory
from dashboards.wall.formatting import fmt_int, fmt_rate, is_stale
from dashboards.wall.model import Model, ModelCache, diff, put, slot, version_of
from dashboards.wall.scenes import alerts as wall_alerts
from dashboards.wall.scenes import cameras as wall_cameras
from dashboards.wall.scenes import flow as wall_flow
from dashboards.wall.scenes import map as wall_map
from dashboards.wall.scenes import pakn as wall_pakn
from dashboards.wall.scenes import scorecard as wall_scorecard
from dashboards.wall.scenes import services as wall_services
from ioc import clock as ioc_clock
from ioc.clock import LOCAL_TZ
from ioc.services.catalogue import SYSTEMS, SystemSpec

log = logging.getLogger(__name__)

TILES = ("received_today", "in_processing", "due_today", "at_risk", "overdue", "ontime_rate")
# Tiles whose non-zero value needs attention, and how much.
TILE_TONE = {"at_risk": "warn", "overdue": "bad"}
SCENES: dict[str, ModuleType] = {
    "scorecard": wall_scorecard, "flow": wall_flow, "map": wall_map,
    "services": wall_services, "cameras": wall_cameras, "alerts": wall_alerts, "pakn": wall_pakn,
}
PERIODS = ("month", "quarter", "year")  # the scorecard's ?period=
TREND_EVERY_S = 30.0
TREND_DAYS = 14
LAYOUTS_KEPT = 16  # scene layouts by version: a scene change and a prefetch, each language


@dataclass(frozen=True)
class WallOptions:
    refresh_ms: int = 1000
    stale_after_s: float = 5.0
    scenes: tuple[str, ...] = tuple(SCENES)
    rotate_s: float = 20.0
    reload_h: float = 6.0  # 0: never
    stall_reload_s: float = 60.0
    province_code: str = "25"
    agency_prefix: str | None = None
    # The IT scene's systems: the built-in ten and those declared in services.systems.
    systems: tuple[SystemSpec, ...] = tuple(SYSTEMS.values())

    def __post_init__(self) -> None:
        unknown = [s for s in self.scenes if s not in SCENES]
        if unknown or not self.scenes:
            raise ValueError(f"wall scenes {unknown or '[]'}: choose from {', '.join(SCENES)}")

    @classmethod
    def from_settings(cls, settings: Any) -> "WallOptions":
        web = settings.web
        return cls(refresh_ms=web.wall_refresh_ms, stale_after_s=web.stale_after_s, scenes=tuple(web.wall_scenes),
                   rotate_s=web.wall_rotate_s, reload_h=web.wall_reload_h, stall_reload_s=web.wall_stall_reload_s,
                   province_code=settings.province.code, agency_prefix=settings.province.agency_prefix,
                   systems=tuple(settings.services.catalogue().values()))


# --- the view: which scene, pinned or not, which language ------------------------------------------


@dataclass(frozen=True)
class View:
    scene: str
    pinned: bool
    lang: str
    error: str | None = None
    period: str = "month"  # the scorecard's period (PERIODS)


def scene_at(now: datetime, scenes: tuple[str, ...], rotate_s: float) -> str:
    """The playlist's scene at ``now``: wall-clock based, so every screen shows the same one."""
    return scenes[int(now.timestamp() // rotate_s) % len(scenes)]


def parse_view(search: Any, scenes: tuple[str, ...], rotate_s: float, now: datetime) -> View:
    """The view asked for by ``?scene=&pin=&lang=&period=``; a bad value is named and the playlist
    (or the month) goes on."""
    query = parse_qs(search[1:] if isinstance(search, str) and search.startswith("?") else
                     search if isinstance(search, str) else "")
    lang = pick_lang((query.get("lang") or ["vi"])[0])
    wanted = next(iter(query.get("scene") or []), None)
    pin = (query.get("pin") or ["0"])[0] in ("1", "true", "yes")
    period = (query.get("period") or ["month"])[0]
    error = None
    if period not in PERIODS:
        error = t("bad_period", lang).format(period=period, periods=", ".join(PERIODS))
        period = "month"
    if wanted is not None and wanted not in SCENES:
        error = t("bad_scene", lang).format(scene=wanted, scenes=", ".join(SCENES))
        return View(scene_at(now, scenes, rotate_s), False, lang, error, period)
    if wanted is not None or pin:
        return View(wanted or scenes[0], True, lang, error, period)
    return View(scene_at(now, scenes, rotate_s), False, lang, error, period)


def view_href(scene: str | None, lang: str, period: str = "month") -> str:
    """The URL of a view: a scene pins it; none is the playlist."""
    query = {k: v for k, v in (("scene", scene), ("pin", "1" if scene else None),
                               ("lang", "en" if lang == "en" else None),
                               ("period", period if period != "month" else None)) if v}
    return "/?" + urlencode(query) if query else "/"


def scene_args(view: View) -> dict[str, Any]:
    """What a scene's model and layout take besides the data and the language: the period, for
    the scenes that show one (``PERIODIC = True``: the scorecard)."""
    return {"period": view.period} if getattr(SCENES[view.scene], "PERIODIC", False) else {}


# --- the page chrome: header, tiles, ticker --------------------------------------------------------


def tile_values(d: WallData, lang: str) -> dict[str, str]:
    p = d.province
    if not d.has_kpi:
        return {k: "—" for k in TILES}
    return {k: fmt_rate(p[k], lang) if k == "ontime_rate" else fmt_int(p[k], lang) for k in TILES}


def chrome_model(d: WallData, view: View, scenes: tuple[str, ...]) -> Model:
    lang = view.lang
    m: Model = {}
    put(m, "wall-title", children=t("title", lang))
    put(m, "wall-subtitle", children=t("subtitle", lang))
    put(m, "wall-scene-name", children=t(f"scene_{view.scene}", lang))
    put(m, "wall-clock", children=d.now.astimezone(LOCAL_TZ).strftime("%H:%M:%S %d/%m/%Y"))
    stale = is_stale(d.age_s, d.stale_after_s)
    values = tile_values(d, lang)
    for k in TILES:
        put(m, f"tile-label-{k}", children=t(k, lang))
        put(m, f"tile-{k}", children=values[k])
        tone = TILE_TONE.get(k) if d.has_kpi and d.province.get(k) else None
        put(m, f"tile-box-{k}", className=f"tile {tone}" if tone else "tile")
    put(m, "wall-tiles", className="tiles stale" if stale else "tiles")
    if d.age_s is None:
        fresh = t("waiting", lang)
    else:
        updated = (d.now.timestamp() - d.age_s)
        fresh = f"{t('updated', lang)} {datetime.fromtimestamp(updated, LOCAL_TZ):%H:%M:%S}" + (
            f" — {t('stale', lang)}" if stale else "")
    put(m, "wall-freshness", children=fresh, className="freshness stale-text" if stale else "freshness")
    put(m, "wall-pin", children=t("w_unpin", lang) if view.pinned else t("w_pin", lang),
        href=view_href(None if view.pinned else view.scene, lang, view.period),
        className="switch on" if view.pinned else "switch")
    put(m, "wall-lang", children=t("other_lang", lang),
        href=view_href(view.scene if view.pinned else None, "en" if lang == "vi" else "vi", view.period))
    for s in SCENES:
        put(m, f"wall-dot-{s}", href=view_href(s, lang, view.period), title=t(f"scene_{s}", lang),
            className="dot active" if s == view.scene else ("dot" if s in scenes else "dot off"))
    put(m, "wall-error", children=view.error or "", className="wall-error" if view.error else "wall-error hidden")
    m.update(wall_alerts.ticker_model(d, lang))
    return m


def _data_attributes(options: WallOptions) -> dict[str, Any]:
    """Read by assets/wall.js (soft reload, recovery after a stall)."""
    return {"data-reload-s": str(int(options.reload_h * 3600)), "data-stall-s": str(int(options.stall_reload_s))}


def layout(options: WallOptions | int = WallOptions()) -> html.Div:
    """The static page; every text and figure is then set by the tick callback."""
    if isinstance(options, int):  # the old signature: the refresh interval in ms
        options = WallOptions(refresh_ms=options)
    empty = WallData(now=ioc_clock.now(), stale_after_s=options.stale_after_s, age_s=None,
                     province={}, units={}, communes={}, tallies={},
                     directory=UnitDirectory(options.province_code, {}, {}))
    m = chrome_model(empty, View(options.scenes[0], False, "vi"), options.scenes)
    header = html.Div([
        html.Div([slot(m, "wall-title", className="wall-title"),
                  html.Div([slot(m, "wall-subtitle", html.Span), " · ",
                            slot(m, "wall-scene-name", html.Span, className="scene-name")],
                           className="wall-subtitle")]),
        html.Div([html.Div([dcc.Link(id=f"wall-dot-{s}", href=m[f"wall-dot-{s}"]["href"],
                                     className=m[f"wall-dot-{s}"]["className"], title=m[f"wall-dot-{s}"]["title"],
                                     children="●") for s in SCENES], className="dots"),
                  dcc.Link(id="wall-pin", href=m["wall-pin"]["href"], children=m["wall-pin"]["children"],
                           className=m["wall-pin"]["className"]),
                  dcc.Link(id="wall-lang", href=m["wall-lang"]["href"], children=m["wall-lang"]["children"],
                           className="switch")], className="controls"),
        html.Div([slot(m, "wall-clock", className="wall-clock"), slot(m, "wall-freshness")], className="when"),
    ], className="wall-header")
    tiles = slot(m, "wall-tiles", children=[
        slot(m, f"tile-box-{k}", children=[slot(m, f"tile-label-{k}", className="tile-label"),
                                           slot(m, f"tile-{k}", className="tile-value")]) for k in TILES])
    return html.Div([
        header, slot(m, "wall-error"), tiles,
        html.Div(id="wall-scene", className="scene-box"),
        wall_alerts.ticker(m),
        dcc.Location(id="wall-url", refresh=False),
        dcc.Interval(id="wall-tick", interval=options.refresh_ms),
        dcc.Store(id="wall-seen", storage_type="memory"),
        # Read by assets/wall.js (soft reload, recovery after a stall).
        html.Div(id="wall-config", hidden=True, **_data_attributes(options)),
    ], className="wall")


# --- the tick --------------------------------------------------------------------------------------


@dataclass
class Frame:
    """One second's models of every (scene, language) asked for, shared by all browsers."""

    key: tuple[Any, ...]
    data: WallData
    built: dict[View, tuple[str, Model, Model]] = field(default_factory=dict)


class WallEngine:
    """The callback's core: state and sources in, (version, models, layouts) out.

    A background thread builds each second's frame (the figures of every unit, and the models
    of the views browsers asked for lately) so that a browser's request only diffs and answers;
    a request finding no ready frame (the first one, or a view nobody asked for yet) builds it."""

    def __init__(self, state: LiveState, options: WallOptions, directory: UnitDirectory,
                 trend: Callable[[], list[tuple[str, int]]] | None = None,
                 service_figures: Callable[[], dict[str, dict]] | None = None,
                 camera_tiles: Callable[[], list[dict]] | None = None,
                 alerts: Callable[[], list[dict]] | None = None,
                 alerts_age_s: Callable[[], float | None] | None = None,
                 clock: Callable[[], datetime] = ioc_clock.now,
                 background: bool = False,
                 period_reports: Callable[[], dict[str, Any]] | None = None) -> None:
        self.state, self.options, self.directory = state, options, directory
        self.sources = {"services": service_figures, "cameras": camera_tiles, "alerts": alerts}
        self.period_reports = period_reports  # quarter/year to date (dashboards/wall/period_reports.py)
        self.alerts_age_s = alerts_age_s
        self.trend_source = trend
        self.clock = clock
        self.cache = ModelCache()
        self._layouts: OrderedDict[str, Any] = OrderedDict()  # version -> the scene's components
        self._layout_lock = threading.Lock()  # one build per version, however many browsers wait
        self._frame: Frame | None = None
        self._trend: tuple[float, list[tuple[str, int]]] = (-1e18, [])
        self._lock = threading.Lock()  # guards the frame and the builder thread
        self._build_lock = threading.Lock()  # one frame built at a time
        self._models_lock = threading.Lock()  # one view's models built at a time
        self._wanted: dict[View, float] = {}  # view -> when last asked for (monotonic)
        self._background = background
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- frames ---------------------------------------------------------------------------------

    def _trend_points(self, problems: dict[str, str]) -> list[tuple[str, int]]:
        at, points = self._trend
        if time.monotonic() - at >= TREND_EVERY_S:
            points = safe_call(self.trend_source, [], problems, "trend")
            self._trend = (time.monotonic(), points)
        return points

    def _build_frame(self, now: datetime) -> Frame:
        problems: dict[str, str] = {}
        updated, per_unit = self.state.figures()
        services = safe_call(self.sources["services"], {}, problems, "services")
        cameras = safe_call(self.sources["cameras"], [], problems, "cameras")
        alerts = safe_call(self.sources["alerts"], [], problems, "alerts")
        data = build_wall_data(
            per_unit, updated, now, self.options.stale_after_s, self.directory,
            services=services if isinstance(services, dict) else {},
            cameras=cameras if isinstance(cameras, list) else [],
            alerts=alerts if isinstance(alerts, list) else [],
            alerts_age_s=safe_call(self.alerts_age_s, None, problems, "alerts"),
            trend=self._trend_points(problems), problems=problems, systems=self.options.systems,
            index_sources=self.state.sources(), national=self.state.national.scores(),
            period_reports=safe_call(self.period_reports, {}, problems, "period_reports"))
        for what, why in problems.items():
            log.warning("wall: %s source failed: %s", what, why)
        return Frame((int(now.timestamp()),), data)

    def frame(self, now: datetime) -> Frame:
        """This second's frame (built at most once a second; new snapshots show at the next)."""
        key = (int(now.timestamp()),)
        frame = self._frame
        if frame is not None and frame.key == key:
            return frame
        with self._build_lock:
            frame = self._frame
            if frame is None or frame.key != key:
                frame = self._build_frame(now)
                with self._lock:
                    self._frame = frame
        return frame

    def models(self, view: View, now: datetime | None = None) -> tuple[str, Model, Model]:
        """(version, chrome model, scene model) of a view now; cached for the second."""
        now = now or self.clock()
        if self._background:
            self._ensure_thread()
            frame = self._frame
            if frame is None or int(now.timestamp()) - frame.key[0] > 2:  # no fresh frame: build now
                frame = self.frame(now)
        else:
            frame = self.frame(now)
        self._wanted[view] = time.monotonic()
        return self._models_of(frame, view)

    def _models_of(self, frame: Frame, view: View) -> tuple[str, Model, Model]:
        built = frame.built.get(view)
        if built is None:
            with self._models_lock:  # a burst of browsers on a new view builds it once
                built = frame.built.get(view)
                if built is None:
                    chrome = chrome_model(frame.data, view, self.options.scenes)
                    scene = SCENES[view.scene].model(frame.data, view.lang, **scene_args(view))
                    version = version_of({"c": chrome, "s": scene, "scene": view.scene, "lang": view.lang,
                                          "pinned": view.pinned})
                    self.cache.put(version, {"chrome": chrome, "scene": scene})
                    built = frame.built.setdefault(view, (version, chrome, scene))
        return built

    # -- the background builder -------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="wall-frames", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                now = self.clock()
                frame = self.frame(now)
                horizon = time.monotonic() - 10  # views asked for in the last 10 s
                for view, asked in list(self._wanted.items()):
                    if asked < horizon:
                        self._wanted.pop(view, None)
                        continue
                    self._models_of(frame, view)
                    if not view.pinned:  # the playlist's scene now: ready when a change's burst comes
                        self._models_of(frame, replace(view, scene=scene_at(now, self.options.scenes,
                                                                            self.options.rotate_s)))
            except Exception:  # keep building; requests build their own meanwhile
                log.exception("wall: building a frame failed")
            # Just after the next second of the clock the wall shows starts, so the frame is ready
            # before the browsers' ticks.
            self._stop.wait(1.02 - (self.clock().timestamp() % 1.0))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def scene_layout(self, view: View, version: str, scene_model: Model) -> Any:
        """The scene's components for a version (built once, shared by the browsers that need it:
        the requests of a burst wait for the one build)."""
        with self._layout_lock:
            cached = self._layouts.get(version)
            if cached is None:
                cached = SCENES[view.scene].layout(self.frame(self.clock()).data, view.lang, scene_model,
                                                   **scene_args(view))
                self._layouts[version] = cached
                while len(self._layouts) > LAYOUTS_KEPT:
                    self._layouts.popitem(last=False)
        return cached

    def _slots(self, view: View, version: str, scene: Model) -> list[html.Div]:
        """The scene box of a first render: a slot per scene, this one's filled and shown."""
        return [html.Div(id=wall_slots.slot_id(s), className=wall_slots.slot_class(s == view.scene),
                         children=self.scene_layout(view, version, scene) if s == view.scene else None)
                for s in SCENES]

    def update(self, search: Any, seen: Any) -> tuple[dict[str, str], Any, Any, dict[str, dict[str, Any]]]:
        """For a browser at URL ``search`` holding ``seen``: (tile texts, scene box children or
        no_update, the new seen marker or no_update, other props to set). See dashboards/wall/slots.py."""
        now = self.clock()
        view = parse_view(search, self.options.scenes, self.options.rotate_s, now)
        version, chrome, scene = self.models(view, now)
        seen = seen if isinstance(seen, dict) else {}
        if seen.get("v") == version:
            return {}, no_update, no_update, {}
        held = {s: v for s, v in wall_slots.held_scenes(seen, view.lang, view.period).items() if s in SCENES}
        phase = wall_slots.phase_of(seen)
        children: Any = no_update
        if not held:  # a first render (or another language or period): the slots anew
            changes = diff(None, chrome)
            children = self._slots(view, version, scene)
            held = {}
        else:
            old = self.cache.get(seen.get("v"))
            changes = diff(old["chrome"] if old else None, chrome)
            if view.scene in held:  # its layout is in the page: what changed since it was last shown
                before = self.cache.get(held[view.scene])
                changes.update(diff(before["scene"] if before else None, scene))
            else:
                changes[wall_slots.slot_id(view.scene)] = {"children": self.scene_layout(view, version, scene)}
            if seen.get("scene") != view.scene:
                changes.setdefault(wall_slots.slot_id(view.scene), {})["className"] = wall_slots.slot_class(True)
                if seen.get("scene") in held:
                    changes[wall_slots.slot_id(seen["scene"])] = {"className": wall_slots.slot_class(False)}
            if not view.pinned:
                self._prefetch(view, now, held, changes, phase)
        held[view.scene] = version
        tiles = {k: changes.pop(f"tile-{k}")["children"] for k in TILES
                 if "children" in changes.get(f"tile-{k}", {})}
        for k in TILES:
            if f"tile-{k}" in changes and not changes[f"tile-{k}"]:
                changes.pop(f"tile-{k}")
        marker = wall_slots.marker(version, view.scene, view.lang, view.period, held, phase)
        return tiles, children, marker, changes

    def _prefetch(self, view: View, now: datetime, held: dict[str, str], changes: dict[str, dict[str, Any]],
                  phase: float) -> None:
        """In this browser's quiet second, the playlist's next scene without a slot yet: its layout, hidden."""
        nxt = wall_slots.prefetch(self.options.scenes, view.scene, held, now.timestamp() % self.options.rotate_s,
                                  self.options.rotate_s, phase)
        if nxt is None:
            return
        ahead = View(nxt, False, view.lang, None, view.period)
        version, _, scene = self._models_of(self.frame(now), ahead)
        changes[wall_slots.slot_id(nxt)] = {"children": self.scene_layout(ahead, version, scene)}
        held[nxt] = version


def register(app: dash.Dash, state: LiveState, stale_after_s: float | None = None,
             trend: Callable[[], list[tuple[str, int]]] | None = None,
             unit_names: dict[str, str] | None = None, *, options: WallOptions | None = None,
             service_figures: Callable[[], dict[str, dict]] | None = None,
             camera_tiles: Callable[[], list[dict]] | None = None,
             alerts: Callable[[], list[dict]] | None = None,
             alerts_age_s: Callable[[], float | None] | None = None,
             period_reports: Callable[[], dict[str, Any]] | None = None) -> WallEngine:
    """The wall's one callback (declare it with the wall's roles around this call). The sources
    another team wires later are optional callables; missing ones read "no data"."""
    options = options or WallOptions()
    if stale_after_s is not None:
        options = WallOptions(**{**options.__dict__, "stale_after_s": stale_after_s})
    directory = unit_directory(options.province_code, options.agency_prefix,
                               tuple(sorted((unit_names or {}).items())))
    state.unit_levels.update({code: info.level for code, info in directory.units.items()})
    engine = WallEngine(state, options, directory, trend, service_figures, camera_tiles, alerts, alerts_age_s,
                        background=True, period_reports=period_reports)
    outputs = [Output(f"tile-{k}", "children") for k in TILES] + [
        Output("wall-scene", "children"), Output("wall-seen", "data")]

    # The tick waits for the answer: while the callback runs the interval is off, so an answer
    # slower than a tick (a whole scene on a loaded machine) is not cancelled by the next tick.
    @app.callback(outputs, Input("wall-tick", "n_intervals"), Input("wall-url", "search"),
                  Input("wall-seen", "data"), running=[(Output("wall-tick", "disabled"), True, False)])
    def refresh(_n: int | None, search: str | None, seen: dict | None) -> list[Any]:
        tiles, children, marker, changes = engine.update(search, seen)
        for cid, props in changes.items():
            dash.set_props(cid, props)
        return [tiles.get(k, no_update) for k in TILES] + [children, marker]

    return engine


__all__ = ["PERIODS", "SCENES", "View", "WallEngine", "WallOptions", "layout", "parse_view", "register", "scene_at",
           "view_href"]
