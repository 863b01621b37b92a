"""Live figures for the wall: the month-to-date tallies of ioc.kpi.indicators, kept current.

A tally is additive, so partial snapshots (one per Kafka partition, from the worker that owns
it) are summed by whoever reads them; rates and scores are derived after summing, with the
same functions the replay (`ioc kpi`) uses.

:class:`LiveFigures` keeps each dossier's tally and the instant until which it stays valid
(next local midnight, its deadline, a fact dated in the future), so a stream agent pays per
second only for the dossiers whose figures can have changed. :func:`figures_for` recomputes
everything: the reference it is tested against.
"""

from __future__ import annotations

import heapq
import time as _time
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

import msgspec

from ioc.clock import LOCAL_TZ
from ioc.domain.calendar import WorkingCalendar
from ioc.domain.dossier import DossierState
from ioc.domain.events import LegalDuration
from ioc.domain.outcome import end_of_processing
from ioc.kpi.indicators import Scope, Sources, Tally, add_tally, figures_from, judge, report_row, sum_tallies, tally
from ioc.kpi.periods import period_of

MAX_SHARED_TALLIES = 20_000  # LiveFigures' table of shared tallies is emptied at this size

# Counted on the wall beyond the replay's figures: what happened today.
TODAY_KEYS = ("received_today", "finished_today")


class Judging:
    """The calendar, deadline rule and procedure catalogue, built once (all pure); the
    catalogue's rows in force are looked up once per month."""

    def __init__(self, calendar: WorkingCalendar | None = None, catalogue: Any = None) -> None:
        self.calendar = calendar or WorkingCalendar()
        self.catalogue = catalogue
        self._rows: tuple[Any, dict[str, Any]] | None = None
        self._instant: tuple[datetime, Any] | None = None

    def instant(self, at: datetime) -> tuple[Any, date, date, datetime]:
        """What every dossier judged at ``at`` shares, computed once per instant: the month,
        the local date, the working day after it, and the next local midnight."""
        if self._instant is None or self._instant[0] != at:
            today = at.astimezone(LOCAL_TZ).date()
            self._instant = (at, (period_of(at, "month"), today, self.calendar.next_working_day(today),
                                  next_midnight(at)))
        return self._instant[1]

    def rule(self, start: datetime, duration: LegalDuration) -> datetime:
        return self.calendar.add_duration(start, duration.value, duration.unit)

    def row(self, at: datetime, procedure: str) -> Any:
        """The procedure's catalogue row in force at ``at`` (None: no catalogue), as the report
        of the month to date sees it (ioc.kpi.indicators.Sources.rows)."""
        if self.catalogue is None:
            return None
        day = (at - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date()
        if self._rows is None or self._rows[0] != day:
            self._rows = (day, self.catalogue.in_force(day))
        return self._rows[1].get(procedure)


def next_midnight(at: datetime) -> datetime:
    local = at.astimezone(LOCAL_TZ)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=LOCAL_TZ)


def contribution(state: DossierState, at: datetime, clock: Judging | None = None) -> tuple[Tally, datetime | None]:
    """One dossier's month-to-date tally at ``at``, and the first later instant it may differ
    (None: never again, unless a new event arrives)."""
    clock = clock or Judging()
    if not state.unit_code:  # a petition named it before its first event: nothing to count yet
        return {}, None
    period, today, next_working, midnight = clock.instant(at)
    j = judge(state, period, at, clock.rule, clock.calendar)
    t = tally(j, at, clock.calendar, clock.row(at, state.procedure_code), (today, next_working))
    if j.received is not None and j.received.astimezone(LOCAL_TZ).date() == today:
        t["received_today"] = 1
    end = end_of_processing(state)
    if end is not None and j.end is not None and end.astimezone(LOCAL_TZ).date() == today:
        t["finished_today"] = 1
    changes = [f.at for f in state.facts if f.at > at]  # a fact dated later takes effect then
    if t:
        changes.append(midnight)  # the day and the month move on
    if j.is_open and j.due is not None and j.due > at:
        changes.append(j.due)  # it becomes overdue then
    return t, min(changes) if changes else None


def figures_for(states: Iterable[DossierState], at: datetime, clock: Judging | None = None) -> dict[str, Tally]:
    """Tallies per unit code at ``at``, recomputed from every dossier."""
    clock = clock or Judging()
    out: dict[str, Tally] = {}
    for state in states:
        t, _ = contribution(state, at, clock)
        if t:
            add_tally(out.setdefault(state.unit_code, {}), t)
    return {u: t for u, t in out.items() if t}


class LiveFigures:
    """Incrementally maintained :func:`figures_for` over a changing set of dossiers."""

    def __init__(self, clock: Judging | None = None) -> None:
        self.clock = clock or Judging()
        self.totals: dict[str, Tally] = {}
        self._states: dict[str, DossierState] = {}
        self._contrib: dict[str, Tally] = {}  # shared dicts (see _apply): never changed in place
        self._tallies: dict[tuple[tuple[str, int], ...], Tally] = {}
        self._valid_until: dict[str, datetime | None] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._dirty: set[str] = set()
        self.recomputed = 0  # how many contributions were computed (for tests and stats)
        # A judging round (:meth:`start_round`, :meth:`work`): its instant and what is left of it.
        self.round_at: datetime | None = None
        self._pending: list[str] = []
        self._changed_units: set[str] = set()  # units whose totals moved since take_changed_units()

    def __len__(self) -> int:
        return len(self._states)

    def set_catalogue(self, catalogue: Any) -> None:
        """A new catalogue version: every dossier is judged again at the next :meth:`advance`."""
        self.clock = Judging(self.clock.calendar, catalogue)
        self._dirty.update(self._states)

    @property
    def states(self) -> dict[str, DossierState]:
        """Every dossier's state, by code (read only: change them with :meth:`touch`)."""
        return self._states

    def get(self, code: str) -> DossierState | None:
        return self._states.get(code)

    def _apply(self, code: str, at: datetime) -> None:
        state = self._states[code]
        old = self._contrib.pop(code, None)
        t, until = contribution(state, at, self.clock)
        # Memory per open dossier (`ioc bench pipeline --rss-dossiers`, 200,000 judged: 2,226 MB per
        # million -> about half): the state's judging caches are dropped once it is judged, and equal
        # tallies are one shared dict (most open dossiers of a procedure and day count the same; a
        # finished one's processing time is its own, so it is not shared). The table is emptied
        # when large, so tallies no dossier holds any more do not pile up. The state is kept as a
        # copy without the caches' dict (64 B; the copy shares every field).
        self._states[code] = msgspec.structs.replace(state)
        if t and "processing_us" not in t:
            if len(self._tallies) >= MAX_SHARED_TALLIES:
                self._tallies.clear()
            t = self._tallies.setdefault(tuple(sorted(t.items())), t)
        self.recomputed += 1
        if t != old:
            if old:
                add_tally(self.totals[state.unit_code], old, -1)
            if t:
                add_tally(self.totals.setdefault(state.unit_code, {}), t)
            self._changed_units.add(state.unit_code)
        if t:
            self._contrib[code] = t
        self._valid_until[code] = until
        if until is not None:
            heapq.heappush(self._heap, (until, code))

    def update(self, state: DossierState, at: datetime) -> None:
        """A dossier's state changed (or is new) at processing time ``at``."""
        previous = self._states.get(state.dossier_code)
        if previous is not None and previous.unit_code != state.unit_code:
            self.remove(state.dossier_code)
        self._states[state.dossier_code] = state
        self._apply(state.dossier_code, at)

    def touch(self, state: DossierState) -> None:
        """Record a new state now and judge it at the next :meth:`advance`: a dossier with
        several events in one second is judged once, and the stream's hot path stays cheap."""
        previous = self._states.get(state.dossier_code)
        if previous is not None and previous.unit_code != state.unit_code:
            self.remove(state.dossier_code)
        self._states[state.dossier_code] = state
        self._dirty.add(state.dossier_code)

    def remove(self, code: str) -> None:
        state = self._states.pop(code, None)
        old = self._contrib.pop(code, None)
        self._valid_until.pop(code, None)
        self._dirty.discard(code)
        if state is not None and old:
            add_tally(self.totals[state.unit_code], old, -1)
            self._changed_units.add(state.unit_code)

    def advance(self, at: datetime) -> None:
        """Recompute the dossiers whose figures may have changed by ``at`` (a whole round)."""
        self.start_round(at)
        self.work(None)

    def start_round(self, at: datetime) -> int:
        """Begin judging at ``at``: the dossiers touched since the last round and those whose
        next instant (deadline, midnight, a fact dated later) has come, taken off the heap of
        next-change instants; nobody else is looked at. Returns how many are to be judged. A round
        still unfinished is finished first (at its own instant)."""
        if self._pending:
            self.work(None)
        self.round_at = at
        pending, self._dirty = self._dirty, set()
        while self._heap and self._heap[0][0] <= at:
            until, code = heapq.heappop(self._heap)
            if self._valid_until.get(code) == until:  # else a stale entry, superseded
                pending.add(code)
        self._pending = list(pending)
        return len(self._pending)

    def work(self, budget_s: float | None) -> bool:
        """Judge the round's dossiers for at most ``budget_s`` seconds (None: all of them); True
        when the round is complete, so the totals are the figures at :attr:`round_at`. A dossier
        touched meanwhile is judged with its newest state here and again in the next round."""
        at = self.round_at
        if at is None:
            return True
        pending = self._pending
        deadline = None if budget_s is None else _time.perf_counter() + budget_s
        done = 0
        while pending:
            code = pending.pop()
            if code in self._states:
                self._apply(code, at)
            done += 1
            if deadline is not None and done % 32 == 0 and _time.perf_counter() >= deadline:
                break
        return not pending

    @property
    def round_pending(self) -> int:
        return len(self._pending)

    def take_changed_units(self) -> set[str]:
        """The units whose totals changed since the previous call (for change-only snapshots)."""
        changed, self._changed_units = self._changed_units, set()
        return changed

    def figures(self) -> dict[str, Tally]:
        return {u: dict(t) for u, t in self.totals.items() if t}


def merge(partials: Iterable[dict[str, Tally]]) -> dict[str, Tally]:
    total: dict[str, Tally] = {}
    for part in partials:
        for unit, t in part.items():
            add_tally(total.setdefault(unit, {}), t)
    return total


def province_total(per_unit: dict[str, Tally]) -> Tally:
    return sum_tallies(per_unit.values())


def wall_view(t: Tally, at: datetime, scope: Scope | None = None, sources: Sources = Sources(),
              carried: frozenset[str] | None = None) -> dict[str, Any]:
    """What the wall shows of a tally: today's and open figures, the month's on-time rate and
    the projected Decision 766 score, by group, with what is not computed and why (the same
    report row as `ioc kpi`). ``scope`` names the unit (or the province and its units) for the
    catalogue's indicators; ``carried``: the indicators whose facts the province's dossiers carry
    (``ioc.kpi.indicators.carried_by`` of its tally; None: judged from ``t`` alone)."""
    period = period_of(at, "month")
    registry = sources.registry(period)
    row = report_row(scope or Scope("?"), t, registry, False, sources=sources, period=period.to_date(at)
                     if at > period.start else period, carried=carried)
    counted = t.get("counted", 0)
    return {
        **{k: t.get(k, 0) for k in TODAY_KEYS},
        **figures_from(t).to_json(),
        "ontime_rate": t.get("good", 0) / counted if counted else None,
        "indicators": {k: s.to_json() for k, s in row.indicators.items()},
        "groups": row.groups,
        "missing": row.missing,
        "quality": row.quality,
        "score": row.total_score,
        "max_score": row.max_total,
        "band": row.band,
        "profile": registry.label,
    }
