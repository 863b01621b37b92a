"""Operational figures for the wall, per unit, at an instant.

Figures are additive counts so partial snapshots (one per Kafka partition, each from the
worker that owns it) can be summed by whoever reads them; rates are derived after summing.

Two ways to the same numbers:
* :func:`figures_for` recomputes every dossier: the reference, used by replays and tests.
* :class:`LiveFigures` keeps each dossier's contribution and the instant until which it
  stays valid (next local midnight, its deadline, a fact dated in the future), so a stream
  agent pays per second only for the dossiers whose figures can have changed.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from ioc.domain.calendar import WorkingCalendar
from ioc.domain.dossier import DossierState
from ioc.domain.outcome import (
    LOCAL_TZ,
    DeadlineRule,
    Outcome,
    classify,
    deadline,
    end_of_processing,
    supplement_pause,
)

_CALENDAR = WorkingCalendar()


@dataclass
class UnitFigures:
    received_today: int = 0
    finished_today: int = 0
    in_processing: int = 0
    due_today: int = 0
    at_risk: int = 0  # open, within time, due by the end of the next working day
    overdue: int = 0
    # Indicator 2.1, month to date: (on time or within time) / received or processed.
    ontime_numerator: int = 0
    ontime_denominator: int = 0
    # Finished this month, by outcome, and their processing time (supplements excluded).
    early: int = 0
    on_time: int = 0
    late: int = 0
    processing_seconds: int = 0

    def add(self, other: "UnitFigures", sign: int = 1) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + sign * getattr(other, f.name))

    @property
    def ontime_rate(self) -> float | None:
        return self.ontime_numerator / self.ontime_denominator if self.ontime_denominator else None

    @property
    def finished_in_month(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def avg_processing_days(self) -> float | None:
        n = self.finished_in_month
        return self.processing_seconds / n / 86_400 if n else None

    def is_zero(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "UnitFigures":
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in data.items() if k in names})


FIGURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(UnitFigures))


def month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=LOCAL_TZ)


def next_midnight(at: datetime) -> datetime:
    local = at.astimezone(LOCAL_TZ)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=LOCAL_TZ)


def contribution(state: DossierState, at: datetime, rule: DeadlineRule | None = None) -> tuple[UnitFigures, datetime | None]:
    """One dossier's figures at ``at``, and the first later instant they may differ
    (None: never again, unless a new event arrives)."""
    fig = UnitFigures()
    received = state.received_at
    future = [f.at for f in state.facts if f.at > at]
    change = min(future) if future else None

    def sooner(t: datetime | None) -> None:
        nonlocal change
        if t is not None and t > at and (change is None or t < change):
            change = t

    if received is None or received > at:
        return fig, change
    local = at.astimezone(LOCAL_TZ)
    today = local.date()
    period_start = month_start(today)
    outcome = classify(state, at, rule)
    end = end_of_processing(state)
    if end is not None and end > at:
        end = None
    if received.astimezone(LOCAL_TZ).date() == today:
        fig.received_today = 1
        sooner(next_midnight(at))
    if end is not None and end.astimezone(LOCAL_TZ).date() == today:
        fig.finished_today = 1
        sooner(next_midnight(at))
    due = deadline(state, rule)
    if end is None:
        fig.in_processing = 1
        sooner(next_midnight(at))  # due today, at risk and the month all move with the date
        if outcome is Outcome.IN_PROGRESS_OVERDUE:
            fig.overdue = 1
        elif due is not None:
            sooner(due)  # becomes overdue then (a pending supplement only delays it further)
            due_day = due.astimezone(LOCAL_TZ).date()
            if due_day == today:
                fig.due_today = 1
            if due_day <= _CALENDAR.next_working_day(today):
                fig.at_risk = 1
    in_period = end is None or end >= period_start or received >= period_start
    if in_period and outcome is not Outcome.NOT_COUNTED:
        fig.ontime_denominator = 1
        fig.ontime_numerator = int(outcome.is_good)
        if end is not None:
            setattr(fig, "early" if outcome is Outcome.EARLY else "on_time" if outcome is Outcome.ON_TIME else "late", 1)
            paused, _ = supplement_pause(state, end)
            fig.processing_seconds = max(0, int((end - received - paused).total_seconds()))
            sooner(next_midnight(at))  # leaves the month's figures when the month turns
    return fig, change


def figures_for(states: Iterable[DossierState], at: datetime, rule: DeadlineRule | None = None) -> dict[str, UnitFigures]:
    """Figures per unit code at instant ``at`` (local calendar day and month of ``at``)."""
    out: dict[str, UnitFigures] = {}
    for state in states:
        fig, _ = contribution(state, at, rule)
        if not fig.is_zero():
            out.setdefault(state.unit_code, UnitFigures()).add(fig)
    return out


class LiveFigures:
    """Incrementally maintained :func:`figures_for` over a changing set of dossiers."""

    def __init__(self, rule: DeadlineRule | None = None) -> None:
        self.rule = rule
        self.totals: dict[str, UnitFigures] = {}
        self._states: dict[str, DossierState] = {}
        self._contrib: dict[str, UnitFigures] = {}
        self._valid_until: dict[str, datetime | None] = {}
        self._heap: list[tuple[datetime, str]] = []
        self.recomputed = 0  # how many contributions were computed (for tests and stats)

    def __len__(self) -> int:
        return len(self._states)

    def get(self, code: str) -> DossierState | None:
        return self._states.get(code)

    def _apply(self, code: str, at: datetime) -> None:
        state = self._states[code]
        old = self._contrib.pop(code, None)
        if old is not None:
            self.totals[state.unit_code].add(old, -1)
        fig, until = contribution(state, at, self.rule)
        self.recomputed += 1
        if not fig.is_zero():
            self._contrib[code] = fig
            self.totals.setdefault(state.unit_code, UnitFigures()).add(fig)
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

    def remove(self, code: str) -> None:
        state = self._states.pop(code, None)
        old = self._contrib.pop(code, None)
        self._valid_until.pop(code, None)
        if state is not None and old is not None:
            self.totals[state.unit_code].add(old, -1)

    def advance(self, at: datetime) -> None:
        """Recompute the dossiers whose figures may have changed by ``at``."""
        while self._heap and self._heap[0][0] <= at:
            until, code = heapq.heappop(self._heap)
            if self._valid_until.get(code) == until:  # else a stale entry, superseded
                self._apply(code, at)

    def figures(self) -> dict[str, UnitFigures]:
        return {u: f for u, f in self.totals.items() if not f.is_zero()}


def merge(partials: Iterable[dict[str, UnitFigures]]) -> dict[str, UnitFigures]:
    total: dict[str, UnitFigures] = {}
    for part in partials:
        for unit, fig in part.items():
            total.setdefault(unit, UnitFigures()).add(fig)
    return total


def province_total(per_unit: dict[str, UnitFigures]) -> UnitFigures:
    total = UnitFigures()
    for fig in per_unit.values():
        total.add(fig)
    return total
