"""Matchers on alerts, shared by notification routes and silences (Alertmanager's matchers).

A matcher names fields of an alert and the values it accepts: ``source``, ``system``,
``unit``, ``severity``, ``rule`` (the alert's kind: ``system_down``, ``dossier_overdue``, ...)
and ``level`` (commune, province). A value is one pattern or a list of them (any may match);
a pattern is an exact value or a shell glob (``H44.07*``, ``pay*``). Fields left out match
anything; an empty matcher matches every alert.

Units: an alert of a grouped rule has no ``unit`` but lists the ``units`` it found. A route
matches when ANY of them matches (the people of that unit should hear of it); a silence
only when ALL of them match (a maintenance window of one unit must not hide the others).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Annotated, Any, Iterable, Literal, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

FIELDS: tuple[str, ...] = ("source", "system", "unit", "severity", "rule", "level")

Pattern = Annotated[str, Field(min_length=1, max_length=200)]


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


Patterns = Annotated[tuple[Pattern, ...], BeforeValidator(_as_tuple), Field(min_length=1, max_length=50)]


def _one(patterns: Iterable[str], value: str | None) -> bool:
    return value is not None and any(fnmatchcase(value, p) for p in patterns)


class Matchers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Patterns | None = None
    system: Patterns | None = None
    unit: Patterns | None = None
    severity: Patterns | None = None
    rule: Patterns | None = None
    level: Patterns | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in FIELDS)

    def matches(self, alert: Mapping[str, Any], units: Literal["any", "all"] = "any") -> bool:
        """``alert``: an alert as JSON (:meth:`Alert.model_dump`, ``kind`` is its rule)."""
        for name in FIELDS:
            patterns = getattr(self, name)
            if patterns is None:
                continue
            if name == "unit":
                values = [alert["unit"]] if alert.get("unit") else list(alert.get("units") or [])
                test = all if units == "all" else any
                if not values or not test(_one(patterns, v) for v in values):
                    return False
                continue
            value = alert.get("kind") if name == "rule" else alert.get(name)
            if not _one(patterns, str(value) if value is not None else None):
                return False
        return True

    def describe(self) -> str:
        """``system=portal, severity=critical|warning`` (empty: ``*``)."""
        parts = [f"{f}={'|'.join(getattr(self, f))}" for f in FIELDS if getattr(self, f) is not None]
        return ", ".join(parts) or "*"
