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
from ioc.kpi.indicators import Tally


@dataclass(frozen=True)
class DossierRuleSettings:
    overdue_raise: int = 5  # open dossiers already overdue in one unit
    overdue_critical: int = 20
    at_risk_raise: int = 10  # open dossiers due by the next working day, still on time
    surge_ratio: float = 0.3  # in processing grew by this share within the window ...
    surge_min: int = 50  # ... and by at least this many dossiers
    surge_window_s: float = 3600.0


class DossierWatch:
    def __init__(self, settings: DossierRuleSettings | None = None,
                 unit_names: Mapping[str, str] | None = None,
                 unit_level: Callable[[str], str] | None = None) -> None:
        self.s = settings or DossierRuleSettings()
        self.names = dict(unit_names or {})
        self.level = unit_level or (lambda unit: "province")
        self._raised: dict[tuple[str, AlertKind], str] = {}  # (unit, kind) -> severity raised
        self._history: dict[str, deque[tuple[datetime, int]]] = {}  # unit -> (time, in processing)

    def observe(self, per_unit: Mapping[str, Tally], now: datetime) -> list[Signal]:
        out: list[Signal] = []
        for unit in sorted(set(per_unit) | {u for u, _ in self._raised}):
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

    def _rule(self, unit: str, kind: AlertKind, now: datetime, fire: bool, calm: bool, severity: str,
              summary: str) -> list[Signal]:
        key = (unit, kind)
        raised = self._raised.get(key)
        if fire and raised != severity:  # new, or its severity changed (the book records it)
            self._raised[key] = severity
            return [self._signal("raise", unit, kind, now, severity, summary)]
        if raised is not None and calm:
            del self._raised[key]
            return [self._signal("clear", unit, kind, now, raised, summary)]
        return []

    def _signal(self, op: str, unit: str, kind: AlertKind, now: datetime, severity: str, summary: str) -> Signal:
        level = self.level(unit)
        return Signal(op=op, source="dossier", system="motcua", kind=kind, unit=unit,
                      level=level if level in ("commune", "province") else "province",  # type: ignore[arg-type]
                      severity=severity, at=now, summary=summary)  # type: ignore[arg-type]
