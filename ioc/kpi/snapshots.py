"""The KPI snapshot messages: one partition's unit tallies at one instant, in parts.

At national scale one partition holds thousands of units and its snapshot outgrew Kafka's
1 MiB message limit (the worker crashed in the national rehearsal), so a snapshot is sent in
parts of at most ``UNITS_PER_PART`` units: ``{partition, computed_at, part, parts, units}``.
Readers assemble them with :class:`SnapshotAssembler` and use only complete snapshots.
A message without ``parts`` is a whole snapshot (the format before parts existed).

**Change-only snapshots.** The dossier agent sends a partition's whole figures every few seconds
(``worker.full_snapshot_s``) and when its stream goes quiet, and in between, at every tick, only
the units whose tallies changed: ``"delta": true`` with ``"base"``, the instant of the snapshot it
applies to (a unit whose tally emptied comes as ``{}``). A reader applies a delta to the partition's
snapshot at ``base`` and so still holds whole figures; a delta whose base it does not hold (it
started reading after that snapshot, or two workers wrote during a rebalance) is dropped until the
next whole snapshot. Only whole snapshots are stored by the sink (``kpi_snapshots``), so `ioc
verify` and the public history read whole figures as before.

Several stream agents publish partials: the dossier agent (no ``source`` field: "dossier")
and the petition agent (``"source": "pakn"``, tallies whose keys all start with ``pakn:``).
The assembler keys snapshots by (source, partition) and hands readers, per partition, the sum
of the newest complete snapshot of every source: each reader keeps one partial per partition as
before and gets every source's keys summed into each unit's tally (this is the one place that
knows about sources). The combined ``computed_at`` is the oldest of its sources' (a partial is
as fresh as its stalest part).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

from ioc.kpi.indicators import Tally
from ioc.kpi.live import merge

DEFAULT_SOURCE = "dossier"
UNITS_PER_PART = 300  # ~ 600 bytes a unit: about 200 KB a message, well under 1 MiB


def snapshot_messages(partition: int, computed_at: datetime, units: dict[str, Tally],
                      per_part: int = UNITS_PER_PART, source: str | None = None,
                      base: datetime | None = None) -> Iterator[bytes]:
    """The messages of one partition's snapshot (at least one, even with no unit); ``source``
    names the agent when it is not the dossier agent. With ``base``: a change-only snapshot
    (module docstring) of the units that changed since the snapshot at ``base``."""
    items = sorted(units.items())
    chunks = [items[i:i + per_part] for i in range(0, len(items), per_part)] or [[]]
    extra: dict[str, Any] = {"source": source} if source is not None and source != DEFAULT_SOURCE else {}
    if base is not None:
        extra.update(delta=True, base=base.isoformat())
    for i, chunk in enumerate(chunks):
        yield json.dumps({
            "partition": partition, **extra, "computed_at": computed_at.isoformat(), "part": i,
            "parts": len(chunks), "units": dict(chunk),
        }, separators=(",", ":")).encode()


def source_of(payload: dict[str, Any]) -> str:
    """Which agent published a snapshot message."""
    return str(payload.get("source") or DEFAULT_SOURCE)


@dataclass
class Snapshot:
    partition: int
    computed_at: datetime
    units: dict[str, Tally]
    sources: dict[str, datetime] = field(default_factory=dict)  # source -> its computed_at


@dataclass
class _Pending:
    parts: int
    received: dict[int, dict[str, Tally]] = field(default_factory=dict)


class SnapshotAssembler:
    """Collects parts; :meth:`add` returns a partition's snapshot once all parts of a snapshot
    of one of its sources are in (module docstring: the sources' newest snapshots summed). A
    part of an older snapshot than one already completed (or pending) for its source and
    partition is dropped; the same instant again (a redelivery) is taken again."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], tuple[datetime, _Pending]] = {}
        self._complete: dict[tuple[str, int], datetime] = {}
        self._latest: dict[int, dict[str, tuple[datetime, dict[str, Tally]]]] = {}

    def add(self, payload: dict[str, Any]) -> Snapshot | None:
        """One message; the partition's (summed) snapshot when it completes one, else None."""
        partition = int(payload["partition"])
        key = (source_of(payload), partition)
        at = datetime.fromisoformat(payload["computed_at"])
        units = {u: {k: int(v) for k, v in t.items()} for u, t in (payload.get("units") or {}).items()}
        parts = int(payload.get("parts", 1))
        if key in self._complete and at < self._complete[key]:
            return None
        pending = self._pending.get(key)
        if pending is None or at > pending[0]:
            pending = self._pending[key] = (at, _Pending(parts))
        elif at < pending[0]:
            return None  # a part of an older snapshot than the one being assembled
        pending[1].received[int(payload.get("part", 0))] = units
        if len(pending[1].received) < pending[1].parts:
            return None
        del self._pending[key]
        merged: dict[str, Tally] = {}
        for chunk in pending[1].received.values():
            merged.update(chunk)
        latest = self._latest.setdefault(partition, {})
        if payload.get("delta"):
            held = latest.get(key[0])
            if held is None or held[0] != datetime.fromisoformat(payload["base"]):
                return None  # not the snapshot it applies to: wait for the next whole one
            whole = dict(held[1])
            for unit, tally in merged.items():
                if tally:
                    whole[unit] = tally
                else:
                    whole.pop(unit, None)
            merged = whole
        self._complete[key] = at
        latest[key[0]] = (at, merged)
        if len(latest) == 1:
            return Snapshot(partition, at, merged, {key[0]: at})
        combined = merge(source_units for _, source_units in latest.values())
        return Snapshot(partition, min(a for a, _ in latest.values()), combined,
                        {s: a for s, (a, _) in sorted(latest.items())})


class LatestSnapshots:
    """The one merger of the snapshot topic: the newest complete snapshot of every partition
    (parts assembled, change-only ones applied, sources summed by :class:`SnapshotAssembler`)
    and their sum over partitions. Every reader keeps one: the web's live state, the alert
    rules in the worker, the camera process's reception rates. Thread-safe: fed by a reader
    thread, read by others."""

    def __init__(self) -> None:
        self._assembler = SnapshotAssembler()
        self.partials: dict[int, Snapshot] = {}
        self._lock = threading.Lock()

    def add(self, payload: dict[str, Any]) -> Snapshot | None:
        """One message; the partition's new snapshot when its figures changed, else None."""
        with self._lock:
            snap = self._assembler.add(payload)
            if snap is not None:
                self.partials[snap.partition] = snap
            return snap

    def oldest(self) -> datetime | None:
        """The instant of the stalest partition's snapshot (the figures are only as fresh)."""
        with self._lock:
            return min((s.computed_at for s in self.partials.values()), default=None)

    def figures(self) -> tuple[datetime | None, dict[str, Tally]]:
        """:meth:`oldest` and :meth:`per_unit` of the same partials."""
        with self._lock:
            snaps = list(self.partials.values())
        return min((s.computed_at for s in snaps), default=None), merge(s.units for s in snaps)

    def per_unit(self) -> dict[str, Tally]:
        """Each unit's tally summed over the partitions."""
        return self.figures()[1]

    def totals(self, key: str, units: Iterable[str]) -> dict[str, int]:
        """One figure of ``units``, summed over the partitions (cheaper than :meth:`per_unit`)."""
        with self._lock:
            snaps = list(self.partials.values())
        return {u: sum(s.units.get(u, {}).get(key, 0) for s in snaps) for u in units}

