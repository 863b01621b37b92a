"""The one reader of the KPI snapshot topic: every partition (no consumer group), from now on,
each message decoded and handed to a callback, usually :meth:`ioc.kpi.snapshots.LatestSnapshots.add`
(which assembles parts, applies change-only snapshots and sums the sources and partitions).
The web's live state, the dossier and petition alert rules in the worker and the queue waits in
the camera process all read the topic through it."""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from ioc.broker.background import BackgroundLoop
from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, LATEST, ConsumerLoop, Subscription

log = logging.getLogger(__name__)


def snapshot_loop(bootstrap: str, topic: str, on_message: Callable[[dict[str, Any]], Any],
                  accept: Callable[[bytes], bool] | None = None, *,
                  fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> ConsumerLoop:
    """A :class:`ConsumerLoop` of ``topic`` handing each snapshot message to ``on_message``;
    ``accept`` is a cheap test of the raw value (the others are not even decoded)."""

    def handle(records: list[Any]) -> None:
        for m in records:
            if accept is not None and not accept(m.value or b""):
                continue
            try:
                on_message(json.loads(m.value or b"{}"))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("snapshot feed: unreadable message at %s:%s: %s", m.partition, m.offset, exc)

    return ConsumerLoop(bootstrap, [Subscription(topic, LATEST)], handle, name="snapshot feed", poll_ms=500,
                        fetch_max_wait_ms=fetch_max_wait_ms)


class SnapshotFeed(BackgroundLoop):
    """:func:`snapshot_loop` in a thread of its own (the worker's alert rules, the camera process)."""

    thread_name = "snapshot-feed"

    def __init__(self, bootstrap: str, topic: str, on_message: Callable[[dict[str, Any]], Any],
                 accept: Callable[[bytes], bool] | None = None, *,
                 fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
        super().__init__()
        self.loop = snapshot_loop(bootstrap, topic, on_message, accept, fetch_max_wait_ms=fetch_max_wait_ms)

    async def _run(self) -> None:
        await self._follow(self.loop)
