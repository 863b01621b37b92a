"""One camera, end to end: frames in, one record per interval (and per health change) out.

A live camera gets two threads, as in Frigate: a capture thread reads frames into a small
bounded queue and a processing thread analyses them, runs the health checks and closes the
intervals. A camera whose stream hangs inside FFmpeg therefore stalls only its own capture
thread: its processing thread keeps the clock running, reports it offline and keeps
emitting (empty) intervals, and the other cameras, each with their own threads, never
notice. When processing falls behind, the oldest queued frame is dropped (``skipped``,
Frigate's ``skipped_fps``). OpenCV releases the GIL while decoding and filtering, so the
threads share the cores (``ioc bench camera``). One limit: OpenCV opens FFmpeg inputs one at
a time (a global lock), so a camera that cannot connect delays the others' (re)connections
by up to ``stream.open_timeout_s``, never their frames.

A file has no clock to keep and nothing to drop: its frames are read inline by the
processing thread (a hand-over between threads costs ~0.3 ms of system time per frame
here, a quarter of decoding one). Time is then the video's: a file is analysed as fast as
the CPU allows with intervals of video seconds, and a gap in its timestamps (a dropped
stream) reads exactly like that many seconds without frames.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Generator, Iterable, TextIO

import numpy as np

from camera.analysis import FrameAnalyzer, FrameResult, waiting_time_s
from camera.config import CameraConfig
from camera.health import Health, HealthMonitor
from camera.sources import Frame, Source, SourceError
from ioc import clock as ioc_clock
from ioc.backoff import Backoff

log = logging.getLogger(__name__)

# Frames waiting between capture and processing of a live camera: its newest two (2.6 MB
# at 768x576). More would only add latency; one would drop a frame at every hiccup.
LIVE_QUEUE_FRAMES = 2

Emit = Callable[[dict[str, Any]], None]
# (camera, full frame, ts, overlay): the overlay says what the live view draws on the picture.
ThumbnailSink = Callable[[str, np.ndarray, float, dict[str, Any]], None]

_END = object()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    return int(math.floor(float(np.median(values)) + 0.5))


class Interval:
    """What the frames of one interval add up to."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.frames = 0
        self.motion = 0.0
        self.objects: list[int] = []
        self.people: list[int] = []
        self.zones: dict[str, list[int]] = {}
        self.crossings: dict[str, list[int]] = {}

    def add(self, r: FrameResult) -> None:
        self.frames += 1
        self.motion += r.motion
        if not r.counted:
            return
        self.objects.append(r.objects)
        self.people.append(r.people)
        for name, n in r.zones.items():
            self.zones.setdefault(name, []).append(n)
        for name, (ab, ba) in r.crossings.items():
            c = self.crossings.setdefault(name, [0, 0])
            c[0] += ab
            c[1] += ba

    def record(self, camera: str, end: float, config: CameraConfig, health: Health, skipped: int,
               service_rates: dict[str, float | None]) -> dict[str, Any]:
        """The contract's JSON object (contracts.md §4) plus people, lines, queues and skipped.
        Without frames the counts are unknown (null), not zero."""
        seen = self.frames > 0
        zones = {name: _median(self.zones.get(name, [])) if seen else None for name in config.zones}
        queues = {}
        for name, zone in config.zones.items():
            rate = service_rates.get(name)
            if zone.queue or rate:
                queues[name] = {"length": zones[name], "service_rate_per_min": rate,
                                "wait_s": waiting_time_s(zones[name], rate)}
        duration = max(1e-9, end - self.start)
        return {
            "camera": camera,
            "ts": iso(end),
            "frames": self.frames,
            "fps": round(self.frames / duration, 2),
            "motion": round(self.motion / self.frames, 4) if seen else None,
            "objects": _median(self.objects),
            "people": _median(self.people),
            "zones": zones,
            "lines": {name: dict(zip(("a_to_b", "b_to_a"), self.crossings.get(name, [0, 0]))) for name in config.lines},
            "queues": queues,
            "health": health.value,
            "skipped": skipped,
        }


class CameraWorker:
    """Runs one camera until its file ends, ``seconds`` of source time passed, or :meth:`stop`.

    ``emit`` receives each record (intervals and ``health_changed`` events) from the
    processing thread; ``thumbnails`` (optional) receives the newest full frame at most
    every ``thumbnail.every_s``. Pass a source already opened to fail fast on a bad URL;
    otherwise it is opened (and reopened, with backoff) by the capture thread.
    """

    def __init__(self, camera_id: str, config: CameraConfig, source: Source, emit: Emit, *,
                 seconds: float | None = None, thumbnails: ThumbnailSink | None = None,
                 opened: bool = False, clock: Callable[[], float] = ioc_clock.time) -> None:
        self.camera_id = camera_id
        self.config = config
        self.source = source
        self.emit = emit
        self.seconds = seconds
        self.thumbnails = thumbnails
        self.clock = clock
        self.queue: queue.Queue[Any] = queue.Queue(LIVE_QUEUE_FRAMES)
        self.analyzer = FrameAnalyzer(config)
        self.monitor = HealthMonitor(config.health)
        self.service_rates: dict[str, float | None] = {n: z.service_rate_per_min for n, z in config.zones.items()}
        # counters (read by the bench and the stats; written by one thread each)
        self.frames = 0
        self.skipped = 0
        self.reconnects = 0
        self.intervals = 0
        self.lag_total = 0.0
        self.lag_max = 0.0
        self.error: BaseException | None = None
        self._opened = opened
        self._inline: Generator[Frame, None, None] | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []
        # timeline (processing thread only)
        self._start: float | None = None
        self._now = -math.inf
        self._until: float | None = None
        self._interval: Interval | None = None
        self._interval_end = math.inf
        self._next_check = math.inf
        self._last_frame: float | None = None
        self._latest: FrameResult | None = None
        self._latest_new = False
        self._latest_image: np.ndarray | None = None
        self._latest_boxes: list[tuple[float, float, float, float, int]] = []
        self._skipped_reported = 0
        self._thumbnail_at = -math.inf
        self._counted_at = -math.inf
        self._count_gap = 1.0 / config.objects.fps - 1e-6 if config.objects.fps else 0.0

    # --- control ----------------------------------------------------------------------------

    def start(self) -> "CameraWorker":
        name = f"camera:{self.camera_id}"
        self._threads = [threading.Thread(target=self._process, name=f"{name}:process", daemon=True)]
        if self.source.live:
            self._threads.append(threading.Thread(target=self._capture, name=f"{name}:capture", daemon=True))
        else:
            self._inline = self._frames()  # a file: read by the processing thread itself
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Ask both threads to end. A capture thread stuck in a read is left behind (it is a
        daemon and holds nothing the rest needs), as Frigate abandons a hung ffmpeg."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until processing ended; True if it did."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def set_service_rate(self, zone: str, per_minute: float | None) -> None:
        """Update a queue zone's service rate (e.g. from the dossier stream's throughput)."""
        if zone not in self.config.zones:
            raise KeyError(zone)
        self.service_rates[zone] = per_minute

    # --- capture ----------------------------------------------------------------------------

    def _put(self, item: Any) -> None:
        """Queue for processing; when it is full the oldest frame goes (a live camera waits for nobody)."""
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                    self.skipped += 1
                except queue.Empty:
                    pass

    def _frames(self) -> Generator[Frame, None, None]:
        """Frames from the source, reopened with backoff when it fails; ends at the end of a
        file or on :meth:`stop`."""
        src, stream = self.source, self.config.stream
        backoff = Backoff(stream.reconnect_initial_s, stream.reconnect_max_s)
        min_gap = 1.0 / self.config.fps if self.config.fps else 0.0
        last_kept: float | None = None
        opened = self._opened
        try:
            while not self._stop.is_set():
                if not opened:
                    try:
                        src.open()
                        opened = True
                    except Exception as exc:  # any failure to open: back off, retry
                        delay = backoff.next()
                        log.warning("camera %s: %s; retrying in %.1f s", self.camera_id, exc, delay)
                        self._stop.wait(delay)
                        continue
                try:
                    ts = src.grab()
                    if ts is None:
                        return  # end of the file
                    if min_gap and last_kept is not None and ts - last_kept < min_gap - 1e-6:
                        continue  # over the analysis rate: decoded, never converted
                    image = src.retrieve()
                except Exception as exc:  # SourceError or OpenCV's: reconnect
                    reason = exc if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
                    delay = backoff.next()
                    log.warning("camera %s: %s; reconnecting in %.1f s", self.camera_id, reason, delay)
                    src.close()
                    opened = False
                    self.reconnects += 1
                    self._stop.wait(delay)
                    continue
                backoff.reset()
                last_kept = ts
                yield Frame(image, ts, src.index)
        finally:
            src.close()

    def _capture(self) -> None:
        """The capture thread of a live source."""
        try:
            for frame in self._frames():
                self._put(frame)
        finally:
            self._put(_END)

    def _next(self, timeout: float) -> Any:
        """The next frame, _END, or None when ``timeout`` passed first (live sources only)."""
        if self._inline is not None:
            return next(self._inline, _END)
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    # --- processing -------------------------------------------------------------------------

    def _process(self) -> None:
        live = self.source.live
        try:
            if live:
                self._begin(self.clock())
            while not self._stop.is_set():
                timeout = 0.5
                if live and self._start is not None:
                    timeout = min(0.5, max(0.0, self._next_event() - self.clock()))
                item = self._next(timeout)
                if item is None:
                    if live and self._advance(self.clock()):
                        return
                    continue
                if item is _END:
                    self._finish()
                    return
                if self._start is None:
                    self._begin(item.ts)
                if self._advance(max(item.ts, self._now)):  # a live frame grabbed before a tick
                    return
                self._frame(item)
        except BrokenPipeError:
            pass  # stdout closed (`| head`): nothing more to say
        except Exception as exc:  # one camera failing must not take the others down
            self.error = exc
            log.exception("camera %s: analysis stopped", self.camera_id)
        finally:
            self._stop.set()  # the capture thread ends with us (``seconds`` over, or an error)
            if self._inline is not None:
                self._inline.close()  # closes the file
            self._done.set()

    def _begin(self, t0: float) -> None:
        step = self.config.interval_s
        self._start = t0
        self._until = t0 + self.seconds if self.seconds else None
        self._interval = Interval(t0)
        self._interval_end = (math.floor(t0 / step + 1e-9) + 1) * step  # aligned: cameras line up
        self._next_check = t0

    def _next_event(self) -> float:
        return min(self._next_check, self._interval_end, self._until if self._until is not None else math.inf)

    def _advance(self, now: float) -> bool:
        """Run the checks and close the intervals due by ``now``; True once ``seconds`` are over."""
        self._now = max(self._now, now)
        until = self._until if self._until is not None else math.inf
        while True:
            t = min(self._next_check, self._interval_end, until)
            if t > now:
                return False
            if t == self._next_check and t < until:
                self._check(t)
                self._next_check += self.config.health.check_every_s
            elif t == self._interval_end and t < until:
                self._close(t)
            else:
                self._close(until)
                return True

    def _frame(self, frame: Frame) -> None:
        assert self._interval is not None
        # Objects at ``objects.fps``, and in every interval at least once.
        count = frame.ts - self._counted_at >= self._count_gap or not self._interval.objects
        if count:
            self._counted_at = frame.ts
        result = self.analyzer.analyze(frame.image, frame.ts, count)
        self._interval.add(result)
        self._latest, self._latest_new, self._latest_image = result, True, frame.image
        if result.counted:
            self._latest_boxes = result.boxes
        self._last_frame = frame.ts
        self.frames += 1
        if self.source.live:
            lag = self.clock() - frame.ts
            self.lag_total += lag
            self.lag_max = max(self.lag_max, lag)

    def _check(self, now: float) -> None:
        latest = self._latest if self._latest_new else None
        self._latest_new = False
        rate = self.config.fps or self.source.fps or 10.0
        stall = max(1.0, 2.5 / rate)
        assert self._start is not None
        change = self.monitor.check(now, latest.grey if latest else None, self._last_frame, stall, self._start,
                                    latest.mask if latest else None)
        if change is not None:
            self.emit({"event": "health_changed", "camera": self.camera_id, "from": change[0].value,
                       "to": change[1].value, "ts": iso(now)})

    def _close(self, end: float) -> None:
        interval = self._interval
        assert interval is not None
        if end > interval.start + 1e-9:
            skipped, self._skipped_reported = self.skipped - self._skipped_reported, self.skipped
            record = interval.record(self.camera_id, end, self.config, self.monitor.state, skipped, self.service_rates)
            if self.thumbnails is not None and interval.frames and self._latest_image is not None \
                    and end - self._thumbnail_at >= self.config.thumbnail.every_s:
                self._thumbnail_at = end
                self.thumbnails(self.camera_id, self._latest_image, end, self.overlay(record))
            self.intervals += 1
            self.emit(record)
        self._interval = Interval(end)
        self._interval_end = end + self.config.interval_s

    def overlay(self, record: dict[str, Any]) -> dict[str, Any]:
        """What the annotated live view draws over a thumbnail (normalised coordinates)."""
        c = self.config
        return {
            "name": c.name, "unit": c.unit, "health": record["health"], "people": record["people"],
            "boxes": [[round(v, 4) for v in b[:4]] + [b[4]] for b in self._latest_boxes],
            "zones": {n: [list(p) for p in z.coordinates] for n, z in c.zones.items()},
            "lines": {n: [list(p) for p in ln.coordinates] for n, ln in c.lines.items()},
            "counts": record["zones"],
        }

    def _finish(self) -> None:
        """End of a file: close the last, partial interval at the end of its last frame."""
        if self._interval is None or self._last_frame is None:
            return
        end = min(self._interval_end, self._last_frame + 1.0 / (self.config.fps or self.source.fps or 10.0))
        if self._advance(end - 1e-6):
            return
        if self._interval.frames:
            self._close(end)


class CameraGroup:
    """Several cameras side by side (each its own threads): start, stop, wait together."""

    def __init__(self, workers: Iterable[CameraWorker]) -> None:
        self.workers = list(workers)

    def start(self) -> "CameraGroup":
        for w in self.workers:
            w.start()
        return self

    def stop(self) -> None:
        for w in self.workers:
            w.stop()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for w in self.workers:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not w.wait(left):
                return False
        return True


def analyze(source_url: str, *, config_path: str | None = None, camera_id: str | None = None,
            seconds: float | None = None, out: TextIO | None = None, publisher: Any = None) -> int:
    """``ioc camera analyze``: one camera, one JSON line per interval and health change on
    ``out``; also to Kafka through ``publisher`` (a :class:`camera.publish.CameraPublisher`).
    Raises UserInputError (exit 2) for a bad config or a source that cannot be opened."""
    import signal
    import sys

    from camera.config import select_camera
    from camera.sources import open_source
    from ioc.errors import IocError, UserInputError

    out = out or sys.stdout
    if seconds is not None and seconds <= 0:
        raise UserInputError("ioc camera analyze: --seconds must be positive")
    camera_id, config = select_camera(config_path, camera_id, source_url)
    s = config.stream
    try:
        source = open_source(source_url, realtime=config.realtime, loop=config.loop,
                             open_timeout_s=s.open_timeout_s, read_timeout_s=s.read_timeout_s)
        source.open()
    except SourceError as exc:
        raise UserInputError(f"ioc camera analyze: {exc}") from None
    broken = threading.Event()

    def emit(record: dict[str, Any]) -> None:
        if publisher is not None:
            publisher.publish(record)
        if not broken.is_set():
            try:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                out.flush()
            except BrokenPipeError:  # `| head`: the reader is gone, so are we
                broken.set()
                raise

    thumbnails = None
    if publisher is not None:
        t = config.thumbnail

        def thumbnails(camera: str, image: np.ndarray, ts: float, overlay: dict[str, Any]) -> None:
            publisher.thumbnail(camera, image, ts, t.width, t.quality, overlay)

    worker = CameraWorker(camera_id, config, source, emit, seconds=seconds, thumbnails=thumbnails, opened=True)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    status = 0
    try:
        worker.start()
        while not worker.wait(0.5):
            pass
    except KeyboardInterrupt:
        worker.stop()
        worker.wait(5)
        status = 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if publisher is not None:
            publisher.close()
    if broken.is_set():
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())  # no second BrokenPipeError at exit
    if worker.error is not None:
        raise IocError(f"ioc camera analyze: camera {camera_id} stopped: {type(worker.error).__name__}: "
                       f"{worker.error}")
    return status
