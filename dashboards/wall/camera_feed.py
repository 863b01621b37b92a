"""The camera feed: a background thread reading the camera topics (records and thumbnails) into a
:class:`~dashboards.wall.camera_state.CameraState`, on the one :class:`~ioc.broker.consumer.ConsumerLoop`."""

from __future__ import annotations

import json
import logging
from typing import Any

from dashboards.wall.camera_state import CameraState
from ioc.broker.background import BackgroundLoop
from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, ConsumerLoop, Subscription, backlog

log = logging.getLogger(__name__)

BACKLOG = 50  # messages per partition read back at start: the newest record of each camera


class CameraFeed(BackgroundLoop):
    """Background thread with its own event loop keeping a :class:`CameraState` current."""

    thread_name = "camera-feed"

    def __init__(self, bootstrap: str, events_topic: str, frames_topic: str, state: CameraState, *,
                 fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
        super().__init__()
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.bootstrap = bootstrap
        self.events_topic = events_topic
        self.frames_topic = frames_topic
        self.state = state

    async def _run(self) -> None:
        def connected(up: bool) -> Any:
            return lambda: setattr(self.state, "connected", up)

        # The newest few of each partition: each camera's latest record and picture.
        await self._follow(ConsumerLoop(
            self.bootstrap, [Subscription(t, backlog(BACKLOG)) for t in (self.events_topic, self.frames_topic)],
            self._handle, name="camera feed", fetch_max_wait_ms=self.fetch_max_wait_ms, on_connect=connected(True),
            on_disconnect=connected(False)))

    def _handle(self, records: list[Any]) -> None:
        for msg in records:
            self._apply(msg.topic, msg)

    def _apply(self, topic: str, msg: Any) -> None:
        from ioc.warehouse.camera_rows import thumbnail_headers

        try:
            if topic == self.events_topic:
                self.state.apply_record(json.loads(msg.value or b"{}"))
            elif msg.key and msg.value:
                captured_at, overlay = thumbnail_headers(msg.headers)
                self.state.apply_thumbnail(msg.key.decode("utf-8"), msg.value, captured_at, overlay)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("camera feed: unreadable message on %s: %s", topic, exc)
