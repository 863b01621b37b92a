"""Operational figures for the wall, computed from dossier states at an instant.

Figures are additive counts so partial snapshots (one per Kafka partition, each from the
worker that owns it) can be summed by whoever reads them; rates are derived after summing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any, Iterable

from ioc.domain.dossier import DossierState
from ioc.domain.outcome import LOCAL_TZ, DeadlineRule, Outcome, classify, deadline, end_of_processing


@dataclass
class UnitFigures:
    received_today: int = 0
    finished_today: int = 0
    in_processing: int = 0
    due_today: int = 0
    overdue: int = 0
    # Indicator 2.1, month to date: (on time or within time) / received or processed.
    ontime_numerator: int = 0
    ontime_denominator: int = 0

    def add(self, other: "UnitFigures") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def ontime_rate(self) -> float | None:
        return self.ontime_numerator / self.ontime_denominator if self.ontime_denominator else None

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "UnitFigures":
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in data.items() if k in names})


def month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=LOCAL_TZ)


def figures_for(states: Iterable[DossierState], at: datetime, rule: DeadlineRule | None = None) -> dict[str, UnitFigures]:
    """Figures per unit code at instant ``at`` (local calendar day and month of ``at``)."""
    local = at.astimezone(LOCAL_TZ)
    today = local.date()
    period_start = month_start(today)
    out: dict[str, UnitFigures] = {}
    for state in states:
        received = state.received_at
        if received is None or received > at:
            continue
        fig = out.setdefault(state.unit_code, UnitFigures())
        outcome = classify(state, at, rule)
        end = end_of_processing(state)
        if end is not None and end > at:
            end = None
        if received.astimezone(LOCAL_TZ).date() == today:
            fig.received_today += 1
        if end is not None and end.astimezone(LOCAL_TZ).date() == today:
            fig.finished_today += 1
        if end is None:
            fig.in_processing += 1
            due = deadline(state, rule)
            if due is not None and due.astimezone(LOCAL_TZ).date() == today:
                fig.due_today += 1
            if outcome is Outcome.IN_PROGRESS_OVERDUE:
                fig.overdue += 1
        # "Received or processed in the period": open now, or received/ended this month.
        in_period = end is None or end >= period_start or received >= period_start
        if in_period and outcome is not Outcome.NOT_COUNTED:
            fig.ontime_denominator += 1
            fig.ontime_numerator += outcome.is_good
    return out


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


__all__ = ["UnitFigures", "figures_for", "merge", "province_total", "month_start"]
