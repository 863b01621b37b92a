"""Camera records to Kafka: intervals and health changes as JSON on the camera-events
topic, and small JPEG thumbnails on the compacted camera-frames topic (only the newest
picture of a camera matters), both keyed by camera id so one camera stays in order.
A thumbnail carries headers: ``ts`` (ISO-8601), ``content-type`` and ``overlay`` (JSON: what
the annotated live view draws: boxes, zones, lines, health, people, the camera's name).
Health alerts (:class:`ioc.alerts.model.Signal`) go to the alerts topic keyed by fingerprint.

Workers are threads without an event loop, so this uses the thread-safe
:class:`ioc.broker.producer.Producer` (as ``ioc.ingest.publishing`` does), fire and forget:
sending never waits for the broker's acknowledgement, a camera must not stall on Kafka. A
record that cannot be sent is logged and dropped; the next interval supersedes it anyway.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ioc.alerts.model import Signal
from ioc.broker.producer import Producer, Record
from ioc.topics import Topics

log = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 320
THUMBNAIL_QUALITY = 70


def encode_thumbnail(image: np.ndarray, width: int = THUMBNAIL_WIDTH, quality: int = THUMBNAIL_QUALITY) -> bytes:
    """A JPEG of ``image`` scaled to ``width`` pixels (never up)."""
    import cv2

    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def encode_record(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CameraPublisher:
    """Publishes what the camera workers emit. ``producer`` may be given (tests, a shared one)."""

    def __init__(self, bootstrap: str, topics: Topics, *, client_id: str = "ioc-camera",
                 producer: Producer | None = None, max_block_s: float = 1.0) -> None:
        self.bootstrap = bootstrap
        self.events_topic = topics.camera_events
        self.frames_topic = topics.camera_frames
        self.alerts_topic = topics.alerts
        self.failures = 0
        # Which came last, an acknowledged send or a failed one (readiness: the last one went through).
        self._last_ok: float | None = None
        self._last_failed: float | None = None
        if producer is None:
            # acks=1: the leader's word is enough for an interval the next one supersedes; the
            # default request timeout (30 s) rather than max_block_s, which only bounds a blocked send.
            producer = Producer(bootstrap, client_id=client_id, acks=1, linger_ms=20, timeout_s=max_block_s,
                                max_request_size=2_097_152, request_timeout_ms=30_000)
            producer.client()  # connect now: an unreachable broker is DependencyError at start
        self.producer = producer

    def _send(self, topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
        try:
            self.producer.send(Record(topic, value, key.encode("utf-8"), headers=headers), on_ok=self._sent,
                               on_error=lambda exc: self._failed(exc, topic, key))
        except Exception as exc:  # KafkaError, timeouts: drop, never stall a camera
            self._failed(exc, topic, key)

    def _sent(self, _metadata: Any = None) -> None:
        self._last_ok = time.monotonic()

    def connected(self) -> bool:
        """The broker acknowledged a send, and nothing failed since."""
        ok, failed = self._last_ok, self._last_failed
        return ok is not None and (failed is None or ok >= failed)

    def _failed(self, exc: BaseException, topic: str, key: str) -> None:
        self.failures += 1
        self._last_failed = time.monotonic()
        log.warning("camera %s: not published to %s (%s)", key, topic, exc)

    def publish(self, record: dict[str, Any]) -> None:
        """An interval or a ``health_changed`` event, to the camera-events topic."""
        self._send(self.events_topic, str(record["camera"]), encode_record(record))

    def thumbnail(self, camera: str, image: np.ndarray, ts: float, width: int = THUMBNAIL_WIDTH,
                  quality: int = THUMBNAIL_QUALITY, overlay: dict[str, Any] | None = None) -> None:
        """The newest picture of ``camera`` (JPEG), to the compacted camera-frames topic."""
        when = datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")
        headers = [("ts", when.encode()), ("content-type", b"image/jpeg")]
        if overlay is not None:
            headers.append(("overlay", encode_record(overlay)))
        self._send(self.frames_topic, camera, encode_thumbnail(image, width, quality), headers=headers)

    def signal(self, signal: Signal) -> None:
        """A camera health alert raised or cleared, to the alerts topic keyed by its fingerprint."""
        self._send(self.alerts_topic, signal.fingerprint, encode_record(signal.to_json()))

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is buffered (waiting at most ``timeout_s``) and disconnect."""
        try:
            self.producer.flush(timeout_s)
        except Exception as exc:  # closing anyway
            log.warning("camera publisher: flush failed (%s)", exc)
        self.producer.close(timeout_s)
