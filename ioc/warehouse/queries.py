"""The warehouse queries, written once for both engines (``{name:Type}`` parameters).

Counts use ``uniqExact(event_id)`` so a duplicate that the ReplacingMergeTree has not yet
merged away is never counted twice.
"""

from __future__ import annotations

from datetime import date

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
