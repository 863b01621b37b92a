"""`ioc kpi --from-warehouse`: the Decision 766 replay over what the warehouse holds.

One code path for every reader of a stored period: the command line (``ioc kpi
--from-warehouse``) and the public pages (``/public/766``, dashboards/public/reports.py) both read
their inputs with :func:`read_rows` and :func:`parse_rows` (together :func:`read_inputs`) and
compute with :func:`reports` (the same :func:`ioc.commands.kpi_replay.replay_many` the file
replay uses), so a public number is the command's number for the same period and instant. The
public pages parse and replay in a worker process (the web process's requests must not wait
for seconds of folding), hence the split: the rows are read where the warehouse is.

Inputs, unless the command line names files instead: every stored dossier event once
(:func:`ioc.warehouse.queries.stored_events`), every stored petition
(:func:`~ioc.warehouse.queries.stored_petitions`), the stored procedure catalogue
(:func:`ioc.warehouse.catalogue_rows.stored_catalogue`; none stored: no catalogue), the
demonstrated province's unit levels, no national report, the scoring profile in force by date.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Collection, Sequence

from ioc.domain.events import DossierEvent
from ioc.kpi.indicators import DEFAULT_PROVINCE, Sources
from ioc.kpi.periods import Period
from ioc.warehouse.backends import Warehouse


@dataclass(frozen=True)
class WarehouseInputs:
    """What a replay of stored periods reads, once: events, petitions and the sources."""

    events: list[DossierEvent]
    petitions: list[Any]
    sources: Sources


def command_sources(catalogue: str | None = None, national_report: str | None = None,
                    profile: str | None = None) -> Sources:
    """The sources of ``ioc kpi --from-warehouse`` from its options (files read and validated);
    with none given, what the public pages use."""
    from ioc.commands.kpi_replay import load_sources

    return load_sources(catalogue, national_report, profile, True)


@dataclass(frozen=True)
class StoredRows:
    """:class:`WarehouseInputs` before parsing: the stored events' and petitions' JSON, and the
    sources with the stored catalogue (picklable: a replay may run in another process)."""

    events: list[str]
    petitions: list[str] | list[Any]  # JSON texts, or petitions already read from a file
    sources: Sources


def read_rows(wh: Warehouse, sources: Sources, pakn_file: str | None = None) -> StoredRows:
    """The stored events and petitions (or ``pakn_file``'s, read), and ``sources`` with the
    stored catalogue when none was given."""
    from ioc.commands.kpi_replay import read_petitions
    from ioc.warehouse.catalogue_rows import stored_catalogue
    from ioc.warehouse.queries import stored_event_payloads, stored_petition_payloads

    events = stored_event_payloads(wh)
    petitions = read_petitions(Path(pakn_file)) if pakn_file else stored_petition_payloads(wh)
    if sources.catalogue is None:
        stored = stored_catalogue(wh)
        sources = replace(sources, catalogue=stored if stored.rows else None)
    return StoredRows(events, petitions, sources)


def parse_rows(rows: StoredRows) -> WarehouseInputs:
    """The events and petitions of :func:`read_rows`, parsed; a stored row that no longer
    parses is a ValueError naming it."""
    from ioc.warehouse.queries import parse_event_payloads, parse_petition_payloads

    petitions = rows.petitions
    if petitions and isinstance(petitions[0], str):
        petitions = parse_petition_payloads(petitions)
    return WarehouseInputs(parse_event_payloads(rows.events), list(petitions), rows.sources)


def read_inputs(wh: Warehouse, sources: Sources, pakn_file: str | None = None) -> WarehouseInputs:
    """The stored events and petitions (or ``pakn_file``'s), and ``sources`` with the stored
    catalogue when none was given. A stored row that no longer parses is a ValueError naming it."""
    return parse_rows(read_rows(wh, sources, pakn_file))


def reports(inputs: WarehouseInputs, periods: Sequence[Period], at: datetime, *,
            units: Collection[str] | None = None, procedure: str | None = None,
            province: str = DEFAULT_PROVINCE) -> list[dict[str, Any]]:
    """The contract §3 report of each period evaluated at ``at`` (one fold for all of them)."""
    from ioc.commands.kpi_replay import replay_many

    return replay_many(inputs.events, periods, at, units=units, procedure=procedure, province=province,
                       sources=inputs.sources, petitions=inputs.petitions)


# -- a replay in a worker process (the public pages) ----------------------------------------------

_WORKER_INPUTS: tuple[Any, WarehouseInputs] | None = None  # in the worker: the last rows parsed, by key


class RowsNeeded(LookupError):
    """The worker holds no rows for that key (it started anew): send them."""


def replay_in_worker(key: Any, rows: StoredRows | None, periods: Sequence[Period], at: datetime,
                     province: str = DEFAULT_PROVINCE) -> list[dict[str, Any]]:
    """:func:`reports` in a worker process, without the dossier lists (aggregates only). ``rows``
    are parsed and kept under ``key``; None: the rows of the last call with that ``key``."""
    global _WORKER_INPUTS
    if rows is not None:
        _WORKER_INPUTS = None  # the previous rows go first: one copy in memory
        _WORKER_INPUTS = (key, parse_rows(rows))
    if _WORKER_INPUTS is None or _WORKER_INPUTS[0] != key:
        raise RowsNeeded(str(key))
    out = reports(_WORKER_INPUTS[1], periods, at, province=province)
    for report in out:
        report.pop("dossiers", None)
    return out


__all__ = ["RowsNeeded", "StoredRows", "WarehouseInputs", "command_sources", "parse_rows", "read_inputs", "read_rows",
           "replay_in_worker", "reports"]
