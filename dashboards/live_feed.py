"""The live feed: a background thread keeping a :class:`~dashboards.live_state.LiveState` current,
the snapshot topic through the one reader (ioc.broker.snapshot_feed), the pipeline counters and
the reference topics on the one :class:`~ioc.broker.consumer.ConsumerLoop`."""

from __future__ import annotations

import json
import logging
from typing import Any

from dashboards.live_state import LiveState
from ioc.broker.background import BackgroundLoop
from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, LATEST, ConsumerLoop, Subscription
from ioc.broker.reference_feed import reference_loop
from ioc.broker.snapshot_feed import snapshot_loop

log = logging.getLogger(__name__)


class LiveFeed(BackgroundLoop):
    """Background thread with its own event loop that keeps a :class:`LiveState` current:
    snapshots and pipeline counters from now on, reference data from their beginning."""

    thread_name = "live-feed"

    def __init__(self, bootstrap: str, snapshots_topic: str, stats_topic: str, state: LiveState,
                 catalogue_topic: str | None = None, national_topic: str | None = None, *,
                 fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
        super().__init__()
        self.state = state
        self._up = {"snapshots": False, "stats": False}  # the state is connected when both are read

        def connected(loop: str, up: bool) -> Any:
            def hook() -> None:
                self._up[loop] = up
                state.connected = all(self._up.values())
            return hook

        wait = fetch_max_wait_ms
        snapshots = snapshot_loop(bootstrap, snapshots_topic, state.apply_snapshot, fetch_max_wait_ms=wait)
        snapshots.on_connect, snapshots.on_disconnect = connected("snapshots", True), connected("snapshots", False)
        self.loops = [
            snapshots,
            # Counters are cumulative heartbeats: the last few seconds are enough.
            ConsumerLoop(bootstrap, [Subscription(stats_topic, LATEST)], self._apply_stats, name="live feed",
                         fetch_max_wait_ms=wait, on_connect=connected("stats", True), on_disconnect=connected("stats", False)),
            *(reference_loop(bootstrap, topic, apply, fetch_max_wait_ms=wait)
              for topic, apply in ((catalogue_topic, state.catalogue.apply), (national_topic, state.national.apply))
              if topic),
        ]

    async def _run(self) -> None:
        await self._follow(*self.loops)

    def _apply_stats(self, records: list[Any]) -> None:
        for msg in records:
            try:
                self.state.apply_stats(json.loads(msg.value or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("live feed: unreadable message on %s: %s", msg.topic, exc)
