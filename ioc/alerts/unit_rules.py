"""What the dossier and petition rules share: ONE alert per rule, listing the units it found.

Each unit joins a rule's list when its figure crosses the rule's threshold and leaves it once
the figure is back below half of it (hysteresis, so a count hovering at the threshold does not
make the list flap); in between it stays listed, last, marked "dưới ngưỡng" (below the
threshold), and its severity follows its figures of now. The rule's alert (unit null, level province, ``units`` = the list, worst
first) is raised when the list becomes non-empty, raised again only when the list or the worst
severity changes (the alert book takes it as the same alert: an update, never a new incident
or a new notification), and cleared when the list empties. A province of 300 units with a
dozen past a threshold is one line on the console naming the dozen, instead of a dozen lines.
Pure: tallies and an instant in, Signals of the one alert model out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping

from ioc.alerts.model import SEVERITY_RANK, AlertKind, Signal

LISTED_IN_SUMMARY = 5  # units named in the summary; the alert's ``units`` has them all


@dataclass
class Member:
    severity: str
    count: int
    detail: str  # what the summary shows for the unit, e.g. "Sở Xây dựng (7/40)"
    above: bool = True  # over the threshold now; False: fallen below it, not yet below half of it


class UnitRules:
    system = ""  # the system the alerts name (motcua: one-stop shop; pakn: petitions)

    def __init__(self, unit_names: Mapping[str, str] | None = None,
                 unit_level: Callable[[str], str] | None = None) -> None:
        self.names = dict(unit_names or {})
        self.level = unit_level or (lambda unit: "province")  # kept for callers; grouped alerts are provincial
        self._members: dict[AlertKind, dict[str, Member]] = {}
        self._raised: dict[AlertKind, tuple[str, tuple[str, ...]]] = {}  # kind -> (severity, units) raised

    def units(self, per_unit: Mapping[str, object]) -> list[str]:
        """The units to look at: those with figures, and those listed by a rule (to let them go)."""
        listed = {u for members in self._members.values() for u in members}
        return sorted(set(per_unit) | listed)

    def members(self, kind: AlertKind) -> dict[str, Member]:
        return dict(self._members.get(kind, {}))

    def _track(self, kind: AlertKind, unit: str, fire: bool, calm: bool, severity: str, count: int,
               detail: str) -> None:
        """One unit's verdict on one rule: join (or update) when ``fire``, leave when ``calm``."""
        members = self._members.setdefault(kind, {})
        if fire:
            members[unit] = Member(severity, count, detail)
        elif unit in members:
            if calm:
                del members[unit]
            else:  # between the two thresholds: stays listed, marked, with its figures of now
                members[unit] = Member(severity, count, detail, above=False)

    def _group(self, kind: AlertKind, now: datetime, headline: Callable[[int, int], str],
               calm_summary: str) -> list[Signal]:
        """The rule's signal, if its list or worst severity changed. ``headline(total, n_units)``
        starts the summary; the worst units follow."""
        members = self._members.get(kind, {})
        raised = self._raised.get(kind)
        if not members:
            if raised is None:
                return []
            del self._raised[kind]
            return [self._signal("clear", kind, now, raised[0], calm_summary, raised[1])]
        ordered = sorted(members.items(), key=lambda kv: (not kv[1].above, -SEVERITY_RANK[kv[1].severity],
                                                          -kv[1].count, kv[0]))
        severity = max((m.severity for m in members.values()), key=lambda sev: SEVERITY_RANK[sev])
        units = tuple(u for u, _ in ordered)
        if raised is not None and raised[0] == severity and set(raised[1]) == set(units):
            return []
        self._raised[kind] = (severity, units)
        shown = "; ".join(m.detail if m.above else f"{m.detail} dưới ngưỡng" for _, m in ordered[:LISTED_IN_SUMMARY])
        more = f"; +{len(ordered) - LISTED_IN_SUMMARY} đơn vị khác" if len(ordered) > LISTED_IN_SUMMARY else ""
        total = sum(m.count for m in members.values())
        summary = f"{headline(total, len(units))}: {shown}{more}"
        return [self._signal("raise", kind, now, severity, summary, units)]

    def _signal(self, op: str, kind: AlertKind, now: datetime, severity: str, summary: str,
                units: tuple[str, ...]) -> Signal:
        return Signal(op=op, source="dossier", system=self.system, kind=kind, unit=None,
                      level="province", severity=severity, at=now, summary=summary[:1000],
                      units=units)
