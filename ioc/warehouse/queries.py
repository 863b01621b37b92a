"""The warehouse queries, written once for both engines (``{name:Type}`` parameters).

Counts use ``uniqExact(event_id)`` so a duplicate that the ReplacingMergeTree has not yet
merged away is never counted twice.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Callable

from ioc.domain.events import DossierEvent, EventRejected, parse_event
from ioc.warehouse.backends import Warehouse
from ioc.warehouse.schema import DEADLETTER, DOSSIER_DAILY, DOSSIER_EVENTS, KPI_SNAPSHOTS


def table_counts(wh: Warehouse) -> dict[str, int]:
    db = wh.database
    (events,), = wh.query(f"SELECT uniqExact(event_id) FROM {db}.{DOSSIER_EVENTS.name}")
    (rows,), = wh.query(f"SELECT count() FROM {db}.{DOSSIER_EVENTS.name}")
    (snapshots,), = wh.query(f"SELECT count() FROM {db}.{KPI_SNAPSHOTS.name}")
    (dead,), = wh.query(
        f"SELECT uniqExact(source_topic, source_partition, source_offset, item_hash) FROM {db}.{DEADLETTER.name}"
    )
    return {"dossier_events": int(events), "dossier_event_rows": int(rows),
            "kpi_snapshots": int(snapshots), "deadletter": int(dead)}


def received_per_day(wh: Warehouse, since: date) -> list[tuple[str, int]]:
    """Dossiers received (status 2) per local day since ``since``, for the wall's trend
    (from the daily rollup: a few rows per unit and day instead of every event)."""
    rows = wh.query(
        f"""
        SELECT toString(day), uniqExactMerge(dossiers)
        FROM {wh.database}.{DOSSIER_DAILY.name}
        WHERE status = 2 AND day >= toDate({{since:String}})
        GROUP BY day ORDER BY day
        """,
        {"since": since.isoformat()},
    )
    return [(str(d), int(n)) for d, n in rows]


def unit_events(wh: Warehouse, unit_code: str, since: datetime) -> list[DossierEvent]:
    """Every stored event (once per event id) of the dossiers of ``unit_code`` that are still
    open (no end status 7-10 stored) or have an event at or after ``since``: what a drill-down
    needs to fold and judge the unit's dossiers of a period started at ``since``, however long
    ago an open one was received. All of such a dossier's events are read, even one filed under
    another unit, so its state is the one the stream folds."""
    rows = wh.query(
        f"""
        SELECT any(payload)
        FROM {wh.database}.{DOSSIER_EVENTS.name}
        WHERE dossier_code IN (
            SELECT dossier_code FROM {wh.database}.{DOSSIER_EVENTS.name}
            WHERE unit_code = {{unit:String}}
            GROUP BY dossier_code
            HAVING max(occurred_at) >= toDateTime({{since:UInt32}}) OR countIf(status >= 7 AND status <= 10) = 0
        )
        GROUP BY event_id
        """,
        {"unit": unit_code, "since": int(since.timestamp())},
    )
    return _events(rows, f"of unit {unit_code} ")


def stored_events(wh: Warehouse) -> list[DossierEvent]:
    """Every stored event once (the table may still hold an unmerged duplicate)."""
    return _events(wh.query(f"SELECT any(payload) FROM {wh.database}.{DOSSIER_EVENTS.name} GROUP BY event_id"))


def stored_petitions(wh: Warehouse) -> list[Any]:
    """Every stored petition (PAKN) event once (ioc.domain.pakn.PaknEvent)."""
    from ioc.domain.pakn import parse_pakn_event
    from ioc.warehouse.schema import PAKN_EVENTS

    rows = wh.query(f"SELECT any(payload) FROM {wh.database}.{PAKN_EVENTS.name} GROUP BY event_id")
    return _events(rows, "", parse_pakn_event)


def _events(rows: list[tuple[Any, ...]], what: str = "", parse: Callable[[Any], Any] = parse_event) -> list[Any]:
    """Stored payloads back into events; one that no longer parses is a ValueError naming it."""
    events = []
    for (payload,) in rows:
        try:
            events.append(parse(json.loads(payload)))
        except (ValueError, EventRejected) as exc:
            raise ValueError(f"a stored event {what}does not parse ({exc}): {payload[:200]}") from None
    return events
