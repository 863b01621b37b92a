"""Warehouse rows as an Arrow table, the form chDB reads cheapest (its Python() table function).

Measured on 50,000 dossier events (README, Benchmarks): JSONEachRow with best-effort dates cost
chDB ~7 us an event to parse and ~13-16 us to store in all; the Arrow table ~2-3 us to build and
~3 us to store.
"""

from __future__ import annotations

import re
from datetime import timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo

import pyarrow as pa

from ioc.warehouse.schema import Table

_ARROW_TYPES = {
    "String": pa.string(), "UInt8": pa.uint8(), "UInt16": pa.uint16(), "UInt32": pa.uint32(),
    "UInt64": pa.uint64(), "Int64": pa.int64(), "Float32": pa.float32(), "Float64": pa.float64(),
}
_WRAPPER = re.compile(r"^(?:LowCardinality|Nullable)\((.*)\)$")


def arrow_type(ch_type: str) -> pa.DataType:
    """The Arrow type a ClickHouse column of ``ch_type`` is filled from (every Arrow column takes nulls)."""
    while (inner := _WRAPPER.match(ch_type)) is not None:
        ch_type = inner.group(1)
    if ch_type.startswith("DateTime64("):
        # Aware datetimes become instants; the column's zone only says how they are shown.
        return pa.timestamp("us", tz="UTC")
    if ch_type.startswith("Array("):
        return pa.list_(arrow_type(ch_type[len("Array("):-1]))
    try:
        return _ARROW_TYPES[ch_type]
    except KeyError:
        raise ValueError(f"no Arrow type for the ClickHouse type {ch_type}") from None


_ZONE = re.compile(r"DateTime64\(\d+,\s*'([^']+)'\)")


def _aware(values: list[Any], ch_type: str) -> list[Any]:
    """Naive times read as the column's zone, as ClickHouse reads a text time without an offset
    (Arrow would take them for UTC); aware ones, the rule, pass untouched."""
    if all(v is None or v.tzinfo is not None for v in values):
        return values
    match = _ZONE.search(ch_type)
    zone = ZoneInfo(match.group(1)) if match else timezone.utc
    return [v.replace(tzinfo=zone) if v is not None and v.tzinfo is None else v for v in values]


def arrow_table(table: Table, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """``rows`` as an Arrow table of ``table``'s columns (a missing key is null)."""
    columns = {}
    for column in table.columns:
        name = column.name
        try:
            values = [r.get(name) for r in rows]
            if "DateTime64(" in column.type:
                values = _aware(values, column.type)
            columns[name] = pa.array(values, type=arrow_type(column.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ValueError(f"{table.name}.{name}: {exc}") from None
        except AttributeError:  # not a time at all
            raise ValueError(f"{table.name}.{name}: expected times, got {values!r:.200}") from None
    return pa.table(columns)
