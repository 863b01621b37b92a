"""Decision 766 indicators, per unit and for the province, from dossier states.

Why: the wall must reconcile with the national portal (domain.md §2.4), so every indicator is a
numerator/denominator pair scored by :mod:`ioc.kpi.scoring`, per evaluated unit (the events'
``unit_code``) and for all units together (the province). Pure: states in, a :class:`Report`
out; the same states in any order give the same report (outputs are sorted).

What the events can support (contracts.md §2 fields). Absent means "not computed", never 0:

| id   | here? | numerator ÷ denominator (rules below), or why not                                    |
|------|-------|--------------------------------------------------------------------------------------|
| 1.1  | no    | publication decisions (QĐCB) of the procedure catalogue: not in dossier events       |
| 1.2  | no    | catalogue publication dates on CSDL QG TTHC                                          |
| 1.3  | no    | catalogue contents (7 components per procedure)                                      |
| 1.4  | no    | needs the national-report count; from our own events it would be 1 by construction   |
| 2.1  | yes   | early + on_time + in_progress_on_time ÷ counted dossiers (A, B)                      |
| 2.2  | yes * | Σ processing working days ÷ dossiers finished in the period (C, E); monitor only     |
| 3.1  | no    | procedures offering online services: catalogue                                       |
| 3.2  | no    | online services with ≥ 1 online dossier ÷ online services: catalogue                 |
| 3.3  | yes   | channel 2 ÷ received in the period (C); unknown channel = not online (**)            |
| 3.5  | no    | fee-bearing procedures integrated with online payment: catalogue                     |
| 3.5b | no    | fee-bearing procedures of the catalogue, also those without a dossier in the period  |
| 3.6  | yes   | online_payment 1 or 2 ÷ received in the period with fee_amount > 0 (C)               |
| 4.1  | yes   | e_result ÷ finished in the period (C); every finished dossier (***)                  |
| 4.2  | yes   | digitized and, once finished, e_result ÷ received in the period                      |
| 4.x  | no    | certified electronic copies: no field (the portal shows null counts)                 |
| 4.3  | yes   | reused_data ÷ received in the period                                                 |
| 4.4  | no    | data taken from / pushed to the citizen's DVCQG store: no field                      |
| 4.5a | no    | procedures whose subjects are citizens: catalogue                                    |
| 4.5b | yes   | population_db ÷ received in the period                                               |
| 5.1  | no    | complaints (PAKN) by category: no PAKN data                                          |
| 5.2  | no    | PAKN handled on time: no PAKN data                                                   |
| 5.3  | no    | satisfaction with PAKN handling: no PAKN data                                        |
| 5.4  | yes   | counted − overdue − complained-or-dissatisfied ÷ counted, clamped at 0 (A, D)        |

(*) only with a procedure filter, as the portal shows it; no score. (**) the portal counts direct
as "1 or null"; its "× sync ratio" (needs 1.4) and "e-result of a paper-result procedure" (needs
the catalogue) parts are left out. (***) the "procedures that issue a paper result" filter needs
the catalogue.

Rules decided here:

A. *Counted dossiers* (2.1, 5.4): received by ``at`` and *processed in the period* - its processing
   ``[received, end)`` meets ``[from, to)``: received before the period end, and not ended before
   the period start (an open dossier has no end). This is "received in the period, or ended in
   it, or still open having been received before its end" (domain.md §1.3) and also keeps a
   dossier received before and finished after the period. Outcome ``not_counted`` (no deadline
   known) is left out of both numerator and denominator. Only facts dated by ``at`` count; a
   flag keeps only its latest value, so callers pass states folded from the events up to ``at``
   (the replay command does).
B. 2.1 is present whenever the unit has a counted dossier; every other indicator only when some
   dossier of its denominator's population carries the field it needs (absent = unknown): 3.3
   channel; 3.6 fee_amount, then online_payment unless no dossier has a fee (0/0 then scores 0,
   as the portal does for 3.6); 4.1 e_result; 4.2 digitized; 4.3 reused_data; 4.5b
   population_db; 5.4 rating or complaint. A flag unknown on one dossier does not put it in the
   numerator.
C. *Received in the period*: first status 2 in ``[from, to)`` and by ``at``. *Finished*: first
   status 9, else 10 (result ready / returned; stop and withdrawal produce no result).
D. 5.4 = 100 % − (overdue rate + complaint/dissatisfied rate) over the counted dossiers, as
   integers: numerator = counted − overdue (late or in_progress_overdue) − dossiers with a
   complaint or a "dissatisfied" rating (each dossier once, even with both), clamped at 0. The
   two rates add, so an overdue dossier with a complaint is subtracted twice, as the formula
   says.
E. Processing time (2.2 and the figure ``avg_processing_working_days``): office hours
   (07:30-11:30, 13:00-17:00) of working days between reception and the end, less the office
   hours of supplement pauses (status 5 until the next 4), divided by 8: working days, fractions
   kept. Half-up rounding, as the portal: 2.2's numerator to 0.0001 day, the average to 0.01.
F. Scoring profile: the registry in force on the period's last day (:func:`scoring.registry_for`).
G. Operational figures, per unit, at ``at``: ``received`` (rule C), ``finished`` (rule C, in the
   period), ``in_processing`` (counted or not, open at ``at``), ``due_today`` (open, appointment
   on the local day of ``at``), ``at_risk`` (open, not overdue, deadline by the end of the next
   working day: the day the apology letter is due, Decree 61 Art. 21; same rule as the live
   wall, a pending supplement does not exempt), ``overdue`` (open and overdue),
   ``early``/``on_time``/``late``/``not_counted`` (outcomes among the dossiers processed in the
   period), ``avg_processing_working_days`` (rule E over the finished ones, 2 decimals; None
   when none finished).
H. Units: a unit appears when it has a dossier processed in the period, or never received but
   with a fact in the period (it then shows as ``not_counted``); the province (its code a
   parameter) appears when any unit does, first, then units by code. A selection keeps only
   the named codes; the province is there only if named.
I. The dossier list: every in-scope dossier of the units shown (all of them with the province),
   by unit then code, with its outcome at ``at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any, Callable, Collection, Iterable

from ioc.domain.calendar import LOCAL_TZ, OFFICE_HOURS, WorkingCalendar
from ioc.domain.dossier import DossierState
from ioc.domain.events import LegalDuration, Status
from ioc.domain.outcome import DeadlineRule, Outcome, classify, deadline, end_of_processing
from ioc.kpi.periods import Period
from ioc.kpi.scoring import (
    IndicatorScore,
    Registry,
    band,
    registry_for,
    round_half_up,
    score_indicator,
    total_score,
)

DEFAULT_PROVINCE = "PROVINCE"
_ONE_US = timedelta(microseconds=1)
_DAY_HOURS = sum(
    (datetime.combine(date.min, b) - datetime.combine(date.min, a) for a, b in OFFICE_HOURS), timedelta()
)
_OVERDUE = (Outcome.LATE, Outcome.IN_PROGRESS_OVERDUE)


# --- one dossier --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """One dossier as the period sees it at ``at``."""

    state: DossierState
    outcome: Outcome
    received: datetime | None  # by ``at``
    end: datetime | None  # end of processing by ``at``
    finished: datetime | None  # result ready (9) or returned (10) by ``at``
    due: datetime | None
    in_scope: bool  # processed in the period (rule A), or never received with a fact in it (rule H)
    processed: bool  # rule A, whatever the outcome
    received_in_period: bool
    finished_in_period: bool
    processing: timedelta | None  # rule E, for the dossiers finished in the period

    @property
    def counted(self) -> bool:
        return self.processed and self.outcome is not Outcome.NOT_COUNTED

    @property
    def is_open(self) -> bool:
        return self.received is not None and self.end is None

    def known(self, name: str) -> bool:
        return (self.state.channel if name == "channel" else self.state.flag(name)) is not None

    def flag(self, name: str) -> Any:
        return self.state.flag(name)


def judge(state: DossierState, period: Period, at: datetime, rule: DeadlineRule, calendar: WorkingCalendar) -> Judged:
    received = state.received_at
    if received is not None and received > at:
        received = None
    end = end_of_processing(state)
    end = end if end is not None and end <= at and received is not None else None
    finished = state.first(Status.FINISHED) or state.first(Status.RETURNED)
    finished = finished if finished is not None and finished <= at and received is not None else None
    processed = received is not None and received < period.end and (end is None or end >= period.start)
    if received is None:
        in_scope = any(f.at in period and f.at <= at for f in state.facts)
    else:
        in_scope = processed
    finished_in_period = finished is not None and finished in period
    return Judged(
        state=state,
        outcome=classify(state, at, rule),
        received=received,
        end=end,
        finished=finished,
        due=deadline(state, rule),
        in_scope=in_scope,
        processed=processed,
        received_in_period=received is not None and received in period,
        finished_in_period=finished_in_period,
        processing=processing_time(state, received, finished, calendar)
        if finished_in_period and received is not None and finished is not None
        else None,
    )


def working_time(start: datetime, end: datetime, calendar: WorkingCalendar) -> timedelta:
    """Office hours of working days within ``[start, end)`` (local time)."""
    if end <= start:
        return timedelta()
    a, b = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    total = timedelta()
    day = a.date()
    while day <= b.date():
        if calendar.is_working_day(day):
            for open_, close in OFFICE_HOURS:
                lo = max(a, datetime.combine(day, open_, tzinfo=LOCAL_TZ))
                hi = min(b, datetime.combine(day, close, tzinfo=LOCAL_TZ))
                if hi > lo:
                    total += hi - lo
        day += timedelta(days=1)
    return total


def processing_time(state: DossierState, received: datetime, end: datetime, calendar: WorkingCalendar) -> timedelta:
    """Rule E: working time from reception to ``end``, supplement pauses left out."""
    resumes = state.times_of(Status.PROCESSING)
    spans: list[tuple[datetime, datetime]] = []
    for requested in state.times_of(Status.SUPPLEMENT_REQUESTED):
        lo = max(requested, received)
        hi = min(next((t for t in resumes if t >= requested), end), end)
        if hi > lo:
            spans.append((lo, hi))
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(spans):  # two requests before one completion pause the clock once
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    paused = sum((working_time(lo, hi, calendar) for lo, hi in merged), timedelta())
    return max(timedelta(), working_time(received, end, calendar) - paused)


# --- indicators -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ratio:
    """A count indicator: population P, denominator D ⊆ P, numerator N ⊆ D (rule B)."""

    id: str
    population: Callable[[Judged], bool]
    denominator: Callable[[Judged], bool]
    numerator: Callable[[Judged], bool]
    numerator_fields: tuple[str, ...]
    denominator_field: str | None = None


def _fee(j: Judged) -> bool:
    fee = j.flag("fee_amount")
    return fee is not None and fee > 0


def _rip(j: Judged) -> bool:
    return j.received_in_period


def _digitised(j: Judged) -> bool:
    return j.flag("digitized") is True and (j.finished is None or j.flag("e_result") is True)


_RATIOS: tuple[_Ratio, ...] = (
    _Ratio("3.3", _rip, _rip, lambda j: j.state.channel == 2, ("channel",)),
    _Ratio("3.6", _rip, lambda j: _rip(j) and _fee(j), lambda j: j.flag("online_payment") in (1, 2),
           ("online_payment",), "fee_amount"),
    _Ratio("4.1", lambda j: j.finished_in_period, lambda j: j.finished_in_period, lambda j: j.flag("e_result") is True,
           ("e_result",)),
    _Ratio("4.2", _rip, _rip, _digitised, ("digitized",)),
    _Ratio("4.3", _rip, _rip, lambda j: j.flag("reused_data") is True, ("reused_data",)),
    _Ratio("4.5b", _rip, _rip, lambda j: j.flag("population_db") is True, ("population_db",)),
)


def _ratio(spec: _Ratio, dossiers: list[Judged], registry: Registry) -> IndicatorScore | None:
    population = [j for j in dossiers if spec.population(j)]
    den = [j for j in population if spec.denominator(j)]
    if spec.denominator_field is None:
        if not den:
            return None
    elif not any(j.known(spec.denominator_field) for j in population):
        return None
    if den and not any(j.known(f) for j in den for f in spec.numerator_fields):
        return None
    return score_indicator(spec.id, sum(spec.numerator(j) for j in den), len(den), registry)


def _satisfaction(counted: list[Judged], registry: Registry) -> IndicatorScore | None:
    """5.4, rule D."""
    if not any(j.known("rating") or j.known("complaint") for j in counted):
        return None
    overdue = sum(j.outcome in _OVERDUE for j in counted)
    unhappy = sum(j.flag("complaint") is True or j.flag("rating") == "dissatisfied" for j in counted)
    return score_indicator("5.4", max(0, len(counted) - overdue - unhappy), len(counted), registry)


def _processing_days(dossiers: list[Judged]) -> tuple[Fraction, int]:
    """(Σ processing working days, exact; count) over the dossiers finished in the period (rule E)."""
    done = [j.processing for j in dossiers if j.processing is not None]
    total = sum(done, timedelta())
    return Fraction(total // _ONE_US, _DAY_HOURS // _ONE_US), len(done)


def indicators_for(dossiers: list[Judged], registry: Registry, with_average: bool) -> dict[str, IndicatorScore]:
    """Every supported indicator the dossiers can support, in the registry's order."""
    out: dict[str, IndicatorScore] = {}
    counted = [j for j in dossiers if j.counted]
    if counted:
        out["2.1"] = score_indicator("2.1", sum(j.outcome.is_good for j in counted), len(counted), registry)
    if with_average:
        days, n = _processing_days(dossiers)
        if n:
            out["2.2"] = score_indicator("2.2", float(round_half_up(days, 4)), n, registry)
    for spec in _RATIOS:
        if (score := _ratio(spec, dossiers, registry)) is not None:
            out[spec.id] = score
    if (score := _satisfaction(counted, registry)) is not None:
        out["5.4"] = score
    order = {id_: i for i, id_ in enumerate(registry.indicator_ids)}
    return dict(sorted(out.items(), key=lambda kv: order[kv[0]]))


# --- operational figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    received: int
    finished: int
    in_processing: int
    due_today: int
    at_risk: int
    overdue: int
    early: int
    on_time: int
    late: int
    not_counted: int
    avg_processing_working_days: float | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def operational_figures(dossiers: list[Judged], at: datetime, calendar: WorkingCalendar) -> Figures:
    """Rule G."""
    today = at.astimezone(LOCAL_TZ).date()
    horizon = calendar.next_working_day(today)
    open_ = [j for j in dossiers if j.is_open and j.in_scope]
    due_days = [(j, j.due.astimezone(LOCAL_TZ).date()) for j in open_ if j.due is not None]
    processed = [j for j in dossiers if j.processed]
    days, n = _processing_days(dossiers)
    return Figures(
        received=sum(j.received_in_period for j in dossiers),
        finished=n,
        in_processing=len(open_),
        due_today=sum(d == today for _, d in due_days),
        at_risk=sum(j.outcome is Outcome.IN_PROGRESS_ON_TIME and d <= horizon for j, d in due_days),
        overdue=sum(j.outcome is Outcome.IN_PROGRESS_OVERDUE for j in open_),
        early=sum(j.outcome is Outcome.EARLY for j in processed),
        on_time=sum(j.outcome is Outcome.ON_TIME for j in processed),
        late=sum(j.outcome is Outcome.LATE for j in processed),
        not_counted=sum(j.outcome is Outcome.NOT_COUNTED for j in processed),
        avg_processing_working_days=float(round_half_up(days / n)) if n else None,
    )


# --- report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitReport:
    unit: str
    indicators: dict[str, IndicatorScore]
    total_score: float
    max_total: int  # the points the present indicators can earn (at most 100)
    band: str
    figures: Figures

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "indicators": {
                k: {n: v for n, v in s.to_json().items() if n != "indicator"} for k, s in self.indicators.items()
            },
            "total_score": self.total_score,
            "max_total": self.max_total,
            "band": self.band,
            "figures": self.figures.to_json(),
        }


@dataclass(frozen=True)
class DossierLine:
    dossier_code: str
    unit: str
    outcome: Outcome

    def to_json(self) -> dict[str, str]:
        return {"dossier_code": self.dossier_code, "unit": self.unit, "outcome": self.outcome.value}


@dataclass(frozen=True)
class Report:
    period: Period
    at: datetime
    units: tuple[UnitReport, ...]
    dossiers: tuple[DossierLine, ...]

    def to_json(self) -> dict[str, Any]:
        """The contract shape (contracts.md §3)."""
        return {
            "period": self.period.to_json(self.at),
            "units": [u.to_json() for u in self.units],
            "dossiers": [d.to_json() for d in self.dossiers],
        }


def unit_report(
    unit: str, dossiers: list[Judged], at: datetime, registry: Registry, calendar: WorkingCalendar, with_average: bool
) -> UnitReport:
    scores = indicators_for(dossiers, registry, with_average)
    total = total_score(scores.values(), registry)
    max_total = sum(s.max_score for s in scores.values() if registry.rule(s.indicator).scored)
    figures = operational_figures(dossiers, at, calendar)
    return UnitReport(unit, scores, total, max_total, band(total, registry)[0], figures)


def compute(
    states: Iterable[DossierState],
    period: Period,
    at: datetime,
    *,
    procedure: str | None = None,
    units: Collection[str] | None = None,
    province: str = DEFAULT_PROVINCE,
    calendar: WorkingCalendar | None = None,
    registry: Registry | None = None,
) -> Report:
    """The report of ``period`` evaluated at ``at`` (module docstring, rules A-I).

    ``procedure`` keeps only that procedure's dossiers (and shows 2.2); ``units`` keeps only the
    named unit codes (the province among them if named); ``province`` names the all-units row."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be timezone-aware, got {at.isoformat()}")
    calendar = calendar or WorkingCalendar()
    registry = registry or registry_for(period.end - _ONE_US)

    def rule(start: datetime, duration: LegalDuration) -> datetime:
        return calendar.add_duration(start, duration.value, duration.unit)

    judged = [
        judge(s, period, at, rule, calendar)
        for s in sorted(states, key=lambda s: (s.unit_code, s.dossier_code))
        if procedure is None or s.procedure_code == procedure
    ]
    judged = [j for j in judged if j.in_scope]
    by_unit: dict[str, list[Judged]] = {}
    for j in judged:
        by_unit.setdefault(j.state.unit_code, []).append(j)
    if province in by_unit:
        raise ValueError(f"province code {province!r} is also a unit code in the events; choose another")
    wanted = set(units) if units is not None else None
    with_average = procedure is not None
    reports = []
    if judged and (wanted is None or province in wanted):
        reports.append(unit_report(province, judged, at, registry, calendar, with_average))
    for code in sorted(by_unit):
        if wanted is None or code in wanted:
            reports.append(unit_report(code, by_unit[code], at, registry, calendar, with_average))
    shown = judged if wanted is None or province in wanted else [j for j in judged if j.state.unit_code in wanted]
    lines = tuple(DossierLine(j.state.dossier_code, j.state.unit_code, j.outcome) for j in shown)
    return Report(period, at.astimezone(LOCAL_TZ), tuple(reports), lines)


__all__ = [
    "DEFAULT_PROVINCE",
    "DossierLine",
    "Figures",
    "Judged",
    "Report",
    "UnitReport",
    "compute",
    "indicators_for",
    "judge",
    "operational_figures",
    "processing_time",
    "unit_report",
    "working_time",
]
