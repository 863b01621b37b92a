"""Decision 766 indicators, per unit and for the province, from dossier states.

Why: the wall must reconcile with the national portal (domain.md §2.4), so every indicator is a
numerator/denominator pair scored by :mod:`ioc.kpi.scoring`, per evaluated unit (the events'
``unit_code``) and for all units together (the province). Pure: states in, a :class:`Report`
out; the same states in any order give the same report (outputs are sorted).

Where each indicator comes from. Absent means "not computed" (the report says why), never 0:

| id   | source     | numerator ÷ denominator (rules below)                                            |
|------|------------|----------------------------------------------------------------------------------|
| 1.1  | catalogue  | decisions in the period ≥ 5 WD (ministry 20) before the legal basis ÷ decisions   |
| 1.2  | catalogue  | of those, published ≤ 5 WD (ministry 10) after the decision ÷ decisions          |
| 1.3  | catalogue  | procedures with all 7 components ÷ procedures (ioc.kpi.catalogue_indicators)     |
| 1.4  | events     | received in the period with dvcqg_synced_at ÷ max(national report, synced) (K)    |
| 2.1  | events     | early + on_time + in_progress_on_time ÷ counted dossiers (A, B)                   |
| 2.2  | events     | Σ processing working days ÷ dossiers finished in the period (C, E); monitor only  |
| 3.1  | catalogue  | procedures online (full/partial) ÷ procedures; full ÷ eligible as an extra figure |
| 3.2  | both       | online procedures with ≥ 1 online dossier received in the period ÷ online ones    |
| 3.3  | events     | online (channel 2; a finished dossier of a paper-result procedure needs its      |
|      |            | e-result) ÷ received in the period (C), × the sync ratio of 1.4 when known (K)    |
| 3.4  | both       | online dossiers of full-online procedures ÷ dossiers of eligible procedures;      |
|      |            | scored only in the full-online profile (ioc.kpi.scoring.PROFILES)                 |
| 3.5  | catalogue  | fee procedures integrated with national payment ÷ fee procedures                  |
| 3.5b | both       | fee procedures with ≥ 1 dossier paid online received in the period ÷ fee ones     |
| 3.6  | events     | online_payment 1 or 2 ÷ received in the period of fee-bearing procedures (the     |
|      |            | catalogue's fee, else fee_amount > 0) less those whose fee is 0 (C)               |
| 4.1  | events     | e_result ÷ finished in the period of procedures issuing a paper result (C)        |
| 4.2  | events     | digitized and, once finished, e_result ÷ received in the period                   |
| 4.x  | both       | e_result ÷ finished certified-copy dossiers; 0/0 full marks (with a catalogue)    |
| 4.3  | events     | reused_data ÷ received in the period                                              |
| 4.4  | events     | dvcqg_store ÷ received in the period                                              |
| 4.5a | both       | citizen procedures with ≥ 1 population-DB dossier ÷ citizen procedures; not at     |
|      |            | commune level                                                                     |
| 4.5b | events     | population_db ÷ received in the period                                            |
| 5.1  | petitions  | monitor: by category (ioc.kpi.pakn)                                               |
| 5.2  | petitions  | handled within their limits ÷ petitions of the period (ioc.domain.pakn)           |
| 5.3  | petitions  | satisfactory ÷ petitions of the period                                            |
| 5.4  | both       | counted − overdue − complained-or-dissatisfied ÷ counted, clamped at 0 (A, D);    |
|      |            | a petition naming a dossier is a complaint about it                               |

"catalogue": the procedure catalogue in force on the period's last day (contracts.md §2b) over
the procedures the unit receives (the province: all); "both": catalogue × dossiers, through
per-procedure counts in the tally. Groups (the portal's five; G3 = online 12 + payment 10),
the total and the band: ``band`` only when the computed indicators are worth all 100 points.

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
K. 1.4's denominator: the national report's count for the unit and period, else last year's
   total / 12 (month) or / 4 (quarter), flagged TEMP_NATIONAL_REPORT_DENOMINATOR, else the
   dossiers received in the period (NO_NATIONAL_REPORT_DATA); at least the synced count
   (ioc.kpi.national). 1.4 is present when some dossier of the province carries a sync date or a
   report was given; 3.3 is then multiplied by 1.4's ratio (a weighted numerator, shown to 0.01).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any, Callable, Collection, Iterable, Mapping

from ioc.clock import LOCAL_TZ
from ioc.domain.calendar import OFFICE_HOURS, WorkingCalendar
from ioc.domain.dossier import PAKN_COMPLAINT, DossierState
from ioc.domain.events import Status
from ioc.domain.outcome import DeadlineRule, Outcome, classify, deadline, deadline_rule, end_of_processing
from ioc.kpi.catalogue_indicators import NOT_APPLICABLE, ONLINE_DOSSIER, PAID_ONLINE, POPULATION_DB, catalogue_indicators
from ioc.kpi.national import NationalReport, sync_denominator
from ioc.kpi.periods import Period
from ioc.kpi.scoring import (
    IndicatorScore,
    Registry,
    band,
    group_totals,
    registry_named,
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
PROCEDURE_DOSSIERS = "n:p:"  # dossiers received in the period, per procedure code


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
    """A count indicator: population P, denominator D ⊆ P, numerator N ⊆ D (rule B). Each
    predicate sees the dossier and its procedure's catalogue row (None: no catalogue given)."""

    id: str
    population: Callable[[Judged, Row], bool]
    denominator: Callable[[Judged, Row], bool]
    numerator: Callable[[Judged, Row], bool]
    numerator_fields: tuple[str, ...]
    denominator_field: str | None = None


Row = Any  # ioc.reference.catalogue.CatalogueRow | None (kept loose: the core does not import reference)


def _fee(j: Judged, row: Row) -> bool:
    """3.6's denominator: a fee-bearing procedure (the catalogue's word, else a fee on the dossier)
    less the dossiers whose fees are all 0."""
    fee = j.flag("fee_amount")
    if row is not None and row.fee is not None:
        return row.fee is True and fee != 0
    return fee is not None and fee > 0


def _rip(j: Judged, row: Row = None) -> bool:
    return j.received_in_period


def _digitised(j: Judged, row: Row) -> bool:
    """4.2: digitised, and once finished with its e-result "where applicable": a procedure the
    catalogue says issues no paper result has no e-result to give."""
    if j.flag("digitized") is not True:
        return False
    return j.finished is None or (row is not None and row.paper_result is False) or j.flag("e_result") is True


def _online(j: Judged, row: Row) -> bool:
    """3.3: an online dossier; for a procedure that issues a paper result, a finished one counts
    only with its e-result (domain.md §2.3: "plus e-result where the TTHC issues a paper result")."""
    if j.state.channel != 2:
        return False
    return not (row is not None and row.paper_result is True and j.finished is not None
                and j.flag("e_result") is not True)


def _paper(j: Judged, row: Row) -> bool:
    """4.1's denominator: finished dossiers of procedures that issue a paper result."""
    return j.finished_in_period and (row is None or row.paper_result is not False)


def _certified_copy(j: Judged, row: Row) -> bool:
    return j.finished_in_period and row is not None and row.certified_copy is True


def _full_online_eligible(j: Judged, row: Row) -> bool:
    return j.received_in_period and row is not None and row.full_online_eligible is True


_RATIOS: tuple[_Ratio, ...] = (
    _Ratio("3.3", _rip, _rip, _online, ("channel",)),
    _Ratio("3.4", _full_online_eligible, _full_online_eligible,
           lambda j, row: j.state.channel == 2 and row.online == "full", ("channel",)),
    _Ratio("3.6", _rip, lambda j, row: _rip(j) and _fee(j, row), lambda j, row: j.flag("online_payment") in (1, 2),
           ("online_payment",), "fee_amount"),
    _Ratio("4.1", lambda j, row: j.finished_in_period, _paper, lambda j, row: j.flag("e_result") is True,
           ("e_result",)),
    _Ratio("4.2", _rip, _rip, _digitised, ("digitized",)),
    _Ratio("4.3", _rip, _rip, lambda j, row: j.flag("reused_data") is True, ("reused_data",)),
    _Ratio("4.4", _rip, _rip, lambda j, row: j.flag("dvcqg_store") is True, ("dvcqg_store",)),
    _Ratio("4.5b", _rip, _rip, lambda j, row: j.flag("population_db") is True, ("population_db",)),
)
# 4.x counts e-results among certified-copy dossiers; its zero denominator earns full marks, so
# it is present whenever a catalogue is (the portal shows it for every unit).
_CERTIFIED = _Ratio("4.x", _certified_copy, _certified_copy, lambda j, row: j.flag("e_result") is True, ())


# --- tallies: additive per-dossier counts ----------------------------------------------------------
#
# Every indicator and figure is a function of sums over dossiers. A dossier's tally holds its share
# of each sum; a unit's tally is the sum of its dossiers' tallies, the province's the sum of its
# units'. The replay sums them once; the live stream agents keep them up to date dossier by dossier
# (ioc.kpi.live). One implementation, so the two cannot drift apart.

Tally = dict[str, int]


def add_tally(total: Tally, part: Tally, sign: int = 1) -> None:
    for key, value in part.items():
        left = total.get(key, 0) + sign * value
        if left:
            total[key] = left
        else:
            total.pop(key, None)


def _spec_keys(spec: _Ratio) -> tuple[str, str, str, str, str]:
    return (f"{spec.id}:population", f"{spec.id}:population_known", f"{spec.id}:den", f"{spec.id}:num",
            f"{spec.id}:num_known")


_SPECS = tuple((spec, _spec_keys(spec)) for spec in (*_RATIOS, _CERTIFIED))
_OPEN_KEYS = {o: o.value for o in Outcome}


def tally(j: Judged, at: datetime, calendar: WorkingCalendar, row: Row = None,
          days: tuple[date, date] | None = None) -> Tally:
    """One in-scope dossier's counts (empty when it is out of the period's scope); ``row`` is
    its procedure's catalogue row in force on the period's last day (None: no catalogue).
    ``days``: ``at``'s local date and the working day after it, when the caller has them (the
    live figures judge thousands of dossiers at one instant)."""
    t: Tally = {}
    if not j.in_scope:
        return t
    # (Written out rather than through a helper: the stream judges every changed dossier with it.)
    # Rule H: a dossier submitted online and not yet received still puts its unit on the
    # report; counted here so the live figures (which drop empty tallies) show the unit too.
    if j.received is None:
        t["awaiting_reception"] = 1
    outcome = j.outcome
    if j.counted:
        t["counted"] = 1
        if outcome.is_good:
            t["good"] = 1
        if outcome in _OVERDUE:
            t["counted_overdue"] = 1
        if (j.flag("complaint") is True or j.flag("rating") == "dissatisfied"
                or j.flag(PAKN_COMPLAINT) is True):
            t["counted_unhappy"] = 1
        if j.known("rating") or j.known("complaint") or j.known(PAKN_COMPLAINT):
            t["counted_rated"] = 1
    for spec, (k_pop, k_pop_known, k_den, k_num, k_num_known) in _SPECS:
        if not spec.population(j, row):
            continue
        if spec.denominator_field is not None:
            t[k_pop] = t.get(k_pop, 0) + 1
            if j.known(spec.denominator_field) or (row is not None and row.fee is not None):
                t[k_pop_known] = t.get(k_pop_known, 0) + 1
        if spec.denominator(j, row):
            t[k_den] = t.get(k_den, 0) + 1
            if spec.numerator(j, row):
                t[k_num] = t.get(k_num, 0) + 1
            if not spec.numerator_fields or any(j.known(f) for f in spec.numerator_fields):
                t[k_num_known] = t.get(k_num_known, 0) + 1
    if j.received_in_period:
        # 1.4 (synced to the national portal) and the per-procedure counts of the catalogue
        # indicators (ioc.kpi.catalogue_indicators).
        if j.known("dvcqg_synced_at"):
            t["1.4:synced"] = 1
        code = j.state.procedure_code
        t[PROCEDURE_DOSSIERS + code] = 1
        if j.state.channel == 2:
            t[ONLINE_DOSSIER + code] = 1
        if j.flag("online_payment") in (1, 2):
            t[PAID_ONLINE + code] = 1
        if j.flag("population_db") is True:
            t[POPULATION_DB + code] = 1
    if j.processing is not None:
        t["finished"] = 1
        processing_us = j.processing // _ONE_US
        if processing_us:
            t["processing_us"] = processing_us
    # Operational figures (rule G).
    if j.received_in_period:
        t["received"] = 1
    if j.is_open:
        t["in_processing"] = 1
        if outcome is Outcome.IN_PROGRESS_OVERDUE:
            t["overdue"] = 1
        if j.due is not None:
            if days is None:
                today = at.astimezone(LOCAL_TZ).date()
                days = (today, calendar.next_working_day(today))
            due_day = j.due.astimezone(LOCAL_TZ).date()
            if due_day == days[0]:
                t["due_today"] = 1
            if outcome is Outcome.IN_PROGRESS_ON_TIME and due_day <= days[1]:
                t["at_risk"] = 1
    if j.processed:
        key = _OPEN_KEYS[outcome]  # early, on_time, late, in_progress_*, not_counted
        t[key] = t.get(key, 0) + 1
    return t


def sum_tallies(parts: Iterable[Tally]) -> Tally:
    total: Tally = {}
    for part in parts:
        add_tally(total, part)
    return total


def _ratio_from(spec: _Ratio, t: Tally, registry: Registry, carried: frozenset[str]) -> IndicatorScore | None:
    """The indicator, or None when the unit's dossiers do not carry its facts. A unit with no
    dossier in its denominator scores as the portal's zero-denominator policy says (domain.md
    §2.5: null, 0 or full marks) when the input carries the facts elsewhere (``carried``)."""
    den = t.get(f"{spec.id}:den", 0)
    if spec.denominator_field is not None and not t.get(f"{spec.id}:population_known", 0):
        if t.get(f"{spec.id}:population", 0) or spec.id not in carried:
            return None  # its dossiers' fees are unknown, or no fee is known anywhere
    elif spec.denominator_field is None and not den and spec.id not in carried:
        return None
    if den and not t.get(f"{spec.id}:num_known", 0):
        return None
    return score_indicator(spec.id, t.get(f"{spec.id}:num", 0), den, registry)


def carried_by(whole: Tally) -> frozenset[str]:
    """The dossier indicators whose facts the input carries, judged over the whole input (the
    province's tally): a unit without a dossier in an indicator's denominator then shows that
    indicator with the portal's zero-denominator score instead of leaving it out, while a feed
    that never sends a field (no ``e_result`` anywhere) leaves it out with the reason. A unit
    whose own dossiers lack the field still leaves it out (``_ratio_from``).
    A ratio is carried when some dossier of its denominator carries its numerator's fields and,
    for 3.6, its population's fee is known."""
    out = set()
    for spec in (*_RATIOS, _CERTIFIED):
        if spec.denominator_field is not None and not whole.get(f"{spec.id}:population_known", 0):
            continue
        if whole.get(f"{spec.id}:num_known", 0):
            out.add(spec.id)
    if whole.get("1.4:synced", 0):
        out.add("1.4")
    if whole.get("counted_rated", 0):
        out.add("5.4")
    return frozenset(out)


def _processing_days(t: Tally) -> tuple[Fraction, int]:
    """(Σ processing working days, exact; count) over the dossiers finished in the period (rule E)."""
    return Fraction(t.get("processing_us", 0), _DAY_HOURS // _ONE_US), t.get("finished", 0)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: views are cached per Sources
class Sources:
    """What the index is computed from besides dossier events; an indicator whose source is
    absent is absent too, with the reason (never 0)."""

    catalogue: Any = None  # ioc.reference.catalogue.Catalogue: groups 1, 3, 4.5a, 4.x, the filters
    pakn: bool = False  # petitions were given: 5.1-5.3, and complaints about dossiers in 5.4
    national_report: NationalReport | None = None  # 1.4's denominator
    unit_levels: Mapping[str, str] = field(default_factory=dict)  # unit code -> province|commune
    profile: str | None = None  # scoring profile by name (ioc.kpi.scoring.PROFILES); None: by date

    def registry(self, period: Period) -> Registry:
        return registry_named(self.profile, period.end - _ONE_US)

    def rows(self, period: Period) -> dict[str, Row] | None:
        """The catalogue in force on the period's last day, by procedure code."""
        if self.catalogue is None:
            return None
        rows: dict[str, Row] = self.catalogue.in_force((period.end - _ONE_US).astimezone(LOCAL_TZ).date())
        return rows


@dataclass(frozen=True)
class Scope:
    """One row of the report: a unit, or the province (``members``: the units it sums)."""

    code: str
    members: frozenset[str] | None = None  # None: a unit

    @property
    def is_province(self) -> bool:
        return self.members is not None


def unit_level(sources: Sources, scope: Scope, t: Tally, in_force: dict[str, Row]) -> str | None:
    """The unit's level: known, else that of most catalogue procedures it received dossiers of."""
    if scope.is_province:
        return "province"
    if scope.code in sources.unit_levels:
        return sources.unit_levels[scope.code]
    levels = [in_force[k[len(PROCEDURE_DOSSIERS):]].level for k in t
              if k.startswith(PROCEDURE_DOSSIERS) and k[len(PROCEDURE_DOSSIERS):] in in_force]
    levels = [lv for lv in levels if lv]
    return max(sorted(set(levels)), key=levels.count) if levels else None


_NO_CATALOGUE = "no procedure catalogue given (ioc catalogue import / ioc kpi --catalogue)"
_REASONS = {
    "2.1": "no dossier processed in the period",
    "2.2": "shown only for one procedure (--procedure), as the portal",
    "1.4": "no dossier carries dvcqg_synced_at and no national report was given",
    "4.x": _NO_CATALOGUE,
    "5.1": "no petitions (PAKN) given", "5.2": "no petitions (PAKN) given", "5.3": "no petitions (PAKN) given",
    "5.4": "no dossier processed in the period carries a rating or complaint, and no petitions were given",
}


@dataclass(frozen=True)
class Computed:
    scores: dict[str, IndicatorScore]
    missing: dict[str, str]  # indicator -> why it is absent
    quality: dict[str, str]  # indicator -> data-quality flag (as the portal's)
    extra: dict[str, float]


def indicators_from(t: Tally, registry: Registry, with_average: bool, *, sources: Sources = Sources(),
                    period: Period | None = None, scope: Scope | None = None, carried: frozenset[str] | None = None,
                    calendar: WorkingCalendar | None = None, procedure: str | None = None) -> dict[str, IndicatorScore]:
    """Every indicator the tally and the sources support, in the registry's order."""
    return evaluate(t, registry, with_average, sources=sources, period=period, scope=scope, carried=carried,
                    calendar=calendar, procedure=procedure).scores


def evaluate(t: Tally, registry: Registry, with_average: bool, *, sources: Sources = Sources(),
             period: Period | None = None, scope: Scope | None = None, carried: frozenset[str] | None = None,
             calendar: WorkingCalendar | None = None, procedure: str | None = None) -> Computed:
    """The indicators of one report row, with why each absent one is absent."""
    out: dict[str, IndicatorScore] = {}
    missing: dict[str, str] = {}
    quality: dict[str, str] = {}
    extra: dict[str, float] = {}
    carried = carried_by(t) if carried is None else carried
    counted = t.get("counted", 0)
    if t:  # a unit on the report; none received: 0 (§2.5)
        out["2.1"] = score_indicator("2.1", t.get("good", 0), counted, registry)
    if with_average:
        days, n = _processing_days(t)
        if n:
            out["2.2"] = score_indicator("2.2", float(round_half_up(days, 4)), n, registry)
    for spec in _RATIOS:
        if spec.id == "3.4" and sources.catalogue is None:
            continue
        if (score := _ratio_from(spec, t, registry, carried)) is not None:
            out[spec.id] = score
        else:
            fields = spec.denominator_field or "/".join(spec.numerator_fields)
            missing[spec.id] = f"no dossier of the input carries {fields}" if spec.id not in carried \
                else f"no dossier of the input carries {fields} for this unit"
    if sources.catalogue is not None:  # 4.x: present wherever a catalogue is (full marks on 0 of 0)
        out["4.x"] = score_indicator("4.x", t.get("4.x:num", 0), t.get("4.x:den", 0), registry)
    # 1.4: synced dossiers received in the period ÷ max(national report, synced) (domain.md §2.3).
    received, synced = t.get("received", 0), t.get("1.4:synced", 0)
    if ("1.4" in carried or sources.national_report is not None) and period is not None and scope is not None:
        units = {scope.code} if not scope.is_province or sources.national_report is None \
            or sources.national_report.total({scope.code}, period.label) is not None else set(scope.members or ())
        den, flag = sync_denominator(sources.national_report, units, period, received, synced)
        out["1.4"] = score_indicator("1.4", synced, den, registry)
        if flag:
            quality["1.4"] = flag
        if "3.3" in out and den:  # "online ÷ received × sync ratio"
            s33 = out["3.3"]
            out["3.3"] = score_indicator("3.3", Fraction(s33.numerator) * synced / den, s33.denominator, registry)
    elif "3.3" in out:
        quality["3.3"] = "sync ratio not applied: no sync data (dvcqg_synced_at)"
    rows = sources.rows(period) if period is not None else None
    if rows is not None and scope is not None and period is not None:
        level = unit_level(sources, scope, t, rows)
        day = (period.end - _ONE_US).astimezone(LOCAL_TZ).date()
        chosen = list(rows.values()) if scope.is_province else sources.catalogue.receives(scope.code, level, day)
        scores, why, more = catalogue_indicators(chosen, t, period, registry, unit_level=level,
                                                 calendar=calendar or WorkingCalendar(), procedure=procedure)
        out.update(scores)
        missing.update(why)
        extra.update(more)
    if "5.4" in carried or sources.pakn:  # 5.4, rule D; none counted: 0 (§2.5)
        good = max(0, counted - t.get("counted_overdue", 0) - t.get("counted_unhappy", 0))
        out["5.4"] = score_indicator("5.4", good, counted, registry)
    if sources.pakn:
        from ioc.kpi.pakn import pakn_indicators

        out.update(pakn_indicators(t, registry, True))
    for id_ in registry.indicator_ids:
        if id_ not in out:
            if sources.pakn and id_ == "5.1":
                missing.setdefault(id_, "no categorised petition of the unit in the period")
            missing.setdefault(id_, _REASONS.get(id_, _NO_CATALOGUE))
    order = {id_: i for i, id_ in enumerate(registry.indicator_ids)}
    scores = dict(sorted(((k, v) for k, v in out.items() if k in order), key=lambda kv: order[kv[0]]))
    return Computed(scores, {k: missing[k] for k in registry.indicator_ids if k in missing}, quality, extra)


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


def figures_from(t: Tally) -> Figures:
    """Rule G."""
    days, n = _processing_days(t)
    return Figures(
        received=t.get("received", 0), finished=n, in_processing=t.get("in_processing", 0),
        due_today=t.get("due_today", 0), at_risk=t.get("at_risk", 0), overdue=t.get("overdue", 0),
        early=t.get("early", 0), on_time=t.get("on_time", 0), late=t.get("late", 0),
        not_counted=t.get("not_counted", 0),
        avg_processing_working_days=float(round_half_up(days / n)) if n else None,
    )


# --- report ---------------------------------------------------------------------------------------


# The portal's five groups (domain.md §2.3: G3 = online services 12 + online payment 10).
PORTAL_GROUP = {"transparency": "1", "progress": "2", "online": "3", "payment": "3", "digitisation": "4",
                "satisfaction": "5"}


@dataclass(frozen=True)
class UnitReport:
    unit: str
    indicators: dict[str, IndicatorScore]
    total_score: float
    max_total: int  # the points the present indicators can earn (at most 100)
    band: str | None  # only on a complete index (every applicable indicator present)
    figures: Figures
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    quality: dict[str, str] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)
    applicable_max: int = 100  # the index's points without those not applicable to the unit

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "indicators": {
                k: {n: v for n, v in s.to_json().items() if n != "indicator"} for k, s in self.indicators.items()
            },
            "groups": self.groups,
            "total_score": self.total_score,
            "max_score": self.max_total,
            "max_total": self.max_total,
            "applicable_max": self.applicable_max,
            "band": self.band,
            "missing": self.missing,
            "quality": self.quality,
            "extra": self.extra,
            "figures": self.figures.to_json(),
        }


def groups_of(scores: dict[str, IndicatorScore], registry: Registry) -> dict[str, dict[str, Any]]:
    """The portal's groups: score (sum of its indicators' rounded scores), the points its
    computed indicators are worth, and its full points."""
    totals = group_totals(scores.values(), registry)
    out: dict[str, dict[str, Any]] = {}
    for g in registry.groups:
        key = PORTAL_GROUP[g.key]
        entry = out.setdefault(key, {"score": 0.0, "max_score": 0, "points": 0})
        entry["score"] = float(round_half_up(Fraction(entry["score"]) + Fraction(totals[g.key])))
        entry["max_score"] += sum(s.max_score for s in scores.values()
                                  if registry.rule(s.indicator).group == g.key and registry.rule(s.indicator).scored)
        entry["points"] += g.max_points
    return out


def report_row(scope: Scope, t: Tally, registry: Registry, with_average: bool, *, sources: Sources = Sources(),
               period: Period | None = None, carried: frozenset[str] | None = None, calendar: WorkingCalendar | None = None,
               procedure: str | None = None) -> UnitReport:
    """One row of the report (a unit or the province): indicators, groups, total, band."""
    c = evaluate(t, registry, with_average, sources=sources, period=period, scope=scope, carried=carried,
                 calendar=calendar, procedure=procedure)
    total = total_score(c.scores.values(), registry)
    max_total = sum(s.max_score for s in c.scores.values() if registry.rule(s.indicator).scored)
    # A commune's index has no 4.5a (nor has one procedure's): the portal drops its points, so the
    # index is complete, and banded, at the points that apply (98 for a commune).
    applicable = registry.max_total - sum(registry.rule(k).max_points for k, why in c.missing.items()
                                          if why.startswith(NOT_APPLICABLE) and registry.rule(k).scored)
    complete = max_total == applicable
    return UnitReport(scope.code, c.scores, total, max_total, band(total, registry)[0] if complete else None,
                      figures_from(t), groups_of(c.scores, registry), c.missing, c.quality, c.extra, applicable)


def unit_report(unit: str, t: Tally, registry: Registry, with_average: bool) -> UnitReport:
    return report_row(Scope(unit), t, registry, with_average)


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
    registry: Registry | None = None

    def to_json(self) -> dict[str, Any]:
        """The contract shape (contracts.md §3)."""
        out: dict[str, Any] = {"period": self.period.to_json(self.at)}
        if self.registry is not None:
            out["scoring"] = {"profile": self.registry.label,
                              "effective_from": self.registry.effective_from.isoformat()}
        out["units"] = [u.to_json() for u in self.units]
        out["dossiers"] = [d.to_json() for d in self.dossiers]
        return out


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
    sources: Sources = Sources(),
    petitions: Iterable[Any] = (),
) -> Report:
    """The report of ``period`` evaluated at ``at`` (module docstring, rules A-I).

    ``procedure`` keeps only that procedure's dossiers (and shows 2.2); ``units`` keeps only the
    named unit codes (the province among them if named); ``province`` names the all-units row.
    ``sources`` brings the catalogue and the national report and says whether petitions were
    given; ``petitions`` are their states (ioc.domain.pakn), folded by ``at`` like the dossiers."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be timezone-aware, got {at.isoformat()}")
    calendar = calendar or WorkingCalendar()
    registry = registry or sources.registry(period)
    rows = sources.rows(period) or {}

    rule = deadline_rule(calendar)
    judged = [
        judge(s, period, at, rule, calendar)
        for s in sorted(states, key=lambda s: (s.unit_code, s.dossier_code))
        if s.unit_code and (procedure is None or s.procedure_code == procedure)
    ]
    judged = [j for j in judged if j.in_scope]
    by_unit: dict[str, Tally] = {}
    for j in judged:
        add_tally(by_unit.setdefault(j.state.unit_code, {}), tally(j, at, calendar, rows.get(j.state.procedure_code)))
    if sources.pakn and procedure is None:
        from ioc.kpi.pakn import judge_pakn, pakn_tally

        for petition in petitions:
            part = pakn_tally(judge_pakn(petition, period, at, calendar))
            if part:
                add_tally(by_unit.setdefault(petition.unit_code, {}), part)
    if province in by_unit:
        raise ValueError(f"province code {province!r} is also a unit code in the events; choose another")
    wanted = set(units) if units is not None else None
    with_average = procedure is not None
    whole = sum_tallies(by_unit.values())
    common: dict[str, Any] = dict(sources=sources, period=period, carried=carried_by(whole),
                                  calendar=calendar, procedure=procedure)
    reports = []
    if by_unit and (wanted is None or province in wanted):
        reports.append(report_row(Scope(province, frozenset(by_unit)), whole, registry, with_average, **common))
    for code in sorted(by_unit):
        if wanted is None or code in wanted:
            reports.append(report_row(Scope(code), by_unit[code], registry, with_average, **common))
    shown = judged if wanted is None or province in wanted else [j for j in judged if j.state.unit_code in wanted]
    lines = tuple(DossierLine(j.state.dossier_code, j.state.unit_code, j.outcome) for j in shown)
    return Report(period, at.astimezone(LOCAL_TZ), tuple(reports), lines, registry)


__all__ = [
    "DEFAULT_PROVINCE",
    "DossierLine",
    "Figures",
    "Judged",
    "Report",
    "Scope",
    "Sources",
    "UnitReport",
    "Tally",
    "add_tally",
    "compute",
    "evaluate",
    "report_row",
    "figures_from",
    "indicators_from",
    "judge",
    "processing_time",
    "sum_tallies",
    "tally",
    "unit_report",
    "working_time",
]
