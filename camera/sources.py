"""Where frames come from: files and streams through OpenCV's FFmpeg backend, a synthetic
scene for demos and tests, and a wrapper that injects camera faults into any of them.

A source is read in two steps, ``grab()`` then ``retrieve()``, as OpenCV does: a frame
skipped by the analysis rate is decoded but never converted to colour. ``grab()`` returns
the frame's timestamp (epoch seconds), None at the end of a file, and raises
:class:`SourceError` when the stream failed (the worker then reconnects with backoff).

Timestamps are the source's clock: the project's clock (``ioc.clock``: wall time, or running
on from ``IOC_NOW``, so camera records share the alert desk's and the wall's timeline) for live
streams, and for files and synthetic scenes the video position added to the time the source was
first opened, so a file is analysed as fast as the CPU allows yet its intervals are in seconds
of video. Pacing sleeps on differences of that clock, which runs at real speed.
"""

from __future__ import annotations

import math
import os
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from ioc import clock

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")


class SourceError(Exception):
    """The source cannot be opened or stopped delivering frames."""


@dataclass(slots=True)
class Frame:
    image: np.ndarray  # BGR, full resolution
    ts: float  # epoch seconds on the source's clock
    index: int


class Source(ABC):
    """A camera, file or scene. ``live`` sources are timed by the wall clock."""

    url: str
    live: bool = False
    fps: float = 10.0
    index: int = -1  # of the last frame grabbed

    @abstractmethod
    def open(self) -> None:
        """Open (or reopen after a failure, resuming a file where it was)."""

    @abstractmethod
    def grab(self) -> float | None:
        """Advance to the next frame; its timestamp, or None at the end."""

    @abstractmethod
    def retrieve(self) -> np.ndarray:
        """The grabbed frame as a BGR image."""

    @abstractmethod
    def close(self) -> None: ...

    def read(self) -> Frame | None:
        """Grab and retrieve one frame (None at the end)."""
        ts = self.grab()
        if ts is None:
            return None
        return Frame(self.retrieve(), ts, self.index)


class _Pacer:
    """Sleeps so frame ``index`` is delivered at ``origin + index / rate`` of wall time."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.origin: float | None = None

    def due(self, index: int) -> float:
        if self.origin is None:
            self.origin = clock.time() - index / self.rate
        return self.origin + index / self.rate

    def wait(self, index: int) -> None:
        delay = self.due(index) - clock.time()
        if delay > 0:
            time.sleep(delay)


def _quiet_ffmpeg() -> None:
    """FFmpeg and OpenCV print to stderr themselves; our own log says what failed, once.
    Set OPENCV_FFMPEG_LOGLEVEL (e.g. 32) to see FFmpeg's messages again."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when the backend first opens
    if os.environ.get("OPENCV_LOG_LEVEL") is None:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class VideoSource(Source):
    """A file, RTSP or HTTP(S) MJPEG stream through OpenCV's FFmpeg backend.

    Streams are live; files are read as fast as asked, or paced to ``rate`` frames per
    second with ``realtime`` (as a camera would deliver them), and looped with ``loop``.
    """

    def __init__(self, url: str, *, realtime: bool = False, loop: bool = False, rate: float | None = None,
                 open_timeout_s: float = 10.0, read_timeout_s: float = 10.0) -> None:
        self.url = url
        self.stream = url.startswith(STREAM_SCHEMES)
        self.loop = loop and not self.stream
        self.live = self.stream or realtime
        self.rate = rate
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.fps = rate or 10.0
        self.index = -1  # frames delivered since the first open (keeps growing across loops)
        self._position = 0  # frame position inside the file
        self._origin: float | None = None
        self._pacer: _Pacer | None = None
        self._cap: Any = None  # cv2.VideoCapture once open

    def open(self) -> None:
        if not self.stream and not Path(self.url).is_file():
            raise SourceError(f"{self.url}: no such file")
        _quiet_ffmpeg()
        if self.url.startswith(("rtsp://", "rtsps://")):
            # Frigate's default: RTSP over TCP, no smeared frames from lost UDP packets.
            os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout_s * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000),
                  # One decoder thread per stream: the cameras already run side by side.
                  cv2.CAP_PROP_N_THREADS, 1]
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.url}: cannot open (not a video, or the stream does not answer)")
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not self.rate:
            self.fps = fps if 0 < fps <= 240 else 10.0
        if not self.stream and self._position:
            cap.set(cv2.CAP_PROP_POS_FRAMES, self._position)  # resume after a reconnect
        self._cap = cap
        if self._origin is None:
            self._origin = math.floor(clock.time())
        if self.live and not self.stream and self._pacer is None:
            self._pacer = _Pacer(self.fps)

    def grab(self) -> float | None:
        cap = self._cap
        if cap is None:
            raise SourceError(f"{self.url}: not open")
        if self._pacer is not None:
            self._pacer.wait(self.index + 1)
        if not cap.grab():
            if self.stream:
                raise SourceError(f"{self.url}: the stream stopped")
            if not self.loop or self._position == 0:
                return None
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._position = 0
            if not cap.grab():
                return None
        self.index += 1
        self._position += 1
        if self._pacer is not None:
            return self._pacer.due(self.index)  # when a camera would have sent it: lag shows
        if self.live:
            return clock.time()
        assert self._origin is not None
        return self._origin + self.index / self.fps

    def retrieve(self) -> np.ndarray:
        ok, image = self._cap.retrieve() if self._cap is not None else (False, None)
        if not ok or image is None:
            raise SourceError(f"{self.url}: undecodable frame")
        return image

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def capture(self) -> cv2.VideoCapture | None:
        """The OpenCV capture underneath (for ``ioc bench camera``'s bare loop)."""
        return self._cap


# --- synthetic scene ------------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    """A camera fault between ``start`` and ``end`` seconds after the first frame."""

    kind: str
    start: float
    end: float


FAULT_KINDS = ("offline", "frozen", "dark", "bright", "blurred", "covered", "shifted")


def parse_fault(text: str) -> Fault:
    """``KIND@START-END`` in seconds, e.g. ``frozen@10-20``."""
    kind, _, span = text.partition("@")
    start, _, end = span.partition("-")
    try:
        fault = Fault(kind.strip(), float(start), float(end))
    except ValueError:
        raise ValueError(f"fault '{text}': expected KIND@START-END in seconds, e.g. frozen@10-20") from None
    if fault.kind not in FAULT_KINDS:
        raise ValueError(f"fault '{text}': unknown kind (one of {', '.join(FAULT_KINDS)})")
    if not 0 <= fault.start < fault.end:
        raise ValueError(f"fault '{text}': needs 0 <= START < END")
    return fault


class SyntheticSource(Source):
    """Walking figures on a textured background, drawn to the same perspective as the
    default people model (``PersonHeight``), so counts can be checked against ``people``.

    ``synthetic:?people=5&fps=10&size=640x360&seconds=60&seed=1&realtime=1``;
    ``seconds=0`` runs for ever; ``fault=KIND@START-END,...`` injects faults (FaultySource),
    ``repeat=SECONDS`` replays their schedule every so many seconds.
    """

    def __init__(self, people: int = 5, fps: float = 10.0, size: tuple[int, int] = (640, 360),
                 seconds: float = 60.0, seed: int = 1, realtime: bool = False, url: str = "synthetic:") -> None:
        self.url = url
        self.people = people
        self.fps = fps
        self.size = size
        self.seconds = seconds
        self.seed = seed
        self.live = realtime
        self.index = -1
        self._origin: float | None = None
        self._pacer = _Pacer(fps) if realtime else None
        self._background: np.ndarray | None = None
        self._noise: list[np.ndarray] = []
        self._walkers: np.ndarray | None = None

    def open(self) -> None:
        if self._background is None:
            self._build()
        if self._origin is None:
            self._origin = math.floor(clock.time())

    def _build(self) -> None:
        w, h = self.size
        rng = np.random.default_rng(self.seed)
        bg = np.empty((h, w, 3), np.uint8)
        horizon = int(h * 0.3)
        bg[:horizon] = (150, 140, 120)  # the back wall
        bg[horizon:] = (105, 115, 110)  # the floor
        for _ in range(25):  # windows, doors, notice boards
            x, y = int(rng.integers(0, w)), int(rng.integers(0, horizon))
            cv2.rectangle(bg, (x, y), (x + int(rng.integers(10, 60)), y + int(rng.integers(10, horizon // 2 + 11))),
                          tuple(int(c) for c in rng.integers(30, 230, 3)), -1)
        for i in range(-w, 2 * w, max(8, w // 16)):  # floor tiles, in perspective
            cv2.line(bg, (int(w / 2 + (i - w / 2) * 0.4), horizon), (i, h), (80, 90, 85), 1)
        for y in np.geomspace(4, h - horizon, 9):
            cv2.line(bg, (0, horizon + int(y)), (w, horizon + int(y)), (80, 90, 85), 1)
        for _ in range(4):  # counters and benches
            x, y = int(rng.integers(0, w - 40)), int(rng.integers(horizon, h - 20))
            cv2.rectangle(bg, (x, y), (x + int(rng.integers(30, 90)), y + int(rng.integers(8, 20))),
                          tuple(int(c) for c in rng.integers(40, 200, 3)), -1)
        texture = cv2.GaussianBlur(rng.normal(0, 10, (h, w)).astype(np.float32), (3, 3), 0)
        self._background = np.clip(bg.astype(np.float32) + texture[..., None], 0, 255).astype(np.uint8)
        # A few frames of sensor noise, cycled: a live camera never repeats a frame exactly.
        self._noise = [rng.integers(-3, 4, (h, w, 3)).astype(np.int16) for _ in range(4)]
        n = self.people
        self._walkers = np.column_stack([
            rng.uniform(0.05, 0.95, n), rng.uniform(0.45, 0.95, n),  # position (feet), normalised
            rng.uniform(-0.08, 0.08, n), rng.uniform(-0.03, 0.03, n),  # velocity per second
            rng.integers(20, 90, n),  # shade of the clothes
        ]) if n else np.zeros((0, 5))

    def grab(self) -> float | None:
        if self._background is None:
            raise SourceError("synthetic: not open")
        if self.seconds and (self.index + 1) / self.fps >= self.seconds:
            return None
        if self._pacer is not None:
            self._pacer.wait(self.index + 1)
        self.index += 1
        if self._pacer is not None:
            return self._pacer.due(self.index)
        if self.live:
            return clock.time()
        assert self._origin is not None
        return self._origin + self.index / self.fps

    def retrieve(self) -> np.ndarray:
        assert self._background is not None and self._walkers is not None
        h, w = self._background.shape[:2]
        t = self.index / self.fps
        frame = cv2.add(self._background, self._noise[self.index % len(self._noise)], dtype=cv2.CV_8U)
        for x0, y0, vx, vy, shade in self._walkers:
            x = _bounce(x0 + vx * t, 0.03, 0.97)
            y = _bounce(y0 + vy * t, 0.4, 0.97)
            ph = (0.017 + (0.29 - 0.017) * y) * h  # PersonHeight defaults
            cx, feet = int(x * w), int(y * h)
            body = (int(ph * 0.18), int(ph * 0.4))
            c = (int(shade), int(shade * 0.8), int(shade * 0.9))
            cv2.ellipse(frame, (cx, feet - body[1]), body, 0, 0, 360, c, -1)
            cv2.circle(frame, (cx, int(feet - ph * 0.88)), max(1, int(ph * 0.1)), (60, 80, 150), -1)
        return frame

    def close(self) -> None:
        pass


def _bounce(v: float, lo: float, hi: float) -> float:
    span = hi - lo
    p = (v - lo) % (2 * span)
    return lo + (p if p <= span else 2 * span - p)


# --- faults ---------------------------------------------------------------------------------

class FaultySource(Source):
    """Injects faults into another source's frames, by time since its first frame.

    ``offline`` drops the frames of its window and then fails once (as a stream that died),
    so the worker reconnects; the others alter the picture: ``frozen`` repeats the last good
    frame, ``dark``/``bright`` black or white frames, ``blurred`` a 3 px defocus, ``covered``
    a hand over the lens (one dull colour), ``shifted`` the camera panned by 12%.
    With ``repeat`` (seconds) the schedule starts again every ``repeat`` seconds (demos).
    """

    def __init__(self, inner: Source, faults: Iterable[Fault], repeat: float | None = None) -> None:
        self.inner = inner
        self.faults = sorted(faults, key=lambda f: f.start)
        self.repeat = repeat
        self.url = inner.url
        self.live = inner.live
        self._first: float | None = None
        self._ts = 0.0
        self._last_good: np.ndarray | None = None
        self._frozen: np.ndarray | None = None
        self._failed: set[tuple[Fault, int]] = set()
        self._noise_bank: dict[tuple[int, ...], list[np.ndarray]] = {}
        self._hands: dict[tuple[int, ...], np.ndarray] = {}

    @property
    def fps(self) -> float:  # type: ignore[override]
        return self.inner.fps

    @property
    def index(self) -> int:  # type: ignore[override]
        return self.inner.index

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def _offset(self, ts: float) -> tuple[float, int]:
        """Seconds into the fault schedule, and which round of it (with ``repeat``)."""
        offset = ts - (self._first if self._first is not None else ts)
        if self.repeat:
            return offset % self.repeat, int(offset // self.repeat)
        return offset, 0

    def _active(self, ts: float) -> Fault | None:
        offset, _ = self._offset(ts)
        for f in self.faults:
            if f.start <= offset < f.end:
                return f
        return None

    def _hand(self, shape: tuple[int, ...]) -> np.ndarray:
        """A hand over the lens: skin in the dark, a little lighter to one side."""
        hand = self._hands.get(shape)
        if hand is None:
            h, w = shape[:2]
            shade = np.linspace(0.85, 1.1, w, dtype=np.float32)[None, :, None]
            row = np.clip(np.array((70, 95, 130), np.float32) * shade, 0, 255).astype(np.uint8)
            hand = self._hands[shape] = row.repeat(h, axis=0)
        return hand

    def _noise(self, shape: tuple[int, ...]) -> np.ndarray:
        bank = self._noise_bank.get(shape)
        if bank is None:
            rng = np.random.default_rng(0)
            bank = self._noise_bank[shape] = [rng.integers(-2, 3, shape).astype(np.int16) for _ in range(4)]
        return bank[self.index % len(bank)]

    def grab(self) -> float | None:
        ts = self.inner.grab()
        if ts is None:
            return None
        if self._first is None:
            self._first = ts
        fault = self._active(ts)
        if fault is not None and fault.kind == "offline" and (drop := (fault, self._offset(ts)[1])) not in self._failed:
            while ts is not None and self._active(ts) == fault:
                ts = self.inner.grab()
            self._failed.add(drop)  # the first frame after the gap is lost too, as in a real drop
            raise SourceError(f"{self.url}: stream dropped (injected fault)")
        self._ts = ts
        return ts

    def retrieve(self) -> np.ndarray:
        image = self.inner.retrieve()
        fault = self._active(self._ts)
        kind = fault.kind if fault else None
        if kind != "frozen":
            self._frozen = None
        if kind is None:
            self._last_good = image
            return image
        if kind == "frozen":
            if self._frozen is None:
                self._frozen = (self._last_good if self._last_good is not None else image).copy()
            return self._frozen.copy()
        if kind == "dark":
            return np.zeros_like(image)
        if kind == "bright":
            return np.full_like(image, 255)
        if kind == "blurred":
            return cv2.GaussianBlur(image, (0, 0), 3.0)
        if kind == "covered":
            return cv2.add(self._hand(image.shape), self._noise(image.shape), dtype=cv2.CV_8U)
        if kind == "shifted":
            h, w = image.shape[:2]
            m = np.array([[1, 0, 0.12 * w], [0, 1, 0.04 * h]], dtype=np.float32)
            return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        return image


# --- opening --------------------------------------------------------------------------------

def _synthetic(url: str, realtime: bool) -> Source:
    query = parse_qs(urlsplit(url).query or url.partition("?")[2])

    def one(name: str, default: str) -> str:
        return query.get(name, [default])[-1]

    try:
        w, _, h = one("size", "640x360").partition("x")
        source: Source = SyntheticSource(
            people=int(one("people", "5")), fps=float(one("fps", "10")), size=(int(w), int(h)),
            seconds=float(one("seconds", "60")), seed=int(one("seed", "1")),
            realtime=realtime or one("realtime", "0") in ("1", "true", "yes"), url=url)
        faults = [parse_fault(f) for spec in query.get("fault", []) for f in spec.split(",") if f]
        repeat = float(one("repeat", "0")) or None
    except ValueError as exc:
        raise SourceError(f"{url}: {exc}") from None
    unknown = set(query) - {"size", "people", "fps", "seconds", "seed", "realtime", "fault", "repeat"}
    if unknown:
        raise SourceError(f"{url}: unknown parameter {sorted(unknown)[0]} "
                          "(people, fps, size, seconds, seed, realtime, fault, repeat)")
    if repeat is not None and faults and repeat < max(f.end for f in faults):
        raise SourceError(f"{url}: repeat={repeat:g} is shorter than the fault schedule "
                          f"(the last fault ends at {max(f.end for f in faults):g} s)")
    return FaultySource(source, faults, repeat) if faults else source


def open_source(url: str, *, realtime: bool = False, loop: bool = False, rate: float | None = None,
                open_timeout_s: float = 10.0, read_timeout_s: float = 10.0) -> Source:
    """The source for ``url`` (not opened yet): ``synthetic:?...``, a stream URL or a file."""
    if url.startswith("synthetic:"):
        return _synthetic(url, realtime)
    return VideoSource(url, realtime=realtime, loop=loop, rate=rate,
                       open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s)


class BlockingSource(Source):
    """A source whose ``grab()`` hangs until released: a camera stuck inside FFmpeg.
    Used by tests and demos of the worker's isolation."""

    def __init__(self, url: str = "blocking:") -> None:
        self.url = url
        self.live = True
        self.release = threading.Event()

    def open(self) -> None:
        pass

    def grab(self) -> float | None:
        self.release.wait()
        return None

    def retrieve(self) -> np.ndarray:
        raise SourceError("blocking: no frame")

    def close(self) -> None:
        self.release.set()
