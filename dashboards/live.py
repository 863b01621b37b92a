"""Live state of the web process: the newest KPI snapshot of every partition and the
pipeline counters of every process, read from their topics by a background thread."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer

from dashboards.wall_data import cached_view
from ioc import clock
from ioc.broker.background import BackgroundLoop
from ioc.broker.reference_feed import CatalogueView, NationalView, follow
from ioc.kpi.indicators import Scope, Sources, Tally, carried_by
from ioc.kpi.live import merge, province_total
from ioc.kpi.snapshots import SnapshotAssembler

log = logging.getLogger(__name__)


@dataclass
class LiveState:
    partials: dict[int, tuple[datetime, dict[str, Tally]]] = field(default_factory=dict)
    stats: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    connected: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    assembler: SnapshotAssembler = field(default_factory=SnapshotAssembler)
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
        with self.lock:
            snap = self.assembler.add(payload)
            if snap is not None:
                self.partials[snap.partition] = (snap.computed_at, snap.units)

    def apply_stats(self, payload: dict[str, Any]) -> None:
        with self.lock:
            self.stats[(payload["component"], payload["instance"])] = dict(payload.get("counters", {}))

    def age_s(self) -> float | None:
        """Age of the oldest partition's snapshot (cheap: /metrics asks for it on every scrape)."""
        with self.lock:
            oldest = min((at for at, _ in self.partials.values()), default=None)
        return None if oldest is None else clock.time() - oldest.timestamp()  # stamped by the workers' clock

    def figures(self) -> tuple[datetime | None, dict[str, Tally]]:
        """Per-unit figures summed over partitions, and the time of the oldest partial
        (the wall is only as fresh as its stalest partition)."""
        with self.lock:
            parts = list(self.partials.values())
        if not parts:
            return None, {}
        return min(at for at, _ in parts), merge(units for _, units in parts)

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
    """Background thread with its own event loop that keeps a :class:`LiveState` current."""

    thread_name = "live-feed"

    def __init__(self, bootstrap: str, snapshots_topic: str, stats_topic: str, state: LiveState,
                 catalogue_topic: str | None = None, national_topic: str | None = None) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        self.topics = (snapshots_topic, stats_topic)
        self.state = state
        self.references = [(t, apply) for t, apply in ((catalogue_topic, state.catalogue.apply),
                                                       (national_topic, state.national.apply)) if t]

    async def _run(self) -> None:
        assert self._stop is not None
        followers = [asyncio.ensure_future(follow(self.bootstrap, topic, apply, lambda: self.stopping, self._pause))
                     for topic, apply in self.references]
        try:
            await self._follow_live()
        finally:
            for task in followers:
                await task

    async def _follow_live(self) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            consumer = AIOKafkaConsumer(*self.topics, bootstrap_servers=self.bootstrap, group_id=None,
                                        auto_offset_reset="latest", enable_auto_commit=False)
            try:
                await consumer.start()
                # Counters are cumulative heartbeats: the last few seconds are enough.
                await consumer.seek_to_end()
                self.state.connected = True
                while not self._stop.is_set():
                    batches = await consumer.getmany(timeout_ms=250)
                    for tp, messages in batches.items():
                        for msg in messages:
                            self._apply(tp.topic, msg.value)
            except Exception as exc:  # noqa: BLE001 - broker gone: reconnect, keep serving
                log.warning("live feed: %s; reconnecting", exc)
                self.state.connected = False
                try:
                    await asyncio.wait_for(self._stop.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
            finally:
                await consumer.stop()

    def _apply(self, topic: str, value: bytes | None) -> None:
        try:
            payload = json.loads(value or b"{}")
            if topic == self.topics[0]:
                self.state.apply_snapshot(payload)
            else:
                self.state.apply_stats(payload)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("live feed: unreadable message on %s: %s", topic, exc)
