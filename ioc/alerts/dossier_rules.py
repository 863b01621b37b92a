"""Alert rules on the live dossier figures: overdue dossiers, dossiers at risk, a backlog surge.

Input: each unit's month-to-date tally (ioc.kpi.live, summed over partitions) at an instant.
Thresholds with hysteresis, so a count hovering at the threshold is one alert, not a flapping
one; a unit with no tally any more clears. One alert per unit and rule (the fingerprint), and
the summary names the count, so the operator sees the size without opening the drill-down.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping

from ioc.alerts.model import AlertKind, Signal
from ioc.alerts.unit_rules import UnitRules
from ioc.kpi.indicators import Tally


@dataclass(frozen=True)
class DossierRuleSettings:
    overdue_raise: int = 5  # open dossiers already overdue in one unit
    overdue_critical: int = 20
    at_risk_raise: int = 10  # open dossiers due by the next working day, still on time
    surge_ratio: float = 0.3  # in processing grew by this share within the window ...
    surge_min: int = 50  # ... and by at least this many dossiers
    surge_window_s: float = 3600.0


class DossierWatch(UnitRules):
    system = "motcua"

    def __init__(self, settings: DossierRuleSettings | None = None,
                 unit_names: Mapping[str, str] | None = None,
                 unit_level: Callable[[str], str] | None = None) -> None:
        self.s = settings or DossierRuleSettings()
        super().__init__(unit_names, unit_level)
        self._history: dict[str, deque[tuple[datetime, int]]] = {}  # unit -> (time, in processing)

    def observe(self, per_unit: Mapping[str, Tally], now: datetime) -> list[Signal]:
        out: list[Signal] = []
        for unit in self.units(per_unit):
            t = per_unit.get(unit, {})
            overdue, at_risk, open_ = t.get("overdue", 0), t.get("at_risk", 0), t.get("in_processing", 0)
            severity = "critical" if overdue >= self.s.overdue_critical else "warning"
            out += self._rule(unit, AlertKind.DOSSIER_OVERDUE, now, overdue >= self.s.overdue_raise,
                              overdue < max(1, self.s.overdue_raise // 2), severity,
                              f"{overdue} hồ sơ quá hạn tại {self.names.get(unit, unit)}")
            out += self._rule(unit, AlertKind.DOSSIER_AT_RISK, now, at_risk >= self.s.at_risk_raise,
                              at_risk < max(1, self.s.at_risk_raise // 2), "warning",
                              f"{at_risk} hồ sơ sắp đến hạn tại {self.names.get(unit, unit)}")
            grew = self._growth(unit, open_, now)
            surge = grew >= self.s.surge_min and grew >= self.s.surge_ratio * max(1, open_ - grew)
            out += self._rule(unit, AlertKind.BACKLOG_SURGE, now, surge, grew <= 0, "warning",
                              f"Hồ sơ tồn tăng đột biến tại {self.names.get(unit, unit)}: +{grew} "
                              f"trong {self.s.surge_window_s / 60:g} phút, đang giải quyết {open_}")
        return out

    def _growth(self, unit: str, open_: int, now: datetime) -> int:
        history = self._history.setdefault(unit, deque())
        history.append((now, open_))
        while history and (now - history[0][0]).total_seconds() > self.s.surge_window_s:
            history.popleft()
        return open_ - min(n for _, n in history)
