"""Liveness and readiness of one part over HTTP: ``GET /livez`` and ``GET /readyz``.

Every part but the web (which has ``/healthz`` on its own port) serves them on
``health.host``:``health.port`` from a tiny stdlib server in a daemon thread:

    /livez   200 while the part's main loop beats (:meth:`Health.beat`) at least every
             ``health.stale_after_s``; 503 when it stopped beating (a hung loop: restart it)
    /readyz  200 when it is live and every readiness condition holds (connected and consuming
             or producing: e.g. the worker has partitions and has recovered its tables); 503
             naming the conditions that do not

Both answer JSON: ``{"part", "live", "ready", "checks": {condition: bool}, "beat_age_s"}``.
The server runs in its own thread so a blocked event loop is *seen* (the beat goes stale and
the answer is 503) instead of leaving the probe without an answer.

Conditions are set from the part's own loop (:meth:`Health.set`), never computed in the
server's thread, so nothing here touches the part's objects across threads.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from ioc.errors import DependencyError

log = logging.getLogger(__name__)

LIVE_PATH = "/livez"
READY_PATH = "/readyz"


class Health:
    """What a part reports: its loop's heartbeat and its readiness conditions."""

    def __init__(self, part: str, stale_after_s: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 conditions: tuple[str, ...] = ()) -> None:
        self.part = part
        self.stale_after_s = stale_after_s
        self.clock = clock
        self._lock = threading.Lock()
        self._beat: float | None = None
        # Declared up front as False: a part is not ready until its loop says so.
        self._checks: dict[str, bool] = {name: False for name in conditions}

    def beat(self) -> None:
        """Called by the part's main loop on every turn."""
        self._beat = self.clock()

    def set(self, condition: str, ok: bool) -> None:
        with self._lock:
            self._checks[condition] = bool(ok)

    def beat_age_s(self) -> float | None:
        beat = self._beat
        return None if beat is None else max(0.0, self.clock() - beat)

    @property
    def live(self) -> bool:
        age = self.beat_age_s()
        return age is not None and age <= self.stale_after_s

    @property
    def ready(self) -> bool:
        with self._lock:
            checks = dict(self._checks)
        return self.live and all(checks.values())

    def report(self) -> dict[str, Any]:
        with self._lock:
            checks = dict(self._checks)
        age = self.beat_age_s()
        live = age is not None and age <= self.stale_after_s
        return {"part": self.part, "live": live, "ready": live and all(checks.values()), "checks": checks,
                "beat_age_s": None if age is None else round(age, 3)}


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # http.server's naming
        path = self.path.split("?", 1)[0]
        if path not in (LIVE_PATH, READY_PATH):
            self._answer(404, {"error": f"no such path; ask {LIVE_PATH} or {READY_PATH}"})
            return
        report = self.server.health.report()
        ok = report["live"] if path == LIVE_PATH else report["ready"]
        self._answer(200 if ok else 503, report)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: no log
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], health: Health) -> None:
        self.health = health
        super().__init__(address, _Handler)


class HealthServer:
    """``/livez`` and ``/readyz`` of ``health`` on ``host:port`` (0: any free port)."""

    def __init__(self, health: Health, host: str = "127.0.0.1", port: int = 0) -> None:
        self.health = health
        try:
            self._server = _Server((host, port), health)
        except OSError as exc:
            raise DependencyError(f"port {port} on {host} is already in use ({health.part} health, "
                                  f"health.port; 0: any free port)" if port else
                                  f"cannot serve {health.part} health on {host} ({exc.strerror})") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"{health.part}-health", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self.port}"

    def start(self) -> "HealthServer":
        self._thread.start()
        log.info("%s health: %s%s and %s%s", self.health.part, self.url, LIVE_PATH, self.url, READY_PATH)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)


def serve_health(settings: Any, part: str, conditions: tuple[str, ...] = ()) -> tuple[Health, HealthServer]:
    """The health of ``part`` served as ``settings.health`` says (``settings``: ioc.config.Settings)."""
    health = Health(part, settings.health.stale_after_s, conditions=conditions)
    return health, HealthServer(health, settings.health.host, settings.health.port).start()


def check_ready(url: str, timeout: float = 1.0) -> tuple[bool, dict[str, Any]]:
    """Ask a part's ``/readyz`` (or any URL answering 200 when ready): (ready, what it said)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read(65_536)
            status = r.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(65_536), exc.code
    except OSError as exc:  # refused, timed out, unreachable: the part does not answer
        reason = getattr(exc, "reason", exc)
        return False, {"error": f"no answer from {url} ({reason})"}
    try:
        said = json.loads(body)
    except ValueError:
        said = {}
    said = said if isinstance(said, dict) else {}
    return status == 200, {"status": status, **{k: v for k, v in said.items() if k in ("checks", "live")}}


async def beat_until(health: Health, stop: Any, interval_s: float = 1.0) -> None:
    """Beat every ``interval_s`` until ``stop`` (an asyncio.Event) is set: the liveness of an
    event loop whose work is spread over tasks (a blocked loop stops beating)."""
    import asyncio

    while not stop.is_set():
        health.beat()
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except asyncio.TimeoutError:
            pass


def check_parts(parts: dict[str, str], timeout: float = 1.0) -> dict[str, dict[str, Any]]:
    """:func:`check_ready` of every part at once (a hung one costs ``timeout``, not one each):
    ``{name: {"ready": bool, "url", ...what it said}}``."""
    if not parts:
        return {}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(parts), 16), thread_name_prefix="part-health") as pool:
        answers = {name: pool.submit(check_ready, url, timeout) for name, url in parts.items()}
        out = {}
        for name, future in answers.items():
            ready, said = future.result()
            out[name] = {"ready": ready, "url": parts[name], **said}
    return out
