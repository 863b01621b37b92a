"""The KPI snapshot messages: one partition's unit tallies at one instant, in parts.

At national scale one partition holds thousands of units and its snapshot outgrew Kafka's
1 MiB message limit (the worker crashed in the national rehearsal), so a snapshot is sent in
parts of at most ``UNITS_PER_PART`` units: ``{partition, computed_at, part, parts, units}``.
Readers assemble them with :class:`SnapshotAssembler` and use only complete snapshots.
A message without ``parts`` is a whole snapshot (the format before parts existed).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

from ioc.kpi.indicators import Tally

UNITS_PER_PART = 300  # ~ 600 bytes a unit: about 200 KB a message, well under 1 MiB


def snapshot_messages(partition: int, computed_at: datetime, units: dict[str, Tally],
                      per_part: int = UNITS_PER_PART) -> Iterator[bytes]:
    """The messages of one partition's snapshot (at least one, even with no unit)."""
    items = sorted(units.items())
    chunks = [items[i:i + per_part] for i in range(0, len(items), per_part)] or [[]]
    for i, chunk in enumerate(chunks):
        yield json.dumps({
            "partition": partition, "computed_at": computed_at.isoformat(), "part": i, "parts": len(chunks),
            "units": dict(chunk),
        }, separators=(",", ":")).encode()


@dataclass
class Snapshot:
    partition: int
    computed_at: datetime
    units: dict[str, Tally]


@dataclass
class _Pending:
    parts: int
    received: dict[int, dict[str, Tally]] = field(default_factory=dict)


class SnapshotAssembler:
    """Collects parts; :meth:`add` returns a snapshot once all its parts are in. A part of an
    older snapshot than one already completed (or pending) for its partition is dropped; the
    same instant again (a redelivery) is taken again."""

    def __init__(self) -> None:
        self._pending: dict[int, tuple[datetime, _Pending]] = {}
        self._complete: dict[int, datetime] = {}

    def add(self, payload: dict[str, Any]) -> Snapshot | None:
        partition = int(payload["partition"])
        at = datetime.fromisoformat(payload["computed_at"])
        units = {u: {k: int(v) for k, v in t.items()} for u, t in (payload.get("units") or {}).items()}
        parts = int(payload.get("parts", 1))
        if partition in self._complete and at < self._complete[partition]:
            return None
        pending = self._pending.get(partition)
        if pending is None or at > pending[0]:
            pending = self._pending[partition] = (at, _Pending(parts))
        elif at < pending[0]:
            return None  # a part of an older snapshot than the one being assembled
        pending[1].received[int(payload.get("part", 0))] = units
        if len(pending[1].received) < pending[1].parts:
            return None
        del self._pending[partition]
        self._complete[partition] = at
        merged: dict[str, Tally] = {}
        for chunk in pending[1].received.values():
            merged.update(chunk)
        return Snapshot(partition, at, merged)


class LatestSnapshots:
    """The newest complete snapshot of every partition, and their per-unit sum: what every
    reader of the snapshot topic that is not the web's LiveState needs (rules, rates)."""

    def __init__(self) -> None:
        self._assembler = SnapshotAssembler()
        self.partials: dict[int, Snapshot] = {}
        self._lock = threading.Lock()  # fed by a reader thread, read by another

    def add(self, payload: dict[str, Any]) -> bool:
        """One message; True when a partition's figures changed."""
        with self._lock:
            snap = self._assembler.add(payload)
            if snap is None:
                return False
            self.partials[snap.partition] = snap
            return True

    def per_unit(self) -> dict[str, Tally]:
        with self._lock:
            snaps = list(self.partials.values())
        total: dict[str, Tally] = {}
        for snap in snaps:
            for unit, tally in snap.units.items():
                into = total.setdefault(unit, {})
                for key, value in tally.items():
                    into[key] = into.get(key, 0) + value
        return total
