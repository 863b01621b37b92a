"""The warehouse queries, written once for both engines (``{name:Type}`` parameters).

Counts use ``uniqExact(event_id)`` so a duplicate that the ReplacingMergeTree has not yet
merged away is never counted twice.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Callable

from ioc.domain.events import DossierEvent, EventRejected, parse_event
from ioc.kpi.snapshots import UNITS_PER_PART
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


def dossier_events_of(wh: Warehouse, dossier_code: str, limit: int = 1000) -> list[DossierEvent]:
    """Every stored event (once per event id) of one dossier, by its code: what the public
    dossier lookup folds (dashboards/public/lookup.py). At most ``limit`` events (a dossier has
    a handful; a code with more is not a real dossier's)."""
    rows = wh.query(
        f"""
        SELECT any(payload)
        FROM {wh.database}.{DOSSIER_EVENTS.name}
        WHERE dossier_code = {{code:String}}
        GROUP BY event_id
        LIMIT {int(limit)}
        """,
        {"code": dossier_code},
    )
    return _events(rows, "of a looked-up dossier ")


def inputs_fingerprint(wh: Warehouse, at: datetime) -> tuple[str, ...]:
    """What a replay evaluated at ``at`` reads, summarised: rows and the newest store time of the
    dossier and petition events that occurred by ``at``, and of the catalogue. Unchanged, a
    report computed from them is still exact (any new or replaced row changes the newest store
    time; a merge of duplicates only changes the count, and then the report is just computed
    again). The public pages use it to keep a closed period's report instead of replaying it."""
    from ioc.warehouse.schema import PAKN_EVENTS, PROCEDURE_CATALOGUE

    out: list[str] = []
    for table in (DOSSIER_EVENTS, PAKN_EVENTS):
        (n, newest), = wh.query(
            f"SELECT count(), toString(max(ingested_at)) FROM {wh.database}.{table.name} "
            "WHERE occurred_at <= toDateTime({at:UInt32})",
            {"at": int(at.timestamp())},
        )
        out += [str(n), str(newest)]
    (n, newest), = wh.query(
        f"SELECT count(), toString(max(imported_at)) FROM {wh.database}.{PROCEDURE_CATALOGUE.name}")
    return (*out, str(n), str(newest))


def stored_events(wh: Warehouse) -> list[DossierEvent]:
    """Every stored event once (the table may still hold an unmerged duplicate)."""
    return parse_event_payloads(stored_event_payloads(wh))


def stored_petitions(wh: Warehouse) -> list[Any]:
    """Every stored petition (PAKN) event once (ioc.domain.pakn.PaknEvent)."""
    return parse_petition_payloads(stored_petition_payloads(wh))


def stored_event_payloads(wh: Warehouse) -> list[str]:
    """:func:`stored_events` before parsing: the JSON of every stored event once (what another
    process can be handed to parse and replay: dashboards/public/reports.py)."""
    return [str(p) for (p,) in wh.query(f"SELECT any(payload) FROM {wh.database}.{DOSSIER_EVENTS.name} GROUP BY event_id")]


def stored_petition_payloads(wh: Warehouse) -> list[str]:
    from ioc.warehouse.schema import PAKN_EVENTS

    return [str(p) for (p,) in wh.query(f"SELECT any(payload) FROM {wh.database}.{PAKN_EVENTS.name} GROUP BY event_id")]


def parse_event_payloads(payloads: list[str]) -> list[DossierEvent]:
    return _events([(p,) for p in payloads])


def parse_petition_payloads(payloads: list[str]) -> list[Any]:
    from ioc.domain.pakn import parse_pakn_event

    return _events([(p,) for p in payloads], "", parse_pakn_event)


def _events(rows: list[tuple[Any, ...]], what: str = "", parse: Callable[[Any], Any] = parse_event) -> list[Any]:
    """Stored payloads back into events; one that no longer parses is a ValueError naming it."""
    events = []
    for (payload,) in rows:
        try:
            events.append(parse(json.loads(payload)))
        except (ValueError, EventRejected) as exc:
            raise ValueError(f"a stored event {what}does not parse ({exc}): {payload[:200]}") from None
    return events


def latest_snapshot_tallies(wh: Warehouse) -> dict[int, tuple[datetime, dict[str, dict[str, int]]]]:
    """Per source partition, its newest complete stored snapshot: (instant, unit -> tally).

    A snapshot is published in parts of ``UNITS_PER_PART`` units (ioc.kpi.snapshots), each
    stored whole, in order (the snapshot topic has one partition), but a snapshot's parts may
    land in two batches, so the newest instant can be half stored. Its stored units are then a
    multiple of ``UNITS_PER_PART`` (its last, shorter part is missing): the newest instant is
    read unless its count is such a multiple, else the one before it, which a newer one
    followed and is therefore whole (the newest, when a partition has only one). A clean stop
    ends on a whole snapshot of every partition (streams/agents.py), which is then the one read."""
    db, table = wh.database, KPI_SNAPSHOTS.name
    newest = wh.query(f"SELECT source_partition, max(computed_ms) FROM {db}.{table} GROUP BY source_partition")
    out: dict[int, tuple[datetime, dict[str, dict[str, int]]]] = {}
    for partition, ms in newest:
        args = {"p": int(partition), "ms": int(ms)}
        (units,), = wh.query(f"SELECT uniqExact(unit_code) FROM {db}.{table} "
                             "WHERE source_partition = {p:UInt16} AND computed_ms = {ms:UInt64}", args)
        (before,), = wh.query(f"SELECT max(computed_ms) FROM {db}.{table} "
                              "WHERE source_partition = {p:UInt16} AND computed_ms < {ms:UInt64}", args)
        maybe_half = int(units) % UNITS_PER_PART == 0
        chosen = int(before) if maybe_half and before else int(ms)
        rows = wh.query(
            f"SELECT unit_code, any(tally) FROM {db}.{table} "
            "WHERE source_partition = {p:UInt16} AND computed_ms = {ms:UInt64} GROUP BY unit_code",
            {"p": int(partition), "ms": chosen},
        )
        out[int(partition)] = (datetime.fromtimestamp(chosen / 1000, timezone.utc), {
            str(unit): {k: int(v) for k, v in json.loads(tally).items()} for unit, tally in rows})
    return out
