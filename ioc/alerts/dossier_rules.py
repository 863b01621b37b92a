"""Alert rules on the live dossier figures: overdue dossiers, dossiers at risk, a backlog surge.

Input: each unit's month-to-date tally (ioc.kpi.live, summed over partitions) at an instant.
One alert per rule listing the units it found (:mod:`ioc.alerts.unit_rules`), worst first, each
with its figure against its open dossiers, so the operator sees whom to call without opening
the drill-down. Thresholds are relative to a unit's volume (its open dossiers,
``in_processing``) with an absolute floor, so a land office with 1,800 open dossiers and a
commune with 15 are judged alike:

* overdue: at least ``overdue_raise`` (5) overdue AND at least ``overdue_share`` (10 %) of the
  unit's open dossiers; critical from ``overdue_critical`` (20) or ``overdue_critical_share``
  (25 %); a unit leaves the list below half of either threshold;
* at risk (due by the end of the next working day, still on time): at least ``at_risk_raise``
  (10) AND ``at_risk_share`` (60 %) of its open dossiers: more than its usual flow, which in
  the simulated province puts a quarter of open dossiers at risk on an ordinary morning;
* backlog surge: open dossiers grew by ``surge_ratio`` (30 %) and ``surge_min`` (50) within
  ``surge_window_s``, judged only once the unit has been watched for the whole window (after a
  start the history arriving in minutes is not a surge).

A unit with no tally any more leaves every list.
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
    overdue_raise: int = 5  # open dossiers already overdue in one unit ...
    overdue_share: float = 0.10  # ... and this share of its open dossiers
    overdue_critical: int = 20
    overdue_critical_share: float = 0.25
    at_risk_raise: int = 10  # open dossiers due by the next working day, still on time ...
    at_risk_share: float = 0.60  # ... and this share of its open dossiers
    surge_ratio: float = 0.3  # in processing grew by this share within the window ...
    surge_min: int = 50  # ... and by at least this many dossiers
    surge_window_s: float = 3600.0


def _share(n: int, of: int) -> float:
    return n / of if of > 0 else (1.0 if n > 0 else 0.0)


class DossierWatch(UnitRules):
    system = "motcua"

    def __init__(self, settings: DossierRuleSettings | None = None,
                 unit_names: Mapping[str, str] | None = None,
                 unit_level: Callable[[str], str] | None = None) -> None:
        self.s = settings or DossierRuleSettings()
        super().__init__(unit_names, unit_level)
        self._history: dict[str, deque[tuple[datetime, int]]] = {}  # unit -> (time, in processing)
        self._watched_since: dict[str, datetime] = {}

    def observe(self, per_unit: Mapping[str, Tally], now: datetime) -> list[Signal]:
        s = self.s
        for unit in self.units(per_unit):
            t = per_unit.get(unit, {})
            overdue, at_risk, open_ = t.get("overdue", 0), t.get("at_risk", 0), t.get("in_processing", 0)
            name = self.names.get(unit, unit)
            share = _share(overdue, open_)
            critical = overdue >= s.overdue_critical or (overdue >= s.overdue_raise and share >= s.overdue_critical_share)
            self._track(AlertKind.DOSSIER_OVERDUE, unit, overdue >= s.overdue_raise and share >= s.overdue_share,
                        overdue < max(1, s.overdue_raise // 2) or share < s.overdue_share / 2,
                        "critical" if critical else "warning", overdue, f"{name} ({overdue}/{open_})")
            risk_share = _share(at_risk, open_)
            self._track(AlertKind.DOSSIER_AT_RISK, unit, at_risk >= s.at_risk_raise and risk_share >= s.at_risk_share,
                        at_risk < max(1, s.at_risk_raise // 2) or risk_share < s.at_risk_share / 2, "warning",
                        at_risk, f"{name} ({at_risk}/{open_})")
            grew = self._growth(unit, open_, now, unit in per_unit)
            surge = grew >= s.surge_min and grew >= s.surge_ratio * max(1, open_ - grew)
            self._track(AlertKind.BACKLOG_SURGE, unit, surge, grew <= 0, "warning", grew,
                        f"{name} (+{grew}, đang giải quyết {open_})")
        window_min = f"{s.surge_window_s / 60:g}"
        return (
            self._group(AlertKind.DOSSIER_OVERDUE, now, lambda total, n: f"{total} hồ sơ quá hạn tại {n} đơn vị",
                        "Hồ sơ quá hạn: không còn đơn vị nào vượt ngưỡng")
            + self._group(AlertKind.DOSSIER_AT_RISK, now,
                          lambda total, n: f"{total} hồ sơ sắp đến hạn tại {n} đơn vị "
                                           f"(trên {s.at_risk_share:.0%} số hồ sơ đang giải quyết)",
                          "Hồ sơ sắp đến hạn: không còn đơn vị nào vượt ngưỡng")
            + self._group(AlertKind.BACKLOG_SURGE, now,
                          lambda total, n: f"Hồ sơ tồn tăng đột biến tại {n} đơn vị trong {window_min} phút",
                          "Hồ sơ tồn: không còn đơn vị nào tăng đột biến")
        )

    def _growth(self, unit: str, open_: int, now: datetime, present: bool) -> int:
        """Growth of the unit's open dossiers within the window; 0 until it has been watched that long."""
        if not present:
            self._history.pop(unit, None)
            self._watched_since.pop(unit, None)
            return 0
        since = self._watched_since.setdefault(unit, now)
        history = self._history.setdefault(unit, deque())
        history.append((now, open_))
        while history and (now - history[0][0]).total_seconds() > self.s.surge_window_s:
            history.popleft()
        if (now - since).total_seconds() < self.s.surge_window_s:
            return 0  # still learning the unit's level (e.g. the history arriving after a start)
        return open_ - min(n for _, n in history)
