"""`ioc kpi --from-warehouse`: the Decision 766 replay over what the warehouse holds.

One code path for every reader of a stored period: the command line (``ioc kpi
--from-warehouse``) and the public pages (``/public/766``, dashboards/public/reports.py) both read
their inputs with :func:`read_inputs` and compute with :func:`reports` (the same
:func:`ioc.commands.kpi_replay.replay_many` the file replay uses), so a public number is the
command's number for the same period and instant.

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


def read_inputs(wh: Warehouse, sources: Sources, pakn_file: str | None = None) -> WarehouseInputs:
    """The stored events and petitions (or ``pakn_file``'s), and ``sources`` with the stored
    catalogue when none was given. A stored row that no longer parses is a ValueError naming it."""
    from ioc.commands.kpi_replay import read_petitions
    from ioc.warehouse.catalogue_rows import stored_catalogue
    from ioc.warehouse.queries import stored_events, stored_petitions

    events = stored_events(wh)
    petitions = read_petitions(Path(pakn_file)) if pakn_file else stored_petitions(wh)
    if sources.catalogue is None:
        stored = stored_catalogue(wh)
        sources = replace(sources, catalogue=stored if stored.rows else None)
    return WarehouseInputs(events, petitions, sources)


def reports(inputs: WarehouseInputs, periods: Sequence[Period], at: datetime, *,
            units: Collection[str] | None = None, procedure: str | None = None,
            province: str = DEFAULT_PROVINCE) -> list[dict[str, Any]]:
    """The contract §3 report of each period evaluated at ``at`` (one fold for all of them)."""
    from ioc.commands.kpi_replay import replay_many

    return replay_many(inputs.events, periods, at, units=units, procedure=procedure, province=province,
                       sources=inputs.sources, petitions=inputs.petitions)


__all__ = ["WarehouseInputs", "command_sources", "read_inputs", "reports"]
