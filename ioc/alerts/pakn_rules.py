"""Alert rules on the live petition (PAKN) figures: petitions near their limit, past their limit.

Input: each unit's month-to-date tally summed over partitions (its ``pakn:*`` keys,
ioc.kpi.pakn), as for the dossier rules (ioc.alerts.dossier_rules). One alert per unit and rule,
never one per petition; the summary names the count. Thresholds with hysteresis; a unit with no
tally any more clears. Petitions are far fewer than dossiers, so one overdue petition is worth
an alert (a citizen waits past the legal limit) and a handful is critical.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping

from ioc.alerts.model import AlertKind, Signal
from ioc.alerts.unit_rules import UnitRules
from ioc.kpi.indicators import Tally

SYSTEM = "pakn"  # the petition-handling system (Hệ thống tiếp nhận, xử lý PAKN)


@dataclass(frozen=True)
class PaknRuleSettings:
    overdue_raise: int = 1  # petitions whose pending step (answer, publication) is past its limit
    overdue_critical: int = 5
    near_limit_raise: int = 2  # pending step due by the end of the next working day


class PaknWatch(UnitRules):
    system = SYSTEM

    def __init__(self, settings: PaknRuleSettings | None = None,
                 unit_names: Mapping[str, str] | None = None,
                 unit_level: Callable[[str], str] | None = None) -> None:
        self.s = settings or PaknRuleSettings()
        super().__init__(unit_names, unit_level)

    def observe(self, per_unit: Mapping[str, Tally], now: datetime) -> list[Signal]:
        out: list[Signal] = []
        for unit in self.units(per_unit):
            t = per_unit.get(unit, {})
            overdue, near = t.get("pakn:overdue", 0), t.get("pakn:near_limit", 0)
            name = self.names.get(unit, unit)
            severity = "critical" if overdue >= self.s.overdue_critical else "warning"
            out += self._rule(unit, AlertKind.PAKN_OVERDUE, now, overdue >= self.s.overdue_raise,
                              overdue < max(1, self.s.overdue_raise // 2), severity,
                              f"{overdue} phản ánh, kiến nghị quá hạn xử lý tại {name}")
            out += self._rule(unit, AlertKind.PAKN_NEAR_LIMIT, now, near >= self.s.near_limit_raise,
                              near < max(1, self.s.near_limit_raise // 2), "warning",
                              f"{near} phản ánh, kiến nghị sắp đến hạn xử lý tại {name}")
        return out
