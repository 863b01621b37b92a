"""Past months of the public widgets, from the warehouse's ``kpi_snapshots``.

A snapshot row is one unit's month-to-date tally from one stream partition at ``computed_at``
(the same additive tally the live wall sums). A month's figures are therefore the last
snapshot of each partition within that month (local time), summed per unit: what the wall
showed at the end of the month. Written once for both engines (ClickHouse 18.16 included:
a tuple ``IN`` subquery rather than a multi-key JOIN)."""

from __future__ import annotations

import json
from datetime import datetime

from ioc.clock import LOCAL_TZ
from ioc.kpi.indicators import Tally, add_tally
from ioc.warehouse.backends import Warehouse
from ioc.warehouse.schema import KPI_SNAPSHOTS


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace(" ", "T")).replace(tzinfo=LOCAL_TZ)


def month_tallies(wh: Warehouse, month: str) -> tuple[datetime | None, dict[str, Tally]]:
    """(time of the oldest of the partitions' last snapshots, tallies per unit) of ``month``
    (``YYYY-MM``); (None, {}) when the warehouse has no snapshot of that month."""
    table = f"{wh.database}.{KPI_SNAPSHOTS.name}"
    rows = wh.query(
        f"""
        SELECT unit_code, tally, toString(computed_at)
        FROM {table}
        WHERE toYYYYMM(computed_at) = {{month:UInt32}}
          AND (source_partition, computed_at) IN (
              SELECT source_partition, max(computed_at) FROM {table}
              WHERE toYYYYMM(computed_at) = {{month:UInt32}}
              GROUP BY source_partition)
        """,
        {"month": int(month.replace("-", ""))},
    )
    per_unit: dict[str, Tally] = {}
    oldest: datetime | None = None
    for unit, tally_json, computed_at in rows:
        add_tally(per_unit.setdefault(str(unit), {}), {k: int(v) for k, v in json.loads(tally_json).items()})
        at = _instant(computed_at)
        oldest = at if oldest is None or at < oldest else oldest
    return oldest, {u: t for u, t in per_unit.items() if t}
