"""What the dossier and petition rules share: one alert per (unit, rule), raised when its
threshold is crossed, raised again only when its severity changes, cleared with hysteresis.
Pure: tallies and an instant in, Signals of the one alert model out."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping

from ioc.alerts.model import AlertKind, Signal


class UnitRules:
    system = ""  # the system the alerts name (motcua: one-stop shop; pakn: petitions)

    def __init__(self, unit_names: Mapping[str, str] | None = None,
                 unit_level: Callable[[str], str] | None = None) -> None:
        self.names = dict(unit_names or {})
        self.level = unit_level or (lambda unit: "province")
        self._raised: dict[tuple[str, AlertKind], str] = {}  # (unit, kind) -> severity raised

    def units(self, per_unit: Mapping[str, object]) -> list[str]:
        """The units to look at: those with figures, and those with an alert to clear."""
        return sorted(set(per_unit) | {u for u, _ in self._raised})

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
        return Signal(op=op, source="dossier", system=self.system, kind=kind, unit=unit,  # type: ignore[arg-type]
                      level=level if level in ("commune", "province") else "province",  # type: ignore[arg-type]
                      severity=severity, at=now, summary=summary)  # type: ignore[arg-type]
