"""Camera health: is the picture usable? Offline, frozen, dark, bright, blurred, tampered.

Frigate restarts a camera that sent no frame for 20 s but raises no alarm, and its users
keep asking for one (offline #1536/#7473, frozen #19281, spray-painted #1793, with a
debounce so Wi-Fi blips are ignored #3910). Each condition here is a pure check on the
downscaled grey frame, and each has a :class:`Debouncer`: raised after it held ``raise_s``,
cleared after it was gone ``clear_s``. The reported state is the first raised condition
in :data:`PRIORITY` order.

Checks run every ``check_every_s`` of source time, not on every frame: they cost about
as much as the motion detection of a frame, and a few per second is plenty to debounce.
Blur is judged against the camera's own running baseline (a sharp scene of grass and a
sharp white corridor have very different Laplacian variances), and a moved view against a
reference view learnt in the first seconds and renewed while the camera is healthy.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

from camera.config import HealthConfig


class Health(str, Enum):
    OK = "ok"
    OFFLINE = "offline"
    FROZEN = "frozen"
    DARK = "dark"
    BRIGHT = "bright"
    BLURRED = "blurred"
    TAMPERED = "tampered"


COVERED_MARGIN = 0.1  # a covered view is this much more "one colour" than its reference, at least

# A frozen or moved picture is also often dark or blurred; name the cause, not the symptom.
PRIORITY = (Health.OFFLINE, Health.FROZEN, Health.TAMPERED, Health.DARK, Health.BRIGHT, Health.BLURRED)


class Debouncer:
    """A condition raised after holding ``raise_s`` and cleared after being gone ``clear_s``."""

    def __init__(self, raise_s: float, clear_s: float) -> None:
        self.raise_s = raise_s
        self.clear_s = clear_s
        self.active = False
        self._since: float | None = None  # when the condition started to differ from ``active``

    def update(self, condition: bool, now: float, since: float | None = None) -> bool:
        """Feed the condition as observed at ``now`` (``since``: when it really began, if
        known earlier, e.g. the last frame's time for "no frame"); returns ``active``."""
        if condition == self.active:
            self._since = None
            return self.active
        if self._since is None:
            self._since = now if since is None else min(since, now)
        if now - self._since >= (self.raise_s if condition else self.clear_s):
            self.active = condition
            self._since = None
        return self.active


# --- checks on one grey frame (pure) --------------------------------------------------------

def brightness(grey: np.ndarray) -> float:
    """Mean grey level, 0-255."""
    return float(cv2.mean(grey)[0])


def dominant_fraction(grey: np.ndarray, bins: int = 32) -> float:
    """Share of the picture in its most common colour band (three adjacent bins of 8 levels):
    close to 1 for a lens covered by a hand, tape or paint."""
    hist = cv2.calcHist([grey], [0], None, [bins], [0, 256]).ravel()
    window = np.convolve(hist, np.ones(3, np.float32), "same")
    return float(window.max() / grey.size)


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian: falls sharply when the picture is out of focus."""
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))
    return float(std[0][0]) ** 2


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute grey-level difference of two frames (0 for a repeated frame)."""
    if a.shape != b.shape:
        return float("inf")
    return float(cv2.mean(cv2.absdiff(a, b))[0])


def edges(grey: np.ndarray) -> np.ndarray:
    """Strong, structural edges (texture smoothed away first)."""
    return cv2.Canny(cv2.GaussianBlur(grey, (5, 5), 0), 100, 200)


class ReferenceView:
    """The view the camera should show: edges of the median of a few frames (people gone)."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        picture = frames[0] if len(frames) == 1 else np.median(np.stack(frames), axis=0).astype(np.uint8)
        ref = edges(picture)
        self.shape = picture.shape
        self.dominant = dominant_fraction(picture)
        self.edge_count = cv2.countNonZero(ref)
        self.near = cv2.dilate(ref, np.ones((3, 3), np.uint8))  # tolerate one pixel of jitter
        self.chance = cv2.countNonZero(self.near) / self.near.size  # a random edge lands near one this often

    def similarity(self, grey: np.ndarray, moving: np.ndarray | None = None) -> float | None:
        """Share of the frame's edges that lie on the reference's, corrected for chance: above
        0.9 for the same view, near 0 once the camera has moved. Edges where something moves
        (``moving``: the motion mask) are left out when enough others remain: people are not
        part of the view. None when there is too little structure to judge (a bare wall)."""
        if grey.shape != self.shape or self.edge_count < 0.005 * grey.size:
            return None
        e = edges(grey)
        if moving is not None and moving.shape == e.shape:
            still = cv2.bitwise_and(e, cv2.bitwise_not(cv2.dilate(moving, np.ones((5, 5), np.uint8))))
            if cv2.countNonZero(still) >= 0.2 * self.edge_count:
                e = still
        n = cv2.countNonZero(e)
        if n < 0.2 * self.edge_count:
            return None
        hits = cv2.countNonZero(cv2.bitwise_and(e, self.near))
        return max(0.0, (hits / n - self.chance) / max(1e-6, 1.0 - self.chance))


@dataclass(slots=True)
class Observation:
    """The per-frame measurements and conditions of one check (for logs and tests)."""

    brightness: float
    dominant: float
    sharpness: float
    difference: float | None
    similarity: float | None
    conditions: dict[Health, bool]


# --- the monitor ----------------------------------------------------------------------------

class HealthMonitor:
    """Debounced camera health from periodic checks of the newest frame."""

    def __init__(self, config: HealthConfig) -> None:
        self.config = config
        c = config
        self.debouncers = {
            Health.OFFLINE: Debouncer(c.offline.raise_s, c.offline.clear_s),
            Health.FROZEN: Debouncer(c.frozen.raise_s, c.frozen.clear_s),
            Health.DARK: Debouncer(c.dark.raise_s, c.dark.clear_s),
            Health.BRIGHT: Debouncer(c.bright.raise_s, c.bright.clear_s),
            Health.BLURRED: Debouncer(c.blurred.raise_s, c.blurred.clear_s),
            Health.TAMPERED: Debouncer(c.tampered.raise_s, c.tampered.clear_s),
        }
        self.state = Health.OK
        self.reference: ReferenceView | None = None
        self.baseline: float | None = None  # sharpness of this camera when healthy
        self.last: Observation | None = None
        self._previous: np.ndarray | None = None
        self._learning: list[tuple[np.ndarray, float]] = []
        self._learn_start: float | None = None
        self._reference_at = 0.0
        self._healthy: deque[np.ndarray] = deque(maxlen=5)

    def observe(self, grey: np.ndarray, now: float, moving: np.ndarray | None = None) -> Observation:
        """Measure one frame (``moving``: its motion mask, if known) and decide which
        conditions it shows (no debouncing)."""
        c = self.config
        b = brightness(grey)
        dom = dominant_fraction(grey)
        sharp = sharpness(grey)
        dark = b < c.dark.max_brightness
        bright = b > c.bright.min_brightness
        # Covered: mostly one colour, and clearly more so than the view it should show (a plain
        # white corridor is not a covered lens).
        plain = self.reference.dominant if self.reference is not None else 0.0
        covered = not (dark or bright) and dom >= max(c.tampered.covered_fraction, plain + COVERED_MARGIN)
        usable = not (dark or bright or covered)  # only such a frame can look frozen, blurred or moved
        diff = difference(grey, self._previous) if self._previous is not None else None
        sim = self.reference.similarity(grey, moving) if usable and self.reference is not None else None
        conditions = {
            Health.DARK: dark,
            Health.BRIGHT: bright,
            Health.FROZEN: usable and diff is not None and diff <= c.frozen.max_diff,
            Health.BLURRED: usable and self.baseline is not None and sharp < c.blurred.min_ratio * self.baseline,
            Health.TAMPERED: covered or (sim is not None and sim < c.tampered.min_similarity),
        }
        self._previous = grey
        self.last = Observation(b, dom, sharp, diff, sim, conditions)
        self._learn(grey, now, not (dark or bright), sharp, conditions)
        return self.last

    def _learn(self, grey: np.ndarray, now: float, lit: bool, sharp: float,
               conditions: dict[Health, bool]) -> None:
        """Reference view and blur baseline: learnt at start (so start a camera with a clear
        view), then renewed while the camera is healthy."""
        c = self.config
        if self.reference is not None and self.reference.shape != grey.shape:
            self.reference, self.baseline, self._learning, self._learn_start = None, None, [], None
        if self.reference is None:
            if lit:
                self._learn_start = now if self._learn_start is None else self._learn_start
                self._learning.append((grey, sharp))
                if now - self._learn_start >= c.tampered.reference_s:
                    self.reference = ReferenceView([g for g, _ in self._learning[-7:]])
                    self.baseline = float(np.median([s for _, s in self._learning]))
                    self._learning, self._reference_at = [], now
            return
        if any(conditions.values()) or self.state is not Health.OK:
            self._healthy.clear()
            return
        alpha = min(1.0, c.check_every_s / c.blurred.baseline_s)
        self.baseline = (1 - alpha) * (self.baseline or sharp) + alpha * sharp
        self._healthy.append(grey)
        if now - self._reference_at >= c.tampered.refresh_s and len(self._healthy) == self._healthy.maxlen:
            self.reference, self._reference_at = ReferenceView(list(self._healthy)), now

    def check(self, now: float, grey: np.ndarray | None, last_frame: float | None, stall_s: float,
              started: float, moving: np.ndarray | None = None) -> tuple[Health, Health] | None:
        """One check at ``now``. ``grey`` is the newest frame if one came since the last check
        (else None: the picture conditions keep their course) and ``moving`` its motion mask;
        ``last_frame`` is when the newest frame arrived (None: never), ``started`` when the
        camera was started. Returns (from, to) when the reported state changed."""
        since = last_frame if last_frame is not None else started
        self.debouncers[Health.OFFLINE].update(now - since > stall_s, now, since=since)
        if grey is not None:
            for health, condition in self.observe(grey, now, moving).conditions.items():
                self.debouncers[health].update(condition, now)
        new = next((h for h in PRIORITY if self.debouncers[h].active), Health.OK)
        if new is self.state:
            return None
        old, self.state = self.state, new
        return old, new
