"""Camera health: the debouncer, each check, and the monitor on synthetic grey frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camera.config import HealthConfig
from camera.health import (
    Debouncer,
    Health,
    HealthMonitor,
    ReferenceView,
    brightness,
    difference,
    dominant_fraction,
    sharpness,
)

H, W = 144, 192


def scene(seed: int = 0, block: int = 8) -> np.ndarray:
    """A grey view with structure: blocks of random shades (walls, windows, floor)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(40, 220, (H // block + 1, W // block + 1)).astype(np.uint8)
    big = np.kron(blocks, np.ones((block, block), np.uint8))[:H, :W]
    return cv2.GaussianBlur(big, (3, 3), 0)


def noisy(frame: np.ndarray, i: int) -> np.ndarray:
    """The same view as a live camera sends it: sensor noise differs in every frame."""
    noise = np.random.default_rng(1000 + i).integers(-3, 4, frame.shape)
    return np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)


# --- debouncer ------------------------------------------------------------------------------

def test_debouncer_raises_only_after_the_condition_held():
    d = Debouncer(raise_s=10, clear_s=5)
    assert [d.update(True, t) for t in (0, 5, 9.9)] == [False, False, False]
    assert d.update(True, 10) is True


def test_debouncer_ignores_a_blip_shorter_than_raise_time():
    d = Debouncer(raise_s=10, clear_s=5)
    for t in range(0, 9):
        d.update(True, t)
    d.update(False, 9)  # the condition went away before 10 s: start again
    assert not any(d.update(True, t) for t in range(10, 19))
    assert d.update(True, 20) is True


def test_debouncer_clears_after_the_condition_is_gone_long_enough():
    d = Debouncer(raise_s=0, clear_s=5)
    assert d.update(True, 0) is True
    assert d.update(False, 1) is True
    d.update(True, 3)  # back before it cleared: stays raised, clear timer restarts
    assert [d.update(False, t) for t in (4, 8.9)] == [True, True]
    assert d.update(False, 9) is False


def test_debouncer_counts_from_when_the_condition_really_began():
    d = Debouncer(raise_s=20, clear_s=5)
    assert d.update(True, 15, since=0) is False  # noticed at 15 s, began at 0 s
    assert d.update(True, 20, since=0) is True


# --- checks ---------------------------------------------------------------------------------

def test_brightness_of_black_white_and_a_scene():
    assert brightness(np.zeros((H, W), np.uint8)) == 0
    assert brightness(np.full((H, W), 255, np.uint8)) == 255
    assert 60 < brightness(scene()) < 200


def test_dominant_fraction_tells_a_covered_lens_from_a_scene():
    hand = np.full((H, W), 120, np.uint8)
    assert dominant_fraction(noisy(hand, 0)) > 0.95
    assert dominant_fraction(scene()) < 0.4
    half = scene().copy()
    half[:, : W * 3 // 4] = 120  # 75% painted over (Frigate #1793)
    assert dominant_fraction(half) >= 0.75


def test_sharpness_falls_when_the_picture_is_out_of_focus():
    sharp = sharpness(scene())
    assert sharpness(cv2.GaussianBlur(scene(), (0, 0), 1.5)) < 0.3 * sharp
    assert sharpness(noisy(scene(), 1)) > 0.8 * sharp


def test_difference_is_zero_only_for_a_repeated_frame():
    f = noisy(scene(), 0)
    assert difference(f, f.copy()) == 0
    assert difference(f, noisy(scene(), 1)) > 0.5


def test_reference_view_similarity_same_view_vs_moved_camera():
    ref = ReferenceView([noisy(scene(), i) for i in range(5)])
    same = ref.similarity(noisy(scene(), 9))
    moved = ref.similarity(np.roll(noisy(scene(), 9), (12, 28), axis=(0, 1)))
    other = ref.similarity(noisy(scene(seed=5, block=11), 9))
    assert same is not None and same > 0.8
    assert moved is not None and moved < 0.3
    assert other is not None and other < 0.3


# --- monitor --------------------------------------------------------------------------------

def fault_frame(kind: str, i: int) -> np.ndarray:
    base = scene()
    if kind == "dark":
        return np.full((H, W), 5, np.uint8)
    if kind == "bright":
        return np.full((H, W), 250, np.uint8)
    if kind == "frozen":
        return noisy(base, 0)  # the same frame again and again
    if kind == "blurred":
        return noisy(cv2.GaussianBlur(base, (0, 0), 2.0), i)
    if kind == "covered":
        return noisy(np.full((H, W), 110, np.uint8), i)
    if kind == "shifted":
        return noisy(np.roll(base, (15, 30), axis=(0, 1)), i)
    raise AssertionError(kind)


def run_monitor(config: HealthConfig, frames, until: float, fps: float = 5.0):
    """Feed one frame per 1/fps s (``frames(t)``: a grey frame or None for no frame) and a
    check per ``check_every_s``; returns the state changes as (time, from, to)."""
    monitor = HealthMonitor(config)
    changes, latest, last_frame = [], None, None
    every = round(config.check_every_s * fps)
    for k in range(int(until * fps) + 1):
        t = k / fps
        frame = frames(t)
        if frame is not None:
            latest, last_frame = frame, t
        if k % every == 0:
            change = monitor.check(t, latest, last_frame, stall_s=1.0, started=0.0)
            latest = None
            if change:
                changes.append((t, change[0].value, change[1].value))
    return changes


@pytest.mark.parametrize("kind,health", [
    ("dark", "dark"), ("bright", "bright"), ("frozen", "frozen"), ("blurred", "blurred"),
    ("covered", "tampered"), ("shifted", "tampered"),
])
def test_monitor_raises_and_clears_each_fault_within_its_debounce_time(kind, health):
    config = HealthConfig()
    debounce = getattr(config, health)
    start, end = 20.0, 40.0

    def frames(t: float) -> np.ndarray:
        i = int(t * 5)
        return fault_frame(kind, i) if start <= t < end else noisy(scene(), i)

    changes = run_monitor(config, frames, until=end + debounce.clear_s + 3)
    assert [(f, to) for _, f, to in changes] == [("ok", health), (health, "ok")], changes
    (raised, _, _), (cleared, _, _) = changes
    slack = config.check_every_s + 0.2  # the check period and the frame that shows it first
    assert start + debounce.raise_s <= raised <= start + debounce.raise_s + slack
    assert end + debounce.clear_s <= cleared <= end + debounce.clear_s + slack


def test_monitor_reports_offline_after_20_s_without_frames_and_clears_when_they_return():
    config = HealthConfig()

    def frames(t: float) -> np.ndarray | None:
        return None if 10 <= t < 45 else noisy(scene(), int(t * 5))

    changes = run_monitor(config, frames, until=60)
    assert [(f, to) for _, f, to in changes] == [("ok", "offline"), ("offline", "ok")]
    assert 9.8 + 20 <= changes[0][0] <= 9.8 + 21
    assert 45 + 5 <= changes[1][0] <= 45 + 6


def test_a_short_blip_raises_nothing():
    config = HealthConfig()
    changes = run_monitor(config, lambda t: fault_frame("dark", 0) if 20 <= t < 25 else noisy(scene(), int(t * 5)),
                          until=40)
    assert changes == []


def test_uniform_black_frames_are_dark_not_frozen_or_tampered():
    monitor = HealthMonitor(HealthConfig())
    monitor.check(0, noisy(scene(), 0), 0, 1.0, 0)
    obs = monitor.observe(np.zeros((H, W), np.uint8), 1)
    assert obs.conditions[Health.DARK]
    assert not obs.conditions[Health.FROZEN] and not obs.conditions[Health.TAMPERED]
    assert not obs.conditions[Health.BLURRED]


def test_blur_is_judged_against_the_cameras_own_baseline():
    """A scene with little texture is not 'blurred' because it is soft: only a drop is."""
    soft = cv2.GaussianBlur(scene(), (0, 0), 1.0)
    config = HealthConfig()
    changes = run_monitor(config, lambda t: noisy(soft, int(t * 5)), until=30)
    assert changes == []
