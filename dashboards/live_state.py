"""Live state of the web process: the newest KPI snapshot of every partition (in the one merger,
ioc.kpi.snapshots.LatestSnapshots), the pipeline counters of every process, and the reference data
the index needs. No I/O: :mod:`dashboards.live_feed` fills it; the wall, the console's drill-down,
the public pages, ``/api/v1/live`` and ``/metrics`` read it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboards.wall.data import cached_view
from ioc import clock
from ioc.broker.reference_feed import CatalogueView, NationalView
from ioc.kpi.indicators import Scope, Sources, Tally, carried_by
from ioc.kpi.live import province_total
from ioc.kpi.snapshots import LatestSnapshots


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
