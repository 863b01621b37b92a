"""Warehouse rows as an Arrow table, the form chDB reads cheapest (its Python() table function).

Measured on 50,000 dossier events (README, Benchmarks): JSONEachRow with best-effort dates cost
chDB ~7 us an event to parse and ~13-16 us to store in all; the Arrow table ~2-3 us to build and
~3 us to store.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

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


def arrow_table(table: Table, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """``rows`` as an Arrow table of ``table``'s columns (a missing key is null)."""
    columns = {}
    for column in table.columns:
        name = column.name
        try:
            columns[name] = pa.array([r.get(name) for r in rows], type=arrow_type(column.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ValueError(f"{table.name}.{name}: {exc}") from None
    return pa.table(columns)
