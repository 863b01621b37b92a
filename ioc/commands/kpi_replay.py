"""`ioc kpi --events FILE`: replay a file of dossier events into the Decision 766 report.

Why offline: to reconcile a period with the national portal, or to check the live wall, from the
same events and the same pure code (:mod:`ioc.kpi.indicators`) the stream agents use.

Input (contracts.md §2): the files ``ioc import`` reads, through the same reader
(:func:`ioc.ingest.parsing.file_events`): JSONL, CSV (``,``, ``;`` or tab separated) or .xlsx,
chosen by the extension. A missing column is named by the first row that needs it; the first
bad row stops the replay with ``FILE:LINE: field: problem`` (exit status 2); an empty file gives
an empty report.

Replay: only events that occurred by ``at`` are applied (the report is what was known at ``at``),
folded per dossier in a canonical order (event time, then id), so the report depends on the set
of events only, even where events of one dossier disagree on its unit or procedure.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Collection, Iterable, Sequence

from ioc.clock import LOCAL_TZ
from ioc.domain.dossier import fold
from ioc.domain.events import DossierEvent
from ioc.errors import UserInputError
from ioc.ingest.parsing import file_events
from ioc.kpi.indicators import DEFAULT_PROVINCE, Sources, compute
from ioc.kpi.periods import Period, resolve


def read_events(path: Path, naive_tz: tzinfo = LOCAL_TZ) -> list[DossierEvent]:
    """Every event of ``path``, validated; the first bad row raises :class:`UserInputError`.
    Spreadsheet dates without an offset are read in ``naive_tz``, as ``ioc import`` does."""
    return [event for _, event in file_events(path, naive_tz, required=())]


def replay(
    events: Iterable[DossierEvent],
    period: Period,
    at: datetime,
    *,
    units: Collection[str] | None = None,
    procedure: str | None = None,
    province: str = DEFAULT_PROVINCE,
    sources: Sources = Sources(),
    petitions: Iterable[Any] = (),
) -> dict[str, Any]:
    """The contract §3 JSON of ``events`` (and ``petitions``, PAKN events) for ``period`` at ``at``."""
    return replay_many(events, (period,), at, units=units, procedure=procedure, province=province,
                       sources=sources, petitions=petitions)[0]


def replay_many(
    events: Iterable[DossierEvent],
    periods: Sequence[Period],
    at: datetime,
    *,
    units: Collection[str] | None = None,
    procedure: str | None = None,
    province: str = DEFAULT_PROVINCE,
    sources: Sources = Sources(),
    petitions: Iterable[Any] = (),
) -> list[dict[str, Any]]:
    """:func:`replay` of several periods evaluated at the same ``at``: the events are folded once
    (the fold depends on ``at`` only), each period is computed from the same states. Each report
    is the one :func:`replay` gives for its period alone (the public pages compute this month,
    quarter and year at the same instant)."""
    petitions = list(petitions)
    try:
        if petitions or sources.pakn:
            from ioc.kpi.pakn import complaint_links, fold_pakn

            states = fold(events, at, complaint_links(petitions, at))
            with_pakn = replace(sources, pakn=True)
            folded = fold_pakn(petitions, at)
            return [compute(states, period, at, procedure=procedure, units=units, province=province,
                            sources=with_pakn, petitions=folded).to_json() for period in periods]
        states = fold(events, at)
        return [compute(states, period, at, procedure=procedure, units=units, province=province,
                        sources=sources).to_json() for period in periods]
    except ValueError as exc:
        raise UserInputError(f"ioc kpi: {exc}") from None


def load_sources(catalogue: str | None, national_report: str | None, profile: str | None,
                 pakn: bool, unit_levels: dict[str, str] | None = None) -> Sources:
    """The replay's sources from the command line's files (each read and validated whole)."""
    from ioc.kpi.national import NationalReport
    from ioc.kpi.scoring import PROFILES

    if profile is not None and profile not in PROFILES:
        raise UserInputError(f"ioc kpi: --profile: unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    cat = None
    if catalogue is not None:
        from ioc.reference.catalogue import read_catalogue

        cat = read_catalogue(Path(catalogue))
    report = NationalReport.read(Path(national_report)) if national_report is not None else None
    return Sources(catalogue=cat, pakn=pakn, national_report=report, unit_levels=unit_levels or default_unit_levels(),
                   profile=profile)


def default_unit_levels() -> dict[str, str]:
    """Levels of the demonstrated province's agencies (the simulator's units): other units'
    levels are inferred from their procedures (ioc.kpi.indicators.unit_level)."""
    from ioc.sim.population import population

    return {u.code: u.level for u in population("province").units.values()}


def read_petitions(path: Path) -> list[Any]:
    from ioc.ingest.parsing import file_pakn_events

    return [event for _, event in file_pakn_events(path)]


def run(
    events_path: Path,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    at: str | None = None,
    units: Collection[str] | None = None,
    procedure: str | None = None,
    province: str = DEFAULT_PROVINCE,
    now: datetime,
    catalogue: str | None = None,
    pakn: str | None = None,
    national_report: str | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """`ioc kpi --events`: texts from the command line in, the report out (``now``: the default
    evaluation instant when neither a period nor ``--at`` is given)."""
    try:
        chosen, instant = resolve(period, start, end, at, now)
    except ValueError as exc:
        raise UserInputError(f"ioc kpi: {exc}") from None
    if not province.strip():
        raise UserInputError("ioc kpi: --province: must not be empty")
    sources = load_sources(catalogue, national_report, profile, pakn is not None)
    petitions = read_petitions(Path(pakn)) if pakn is not None else []
    return replay(read_events(events_path), chosen, instant, units=units, procedure=procedure, province=province,
                  sources=sources, petitions=petitions)
