"""`ioc verify`: the live figures, the warehouse and `ioc kpi` must tell the same story.

Three independent paths compute the month-to-date figures of each unit:

* live: the stream agents' newest snapshot of every partition (stored in ``kpi_snapshots``);
* warehouse: the raw events in ClickHouse (one row per event id), folded into dossier states
  and judged at each snapshot's own instant, per partition (``ioc.kpi.live.figures_for``);
* `ioc kpi`: the replay report of an events file (``--events``, e.g. what the simulator
  wrote), compared with the same report computed from the warehouse's events.

Every difference is one line; any difference fails (exit 1). The stream must be quiet for the
comparison to be exact: the newest snapshot of each partition must be newer than the last
event stored, which ``wait_s`` waits for.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ioc.commands.kpi_replay import read_events, replay
from ioc.domain.dossier import DossierState, fold
from ioc.domain.events import DossierEvent
from ioc.errors import IocError
from ioc.kpi.indicators import Tally
from ioc.kpi.live import figures_for
from ioc.kpi.periods import period_of
from ioc.warehouse.backends import Warehouse
from ioc.warehouse.queries import latest_snapshot_tallies, stored_events
from ioc.wire import partition_for


class VerifyFailed(IocError):
    """The three paths disagree (the report lists how)."""


@dataclass
class PartitionSnapshot:
    partition: int
    computed_at: datetime
    units: dict[str, Tally]


@dataclass
class VerifyReport:
    period: str
    events: int
    dossiers: int
    partitions: dict[int, str]  # partition -> the snapshot instant compared
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "period": self.period, "events": self.events, "dossiers": self.dossiers,
                "snapshots": {str(p): at for p, at in sorted(self.partitions.items())},
                "differences": self.differences, "notes": self.notes}


# --- reading the warehouse --------------------------------------------------------------------------


def latest_snapshots(wh: Warehouse) -> dict[int, PartitionSnapshot]:
    return {p: PartitionSnapshot(p, at, units) for p, (at, units) in latest_snapshot_tallies(wh).items()}


def warehouse_events(wh: Warehouse) -> list[DossierEvent]:
    try:
        return stored_events(wh)
    except ValueError as exc:
        raise VerifyFailed(f"ioc verify: {exc}") from None


# --- comparing -------------------------------------------------------------------------------------


def tally_differences(where: str, live: dict[str, Tally], recomputed: dict[str, Tally]) -> list[str]:
    out = []
    for unit in sorted(set(live) | set(recomputed)):
        a, b = live.get(unit, {}), recomputed.get(unit, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key, 0) != b.get(key, 0):
                out.append(f"{where} unit {unit} {key}: live {a.get(key, 0)} != warehouse {b.get(key, 0)}")
    return out


def report_differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Leaf-by-leaf differences of two `ioc kpi` JSON reports."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            out += report_differences(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += report_differences(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"ioc kpi {path}: file {json.dumps(a, ensure_ascii=False)} != warehouse "
                              f"{json.dumps(b, ensure_ascii=False)}"]


QUIET_FOR_S = 3.0  # a partition is quiet when two snapshots this far apart agree (a worker catching up moves them)


def quiet_snapshots(wh: Warehouse, partitions: int, wait_s: float) -> tuple[dict[int, PartitionSnapshot], list[str]]:
    """The newest snapshots, once the stream is quiet: for every partition, two stored snapshots
    at at least QUIET_FOR_S apart with equal figures (a worker still consuming would have moved them).
    Not "newer than the last stored event": a sink catching up after a crash stamps events with
    its own, later clock, so that test would wait for nothing."""
    deadline = time.monotonic() + wait_s
    base = latest_snapshots(wh)
    quiet: set[int] = set()
    while True:
        current = latest_snapshots(wh)
        for p, snap in current.items():
            before = base.get(p)
            if before is None or (snap.computed_at - before.computed_at).total_seconds() < QUIET_FOR_S:
                continue
            if snap.units == before.units:
                quiet.add(p)
            else:
                quiet.discard(p)
                base[p] = snap
        missing = [p for p in range(partitions) if p not in current]
        if (not missing and quiet >= set(range(partitions))) or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    if missing:
        raise VerifyFailed(f"ioc verify: no live snapshot of partition(s) {missing} in the warehouse "
                           f"(is the stream worker running and the sink storing snapshots?)")
    notes = []
    if not quiet >= set(range(partitions)):
        unsure = sorted(set(range(partitions)) - quiet)
        notes.append(f"partition(s) {unsure} not seen quiet within {wait_s:g} s (stream moving, or the worker "
                     "stopped): their differences may be events in flight")
    return current, notes


def verify(wh: Warehouse, partitions: int, events_file: Path | None = None, wait_s: float = 0.0) -> VerifyReport:
    snapshots, notes = quiet_snapshots(wh, partitions, wait_s)
    events = warehouse_events(wh)
    at = max(s.computed_at for s in snapshots.values())
    # The worker judges with the catalogue it follows and the petitions that name dossiers;
    # the warehouse stored both, so the recomputation uses the same.
    from ioc.kpi.live import Judging
    from ioc.kpi.pakn import complaint_links
    from ioc.warehouse.catalogue_rows import stored_catalogue
    from ioc.warehouse.queries import stored_petitions

    try:
        links = complaint_links(stored_petitions(wh), datetime.max.replace(tzinfo=timezone.utc))
        catalogue = stored_catalogue(wh)
    except ValueError as exc:
        raise VerifyFailed(f"ioc verify: {exc}") from None
    clock = Judging(catalogue=catalogue if catalogue.rows else None)
    states = {s.dossier_code: s for s in fold(events, None, links)}
    period = period_of(at, "month")
    report = VerifyReport(period=period.label, events=len(events), dossiers=len(states),
                          partitions={p: s.computed_at.isoformat() for p, s in snapshots.items()}, notes=notes)
    by_partition: dict[int, list[DossierState]] = defaultdict(list)
    for code, state in states.items():
        by_partition[partition_for(code, partitions)].append(state)
    for p in range(partitions):
        snap = snapshots[p]
        recomputed = figures_for(by_partition.get(p, []), snap.computed_at, clock)
        report.differences += tally_differences(f"partition {p} at {snap.computed_at.isoformat()}",
                                                snap.units, recomputed)
    if events_file is not None:
        from_file = read_events(events_file)
        ids_file = {e.event_id for e in from_file}
        ids_wh = {e.event_id for e in events}
        if ids_file - ids_wh:
            report.differences.append(f"{len(ids_file - ids_wh)} event(s) of {events_file} are not in the warehouse "
                                      f"(e.g. {sorted(ids_file - ids_wh)[:3]})")
        if ids_wh - ids_file:
            report.notes.append(f"{len(ids_wh - ids_file)} stored event(s) are not in {events_file}")
        report.differences += report_differences(replay(from_file, period, at), replay(events, period, at))
    return report
