"""What one frame shows: motion, moving objects, a people estimate, zone occupancy and line
crossings, all on a frame downscaled first (as Frigate does: ``motion.frame_height``).

Motion detectors are plugins: each :class:`MotionDetector` subclass names its ``type_key``,
the one the ``motion.type`` setting selects. The default is Frigate's running-average
difference, by far the cheapest; OpenCV's MOG2 and KNN are there for scenes that flicker.

People are estimated from blob sizes with a ground-plane perspective model: a standing
person whose feet are on row ``y`` is ``person_height(y)`` tall and fills about
``person_fill * height**2`` pixels of motion mask. A blob under ``min_person_fraction`` of
that is noise; a larger one counts ``round(area / person area)`` people (groups merge into
one blob). The defaults are calibrated on vtest.avi (see ``config.PersonHeight``).

Work is skipped when there is nothing to do: no contours without motion, no tracking
without counting lines, no zone lookups without zones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import cv2
import numpy as np

from camera.config import (
    CameraConfig,
    KnnConfig,
    LineConfig,
    Mog2Config,
    ObjectsConfig,
    RunningAverageConfig,
    ZoneConfig,
)

# --- motion ---------------------------------------------------------------------------------

class MotionDetector(ABC):
    """Turns a downscaled grey frame into a mask (255: moving) of the same size."""

    type_key: ClassVar[str]

    def __init__(self, config: Any) -> None:
        self.config = config
        self._kernel = np.ones((3, 3), np.uint8)

    @abstractmethod
    def apply(self, grey: np.ndarray) -> np.ndarray:
        """The raw foreground mask (before clean-up)."""

    @abstractmethod
    def reset(self) -> None:
        """Forget the background (learnt again from the next frames)."""

    def detect(self, grey: np.ndarray) -> np.ndarray:
        """Motion mask; a frame mostly in motion (lights, camera moved) recalibrates instead."""
        mask = cv2.dilate(self.apply(grey), self._kernel)
        if cv2.countNonZero(mask) > self.config.lightning_threshold * mask.size:
            self.reset()
            mask[:] = 0
        return mask


class RunningAverageMotion(MotionDetector):
    """Frigate's detector: |frame - running average| over a threshold."""

    type_key = "running_average"
    config: RunningAverageConfig

    def __init__(self, config: RunningAverageConfig) -> None:
        super().__init__(config)
        self._background: np.ndarray | None = None
        self._calibrating = 0

    def reset(self) -> None:
        self._background = None

    def apply(self, grey: np.ndarray) -> np.ndarray:
        g = cv2.GaussianBlur(grey, (3, 3), 0)
        if self._background is None or self._background.shape != g.shape:
            self._background = g.astype(np.float32)
            self._calibrating = self.config.calibration_frames
            return np.zeros_like(g)
        diff = cv2.absdiff(g, cv2.convertScaleAbs(self._background))
        _, mask = cv2.threshold(diff, self.config.threshold, 255, cv2.THRESH_BINARY)
        alpha = 0.2 if self._calibrating > 0 else self.config.frame_alpha
        self._calibrating -= 1
        cv2.accumulateWeighted(g, self._background, alpha)
        return mask


class _OpenCvSubtractor(MotionDetector):
    WARMUP_FRAMES = 10  # KNN calls everything foreground for its first few frames

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._subtractor: Any = None
        self._warmup = 0

    @abstractmethod
    def _create(self) -> Any: ...

    def reset(self) -> None:
        self._subtractor = None

    def apply(self, grey: np.ndarray) -> np.ndarray:
        if self._subtractor is None:
            self._subtractor, self._warmup = self._create(), self.WARMUP_FRAMES
        raw = self._subtractor.apply(grey)
        if self._warmup > 0:  # learning the new background: no motion yet
            self._warmup -= 1
            return np.zeros_like(grey)
        _, mask = cv2.threshold(raw, 200, 255, cv2.THRESH_BINARY)  # shadows (127) are not motion
        return mask


class Mog2Motion(_OpenCvSubtractor):
    type_key = "mog2"
    config: Mog2Config

    def _create(self) -> Any:
        c = self.config
        return cv2.createBackgroundSubtractorMOG2(c.history, c.var_threshold, c.detect_shadows)


class KnnMotion(_OpenCvSubtractor):
    type_key = "knn"
    config: KnnConfig

    def _create(self) -> Any:
        c = self.config
        return cv2.createBackgroundSubtractorKNN(c.history, c.dist2_threshold, c.detect_shadows)


def _subclasses(cls: type) -> list[type[MotionDetector]]:
    out: list[type[MotionDetector]] = []
    sub: type[MotionDetector]
    for sub in cls.__subclasses__():
        out.extend([sub, *_subclasses(sub)])
    return out


def motion_detector(config: Any) -> MotionDetector:
    """The detector plugin whose ``type_key`` is ``config.type``."""
    registry = {c.type_key: c for c in _subclasses(MotionDetector) if "type_key" in c.__dict__}
    return registry[config.type](config)


# --- blobs and people -----------------------------------------------------------------------

@dataclass(slots=True)
class Blob:
    """A moving region, in analysis pixels; ``people`` is the estimate for it."""

    x: int
    y: int
    w: int
    h: int
    area: float
    people: int

    @property
    def anchor(self) -> tuple[float, float]:
        """Bottom centre: where the feet are, the point zones and lines look at (as Frigate)."""
        return self.x + self.w / 2, float(self.y + self.h - 1)


class PeopleModel:
    """Blob area -> number of people, with the perspective of a ground plane."""

    def __init__(self, config: ObjectsConfig, height: int) -> None:
        self.config = config
        self.height = height
        # Area of one person by the row of the feet, looked up per blob (no per-blob maths).
        self.person_area = [max(1.0, config.person_fill * self.person_height(row) ** 2) for row in range(height)]

    def person_height(self, feet_row: float) -> float:
        ph = self.config.person_height
        return (ph.top + (ph.bottom - ph.top) * feet_row / self.height) * self.height

    def count(self, area: float, feet_row: int) -> int:
        """0 for noise, else how many people of this size the area holds (at least 1)."""
        n = area / self.person_area[min(max(feet_row, 0), self.height - 1)]
        if n < self.config.min_person_fraction:
            return 0
        return min(self.config.max_per_blob, max(1, int(n + 0.5)))


def find_blobs(mask: np.ndarray, people: PeopleModel) -> list[Blob]:
    """Moving objects in a motion mask: contours big enough to be at least part of a person."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    person_area, least = people.person_area, people.config.min_person_fraction
    most, last_row = people.config.max_per_blob, people.height - 1
    blobs = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        pa = person_area[min(y + h - 1, last_row)]
        if w * h < least * pa:  # the box is larger than the contour: too small either way
            continue
        area = cv2.contourArea(c) or 1.0
        n = area / pa
        if n >= least:
            blobs.append(Blob(x, y, w, h, area, min(most, max(1, int(n + 0.5)))))
    return blobs


# --- zones ----------------------------------------------------------------------------------

class ZoneCounter:
    """People per zone: a blob is in a zone when its anchor is inside the polygon."""

    def __init__(self, zones: Mapping[str, ZoneConfig], size: tuple[int, int]) -> None:
        w, h = size
        self.masks: dict[str, np.ndarray] = {}
        for name, zone in zones.items():
            mask = np.zeros((h, w), np.uint8)
            pts = np.array([[round(x * (w - 1)), round(y * (h - 1))] for x, y in zone.coordinates], np.int32)
            cv2.fillPoly(mask, [pts], 1)
            self.masks[name] = mask

    def count(self, blobs: list[Blob]) -> dict[str, int]:
        out = dict.fromkeys(self.masks, 0)
        for b in blobs:
            ax, ay = b.anchor
            for name, mask in self.masks.items():
                if mask[int(ay), min(int(ax), mask.shape[1] - 1)]:
                    out[name] += b.people
        return out


def waiting_time_s(queue_length: float | None, service_rate_per_min: float | None) -> float | None:
    """Estimated wait for someone joining the queue now: length / service rate (Little's law
    for a queue served at a steady rate); None when either is unknown."""
    if queue_length is None or not service_rate_per_min:
        return None
    return round(60.0 * queue_length / service_rate_per_min, 1)


# --- tracking and lines ---------------------------------------------------------------------

@dataclass(slots=True)
class Track:
    id: int
    x: float
    y: float
    size: float
    seen: float
    sides: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # line -> side, where confirmed


class CentroidTracker:
    """Nearest-neighbour matching of anchors from frame to frame (greedy, closest pairs first)."""

    def __init__(self, max_age_s: float = 1.0, max_step: float = 0.75) -> None:
        self.max_age_s = max_age_s
        self.max_step = max_step  # in person heights per frame
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, blobs: list[Blob], ts: float) -> list[Track]:
        """Match blobs to tracks; returns the tracks that moved this frame (updated in place)."""
        points = [(*b.anchor, float(b.h)) for b in blobs]
        pairs = []
        for ti, t in enumerate(self.tracks):
            for bi, (x, y, size) in enumerate(points):
                d = ((t.x - x) ** 2 + (t.y - y) ** 2) ** 0.5
                if d <= self.max_step * max(size, t.size) + 2.0:
                    pairs.append((d, ti, bi))
        pairs.sort()
        used_t: set[int] = set()
        used_b: set[int] = set()
        moved = []
        for _, ti, bi in pairs:
            if ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            t = self.tracks[ti]
            t.x, t.y, t.size = points[bi]
            t.seen = ts
            moved.append(t)
        for bi, (x, y, size) in enumerate(points):
            if bi not in used_b:
                self.tracks.append(Track(self._next_id, x, y, size, ts))
                self._next_id += 1
        self.tracks = [t for t in self.tracks if ts - t.seen <= self.max_age_s]
        return moved


class LineCounter:
    """Counts tracks crossing each line, by direction.

    A track's side of a line is confirmed only when its anchor is more than ``margin`` pixels
    from the line, and a crossing counts when the confirmed side flips along a step that
    passes through the segment, so a blob jittering on the line counts once, not every frame.
    """

    def __init__(self, lines: Mapping[str, LineConfig], size: tuple[int, int], margin: float = 2.0) -> None:
        w, h = size
        self.margin = margin
        self.lines = {
            name: ((a[0] * (w - 1), a[1] * (h - 1)), (b[0] * (w - 1), b[1] * (h - 1)))
            for name, line in lines.items() for a, b in [line.coordinates]
        }

    @staticmethod
    def _side(a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]) -> float:
        """Signed distance of p from the line ab: negative on side a (left of a->b on screen)."""
        dx, dy = b[0] - a[0], b[1] - a[1]
        return (dx * (p[1] - a[1]) - dy * (p[0] - a[0])) / max(1e-9, (dx * dx + dy * dy) ** 0.5)

    @staticmethod
    def _through(a: tuple[float, float], b: tuple[float, float], p: tuple[float, float],
                 q: tuple[float, float]) -> bool:
        """Does the step p->q cross the segment ab (not just its extension)?"""
        rx, ry = q[0] - p[0], q[1] - p[1]
        sx, sy = b[0] - a[0], b[1] - a[1]
        den = rx * sy - ry * sx
        if abs(den) < 1e-9:
            return False
        u = ((a[0] - p[0]) * ry - (a[1] - p[1]) * rx) / den
        return -0.02 <= u <= 1.02

    def update(self, moved: list[Track]) -> dict[str, list[int]]:
        """Crossings this frame: line -> [a_to_b, b_to_a]."""
        out = {name: [0, 0] for name in self.lines}
        for t in moved:
            p = (t.x, t.y)
            for name, (a, b) in self.lines.items():
                d = self._side(a, b, p)
                if abs(d) <= self.margin:
                    continue
                side = -1 if d < 0 else 1
                last = t.sides.get(name)
                if last is not None and last[0] != side and self._through(a, b, (last[1], last[2]), p):
                    out[name][0 if last[0] < 0 else 1] += 1
                t.sides[name] = (side, p[0], p[1])
        return out


# --- one frame ------------------------------------------------------------------------------

@dataclass(slots=True)
class FrameResult:
    grey: np.ndarray  # the downscaled grey frame, for the health checks
    mask: np.ndarray  # where it moves (same size)
    motion: float  # fraction of the frame in motion
    counted: bool  # objects were looked for in this frame (``objects.fps``)
    objects: int = 0
    people: int = 0
    zones: dict[str, int] = field(default_factory=dict)
    crossings: dict[str, list[int]] = field(default_factory=dict)
    # Moving objects as (x, y, w, h, people), normalised to the frame: the live view draws them.
    boxes: list[tuple[float, float, float, float, int]] = field(default_factory=list)


class FrameAnalyzer:
    """Everything per frame, sized on the first frame (and again if the stream's size changes)."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.motion = motion_detector(config.motion)
        self._shape: tuple[int, int] | None = None
        self.size = (0, 0)
        self.people: PeopleModel | None = None
        self.zones: ZoneCounter | None = None
        self.lines: LineCounter | None = None
        self.tracker: CentroidTracker | None = None

    def _setup(self, shape: tuple[int, int]) -> None:
        h, w = shape
        sh = min(h, self.config.motion.frame_height)
        sw = max(1, round(w * sh / h))
        self._shape, self.size = shape, (sw, sh)
        self.motion.reset()
        self.people = PeopleModel(self.config.objects, sh)
        self.zones = ZoneCounter(self.config.zones, self.size) if self.config.zones else None
        self.lines = LineCounter(self.config.lines, self.size) if self.config.lines else None
        self.tracker = CentroidTracker() if self.config.lines else None

    def downscale(self, image: np.ndarray) -> np.ndarray:
        """Grey frame at the analysis size; resize first, convert the few pixels left."""
        if image.shape[:2] != self._shape:
            self._setup(image.shape[:2])
        small = cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR) if self.size[1] != image.shape[0] \
            else image
        return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small

    def analyze(self, image: np.ndarray, ts: float, count: bool = True) -> FrameResult:
        """Motion of this frame; objects, people, zones and crossings too when ``count``."""
        grey = self.downscale(image)
        assert self.people is not None
        mask = self.motion.detect(grey)
        moving = cv2.countNonZero(mask)
        if not count:
            return FrameResult(grey, mask, moving / mask.size, False)
        blobs = find_blobs(mask, self.people) if moving else []
        zones = self.zones.count(blobs) if self.zones is not None else {}
        crossings: dict[str, list[int]] = {}
        if self.lines is not None and self.tracker is not None:
            crossings = self.lines.update(self.tracker.update(blobs, ts))
        people = sum(b.people for b in blobs)
        sw, sh = self.size
        boxes = [(b.x / sw, b.y / sh, b.w / sw, b.h / sh, b.people) for b in blobs]
        return FrameResult(grey, mask, moving / mask.size, True, len(blobs), people, zones, crossings, boxes)
