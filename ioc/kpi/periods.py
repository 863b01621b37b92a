"""Reporting periods of Decision 766: a month, a quarter, a year, or explicit instants.

Why a module: the portal publishes by month / quarter / year (domain.md §2.2) and every count of
the engine ("received in the period", "ended in the period") must use the same boundaries. A
period is half-open, ``[start, end)``, in Asia/Ho_Chi_Minh local time, so consecutive periods
neither overlap nor leave a gap and a dossier received at 00:00 on the 1st belongs to that month.

Rules chosen here:

* ``"2026-10"`` (month), ``"2026-Q4"`` (quarter, ``q`` accepted), ``"2026"`` (year).
* Explicit ``--from``/``--to`` are ISO-8601; an instant without an offset, or a bare date (its
  00:00), is read as Vietnam local time. ``--to`` is exclusive, like the named periods: October is
  ``--from 2026-10-01 --to 2026-11-01``.
* The evaluation instant ``at`` ("now" for open dossiers) defaults to the end of the period, as
  the portal evaluates a closed period (domain.md §1.3); it must not precede the period's start.
* "Period to date" (the live wall's month so far): ``[start of the month/quarter/year, at)``.

Bad text raises ValueError naming the value; the command line turns it into exit status 2.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from ioc.clock import LOCAL_TZ

Kind = Literal["month", "quarter", "year", "custom"]

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-[Qq]([1-4])")
_YEAR = re.compile(r"([0-9]{4})")
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Period:
    """``[start, end)``, both aware and in local time; ``label`` is how it was named."""

    start: datetime
    end: datetime
    kind: Kind = "custom"
    label: str = ""

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"period {name} must be timezone-aware, got {value.isoformat()}")
        if self.start >= self.end:
            raise ValueError(f"period start {self.start.isoformat()} is not before its end {self.end.isoformat()}")

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    @property
    def default_at(self) -> datetime:
        """The evaluation instant when none is given: the end of the period."""
        return self.end

    def to_date(self, at: datetime) -> "Period":
        """The part of this period before ``at`` (the whole period when ``at`` is past it)."""
        if at <= self.start:
            raise ValueError(f"at {at.isoformat()} is not after the period start {self.start.isoformat()}")
        return Period(self.start, min(self.end, at.astimezone(LOCAL_TZ)), self.kind, self.label)

    def to_json(self, at: datetime) -> dict[str, str]:
        """The contract's ``period`` object (contracts.md §3)."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "at": at.astimezone(LOCAL_TZ).isoformat()}


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=LOCAL_TZ)


def _month(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    return first, date(year + (month == 12), month % 12 + 1, 1)


@functools.lru_cache(maxsize=1024)  # periods are immutable; the stream asks for the same month all day
def parse_period(text: str) -> Period:
    """``"2026-10"``, ``"2026-Q4"`` or ``"2026"`` as a period; ValueError naming ``text`` otherwise."""
    value = text.strip() if isinstance(text, str) else text
    problem = "expected YYYY-MM (month), YYYY-Qn (quarter) or YYYY (year)"
    try:
        if isinstance(value, str) and (m := _MONTH.fullmatch(value)):
            year, month = int(m[1]), int(m[2])
            if not 1 <= month <= 12:
                raise ValueError(f"month {m[2]} is not 01..12")
            first, after = _month(year, month)
            return Period(_midnight(first), _midnight(after), "month", f"{year:04d}-{month:02d}")
        if isinstance(value, str) and (m := _QUARTER.fullmatch(value)):
            year, quarter = int(m[1]), int(m[2])
            first, _ = _month(year, 3 * quarter - 2)
            _, after = _month(year, 3 * quarter)
            return Period(_midnight(first), _midnight(after), "quarter", f"{year:04d}-Q{quarter}")
        if isinstance(value, str) and (m := _YEAR.fullmatch(value)):
            year = int(m[1])
            return Period(_midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1)), "year", f"{year:04d}")
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"period {text!r}: {exc}") from None
    raise ValueError(f"period {text!r}: {problem}")


def parse_instant(text: str, name: str = "instant") -> datetime:
    """An ISO-8601 instant or date; without an offset it is Vietnam local time (module docstring)."""
    value = text.strip() if isinstance(text, str) else ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} {text!r}: expected ISO-8601, e.g. 2026-10-01 or 2026-10-08T09:15:00+07:00") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.astimezone(LOCAL_TZ)


def explicit_period(start_text: str, end_text: str) -> Period:
    """``[--from, --to)`` from two ISO texts; ValueError naming the bad value."""
    start, end = parse_instant(start_text, "from"), parse_instant(end_text, "to")
    if start >= end:
        raise ValueError(f"from {start_text!r} is not before to {end_text!r}")
    return Period(start, end, "custom", f"{start.isoformat()}/{end.isoformat()}")


def period_of(at: datetime, kind: Literal["month", "quarter", "year"] = "month") -> Period:
    """The whole month / quarter / year (local time) that contains ``at``."""
    day = at.astimezone(LOCAL_TZ).date()
    if kind == "month":
        return parse_period(f"{day.year:04d}-{day.month:02d}")
    if kind == "quarter":
        return parse_period(f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}")
    if kind == "year":
        return parse_period(f"{day.year:04d}")
    raise ValueError(f"period kind {kind!r}: expected month, quarter or year")


def period_to_date(at: datetime, kind: Literal["month", "quarter", "year"] = "month") -> Period:
    """``[start of the month/quarter/year containing at, at)``: the live wall's "so far".

    At the very first instant of a period there is nothing "so far" yet, so that instant
    gives the whole previous period instead."""
    whole = period_of(at, kind)
    if at.astimezone(LOCAL_TZ) == whole.start:
        return period_of(whole.start - _ONE_US, kind)
    return whole.to_date(at)


def resolve(
    period: str | None,
    start: str | None,
    end: str | None,
    at: str | None,
    now: datetime,
) -> tuple[Period, datetime]:
    """The period and evaluation instant from command-line texts.

    ``--period`` or ``--from``/``--to`` (not both); with neither, the month to date of ``--at``
    (or of ``now``). ``at`` defaults to the end of the period and must not precede its start."""
    if period is not None and (start is not None or end is not None):
        raise ValueError("give either --period or --from/--to, not both")
    if (start is None) != (end is None):
        raise ValueError("--from and --to go together")
    instant = parse_instant(at, "at") if at is not None else None
    if period is not None:
        chosen = parse_period(period)
    elif start is not None and end is not None:
        chosen = explicit_period(start, end)
    else:
        instant = instant or now.astimezone(LOCAL_TZ)
        chosen = period_to_date(instant)
    instant = instant or chosen.default_at
    if instant < chosen.start:
        raise ValueError(f"at {instant.isoformat()} is before the period start {chosen.start.isoformat()}")
    return chosen, instant
