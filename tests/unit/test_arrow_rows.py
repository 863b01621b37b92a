"""Warehouse rows as Arrow tables (chDB's insert path): types from the schema, clear errors."""

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from ioc.warehouse.arrow_rows import arrow_table, arrow_type
from ioc.warehouse.schema import DOSSIER_EVENTS, TABLES


def test_every_column_of_the_schema_has_an_arrow_type():
    for table in TABLES:
        for column in table.columns:
            arrow_type(column.type)  # raises for a type the insert could not fill


def test_types_unwrap_low_cardinality_nullable_and_arrays():
    assert arrow_type("LowCardinality(String)") == pa.string()
    assert arrow_type("Nullable(UInt16)") == pa.uint16()
    assert arrow_type("Array(String)") == pa.list_(pa.string())
    assert arrow_type("DateTime64(3, 'Asia/Ho_Chi_Minh')") == pa.timestamp("us", tz="UTC")
    with pytest.raises(ValueError, match="Decimal"):
        arrow_type("Decimal(9, 2)")


def test_a_missing_key_is_null_and_a_wrong_value_names_table_and_column():
    at = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
    row = {"event_id": "e", "dossier_code": "d", "status": 2, "occurred_at": at, "unit_code": "u",
           "procedure_code": "p", "agency_code": "", "channel": 1, "payload": "{}", "ingested_at": at}
    t = arrow_table(DOSSIER_EVENTS, [row])
    assert t.column_names == list(DOSSIER_EVENTS.column_names)
    assert t.column("due_at").to_pylist() == [None]
    assert t.column("occurred_at").to_pylist() == [at]
    with pytest.raises(ValueError, match=r"dossier_events\.occurred_at"):
        arrow_table(DOSSIER_EVENTS, [{**row, "occurred_at": "2026-01-05T08:00:00+07:00"}])
    with pytest.raises(ValueError, match=r"dossier_events\.status"):
        arrow_table(DOSSIER_EVENTS, [{**row, "status": "two"}])


def test_a_naive_time_is_read_in_the_columns_zone_as_clickhouse_reads_text():
    at = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
    row = {"event_id": "e", "dossier_code": "d", "status": 2, "occurred_at": datetime(2026, 1, 5, 8, 0),
           "unit_code": "u", "procedure_code": "p", "agency_code": "", "channel": 1, "payload": "{}", "ingested_at": at}
    t = arrow_table(DOSSIER_EVENTS, [row])
    assert t.column("occurred_at").to_pylist() == [at]  # 08:00 in Vietnam is 01:00 UTC
