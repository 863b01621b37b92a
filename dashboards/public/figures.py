"""The one number a public widget shows, from the additive month-to-date tallies of the live
figures (:mod:`ioc.kpi.live`): the same functions the wall and ``ioc kpi`` use, so the
public number agrees with them. Aggregates only: a tally holds counts, never a dossier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from ioc.kpi.indicators import Tally, indicators_from, sum_tallies
from ioc.kpi.scoring import registry_for, total_score

# The indicator behind each ratio widget (domain.md §2.4).
INDICATOR = {"ontime": "2.1", "online": "3.3"}


@dataclass(frozen=True)
class WidgetFigure:
    """``value`` out of ``maximum`` (a score), or ``numerator``/``denominator`` (a rate);
    ``value`` is None when the period has no data for it."""

    kind: str
    value: float | None
    maximum: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    indicators: int = 0  # how many indicators make up a score


def tally_for(per_unit: Mapping[str, Tally], unit: str | None) -> Tally:
    """The unit's tally, or the province's (every unit summed) when ``unit`` is None."""
    if unit is None:
        return sum_tallies(per_unit.values())
    return dict(per_unit.get(unit, {}))


def figure(kind: str, t: Tally, at: datetime) -> WidgetFigure:
    registry = registry_for(at)
    scores = indicators_from(t, registry, with_average=False)
    if kind == "score":
        if not scores:
            return WidgetFigure(kind, None)
        return WidgetFigure(kind, total_score(scores.values(), registry),
                            maximum=float(sum(s.max_score for s in scores.values())), indicators=len(scores))
    indicator = INDICATOR[kind]
    score = scores.get(indicator)
    if score is None or not score.denominator:
        return WidgetFigure(kind, None)
    return WidgetFigure(kind, float(score.numerator) / float(score.denominator),
                        numerator=int(score.numerator), denominator=int(score.denominator))
