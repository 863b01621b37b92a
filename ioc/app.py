"""The composition root of `ioc up`: starts the parts in order, watches them, stops them.

    broker (embedded Tansu, or an existing cluster) -> topics
    -> warehouse (embedded chDB owned by the web process, or a ClickHouse server + a sink process)
    -> stream worker (Faust) [-> notifier, when notify has channels] -> web (wall, /healthz, /metrics)
    -> simulator
    -> every part ready (the web's /healthz asks each part's /readyz) -> the URLs are printed

Every part but the broker binary is this same program (`ioc run PART`) in a child process
of its own, so a crash of one is seen, and Ctrl-C stops them all in reverse order. Each serves
its liveness and readiness on a free port `ioc up` gives it (ioc/health.py).

`ioc run PART` (:func:`run_part`) is how each of those parts is built from the settings and run,
here too: by `ioc up`'s children and by a production deployment that runs the parts itself.
Where Kafka and ClickHouse are is decided by ioc/stack.py, as for every command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Coroutine

from ioc import clock, stack
from ioc.config import Settings
from ioc.errors import DependencyError, UserInputError
from ioc.process import free_port, require_free_port, spawn, stop, wait_until

# The composition root may know the outer layers (dashboards, camera, streams): it starts them.
# They are imported where used, so the command line (which names the parts) starts quickly.
if TYPE_CHECKING:
    from ioc.broker.embedded import EmbeddedBroker

log = logging.getLogger(__name__)

STOP_BUDGET_S = 9.0  # the contract: everything stopped within 10 s of Ctrl-C
READY_TIMEOUT_S = 180.0  # from the last part started to every part ready (a worker recovering its tables)


def settings_env(overrides: dict[str, Any], prefix: str = "IOC_") -> dict[str, str]:
    """Command-line overrides as the IOC_SECTION__KEY variables children read."""
    env: dict[str, str] = {}
    for key, value in overrides.items():
        name = f"{prefix}{key.upper()}"
        if isinstance(value, dict):
            env.update(settings_env(value, name + "__"))
        elif value is not None:
            env[name] = str(value)
    return env


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class IocApp:
    settings: Settings
    config_path: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    broker: EmbeddedBroker | None = None
    children: list[Child] = field(default_factory=list)
    bootstrap: str = ""
    first_admin: tuple[str, str] | None = None  # created by this start, printed once
    health_ports: dict[str, int] = field(default_factory=dict)  # part -> port of its /livez, /readyz

    @property
    def log_dir(self) -> Path:
        return Path(self.settings.data_dir) / "logs"

    def _child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
        if self.config_path:
            env["IOC_CONFIG"] = str(Path(self.config_path).resolve())
        env.update({k: v for k, v in os.environ.items() if k.startswith("IOC_")})
        env.update(settings_env(self.overrides))
        env["IOC_KAFKA_BOOTSTRAP"] = self.bootstrap
        env["IOC_DATA_DIR"] = str(Path(self.settings.data_dir).resolve())
        env.update(clock.env())  # IOC_NOW + IOC_NOW_ANCHOR: every part judges "now" as this process does
        return env

    def _start_child(self, name: str, *args: str) -> Child:
        log_path = self.log_dir / f"{name}.log"
        env = self._child_env()
        if name == "web":  # /healthz asks every other part's /readyz
            env["IOC_WEB__PARTS"] = ",".join(f"{n}={url}" for n, url in self.part_health_urls.items())
        else:  # every part serves its /livez and /readyz on a port of its own (they share this host)
            env["IOC_HEALTH__PORT"] = str(self.health_ports[name])
        proc = spawn([sys.executable, "-m", "ioc", *args], log_path=log_path, env=env)
        child = Child(name, proc, log_path)
        self.children.append(child)
        return child

    # -- start -------------------------------------------------------------------------
    def start(self) -> None:
        s = self.settings
        self.log_dir.mkdir(parents=True, exist_ok=True)
        require_free_port(s.web.host, s.web.port, "web app")
        if s.notify.enabled:  # a channel's secret missing from the environment: one line, before anything runs
            from ioc.notify.senders import build_senders

            build_senders(s.notify.channels, os.environ)
        self.plan_parts()
        from dashboards.auth import ensure_first_admin, users_path

        self.first_admin = ensure_first_admin(users_path(s))
        self.start_broker()
        self.start_warehouse()
        self.restore_broker()
        self.publish_catalogue()
        self._start_child("worker", "run", "worker")
        if s.notify.enabled:  # tells people about the alerts the worker's alert agent logs
            self._start_child("notifier", "run", "notifier")
        web = self._start_child("web", "run", "web", *(["--with-sink"] if s.embedded_clickhouse else []))
        self.wait_web(web)
        if s.simulator.enabled:
            self._start_child("simulator", "simulate", "--rate", str(s.simulator.rate), "--seed", str(s.simulator.seed),
                              "--backfill-days", str(s.simulator.backfill_days),
                              "--state", str(Path(s.data_dir, "simulator", "state.json").resolve()))
        self.start_services()
        if s.camera.enabled:  # camera.file, or a demo set so the wall has a camera grid
            self._start_child("cameras", "run", "cameras")
        self.wait_ready()

    def plan_parts(self) -> None:
        """The parts besides the broker and the web that this start runs, each with a free port for
        its health server, so the web (started before some of them) knows them all."""
        s = self.settings
        names = ["worker"]
        names += ["notifier"] if s.notify.enabled else []
        names += [] if s.embedded_clickhouse else ["sink"]  # embedded: the web process runs the sink
        names += ["simulator"] if s.simulator.enabled else []
        names += ["services-sim"] if s.simulator.enabled and s.services.simulator.enabled else []
        names += ["scraper"] if s.services.scrape else []
        names += ["cameras"] if s.camera.enabled else []
        self.health_ports = {name: free_port(s.health.host) for name in names}

    @property
    def part_health_urls(self) -> dict[str, str]:
        host = self.settings.health.host
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return {name: f"http://{host}:{port}/readyz" for name, port in self.health_ports.items()}

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until the web's /healthz is 200: the web, and every part it asks, is ready (the worker
        has its partitions and its tables, the services simulator has read its control topic...).
        The URLs are printed after this, so nothing sent to the stack from then on is missed.
        A part that exits meanwhile, or is still not ready after ``timeout``, is named."""
        url = f"http://{self.settings.web.host}:{self.settings.web.port}/healthz"
        deadline = time.monotonic() + timeout
        not_ready: list[str] = ["web"]
        while True:
            for child in self.children:
                if child.proc.poll() is not None:
                    raise DependencyError(f"{child.name} exited before it was ready (see {child.log_path})")
            if self.broker and self.broker.proc and self.broker.proc.poll() is not None:
                raise DependencyError(f"the embedded Kafka broker exited (see {self.log_dir / 'broker.log'})")
            try:
                with urllib.request.urlopen(url, timeout=5):
                    return
            except urllib.error.HTTPError as exc:
                try:
                    not_ready = list(json.loads(exc.read()).get("not_ready") or not_ready)
                except ValueError:
                    pass
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = ", ".join(str(self.log_dir / f"{name}.log") for name in not_ready)
                raise DependencyError(f"{', '.join(not_ready)} not ready after {timeout:.0f} s (see {logs})")
            time.sleep(0.25)

    def start_services(self) -> None:
        """The simulated e-government systems (incidents via `ioc simulate --incident`) and the
        Prometheus scraper of the configured sources."""
        s = self.settings
        if s.simulator.enabled and s.services.simulator.enabled:
            self._start_child("services-sim", "run", "services-sim")
        if s.services.scrape:
            self._start_child("scraper", "run", "scraper")

    def start_broker(self) -> None:
        from ioc.broker.admin import ensure_topics
        from ioc.broker.embedded import EmbeddedBroker
        from ioc.topics import topic_specs

        s = self.settings
        if s.embedded_kafka:
            self.broker = EmbeddedBroker(s.kafka.embedded_port, log_path=self.log_dir / "broker.log").start()
            self.bootstrap = self.broker.bootstrap
        else:
            self.bootstrap = str(s.kafka.bootstrap)
        ensure_topics(self.bootstrap, topic_specs(s.kafka), s.kafka.replication_factor)

    def publish_catalogue(self) -> None:
        """The procedure catalogue topic: the packaged SAMPLE unless it holds one already (an
        import, or a restore); stored by the sink below any imported row (ioc.commands.catalogue_import)."""
        from ioc.commands.catalogue_import import publish_sample_if_empty

        publish_sample_if_empty(self.bootstrap, self.settings)

    def restore_broker(self, timeout: float = 600.0) -> None:
        """The embedded broker starts empty (Tansu in memory): put the worker's dossier table and
        the alert log back from the warehouse before the worker starts (`ioc restore`, a child
        of its own: chDB admits one process per data directory, and the web opens it next)."""
        from ioc.commands.restore import has_warehouse

        s = self.settings
        if not (s.embedded_kafka and s.kafka.embedded_restore and has_warehouse(s)):
            return
        log_path = self.log_dir / "restore.log"
        with open(log_path, "ab"):
            size = log_path.stat().st_size
        proc = spawn([sys.executable, "-m", "ioc", "restore"], log_path=log_path, env=self._child_env())
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop(proc)
            raise DependencyError(f"restoring the stream from the warehouse took over {timeout:.0f} s "
                                  f"(see {log_path})") from None
        if status != 0:
            raise DependencyError(f"restoring the stream from the warehouse failed (see {log_path})")
        with open(log_path, "rb") as f:  # its summary line, for the start-up messages
            f.seek(size)
            for line in f.read().decode("utf-8", "replace").splitlines():
                if line.startswith('{"restore"'):
                    print(f"  {json.loads(line)['summary']}", flush=True)

    def start_warehouse(self) -> None:
        s = self.settings
        if s.embedded_clickhouse:
            return  # the web process opens chDB: one process per data directory
        stack.open_warehouse(s).close()  # reachable, schema ready
        self._start_child("sink", "run", "sink")

    def wait_web(self, web: Child, timeout: float = 60.0) -> None:
        url = f"http://{self.settings.web.host}:{self.settings.web.port}/healthz"

        def answers() -> bool:
            try:
                urllib.request.urlopen(url, timeout=1)
            except urllib.error.HTTPError:
                return True  # 503 while the feed connects: the server is up
            return True

        wait_until(answers, timeout, f"web app (see {web.log_path})", interval=0.2,
                   alive=lambda: web.proc.poll() is None)

    @property
    def urls(self) -> dict[str, str]:
        base = f"http://{self.settings.web.host}:{self.settings.web.port}"
        return {"wall": f"{base}/", "health": f"{base}/healthz", "metrics": f"{base}/metrics",
                "kafka": self.bootstrap,
                "warehouse": self.settings.clickhouse.url or str(Path(self.settings.data_dir, "chdb").resolve())}

    # -- run and stop ------------------------------------------------------------------
    def watch(self, stopping: "list[bool]") -> int:
        """Block until a stop is asked (returns 0) or a child dies (returns 1)."""
        while not stopping[0]:
            for child in self.children:
                if child.proc.poll() is not None:
                    if child.name == "simulator" and child.proc.returncode == 0:
                        continue
                    print(f"ioc: {child.name} exited with status {child.proc.returncode}; see {child.log_path}",
                          file=sys.stderr)
                    return 1
            if self.broker and self.broker.proc and self.broker.proc.poll() is not None:
                print("ioc: the embedded Kafka broker exited; see " + str(self.log_dir / "broker.log"), file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        """Producers first; then the worker (it sends its partitions' whole figures as it stops);
        then the other consumers (the sink reads to the end, that last snapshot included, and
        flushes its batch); then the broker. A clean stop thus leaves the warehouse's newest
        snapshots counting every event it stored (`ioc verify`)."""
        deadline = time.monotonic() + STOP_BUDGET_S
        order = [["simulator", "services-sim", "scraper", "cameras"], ["worker"], ["notifier", "web", "sink"]]
        for group in order:
            procs = [c.proc for c in self.children if c.name in group and c.proc.poll() is None]
            for p in procs:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            for p in procs:
                # Whatever has not stopped by then is killed: the budget is a promise.
                stop(p, timeout=max(0.2, deadline - time.monotonic() - 1.5))
        if self.broker:
            self.broker.stop(timeout=max(0.5, deadline - time.monotonic()))


def run_up(app: IocApp) -> int:
    stopping = [False]

    def on_signal(*_: Any) -> None:
        stopping[0] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        app.start()
        urls = app.urls
        print(f"IOC running — tường hiển thị / wall: {urls['wall']}", flush=True)
        print(f"  health {urls['health']}  metrics {urls['metrics']}", flush=True)
        print(f"  kafka {urls['kafka']}  warehouse {urls['warehouse']}  logs {app.log_dir}", flush=True)
        if app.first_admin:
            user, password = app.first_admin
            print(f"  tài khoản quản trị đầu tiên / first admin account: {user} / {password} "
                  "(chỉ hiện một lần / shown once; `ioc users add` for more)", flush=True)
        print("  Ctrl-C to stop", flush=True)
        status = app.watch(stopping)
    except DependencyError:
        app.stop()
        raise
    app.stop()
    print("ioc: stopped", flush=True)
    return status


# -- `ioc run PART`: how each part is built and run ---------------------------------------------
# Each runs until SIGTERM or Ctrl-C and serves /livez and /readyz on health.port (ioc/health.py).

def run_part(part: str, settings: Settings, *, with_sink: bool = False) -> int:
    """`ioc run PART` (PART one of :data:`PARTS`); its exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bootstrap = stack.kafka_bootstrap(settings)
    if part == "web":  # the one part with an option of its own
        return _run_web(settings, bootstrap, with_sink=with_sink)
    return PARTS[part](settings, bootstrap)


def _until_signalled(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> int:
    """Run ``main(stop)`` in a fresh event loop; SIGTERM and SIGINT set ``stop``."""
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())
    return 0


def _run_worker(settings: Settings, bootstrap: str) -> int:
    import faust

    from ioc.broker.admin import ensure_topics
    from ioc.broker.restore import changelog_specs
    from ioc.domain.calendar import WorkingCalendar
    from ioc.health import serve_health
    from ioc.process import tune_gc_for_streams
    from streams.app import create_app
    from streams.health import WORKER_CONDITIONS, WorkerHealth

    tune_gc_for_streams()
    # The holidays package loads its country data at the first judging round (~1 s): now instead.
    WorkingCalendar().next_working_day(clock.now_local().date())
    # The dossier checkpoint is no Faust table: Faust would not create it.
    ensure_topics(bootstrap, changelog_specs(settings), settings.kafka.replication_factor)
    app = create_app(settings, bootstrap)
    health, _ = serve_health(settings, "worker", WORKER_CONDITIONS)
    worker = faust.Worker(app, WorkerHealth(app, health), loglevel="info", quiet=True)
    worker.execute_from_commandline()  # Faust's own loop and signal handling
    return 0


def _run_web(settings: Settings, bootstrap: str, with_sink: bool = False) -> int:
    """The wall, the APIs, /healthz; with the embedded chDB also the sink (one process per directory)."""
    from dashboards.server import WebProcess, serve

    serve(WebProcess(settings, bootstrap, stack.open_warehouse(settings), with_sink=with_sink))
    return 0


def _run_sink(settings: Settings, bootstrap: str) -> int:
    import socket

    from ioc.health import serve_health
    from ioc.process import tune_gc_for_streams
    from ioc.topics import Topics
    from ioc.warehouse.sink import SINK_CONDITIONS, WarehouseSink, run_sink

    tune_gc_for_streams()
    warehouse = stack.open_warehouse(settings)
    topics = Topics.from_settings(settings.kafka)
    ch = settings.clickhouse
    health, _ = serve_health(settings, "sink", SINK_CONDITIONS)
    sink = WarehouseSink(bootstrap, topics, warehouse, f"{settings.worker.app_id}-sink", ch.batch_rows,
                         ch.batch_seconds, health=health, fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):  # the sink flushes its batch, then stops
            loop.add_signal_handler(sig, sink.stop)
        await run_sink(sink, bootstrap, topics.pipeline_stats, f"{socket.gethostname()}-{os.getpid()}")

    try:
        asyncio.run(main())
    finally:
        warehouse.close()
    return 0


def _run_cameras(settings: Settings, bootstrap: str) -> int:
    """camera.file, or the demo set (camera/stack.py)."""
    from camera.stack import run_cameras

    return run_cameras(settings, bootstrap)


def _run_notifier(settings: Settings, bootstrap: str) -> int:
    from ioc.health import serve_health
    from ioc.notify.senders import build_senders
    from ioc.notify.service import NOTIFIER_CONDITIONS, run_notifier

    if not settings.notify.enabled:
        raise UserInputError("ioc run notifier: notify has no channels and routes (see the README, Alerts)")
    senders = build_senders(settings.notify.channels, os.environ)  # a missing secret: one line, before anything

    async def main(stop: asyncio.Event) -> None:
        health, _ = serve_health(settings, "notifier", NOTIFIER_CONDITIONS)
        await run_notifier(settings, bootstrap, senders, health, stop)

    return _until_signalled(main)


def _run_scraper(settings: Settings, bootstrap: str) -> int:
    """The Prometheus sources of services.scrape."""
    from ioc.health import serve_health
    from ioc.services_io.scrape import SCRAPER_CONDITIONS
    from ioc.services_io.scrape import run_to_broker as scrape
    from ioc.topics import Topics

    if not settings.services.scrape:
        raise UserInputError("ioc run scraper: no sources in services.scrape")
    topic = Topics.from_settings(settings.kafka).service_metrics

    async def main(stop: asyncio.Event) -> None:
        health, _ = serve_health(settings, "scraper", SCRAPER_CONDITIONS)
        await scrape(bootstrap, topic, settings.services.scrape, stop, health)

    return _until_signalled(main)


def _run_services_sim(settings: Settings, bootstrap: str) -> int:
    """The simulated e-government systems (incidents from `ioc simulate --incident`)."""
    from ioc.health import serve_health
    from ioc.services.catalogue import province_communes
    from ioc.services_io.sim_runner import SERVICES_SIM_CONDITIONS, SimulatedSystems
    from ioc.services_io.sim_runner import run_to_broker as simulate
    from ioc.topics import Topics

    topics = Topics.from_settings(settings.kafka)
    services = settings.services
    sim = services.simulator

    async def main(stop: asyncio.Event) -> None:
        systems = SimulatedSystems(sim.seed, province_communes(settings.province.code), sim.tick_s,
                                   services.simulated_systems(), services.catalogue())
        health, _ = serve_health(settings, "services-sim", SERVICES_SIM_CONDITIONS)
        await simulate(bootstrap, topics.service_metrics, topics.simulator_control, systems, sim.tick_s, stop,
                       health=health, fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms)

    return _until_signalled(main)


PARTS: dict[str, Callable[[Settings, str], int]] = {
    "worker": _run_worker,
    "web": _run_web,
    "sink": _run_sink,
    "scraper": _run_scraper,
    "services-sim": _run_services_sim,
    "cameras": _run_cameras,
    "notifier": _run_notifier,
}
