"""Live state of the web process: the newest KPI snapshot of every partition and the
pipeline counters of every process, read from their topics by a background thread (the
snapshot topic through the one reader, ioc.broker.snapshot_feed, into the one merger,
ioc.kpi.snapshots.LatestSnapshots)."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboards.wall_data import cached_view
from ioc import clock
from ioc.broker.background import BackgroundLoop
from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, LATEST, ConsumerLoop, Subscription
from ioc.broker.reference_feed import CatalogueView, NationalView, reference_loop
from ioc.broker.snapshot_feed import snapshot_loop
from ioc.kpi.indicators import Scope, Sources, Tally, carried_by
from ioc.kpi.live import province_total
from ioc.kpi.snapshots import LatestSnapshots

log = logging.getLogger(__name__)


@dataclass
class LiveState:
    snapshots: LatestSnapshots = field(default_factory=LatestSnapshots)
    stats: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    connected: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards stats
    # Reference data the index needs besides the tallies (ioc.broker.reference_feed).
    catalogue: CatalogueView = field(default_factory=CatalogueView)
    national: NationalView = field(default_factory=NationalView)
    unit_levels: dict[str, str] = field(default_factory=dict)
    _sources: tuple[tuple[int, int], Sources] | None = None

    def sources(self) -> Sources:
        """The catalogue, national report and unit levels as of now (rebuilt when they change)."""
        version = (self.catalogue.version, self.national.version)
        cached = self._sources
        if cached is None or cached[0] != version:
            cached = self._sources = (version, Sources(catalogue=self.catalogue.catalogue(), pakn=True,
                                                       national_report=self.national.report(),
                                                       unit_levels=self.unit_levels))
        return cached[1]

    def apply_snapshot(self, payload: dict[str, Any]) -> None:
        """One snapshot message (a part, ioc.kpi.snapshots); a partition's figures change
        when all parts of a newer snapshot are in."""
        self.snapshots.add(payload)

    def apply_stats(self, payload: dict[str, Any]) -> None:
        with self.lock:
            self.stats[(payload["component"], payload["instance"])] = dict(payload.get("counters", {}))

    def age_s(self) -> float | None:
        """Age of the oldest partition's snapshot (cheap: /metrics asks for it on every scrape)."""
        oldest = self.snapshots.oldest()
        return None if oldest is None else clock.time() - oldest.timestamp()  # stamped by the workers' clock

    def figures(self) -> tuple[datetime | None, dict[str, Tally]]:
        """Per-unit figures summed over partitions, and the time of the oldest partial
        (the wall is only as fresh as its stalest partition)."""
        return self.snapshots.figures()

    def summary(self) -> dict[str, Any]:
        updated, per_unit = self.figures()
        at = updated or clock.now()
        sources = self.sources()
        whole = province_total(per_unit)
        sync = carried_by(whole)
        return {
            "updated_at": updated.isoformat() if updated else None,
            "age_s": (clock.time() - updated.timestamp()) if updated else None,
            "province": cached_view(whole, at, Scope("province", frozenset(per_unit)), sources, sync),
            "units": {u: cached_view(t, at, Scope(u), sources, sync) for u, t in sorted(per_unit.items())},
        }

    def counter_total(self, component: str, name: str) -> int:
        with self.lock:
            return sum(c.get(name, 0) for (comp, _), c in self.stats.items() if comp == component)


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
