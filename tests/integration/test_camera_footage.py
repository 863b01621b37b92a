"""Camera analytics on real footage: vtest.avi (a fixed camera over a campus crossing,
pedestrians, 768x576, 10 fps, 795 frames), kept in ../shared/data beside the repository.

Ground truth: people visible (whole or in part) counted by eye at 32 frames, every 25th
(HAND_COUNTS). The footage never empties: 3 to 8 people throughout. The people model's
``person_fill`` was chosen on the frames that are multiples of 50 (CALIBRATION); the
others (HELD_OUT) only check it.

Faults are injected into the same real frames (camera.sources.FaultySource): black and
white frames, a frozen stretch, a 3 px defocus, a hand over the lens, a 12% pan, a dropped
stream; each must be raised within its debounce time and cleared after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from camera.config import CameraConfig, HealthConfig
from camera.sources import BlockingSource, Fault, FaultySource, VideoSource
from camera.worker import CameraWorker

pytestmark = pytest.mark.integration

FOOTAGE = Path(__file__).resolve().parents[3] / "shared" / "data" / "vtest.avi"

HAND_COUNTS = {
    0: 3, 25: 5, 50: 6, 75: 7, 100: 7, 125: 8, 150: 8, 175: 7, 200: 7, 225: 7, 250: 7, 275: 7, 300: 6,
    325: 6, 350: 5, 375: 5, 400: 3, 425: 3, 450: 3, 475: 4, 500: 4, 525: 6, 550: 5, 575: 7, 600: 6,
    625: 6, 650: 6, 675: 7, 700: 8, 725: 7, 750: 8, 775: 8,
}
CALIBRATION = {f: n for f, n in HAND_COUNTS.items() if f % 50 == 0}
HELD_OUT = {f: n for f, n in HAND_COUNTS.items() if f % 50 == 25}
CONTRACT_KEYS = {"camera", "ts", "frames", "fps", "motion", "objects", "zones", "health"}
HEALTH_STATES = {"ok", "offline", "frozen", "dark", "bright", "blurred", "tampered"}


@pytest.fixture(scope="module")
def footage() -> Path:
    if not FOOTAGE.is_file():
        pytest.fail(f"{FOOTAGE} is missing: the camera tests need ../shared/data/vtest.avi beside the repository")
    return FOOTAGE


def analyse(source, config: CameraConfig | None = None, seconds: float | None = None,
            camera: str = "vtest") -> tuple[list[dict[str, Any]], CameraWorker]:
    records: list[dict[str, Any]] = []
    source.open()
    worker = CameraWorker(camera, config or CameraConfig(), source, records.append, opened=True, seconds=seconds)
    worker.start()
    assert worker.wait(120), "the analysis did not finish"
    assert worker.error is None
    return records, worker


def epoch(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


@pytest.fixture(scope="module")
def intervals(footage: Path) -> list[dict[str, Any]]:
    records, _ = analyse(VideoSource(str(footage)))
    return [r for r in records if "frames" in r]


def at_frame(intervals: list[dict[str, Any]], counts: dict[int, int], key: str) -> tuple[np.ndarray, np.ndarray]:
    """The interval estimate for the second holding each hand-counted frame, and the count."""
    return np.array([intervals[f // 10][key] for f in counts], float), np.array(list(counts.values()), float)


# --- counts follow the people ---------------------------------------------------------------

def test_the_whole_file_is_analysed_in_one_second_intervals(intervals):
    assert len(intervals) == 80  # 79.5 s: the last interval holds the last 5 frames
    assert sum(r["frames"] for r in intervals) == 795
    assert all(r["frames"] == 10 and r["fps"] == 10.0 for r in intervals[:-1])
    assert all(r["health"] == "ok" for r in intervals)


@pytest.mark.parametrize("name,counts", [("calibration", CALIBRATION), ("held_out", HELD_OUT)])
def test_people_estimate_follows_the_hand_counts(intervals, name, counts):
    estimate, truth = at_frame(intervals, counts, "people")
    assert np.abs(estimate - truth).mean() <= 1.0, (name, estimate, truth)
    assert np.corrcoef(estimate, truth)[0, 1] >= 0.75, (name, estimate, truth)


def test_moving_objects_follow_the_hand_counts(intervals):
    estimate, truth = at_frame(intervals, HAND_COUNTS, "objects")
    assert np.corrcoef(estimate, truth)[0, 1] >= 0.7
    assert np.abs(estimate - truth).mean() <= 1.5


def test_counts_stay_plausible_and_motion_never_stops(intervals):
    assert all(1 <= r["people"] <= 10 and 1 <= r["objects"] <= 10 for r in intervals), \
        [(r["people"], r["objects"]) for r in intervals]
    assert all(r["motion"] > 0 for r in intervals)


def test_the_quiet_moment_reads_lower_than_the_busy_ones(intervals):
    """3 people at 40-46 s against 7-8 at 12-16 s and 70-78 s."""
    quiet = np.mean([r["people"] for r in intervals[40:46]])
    busy = np.mean([r["people"] for r in intervals[12:16] + intervals[70:78]])
    assert busy - quiet >= 2.5, (quiet, busy)


# --- faults in the real footage -------------------------------------------------------------

FAULTS = [
    ("dark", "dark", 20, 40), ("bright", "bright", 20, 40), ("frozen", "frozen", 20, 40),
    ("blurred", "blurred", 20, 40), ("covered", "tampered", 20, 40), ("shifted", "tampered", 20, 40),
    ("offline", "offline", 20, 50),
]


@pytest.mark.parametrize("kind,health,start,end", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_in_real_footage_is_raised_and_cleared_within_its_debounce(footage, kind, health, start, end):
    config = CameraConfig()
    debounce = getattr(config.health, health)
    source = FaultySource(VideoSource(str(footage)), [Fault(kind, start, end)])
    records, worker = analyse(source, config, seconds=end + debounce.clear_s + 4)
    intervals = [r for r in records if "frames" in r]
    t0 = epoch(intervals[0]["ts"]) - 1.0  # the first frame; intervals end on whole seconds
    changes = [(r["from"], r["to"], epoch(r["ts"]) - t0) for r in records if r.get("event") == "health_changed"]
    assert [(f, to) for f, to, _ in changes] == [("ok", health), (health, "ok")], changes
    frame, slack = 0.1, config.health.check_every_s + 0.2
    raised, cleared = changes[0][2], changes[1][2]
    assert start - frame + debounce.raise_s <= raised <= start + debounce.raise_s + slack, changes
    assert end + debounce.clear_s <= cleared <= end + frame + debounce.clear_s + slack, changes
    during = [r["health"] for r in intervals if raised + 0.5 < epoch(r["ts"]) - t0 < cleared - 0.5]
    assert during and set(during) == {health}
    if kind == "offline":
        assert worker.reconnects == 1
        assert [r["frames"] for r in intervals[start + 1:end]] == [0] * (end - start - 1)
        assert all(r["people"] is None for r in intervals[start + 1:end])  # unknown, not zero


# --- the command line -----------------------------------------------------------------------

def ioc(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_ioc_camera_analyze_prints_contract_lines_and_exits_at_the_end_of_the_file(footage):
    r = ioc("camera", "analyze", str(footage), "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 80
    for line in lines:
        assert CONTRACT_KEYS <= set(line)
        assert line["camera"] == "vtest" and line["health"] in HEALTH_STATES
        assert datetime.fromisoformat(line["ts"]).utcoffset() is not None
        assert isinstance(line["frames"], int) and isinstance(line["objects"], int)
        assert isinstance(line["fps"], float) and 0 < line["motion"] < 1 and line["zones"] == {}
    assert sum(line["frames"] for line in lines) == 795


def test_ioc_camera_analyze_with_zones_lines_and_a_queue(footage, tmp_path):
    cfg = tmp_path / "cameras.yaml"
    cfg.write_text(
        "cameras:\n"
        "  crossing:\n"
        "    zones:\n"
        "      road: {coordinates: [[0, 0.3], [1, 0.3], [1, 0.75], [0, 0.75]], queue: true, service_rate_per_min: 3}\n"
        "      lawn: {coordinates: [[0, 0.75], [1, 0.75], [1, 1], [0, 1]]}\n"
        "    lines:\n"
        "      kerb: {coordinates: [[0, 0.55], [1, 0.55]]}\n")
    r = ioc("camera", "analyze", str(footage), "--config", str(cfg), "--seconds", "10")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 10 and {line["camera"] for line in lines} == {"crossing"}
    assert all(set(line["zones"]) == {"road", "lawn"} for line in lines)
    assert sum(line["zones"]["road"] for line in lines) > sum(line["zones"]["lawn"] for line in lines)  # walkers
    q = lines[-1]["queues"]["road"]
    assert q["wait_s"] == round(60 * q["length"] / 3, 1)
    assert set(lines[-1]["lines"]["kerb"]) == {"a_to_b", "b_to_a"}


def test_ioc_camera_analyze_user_mistakes_exit_2_with_one_line(footage, tmp_path):
    missing = ioc("camera", "analyze", str(tmp_path / "nope.avi"))
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "nope.avi" in missing.stderr
    not_video = tmp_path / "notes.avi"
    not_video.write_text("not a video")
    bad = ioc("camera", "analyze", str(not_video))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "notes.avi" in bad.stderr
    cfg = tmp_path / "cameras.yaml"
    cfg.write_text("cameras:\n  hall:\n    motion:\n      treshold: 20\n")
    typo = ioc("camera", "analyze", str(footage), "--config", str(cfg))
    assert typo.returncode == 2 and typo.stderr.count("\n") == 1
    assert f"{cfg}:4" in typo.stderr and "cameras.hall.motion.treshold" in typo.stderr
    assert "Traceback" not in typo.stderr
    two = tmp_path / "two.yaml"
    two.write_text("cameras:\n  hall: {}\n  gate: {fps: 5}\n")
    which = ioc("camera", "analyze", str(footage), "--config", str(two))
    assert which.returncode == 2 and "--camera" in which.stderr and which.stderr.count("\n") == 1
    unknown = ioc("camera", "analyze", str(footage), "--config", str(two), "--camera", "roof")
    assert unknown.returncode == 2 and "roof" in unknown.stderr and "hall, gate" in unknown.stderr


# --- isolation, streams, publishing ---------------------------------------------------------

def test_a_camera_stuck_in_read_does_not_stop_the_others(footage):
    config = CameraConfig(health=HealthConfig(offline={"raise_s": 1.0, "clear_s": 1.0}))
    stuck_records: list[dict[str, Any]] = []
    stuck = BlockingSource()
    stuck_worker = CameraWorker("stuck", config, stuck, stuck_records.append).start()
    try:
        live_records: list[dict[str, Any]] = []
        live = VideoSource(str(footage), realtime=True)
        live.open()
        live_worker = CameraWorker("live", CameraConfig(), live, live_records.append, opened=True, seconds=3).start()
        started = time.monotonic()
        records, _ = analyse(VideoSource(str(footage)))  # a whole file, while the other is stuck
        assert len([r for r in records if "frames" in r]) == 80
        assert live_worker.wait(10) and sum(r["frames"] for r in live_records if "frames" in r) >= 25
        time.sleep(max(0.0, 2.5 - (time.monotonic() - started)))
        # The stuck camera's own processing goes on: empty intervals, then offline.
        assert any(r.get("to") == "offline" for r in stuck_records)
        assert [r["frames"] for r in stuck_records if "frames" in r][:2] == [0, 0]
        stuck_worker.stop()
        assert stuck_worker.wait(2)  # processing ends although its capture thread is still stuck
    finally:
        stuck.release.set()


class MjpegStream(BaseHTTPRequestHandler):
    """multipart/x-mixed-replace JPEG frames, as IP cameras serve them; each connection
    sends ``frames_per_connection`` frames at 10 fps, then drops (a flaky camera)."""

    jpegs: list[bytes] = []
    frames_per_connection = 20

    def do_GET(self) -> None:  # http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        try:
            for jpeg in self.jpegs[: self.frames_per_connection]:
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg))
                self.wfile.write(jpeg + b"\r\n")
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


def test_an_http_mjpeg_stream_is_analysed_live_and_reconnected_when_it_drops(footage):
    import cv2

    cap = cv2.VideoCapture(str(footage))  # encoded before the server starts: FFmpeg opens one at a time
    MjpegStream.jpegs = [cv2.imencode(".jpg", cap.read()[1])[1].tobytes() for _ in range(20)]
    cap.release()
    server = ThreadingHTTPServer(("127.0.0.1", 0), MjpegStream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = CameraConfig(stream={"reconnect_initial_s": 0.2, "read_timeout_s": 2.0})
        source = VideoSource(f"http://127.0.0.1:{server.server_address[1]}/video.mjpg")
        records, worker = analyse(source, config, seconds=5, camera="ipcam")
    finally:
        server.shutdown()
    intervals = [r for r in records if "frames" in r]
    assert source.live and intervals
    assert worker.frames >= 25  # 2 s of stream per connection: at least two connections
    assert worker.reconnects >= 1
    assert max(r["people"] or 0 for r in intervals) >= 2


def test_intervals_and_thumbnails_are_published_to_kafka(footage, kafka_bootstrap, unique):
    import cv2
    from kafka import KafkaConsumer, TopicPartition

    from tests.helpers import make_topics

    topics = make_topics(kafka_bootstrap, unique)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env["IOC_KAFKA__TOPIC_PREFIX"] = unique
    r = subprocess.run([sys.executable, "-m", "ioc", "camera", "analyze", str(footage), "--seconds", "3",
                        "--kafka", kafka_bootstrap], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    printed = [json.loads(line) for line in r.stdout.splitlines()]

    def messages(topic: str, n: int) -> list[Any]:
        consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, consumer_timeout_ms=3000)
        try:
            consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
            consumer.seek_to_beginning()
            got: list[Any] = []
            deadline = time.monotonic() + 30
            while len(got) < n and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=500).values():
                    got.extend(batch)
            return got
        finally:
            consumer.close()

    events = messages(topics.camera_events, len(printed))
    assert [json.loads(m.value) for m in events] == printed
    assert {m.key for m in events} == {b"vtest"}
    thumbs = messages(topics.camera_frames, 1)
    assert thumbs and thumbs[0].key == b"vtest"
    image = cv2.imdecode(np.frombuffer(thumbs[0].value, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3)
    assert dict(thumbs[0].headers)["content-type"] == b"image/jpeg"
