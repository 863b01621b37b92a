"""`ioc run cameras`: every configured camera in this one process, each with its own threads
(camera/worker.py), publishing to Kafka: intervals and health changes (camera-events topic),
thumbnails with their overlay (camera-frames) and health alerts as ``Signal`` events (alerts).

The cameras come from ``camera.file`` or, without one, the demo set (camera/demo.py). A camera
whose source cannot be opened keeps retrying with backoff and is reported offline; a file that
ends ends its camera only: the process runs until it is stopped (SIGTERM, Ctrl-C).
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from typing import Any, Callable

import numpy as np

from camera.alerts import health_signals, startup_clears, with_frame
from camera.config import CameraConfig, load_cameras
from camera.worker import CameraWorker
from ioc import clock as ioc_clock
from ioc.errors import ConfigError

log = logging.getLogger(__name__)

CAMERA_CONDITIONS = ("producer", "cameras")
STOP_WAIT_S = 3.0  # then the threads are abandoned (daemons): `ioc up` stops within its budget


def configured_cameras(settings: Any) -> dict[str, CameraConfig]:
    """The cameras of ``settings.camera``: its file, or the demo set."""
    from camera.demo import demo_cameras, find_footage

    c = settings.camera
    # The demo's queue camera watches the land registration office's counter (the busiest
    # reception in the simulated province: agency <prefix>.06.01 of the standard tree).
    counter = f"{settings.province.agency_prefix}.06.01" if settings.province.agency_prefix else None
    cameras = load_cameras(c.file) if c.file else demo_cameras(find_footage(c.demo_footage), counter)
    for camera_id, config in cameras.items():
        if not config.source:
            where = c.file or "demo set"
            raise ConfigError(f"{where}: camera '{camera_id}' has no source")
    return cameras


class CameraStack:
    """Workers for ``cameras``, all publishing through one ``publisher``
    (:class:`camera.publish.CameraPublisher`, or anything with its methods)."""

    def __init__(self, cameras: dict[str, CameraConfig], publisher: Any,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.cameras = cameras
        self.publisher = publisher
        self.clock = clock or ioc_clock.now  # the sources' clock: startup records line up with theirs
        self.workers: dict[str, CameraWorker] = {}
        # The newest thumbnail of each camera (set and read in that camera's processing thread):
        # a health alert raised carries it, so a notification can show what the camera saw.
        self._latest: dict[str, tuple[np.ndarray, float]] = {}

    def _emit(self, camera_id: str, config: CameraConfig) -> Callable[[dict[str, Any]], None]:
        def emit(record: dict[str, Any]) -> None:
            self.publisher.publish(record)
            if record.get("event") == "health_changed":
                at = datetime.fromisoformat(record["ts"])
                for s in health_signals(camera_id, config, record["from"], record["to"], at):
                    latest = self._latest.get(camera_id)
                    if s.op == "raise" and latest is not None:
                        s = with_frame(s, latest[0], latest[1], config.thumbnail.width, config.thumbnail.quality)
                    self.publisher.signal(s)
        return emit

    def _thumbnails(self, config: CameraConfig) -> Callable[[str, np.ndarray, float, dict[str, Any]], None]:
        t = config.thumbnail

        def thumbnail(camera: str, image: np.ndarray, ts: float, overlay: dict[str, Any]) -> None:
            self._latest[camera] = (image, ts)
            self.publisher.thumbnail(camera, image, ts, t.width, t.quality, overlay)
        return thumbnail

    def start(self) -> "CameraStack":
        from camera.sources import SourceError, open_source

        now = self.clock()
        for camera_id, config in self.cameras.items():
            for s in startup_clears(camera_id, config, now):
                self.publisher.signal(s)
            st = config.stream
            try:
                source = open_source(str(config.source), realtime=config.realtime, loop=config.loop,
                                     open_timeout_s=st.open_timeout_s, read_timeout_s=st.read_timeout_s)
            except SourceError as exc:
                raise ConfigError(f"camera '{camera_id}': {exc}") from None
            # Not opened here: the worker opens (and reopens) it with backoff, so a camera that is
            # down at start is reported offline instead of stopping the others.
            worker = CameraWorker(camera_id, config, source, self._emit(camera_id, config),
                                  thumbnails=self._thumbnails(config))
            self.workers[camera_id] = worker.start()
            log.info("camera %s (%s): started on %s", camera_id, config.name or camera_id, config.source)
        return self

    def join_reception_rates(self, rates: Any) -> None:
        """Queue zones of a camera placed at a unit take that unit's reception rate from the
        dossier stream; a zone without one keeps its configured rate."""
        for camera_id, worker in self.workers.items():
            config = self.cameras[camera_id]
            if not config.unit:
                continue
            rate = rates.per_minute(config.unit)
            for name, zone in config.zones.items():
                if zone.queue:
                    worker.set_service_rate(name, rate if rate else zone.service_rate_per_min)

    def stop(self, timeout: float = STOP_WAIT_S) -> None:
        for w in self.workers.values():
            w.stop()
        for camera_id, w in self.workers.items():
            if not w.wait(timeout):
                log.warning("camera %s: still busy after %.1f s; left behind", camera_id, timeout)
                timeout = 0.1  # the budget is shared: do not wait as long for the next one


def run_cameras(settings: Any, bootstrap: str) -> int:
    """`ioc run cameras`: until SIGTERM or SIGINT."""
    from camera.publish import CameraPublisher
    from ioc.health import serve_health
    from ioc.topics import Topics

    cameras = configured_cameras(settings)
    publisher = CameraPublisher(bootstrap, Topics.from_settings(settings.kafka))
    # Live: this loop turns every second. Ready: connected to Kafka and a camera is running.
    health, health_server = serve_health(settings, "cameras", CAMERA_CONDITIONS)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    stack = CameraStack(cameras, publisher)
    rates, feed = None, None
    if any(c.unit and any(z.queue for z in c.zones.values()) for c in cameras.values()):
        import time

        from camera.service_rate import ReceptionRates
        from ioc.broker.snapshot_feed import SnapshotFeed

        rates = ReceptionRates()  # growth of counters over real seconds: the real clock measures it
        feed = SnapshotFeed(bootstrap, Topics.from_settings(settings.kafka).kpi_snapshots,
                            lambda message: rates.observe_snapshot(message, time.time()),
                            fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms).start()
    try:
        stack.start()
        log.info("%d cameras running: %s", len(cameras), ", ".join(cameras))
        ended: set[str] = set()
        while True:
            health.beat()
            health.set("producer", publisher.connected())
            health.set("cameras", any(not w.done for w in stack.workers.values()))
            if stop.wait(1.0):
                break
            if rates is not None:
                stack.join_reception_rates(rates)
            for camera_id, w in stack.workers.items():
                if w.done and camera_id not in ended:
                    ended.add(camera_id)
                    reason = f"stopped: {w.error}" if w.error else "its source ended"
                    log.warning("camera %s: %s", camera_id, reason)
    finally:
        if feed is not None:
            feed.stop()
        stack.stop()
        publisher.close(timeout_s=2.0)
        health_server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
