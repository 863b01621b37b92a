"""Where a month's figures come from: the live state for the current month (what the wall
shows), the warehouse for past months, and for the current month too while the live state
is still empty (the web process just started)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from dashboards.live_state import LiveState
from dashboards.public.history import month_tallies
from dashboards.public.params import current_month
from ioc.kpi.indicators import Tally
from ioc.warehouse.backends import Warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonthFigures:
    month: str
    as_of: datetime | None  # the oldest partial they were summed from; None: no data
    per_unit: dict[str, Tally]
    live: bool  # from the live state (else the warehouse)


class FigureSource:
    def __init__(self, state: LiveState, warehouse: Callable[[], Warehouse | None]) -> None:
        self.state = state
        self.warehouse = warehouse

    def month(self, month: str, now: datetime) -> MonthFigures:
        if month == current_month(now):
            as_of, per_unit = self.state.figures()
            if as_of is not None:
                return MonthFigures(month, as_of, per_unit, live=True)
        wh = self.warehouse()
        if wh is None:
            return MonthFigures(month, None, {}, live=False)
        as_of, per_unit = month_tallies(wh, month)
        return MonthFigures(month, as_of, per_unit, live=False)
