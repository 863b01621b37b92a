"""A reader of the KPI snapshot topic: every partition (no consumer group), from now on, each
message handed to a callback. For the processes besides the web that need the live figures:
the dossier alert rules in the worker and the queue waits in the camera process."""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from ioc.broker.background import BackgroundLoop

log = logging.getLogger(__name__)


class SnapshotFeed(BackgroundLoop):
    thread_name = "snapshot-feed"

    def __init__(self, bootstrap: str, topic: str, on_message: Callable[[dict[str, Any]], Any],
                 accept: Callable[[bytes], bool] | None = None) -> None:
        super().__init__()
        self.bootstrap, self.topic, self.on_message = bootstrap, topic, on_message
        self.accept = accept  # a cheap test of the raw value: the others are not even decoded

    async def _run(self) -> None:
        from aiokafka import AIOKafkaConsumer

        while not self.stopping:
            consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, group_id=None,
                                        auto_offset_reset="latest", enable_auto_commit=False)
            try:
                await consumer.start()
                while not self.stopping:
                    for messages in (await consumer.getmany(timeout_ms=500)).values():
                        for m in messages:
                            if self.accept is not None and not self.accept(m.value or b""):
                                continue
                            try:
                                self.on_message(json.loads(m.value))
                            except (ValueError, KeyError, TypeError, AttributeError):
                                continue  # not a snapshot we understand: the web logs those
            except Exception as exc:  # noqa: BLE001 - broker away: try again shortly
                log.warning("snapshot feed: %s; reconnecting", exc)
                await self._pause(2.0)
            finally:
                await consumer.stop()
