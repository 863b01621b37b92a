"""Alert rules on the live petition (PAKN) figures: petitions near their limit, past their limit.

Input: each unit's month-to-date tally summed over partitions (its ``pakn:*`` keys,
ioc.kpi.pakn), as for the dossier rules (ioc.alerts.dossier_rules). One alert per rule listing
the units it found (never one per petition, nor one per unit); the summary names each unit's
count. Thresholds with hysteresis; a unit with no tally any more leaves the list. Petitions are
far fewer than dossiers, so one overdue petition is worth an alert (a citizen waits past the
legal limit) and a handful is critical.
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
        for unit in self.units(per_unit):
            t = per_unit.get(unit, {})
            overdue, near = t.get("pakn:overdue", 0), t.get("pakn:near_limit", 0)
            name = self.names.get(unit, unit)
            severity = "critical" if overdue >= self.s.overdue_critical else "warning"
            self._track(AlertKind.PAKN_OVERDUE, unit, overdue >= self.s.overdue_raise,
                        overdue < max(1, self.s.overdue_raise // 2), severity, overdue, f"{name} ({overdue})")
            self._track(AlertKind.PAKN_NEAR_LIMIT, unit, near >= self.s.near_limit_raise,
                        near < max(1, self.s.near_limit_raise // 2), "warning", near, f"{name} ({near})")
        return (
            self._group(AlertKind.PAKN_OVERDUE, now,
                        lambda total, n: f"{total} phản ánh, kiến nghị quá hạn xử lý tại {n} đơn vị",
                        "Phản ánh, kiến nghị: không còn đơn vị nào quá hạn xử lý")
            + self._group(AlertKind.PAKN_NEAR_LIMIT, now,
                          lambda total, n: f"{total} phản ánh, kiến nghị sắp đến hạn xử lý tại {n} đơn vị",
                          "Phản ánh, kiến nghị: không còn đơn vị nào sắp đến hạn")
        )
