"""The project's one clock of business "now" (contracts.md §1, ``IOC_NOW``).

Whatever asks what time it is *for the business* reads :func:`now` (or :func:`time`): the
simulated day, deadlines and periods, the instant live figures are judged at, alert rules, the
wall's "today". Durations, latencies, timeouts, sessions and rate limits keep the real clocks
(``time.monotonic``, ``time.time``), and an event's own time is whatever the event says.

    IOC_NOW=2026-12-13T09:00:00+07:00   the clock starts at that instant when the process first
                                         reads it (the CLI does at start) and runs on in real time
    unset (or empty)                     the system clock

Children share the parent's clock exactly: :func:`env` is ``IOC_NOW`` (the same instant) and
``IOC_NOW_ANCHOR`` (the real epoch seconds at which this process's clock read that instant, as
``repr`` of a float), so every process computes the same offset from the system clock to the
microsecond, however late it starts. ``ioc up`` and :func:`ioc.process.spawn` pass them on.
"""

from __future__ import annotations

import math
import os
import time as _real
from datetime import date, datetime, timedelta, timezone
from typing import Mapping
from zoneinfo import ZoneInfo

from ioc.errors import ConfigError

ENV = "IOC_NOW"
ANCHOR_ENV = "IOC_NOW_ANCHOR"
# The one business time zone (calendar, deadlines, "today"): Vietnam has one. settings.timezone
# exists for settings files that name it and must name this zone (ioc.config).
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_UNREAD = object()
_pin: object = _UNREAD  # (instant in UTC, real epoch it was read at), or None: the system clock


def parse(environ: Mapping[str, str], real_now: float) -> tuple[datetime, float] | None:
    """The pinned instant and its anchor from ``environ``; ConfigError names a bad variable."""
    text = environ.get(ENV, "").strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.utcoffset() is None:
        raise ConfigError(f"{ENV}: {text!r} is not an ISO-8601 instant with an offset "
                          "(e.g. 2026-12-13T09:00:00+07:00)")
    anchor_text = environ.get(ANCHOR_ENV, "").strip()
    try:
        anchor = float(anchor_text) if anchor_text else real_now
    except ValueError:
        anchor = math.nan
    if not math.isfinite(anchor):
        raise ConfigError(f"{ANCHOR_ENV}: {anchor_text!r} is not epoch seconds")
    return at.astimezone(timezone.utc), anchor


def _pinned() -> tuple[datetime, float] | None:
    global _pin
    if _pin is _UNREAD:
        _pin = parse(os.environ, _real.time())
    return _pin  # type: ignore[return-value]


def start() -> None:
    """Read ``IOC_NOW`` now: a bad value fails here (exit 2), and a pinned clock starts here."""
    _pinned()


def reset() -> None:
    """Forget what was read (tests that change ``IOC_NOW`` call this)."""
    global _pin
    _pin = _UNREAD


def now() -> datetime:
    """Business "now", aware, in UTC."""
    pin = _pinned()
    if pin is None:
        return datetime.now(timezone.utc)
    at, anchor = pin
    return at + timedelta(seconds=_real.time() - anchor)


def now_local() -> datetime:
    """Business "now" in Vietnam time (the calendar's and the wall's days)."""
    return now().astimezone(LOCAL_TZ)


def today() -> date:
    """Business "today": the Vietnam date, not the machine's."""
    return now_local().date()


def time() -> float:
    """Business "now" as epoch seconds (to compare with stamps this clock made)."""
    pin = _pinned()
    if pin is None:
        return _real.time()
    at, anchor = pin
    return at.timestamp() + (_real.time() - anchor)


def env() -> dict[str, str]:
    """The variables that give a child process this very clock (none for the system clock)."""
    pin = _pinned()
    if pin is None:
        return {}
    at, anchor = pin
    return {ENV: at.isoformat(), ANCHOR_ENV: repr(anchor)}


def child_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) for a child: one without an ``IOC_NOW`` of its own
    (absent, or the one this process inherited) gets this clock; one the caller pinned is kept."""
    out = dict(os.environ if environ is None else environ)
    if out.get(ENV) in (None, os.environ.get(ENV)):
        out.pop(ANCHOR_ENV, None)
        out.pop(ENV, None)
        out.update(env())
    return out
