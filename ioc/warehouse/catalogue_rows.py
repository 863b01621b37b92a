"""The procedure catalogue in the warehouse: rows of ``procedure_catalogue`` and back.

Written by ``ioc catalogue import`` directly and by the sink from the catalogue topic (the
rows `ioc up` publishes, or an import while the embedded warehouse is held by the running
stack). The table is a ReplacingMergeTree on ``(procedure_code, valid_from)``: importing a row
again replaces it; queries take the latest import per key, so they are exact before merges too.

The SAMPLE catalogue that `ioc up` publishes on an empty topic (header ``ioc-source: sample``)
is stored with the lowest version (:data:`SAMPLE_VERSION`), so it never replaces a row that was
imported: an embedded broker starts empty at every `ioc up`, the warehouse does not.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Iterable

from ioc.reference.catalogue import BOOL_COLUMNS, Catalogue, CatalogueRow
from ioc.warehouse.backends import Row, Warehouse
from ioc.warehouse.schema import PROCEDURE_CATALOGUE

SOURCE_HEADER = "ioc-source"  # who published a catalogue message: "sample", or "import:FILE"
SAMPLE_SOURCE = b"sample"
SAMPLE_VERSION = datetime(1970, 1, 2, tzinfo=timezone.utc)  # older than any import


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def catalogue_table_row(row: CatalogueRow, imported_at: datetime) -> Row:
    """One catalogue row as a row of ``procedure_catalogue``."""
    out: Row = {
        "procedure_code": row.procedure_code,
        "valid_from": row.valid_from.isoformat(),
        "unit_codes": list(row.unit_codes),
        "row_json": json.dumps(row.to_json(), ensure_ascii=False, sort_keys=True),
        "imported_at": imported_at,
    }
    for name in ("name", "level", "online", "legal_basis_effective", "decision_date", "published_date"):
        out[name] = _text(getattr(row, name))
    for name in BOOL_COLUMNS:
        value = getattr(row, name)
        out[name] = None if value is None else int(value)
    return out


def catalogue_rows(value: bytes | None, imported_at: datetime,
                   headers: Iterable[tuple[str, bytes]] | None = None) -> list[Row]:
    """A message of the catalogue topic (one row's JSON; a tombstone has none) as table rows;
    the SAMPLE's rows get :data:`SAMPLE_VERSION`."""
    if value is None:
        return []
    if any(k == SOURCE_HEADER and v == SAMPLE_SOURCE for k, v in headers or ()):
        imported_at = SAMPLE_VERSION
    return [catalogue_table_row(CatalogueRow.from_json(json.loads(value)), imported_at)]


def stored_catalogue(wh: Warehouse, imported_only: bool = False) -> Catalogue:
    """The catalogue as stored: the latest import of each ``(procedure_code, valid_from)``
    (``imported_only``: leave out the rows stored from the SAMPLE)."""
    where = f"WHERE toUnixTimestamp(imported_at) > {int(SAMPLE_VERSION.timestamp())} " if imported_only else ""
    rows = wh.query(
        f"SELECT argMax(row_json, imported_at) FROM {wh.database}.{PROCEDURE_CATALOGUE.name} {where}"
        "GROUP BY procedure_code, valid_from ORDER BY procedure_code, valid_from"
    )
    return Catalogue(tuple(CatalogueRow.from_json(json.loads(text)) for (text,) in rows))
