"""`ioc bench wall`: N signed-in viewers polling the wall once a second against a real web process.

The web process runs in its own Python process (``python -m dashboards.wall.bench serve``): the wall's
Flask/Dash app behind its sign-in, served by waitress with the thread count of ``ioc run web``,
its live state fed every 0.5 s with snapshots of four partitions over every agency of the
province in which a tenth of the units change each time (far busier than the simulator's
2 events/s). The viewers (threads in this process) each sign in through /login, pin one scene
(spread over all six), and POST the wall's tick to ``/_dash-update-component`` once a second,
echoing the version they hold as the browser does. Measured per request: the time to the full
response and the body size. The first request of a viewer (the whole scene) is reported apart
from the steady updates.

Then the same viewers follow the playlist (no scene in the URL) with the server's playlist
stepping every ``ROTATE_S`` seconds, so every screen changes scene in the same second as a
room's wall does. After a first round of the playlist as warm-up (a page's first), the ticks
of each scene change (those sent in the first second of a step, and any whose answer brought
the new scene) are measured apart from the rest.

Goals: p95 callback time under 100 ms, under 20 KB per update, judged on the pinned steady
updates (issue #7); p95 under 500 ms for the ticks of a scene change at 50 viewers (issue #16).
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from dashboards.bench_cli import bench_main, start_server, stop_server
from ioc import clock
from ioc.process import free_port, wait_until

MODULE = "dashboards.wall.bench"  # `python -m` this: the web process under test
GOAL_P95_MS = 100.0
GOAL_BYTES = 20 * 1024
GOAL_CHANGE_P95_MS = 500.0
ROTATE_S = 5.0  # the shortest playlist step the settings allow: most scene changes per run
SCENES = ("scorecard", "flow", "map", "services", "cameras", "alerts")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- the web process under test --------------------------------------------------------------------


def _feed(state: Any, codes: list[str], stop: threading.Event, seed: int = 7) -> None:
    rng = random.Random(seed)
    parts: dict[int, dict[str, dict[str, int]]] = {p: {} for p in range(4)}
    for i, code in enumerate(codes):
        counted = rng.randint(20, 400)
        parts[i % 4][code] = {"received_today": rng.randint(0, 40), "in_processing": rng.randint(0, 300),
                              "counted": counted, "good": int(counted * rng.uniform(0.85, 1.0)),
                              "at_risk": rng.randint(0, 6), "due_today": rng.randint(0, 4),
                              "overdue": rng.randint(0, 5), "in_progress_on_time": rng.randint(5, 60)}
    while not stop.is_set():
        for p, units in parts.items():
            for code in rng.sample(sorted(units), max(1, len(units) // 10)):
                t = units[code]
                t["received_today"] += 1
                t["in_processing"] = max(0, t["in_processing"] + rng.choice((-1, 1)))
                t["counted"] += 1
                t["good"] += rng.random() < 0.93
                t["at_risk"] = max(0, t["at_risk"] + rng.choice((-1, 0, 1)))
            state.apply_snapshot({"computed_at": clock.now().isoformat(), "partition": p,
                                  "units": units})
        stop.wait(0.5)


def serve(port: int, data_dir: Path, rotate_s: float = ROTATE_S) -> None:
    """The web process of the benchmark (runs until killed)."""
    from waitress.server import create_server

    from dashboards.server import WebProcess
    from ioc.config import Settings
    from ioc.reference.agencies import agency_tree
    from ioc.warehouse.backends import ChdbWarehouse, ensure_schema

    settings = Settings.model_validate({"data_dir": str(data_dir),
                                        "web": {"port": port, "wall_rotate_s": rotate_s}})
    warehouse = ChdbWarehouse(data_dir / "chdb", database="benchwall")
    ensure_schema(warehouse)
    web = WebProcess(settings, "127.0.0.1:1", warehouse, with_sink=False)  # fed below, not from Kafka
    app = web.build()
    codes = [a.code for a in agency_tree(settings.province.code, prefix=settings.province.agency_prefix).agencies]
    stop = threading.Event()
    threading.Thread(target=_feed, args=(web.state, codes, stop), daemon=True).start()
    create_server(app, host="127.0.0.1", port=port, threads=8).run()


# --- the viewers -----------------------------------------------------------------------------------


def _login(base: str, username: str, password: str) -> requests.Session:
    s = requests.Session()
    s.headers["Origin"] = base
    form = s.get(f"{base}/login", timeout=10)
    token = CSRF.search(form.text)
    if not token:
        raise RuntimeError("no sign-in form at /login")
    r = s.post(f"{base}/login", data={"csrf_token": token.group(1), "username": username, "password": password,
                                      "next": "/"}, allow_redirects=False, timeout=10)
    if r.status_code != 303:
        raise RuntimeError(f"sign-in failed: {r.status_code}")
    return s


def _tick_body(callback: dict[str, Any], search: str, seen: Any, n: int) -> dict[str, Any]:
    values = {"wall-tick.n_intervals": n, "wall-url.search": search, "wall-seen.data": seen}
    output = callback["output"]
    outputs = [{"id": p.split(".")[0], "property": p.split(".")[1]} for p in output.strip(".").split("...")]
    inputs = [{"id": i["id"], "property": i["property"], "value": values[f"{i['id']}.{i['property']}"]}
              for i in callback["inputs"]]
    return {"output": output, "outputs": outputs, "inputs": inputs, "state": [],
            "changedPropIds": ["wall-tick.n_intervals"]}


class Viewer(threading.Thread):
    """One screen: pinned to ``scene``, or following the playlist (``scene=None``)."""

    def __init__(self, base: str, session: requests.Session, callback: dict[str, Any], scene: str | None,
                 until: float) -> None:
        super().__init__(daemon=True)
        self.base, self.session, self.callback, self.until = base, session, callback, until
        self.search = f"?scene={scene}&pin=1" if scene else ""
        self.first: tuple[float, int] | None = None
        self.updates: list[tuple[float, int]] = []  # steady: after the warm-up
        self.warmup: list[tuple[float, int]] = []
        self.changes: list[tuple[float, int]] = []  # playlist: the ticks of a scene change
        self.steady_from = until  # set by run()
        self.errors = 0

    def run(self) -> None:
        seen, n = None, 0
        next_at = time.monotonic()
        while next_at < self.until:
            start = time.perf_counter()
            # The playlist steps on the business clock the server shares (ioc.clock).
            into_step = clock.now().timestamp() % ROTATE_S
            try:
                r = self.session.post(f"{self.base}/_dash-update-component",
                                      json=_tick_body(self.callback, self.search, seen, n), timeout=10)
                elapsed = (time.perf_counter() - start) * 1000
                if r.status_code not in (200, 204):
                    self.errors += 1
                else:
                    sample = (elapsed, len(r.content))
                    marker = r.json().get("response", {}).get("wall-seen", {}).get("data") \
                        if r.status_code == 200 else None
                    new_scene = bool(marker and seen and marker.get("scene") != seen.get("scene"))
                    if self.first is None:
                        self.first = sample
                    elif time.monotonic() < self.steady_from:
                        self.warmup.append(sample)
                    elif not self.search and (into_step < 1.0 or new_scene):
                        self.changes.append(sample)
                    else:
                        self.updates.append(sample)
                    seen = marker or seen
            except requests.RequestException:
                self.errors += 1
            n += 1
            next_at += 1.0
            time.sleep(max(0.0, next_at - time.monotonic()))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _play(base: str, sessions: list[requests.Session], callback: dict[str, Any], scenes: list[str | None],
          warmup_s: float, seconds: float) -> list[Viewer]:
    """Each session a viewer of its scene (None: the playlist), ticking for warm-up + seconds."""
    until = time.monotonic() + warmup_s + seconds
    threads = [Viewer(base, s, callback, scene, until) for s, scene in zip(sessions, scenes)]
    for th in threads:
        th.steady_from = until - seconds
    for th in threads:
        th.start()
        time.sleep(1.0 / len(threads))  # spread the viewers over the second, as real screens are
    for th in threads:
        th.join(warmup_s + seconds + 30)
    return threads


def run(viewers: int = 50, seconds: float = 20.0, warmup_s: float = 5.0) -> dict[str, Any]:
    from dashboards.auth.users import add_user
    from ioc.config import WebSettings

    with tempfile.TemporaryDirectory(prefix="ioc-bench-wall-") as tmp:
        data_dir = Path(tmp)
        password = "bench-wall-" + "x" * 16
        add_user(data_dir / "users.json", "benchwall", password, ["leader"])
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(data_dir / "web.log", "wb")
        proc = start_server(MODULE, port, data_dir, log)
        try:
            wait_until(lambda: requests.get(f"{base}/healthz", timeout=1).status_code in (200, 503), 60,
                       f"web process on :{port}", alive=lambda: proc.poll() is None)
            sessions = [_login(base, "benchwall", password) for _ in range(viewers)]
            deps = sessions[0].get(f"{base}/_dash-dependencies", timeout=10).json()
            callback = next(c for c in deps if any(i["id"] == "wall-tick" for i in c["inputs"]))
            # Warm the scenes once (the map's geometry is read on first use), as a running wall has.
            for scene in SCENES:
                sessions[0].post(f"{base}/_dash-update-component",
                                 json=_tick_body(callback, f"?scene={scene}&pin=1", None, 0), timeout=60)
            threads = _play(base, sessions, callback, [SCENES[i % len(SCENES)] for i in range(viewers)],
                            warmup_s, seconds)
            # The playlist: a first round of it as warm-up (each screen's page fills its scene
            # slots once, dashboards/wall/slots.py), then measured.
            round_s = len(WebSettings().wall_scenes) * ROTATE_S
            players = _play(base, sessions, callback, [None] * viewers, round_s + 2, seconds)
        finally:
            stop_server(proc)
            log.close()

    updates = [u for th in threads for u in th.updates]
    firsts = [th.first for th in threads if th.first]
    times = [ms for ms, _ in updates]
    sizes = [b for _, b in updates]
    per_scene = {}
    for scene in SCENES:
        mine = [u for i, th in enumerate(threads) if SCENES[i % len(SCENES)] == scene for u in th.updates]
        per_scene[scene] = {"p95_ms": round(_pct([m for m, _ in mine], 0.95), 1),
                            "mean_bytes": round(statistics.mean(b for _, b in mine)) if mine else None,
                            "max_bytes": max((b for _, b in mine), default=None)}
    p95 = _pct(times, 0.95)
    p95_bytes = _pct([float(b) for b in sizes], 0.95)
    changes = [c for th in players for c in th.changes]
    change_p95 = _pct([m for m, _ in changes], 0.95)
    others = [m for th in players for m, _ in th.updates]
    return {
        "viewers": viewers, "seconds": seconds, "updates": len(updates),
        "errors": sum(th.errors for th in threads),
        "callback_ms": {"p50": round(_pct(times, 0.5), 1), "p95": round(p95, 1), "p99": round(_pct(times, 0.99), 1),
                        "max": round(max(times, default=float("nan")), 1)},
        "bytes_per_update": {"mean": round(statistics.mean(sizes)) if sizes else None, "p95": p95_bytes,
                             "max": max(sizes, default=None)},
        # Every viewer's first request (the whole scene) and the updates of the next seconds, when
        # the 50 first renders compete: what a room of screens pays at once when the scene changes.
        "first_render": {"p95_ms": round(_pct([m for m, _ in firsts], 0.95), 1),
                         "max_bytes": max((b for _, b in firsts), default=None)},
        "warmup_updates_ms": {"p95": round(_pct([m for th in threads for m, _ in th.warmup], 0.95), 1),
                              "seconds": warmup_s},
        "per_scene": per_scene,
        # The playlist: every screen changes scene in the same second.
        "scene_change": {"rotate_s": ROTATE_S, "responses": len(changes),
                         "p50_ms": round(_pct([m for m, _ in changes], 0.5), 1), "p95_ms": round(change_p95, 1),
                         "max_ms": round(max((m for m, _ in changes), default=float("nan")), 1),
                         "p95_bytes": _pct([float(b) for _, b in changes], 0.95),
                         "max_bytes": max((b for _, b in changes), default=None),
                         "other_ticks_p95_ms": round(_pct(others, 0.95), 1),
                         "warmup_p95_ms": round(_pct([m for th in players for m, _ in th.warmup], 0.95), 1),
                         "errors": sum(th.errors for th in players)},
        "goals": {
            "p95 callback time (ms)": {"value": round(p95, 1), "target": f"< {GOAL_P95_MS:.0f}",
                                       "met": p95 < GOAL_P95_MS},
            "p95 bytes per update": {"value": p95_bytes, "target": f"< {GOAL_BYTES}", "met": p95_bytes < GOAL_BYTES},
            "p95 at a scene change (ms)": {"value": round(change_p95, 1), "target": f"< {GOAL_CHANGE_P95_MS:.0f}",
                                           "met": change_p95 < GOAL_CHANGE_P95_MS},
        },
    }


def main(argv: list[str] | None = None) -> int:
    return bench_main(MODULE, serve, run, "viewers", 50, argv)


if __name__ == "__main__":
    raise SystemExit(main())
