"""Vietnam working-day calendar for statutory deadlines of administrative procedures.

Why: statutory times are mostly in working days (domain.md §1.4), and the on-time test of
Decision 766 compares the end of processing with a deadline, so a wrong holiday or a missed
Saturday swap turns on-time dossiers late on the wall. Sources, in order of precedence:

1. ``calendar_overrides.yaml`` (packaged data): the government's yearly swaps, each with its
   deciding document; a ``working`` entry beats everything else.
2. The ``holidays`` package, country "VN": statutory holidays (lunar ones pre-computed),
   compensatory days for holidays on a weekend, and the swaps it knows.
3. Saturdays and Sundays are non-working for state offices.

Rules chosen here (documented because the law leaves vendors room):

* Reception cut-off: a dossier received after 15:00 local time, or on a non-working day, counts
  as received on the next working day (Decree 61/2018 Art. 20 practice; domain.md §1.2).
* Day counts start the day after reception (Civil Code 2015 Art. 147): n working days after a
  Monday-morning reception end on Thursday for n = 3; n = 0 means the reception day itself.
* A deadline falls at the close of office hours (17:00) of its last day.
* ``day`` (calendar days) and ``month``: counted from the effective reception day; a last day
  that is not a working day moves to the next working day (Civil Code Art. 148); a month with no
  matching day ends on its last day. Fractions round up (never earlier than the law allows).
* ``hour``: working hours, 07:30–11:30 and 13:00–17:00 (8 h a day, the civil-service standard;
  vendors convert hours to days by dividing by 8), counted from the reception instant; the
  15:00 cut-off does not apply. A fractional ``working_day`` is converted to working hours.

Every input datetime must be timezone-aware; results are in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping

import holidays
import yaml

from ioc.clock import LOCAL_TZ

RECEPTION_CUTOFF = time(15, 0)
OFFICE_HOURS: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))
UNITS = ("working_day", "day", "hour", "month")
_WEEKEND = (5, 6)  # Saturday, Sunday


@dataclass(frozen=True)
class OverrideDay:
    day: date
    working: bool
    note: str


@dataclass(frozen=True)
class CalendarOverrides:
    entries: tuple[OverrideDay, ...] = ()
    working: frozenset[date] = field(init=False, repr=False, compare=False)
    non_working: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        on = frozenset(e.day for e in self.entries if e.working)
        off = frozenset(e.day for e in self.entries if not e.working)
        both = on & off
        if both:
            raise ValueError(f"calendar overrides: {sorted(both)[0]} is both working and non-working")
        object.__setattr__(self, "working", on)
        object.__setattr__(self, "non_working", off)

    def note(self, day: date) -> str | None:
        return next((e.note for e in self.entries if e.day == day), None)


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{where}: expected a date, got a datetime")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def parse_overrides(data: Mapping[str, Any]) -> CalendarOverrides:
    """Validate the override document (the shape of calendar_overrides.yaml)."""
    years = data.get("years") if isinstance(data, Mapping) else None
    if not isinstance(years, Mapping):
        raise ValueError("calendar overrides: top-level 'years' mapping is required")
    entries: list[OverrideDay] = []
    for year, sections in years.items():
        if not isinstance(sections, Mapping):
            raise ValueError(f"calendar overrides {year}: expected 'working'/'non_working' lists")
        unknown = set(sections) - {"working", "non_working"}
        if unknown:
            raise ValueError(f"calendar overrides {year}: unknown section(s) {sorted(unknown)}")
        for section, working in (("non_working", False), ("working", True)):
            for i, item in enumerate(sections.get(section) or ()):
                where = f"calendar overrides {year}.{section}[{i}]"
                if not isinstance(item, Mapping):
                    raise ValueError(f"{where}: expected a mapping with 'date' and 'note'")
                day = _as_date(item.get("date"), where)
                if day.year != int(year):
                    raise ValueError(f"{where}: {day} is not in {year}")
                note = item.get("note")
                if not isinstance(note, str) or not note.strip():
                    raise ValueError(f"{where}: a note naming the deciding document is required")
                entries.append(OverrideDay(day, working, note.strip()))
    return CalendarOverrides(tuple(sorted(entries, key=lambda e: e.day)))


@lru_cache(maxsize=1)
def packaged_overrides() -> CalendarOverrides:
    """The overrides shipped with the package (read once; the result is immutable)."""
    text = resources.files("ioc.domain").joinpath("calendar_overrides.yaml").read_text(encoding="utf-8")
    return parse_overrides(yaml.safe_load(text))


@lru_cache(maxsize=256)
def _package_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(holidays, Saturday swaps worked) of the ``holidays`` package for one year.

    A memo of a pure function: building the package's year object costs milliseconds and
    callers may create a calendar per dossier."""
    vn = holidays.country_holidays("VN", years=year)
    off = frozenset(d for d in vn if d.year == year)
    on = frozenset(d for d in getattr(vn, "weekend_workdays", ()) if d.year == year)
    return off, on


def _require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (naive datetime {value.isoformat()})")
    return value


class WorkingCalendar:
    """Working days and statutory deadlines for Vietnamese state offices (module docstring)."""

    def __init__(
        self,
        overrides: CalendarOverrides | None = None,
        *,
        cutoff: time = RECEPTION_CUTOFF,
        office_hours: Iterable[tuple[time, time]] = OFFICE_HOURS,
    ) -> None:
        self._overrides = packaged_overrides() if overrides is None else overrides
        self._cutoff = cutoff
        self._working: dict[date, bool] = {}  # memo: the stream judges thousands of dossiers a second
        hours = tuple(office_hours)
        flat = [t for span in hours for t in span]
        if not hours or flat != sorted(flat) or any(a >= b for a, b in hours):
            raise ValueError("office_hours must be increasing, non-overlapping (start, end) spans")
        self._hours = hours
        self._close = hours[-1][1]

    @property
    def hours_per_day(self) -> float:
        return sum(
            (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds()
            for a, b in self._hours
        ) / 3600

    # --- days -----------------------------------------------------------------------------

    def _local_date(self, value: date | datetime, name: str = "day") -> date:
        if isinstance(value, datetime):
            return _require_aware(value, name).astimezone(LOCAL_TZ).date()
        if isinstance(value, date):
            return value
        raise ValueError(f"{name} must be a date or an aware datetime, got {type(value).__name__}")

    def is_working_day(self, day: date | datetime) -> bool:
        d = self._local_date(day)
        known = self._working.get(d)
        if known is None:
            known = self._working[d] = self._is_working_day(d)
        return known

    def _is_working_day(self, d: date) -> bool:
        if d in self._overrides.working:
            return True
        if d in self._overrides.non_working:
            return False
        package_off, package_on = _package_year(d.year)
        if d.weekday() in _WEEKEND:
            return d in package_on
        return d not in package_off

    def next_working_day(self, day: date | datetime) -> date:
        """The first working day strictly after ``day``."""
        d = self._local_date(day) + timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def _roll_forward(self, d: date) -> date:
        return d if self.is_working_day(d) else self.next_working_day(d)

    def reception_day(self, received: datetime) -> date:
        """The working day a reception counts from: the same day if it is a working day and the
        reception is at or before the cut-off, else the next working day."""
        local = _require_aware(received, "received").astimezone(LOCAL_TZ)
        d = local.date()
        if self.is_working_day(d) and local.time() <= self._cutoff:
            return d
        return self.next_working_day(d)

    def counts_from_reception_day(self, received: datetime) -> bool:
        """True when the reception counts on its own calendar day (working day, by the cut-off)."""
        local = _require_aware(received, "received").astimezone(LOCAL_TZ)
        return self.reception_day(received) == local.date()

    def _deadline_on(self, d: date) -> datetime:
        return datetime.combine(d, self._close, tzinfo=LOCAL_TZ)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Deadline of ``n`` working days for a reception at ``start``: the close of office hours
        of the n-th working day after the reception day (n = 0: the reception day itself)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        d = self.reception_day(start)
        for _ in range(n):
            d = self.next_working_day(d)
        return self._deadline_on(d)

    def working_days_after(self, start: date | datetime, n: int) -> datetime:
        """Close of office hours of the ``n``-th working day strictly after the local day of
        ``start``, with no reception cut-off (n = 0: that day itself). The limits of petitions
        (PAKN, domain.md §2.6) count this way: day 1 is the first working day after reception."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        d = self._local_date(start, "start")
        for _ in range(n):
            d = self.next_working_day(d)
        return self._deadline_on(d)

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days d with a < d <= b (local dates); negative when b is before a.

        For any aware ``start`` and n >= 0:
        ``working_days_between(start, add_working_days(start, n))`` is n when the reception counts
        on its own day (:meth:`counts_from_reception_day`), else n + 1 (the deferred reception
        day itself is counted)."""
        da, db = self._local_date(a, "a"), self._local_date(b, "b")
        sign = 1
        if db < da:
            da, db, sign = db, da, -1
        count = 0
        d = da + timedelta(days=1)
        while d <= db:
            count += self.is_working_day(d)
            d += timedelta(days=1)
        return sign * count

    # --- hours ----------------------------------------------------------------------------

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The instant ``hours`` working hours after ``start`` (office hours of working days)."""
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
        t = _require_aware(start, "start").astimezone(LOCAL_TZ)
        remaining = timedelta(hours=hours)
        d = t.date()
        while True:
            if self.is_working_day(d):
                for open_, close in self._hours:
                    begin = max(t, datetime.combine(d, open_, tzinfo=LOCAL_TZ))
                    end = datetime.combine(d, close, tzinfo=LOCAL_TZ)
                    if begin >= end:
                        continue
                    if remaining <= end - begin:
                        return begin + remaining
                    remaining -= end - begin
            d += timedelta(days=1)
            t = datetime.combine(d, time(0), tzinfo=LOCAL_TZ)

    # --- durations ------------------------------------------------------------------------

    def add_duration(self, start: datetime, value: float, unit: str) -> datetime:
        """Deadline for a legal duration ``value`` ``unit`` after reception at ``start``."""
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"duration value must be a finite number >= 0, got {value!r}")
        _require_aware(start, "start")
        if unit == "hour":
            return self.add_working_hours(start, value)
        if unit == "working_day":
            if value == int(value):
                return self.add_working_days(start, int(value))
            return self.add_working_hours(start, value * self.hours_per_day)
        n = math.ceil(value)
        first = self.reception_day(start)
        if unit == "day":
            last = first + timedelta(days=n)
        else:
            last = _add_months(first, n)
        return self._deadline_on(self._roll_forward(last))


def _add_months(d: date, months: int) -> date:
    """Same day ``months`` later; the month's last day when it has no such day."""
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(d.day, (next_first - timedelta(days=1)).day))
