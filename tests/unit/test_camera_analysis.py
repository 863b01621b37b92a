"""Motion, people, zones, line crossings and queues on synthetic moving squares."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camera.analysis import (
    CentroidTracker,
    FrameAnalyzer,
    KnnMotion,
    LineCounter,
    Mog2Motion,
    PeopleModel,
    RunningAverageMotion,
    find_blobs,
    motion_detector,
    waiting_time_s,
)
from camera.config import CameraConfig, KnnConfig, Mog2Config, ObjectsConfig, RunningAverageConfig
from camera.sources import SyntheticSource
from camera.worker import CameraWorker

H, W = 144, 192
SIDE = 28  # the squares' side, in pixels of the analysis frame


def camera(**extra) -> CameraConfig:
    """Analysis at the frames' own size, every frame counted, and "people" that are squares:
    a person is SIDE px tall anywhere and fills their whole box."""
    base = {
        "motion": {"frame_height": H},
        "objects": {"fps": None, "person_height": {"top": SIDE / H, "bottom": SIDE / H}, "person_fill": 1.0},
    }
    return CameraConfig.model_validate({**base, **extra})


def frame(*squares: tuple[float, float], colour: tuple[int, int, int] = (30, 30, 30)) -> np.ndarray:
    """A textured background with dark squares whose bottom centres are at the given points."""
    rng = np.random.default_rng(7)
    img = np.full((H, W, 3), 150, np.uint8)
    img[:] += rng.integers(0, 6, (H, W, 1)).astype(np.uint8)
    for x, y in squares:
        x0, y0 = int(x - SIDE / 2), int(y - SIDE)
        img[max(0, y0):int(y), max(0, x0):x0 + SIDE] = colour
    return img


def run(config: CameraConfig, paths: list[list[tuple[float, float]]]) -> list:
    """Learn the empty scene (the detector's calibration frames), then analyse one frame per
    step of the squares' paths; returns the results from the last empty frame on."""
    analyzer = FrameAnalyzer(config)
    for i in range(RunningAverageConfig().calibration_frames + 2):
        result = analyzer.analyze(frame(), i / 10)
    results = [result]
    for i, points in enumerate(zip(*paths)):
        results.append(analyzer.analyze(frame(*points), 2 + i / 10))
    return results


def walk(a: tuple[float, float], b: tuple[float, float], steps: int) -> list[tuple[float, float]]:
    return [(a[0] + (b[0] - a[0]) * i / (steps - 1), a[1] + (b[1] - a[1]) * i / (steps - 1)) for i in range(steps)]


# --- motion, objects, people ----------------------------------------------------------------

def test_motion_follows_a_moving_square_and_stays_zero_on_a_still_scene():
    results = run(camera(), [walk((30, 100), (160, 100), 20)])
    assert results[0].motion == 0
    assert all(0.01 < r.motion < 0.2 for r in results[2:])
    still = run(camera(), [[(100, 100)] * 200])
    assert still[10].objects == 1
    assert still[-1].motion == 0 and still[-1].objects == 0  # absorbed into the background (~14 s at 10 fps)


def test_two_squares_are_two_objects_and_two_people():
    results = run(camera(), [walk((30, 70), (60, 70), 10), walk((150, 130), (120, 130), 10)])
    assert [(r.objects, r.people) for r in results[3:]] == [(2, 2)] * 8


def test_people_in_a_merged_blob_are_counted_by_area():
    model = PeopleModel(ObjectsConfig(person_height={"top": 0.2, "bottom": 0.2}, person_fill=0.5), H)
    one = model.person_area[100]
    assert model.count(0.2 * one, 100) == 0  # a scrap of motion is noise
    assert model.count(one, 100) == 1
    assert model.count(2.1 * one, 100) == 2
    assert model.count(50 * one, 100) == ObjectsConfig().max_per_blob


def test_perspective_makes_far_people_smaller():
    model = PeopleModel(ObjectsConfig(), 144)
    assert model.person_height(10) < model.person_height(130) / 5


def test_find_blobs_keeps_the_box_of_each_square():
    mask = np.zeros((H, W), np.uint8)
    mask[40:68, 20:48] = 255
    mask[100:128, 150:178] = 255
    model = PeopleModel(ObjectsConfig(person_height={"top": SIDE / H, "bottom": SIDE / H}, person_fill=1.0), H)
    boxes = sorted((b.x, b.y, b.w, b.h, b.people) for b in find_blobs(mask, model))
    assert boxes == [(20, 40, 28, 28, 1), (150, 100, 28, 28, 1)]


def test_objects_fps_skips_counting_but_not_motion():
    config = camera(objects={"fps": 5.0, "person_height": {"top": SIDE / H, "bottom": SIDE / H}, "person_fill": 1.0})
    analyzer = FrameAnalyzer(config)
    counted = [analyzer.analyze(frame((40 + i, 100)), i / 10, count=i % 2 == 0).counted for i in range(4)]
    assert counted == [True, False, True, False]


@pytest.mark.parametrize("config,cls", [
    (RunningAverageConfig(), RunningAverageMotion), (Mog2Config(type="mog2"), Mog2Motion),
    (KnnConfig(type="knn"), KnnMotion),
])
def test_motion_detectors_are_plugins_chosen_by_type(config, cls):
    detector = motion_detector(config)
    assert type(detector) is cls
    grey = cv2.cvtColor(frame(), cv2.COLOR_BGR2GRAY)
    for _ in range(30):
        detector.detect(grey)
    moved = cv2.cvtColor(frame((100, 100), colour=(230, 230, 230)), cv2.COLOR_BGR2GRAY)  # darker = shadow
    assert cv2.countNonZero(detector.detect(moved)) > SIDE * SIDE * 0.5


def test_a_sudden_change_of_the_whole_picture_recalibrates_instead_of_moving():
    detector = motion_detector(RunningAverageConfig())
    grey = cv2.cvtColor(frame(), cv2.COLOR_BGR2GRAY)
    detector.detect(grey)
    assert cv2.countNonZero(detector.detect(255 - grey)) == 0  # lights on: not motion
    assert cv2.countNonZero(detector.detect(255 - grey)) == 0  # and the new picture is the background


# --- zones and queues -----------------------------------------------------------------------

ZONES = {
    "left": {"coordinates": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
    "counter": {"coordinates": [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]], "queue": True, "service_rate_per_min": 2},
}


def test_zone_counts_follow_the_squares_feet():
    results = run(camera(zones=ZONES), [walk((40, 50), (40, 60), 5), walk((150, 130), (160, 130), 5)])
    assert results[-1].zones == {"left": 1, "counter": 1}


def test_a_square_walking_from_one_zone_into_another():
    results = run(camera(zones=ZONES), [walk((40, 130), (170, 130), 30)])
    sides = [(r.zones["left"], r.zones["counter"]) for r in results[1:]]
    assert sides[2] == (1, 0) and sides[-1] == (0, 1)
    assert all(sum(s) == 1 for s in sides[1:])  # always in exactly one of them


def test_waiting_time_is_queue_length_over_service_rate():
    assert waiting_time_s(3, 2.0) == 90.0  # 3 people, 2 served a minute: 1.5 min
    assert waiting_time_s(0, 2.0) == 0.0
    assert waiting_time_s(3, None) is None and waiting_time_s(None, 2.0) is None


def test_interval_records_carry_zones_and_queues_and_the_rate_can_change():
    config = CameraConfig.model_validate({"zones": {"floor": {
        "coordinates": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]], "queue": True, "service_rate_per_min": 1.0}}})
    source = SyntheticSource(people=4, seconds=4, seed=3)
    source.open()
    records: list[dict] = []
    worker = CameraWorker("hall", config, source, records.append, opened=True)
    worker.set_service_rate("floor", 4.0)  # e.g. from the dossier stream's throughput
    worker.start()
    assert worker.wait(30)
    intervals = [r for r in records if "frames" in r]
    assert len(intervals) == 4 and all(r["frames"] == 10 for r in intervals)
    last = intervals[-1]
    assert last["zones"]["floor"] >= 1
    q = last["queues"]["floor"]
    assert q["service_rate_per_min"] == 4.0 and q["wait_s"] == waiting_time_s(q["length"], 4.0)


# --- lines ----------------------------------------------------------------------------------

VERTICAL = {"door": {"coordinates": [[0.5, 0.0], [0.5, 1.0]]}}  # walking down it, side a is on screen right


def crossings(results) -> tuple[int, int]:
    ab = sum(r.crossings["door"][0] for r in results)
    ba = sum(r.crossings["door"][1] for r in results)
    return ab, ba


def test_crossing_left_to_right_and_back_counts_each_direction_once():
    there = run(camera(lines=VERTICAL), [walk((30, 100), (170, 100), 25)])
    assert crossings(there) == (0, 1)  # from side b (left) to side a (right)
    back = run(camera(lines=VERTICAL), [walk((170, 100), (30, 100), 25)])
    assert crossings(back) == (1, 0)


def test_two_people_crossing_in_opposite_directions():
    results = run(camera(lines=VERTICAL), [walk((30, 60), (170, 60), 25), walk((170, 140), (30, 140), 25)])
    assert crossings(results) == (1, 1)


def test_walking_past_the_end_of_a_short_line_is_not_a_crossing():
    short = {"door": {"coordinates": [[0.5, 0.0], [0.5, 0.3]]}}  # the upper 30% only
    results = run(camera(lines=short), [walk((30, 130), (170, 130), 25)])
    assert crossings(results) == (0, 0)


def test_jitter_on_the_line_counts_once_not_every_frame():
    counter = LineCounter({"door": CameraConfig.model_validate({"lines": VERTICAL}).lines["door"]}, (W, H))
    tracker = CentroidTracker()
    from camera.analysis import Blob

    xs = [60, 75, 88, 94, 97, 94, 97, 95, 96, 94, 97, 96, 105, 118, 130]  # the line is at x = 95.5
    total = [0, 0]
    for i, x in enumerate(xs):
        moved = tracker.update([Blob(int(x - 14), 72, 28, 28, 784.0, 1)], i / 10)
        for ab, ba in counter.update(moved).values():
            total[0] += ab
            total[1] += ba
    assert total == [0, 1]


def test_tracks_of_people_who_left_are_forgotten():
    from camera.analysis import Blob

    tracker = CentroidTracker(max_age_s=1.0)
    tracker.update([Blob(10, 10, 20, 20, 400.0, 1)], 0.0)
    tracker.update([], 0.5)
    assert len(tracker.tracks) == 1
    tracker.update([], 1.6)
    assert tracker.tracks == []
