"""On-time classification of one dossier, per domain.md §1.3 (the 766 engine's rules).

* Clock starts at reception (status 2); a dossier never received is not counted.
* End of processing = the first end state by priority: finished (9) > returned (10) >
  stopped (8) > withdrawn (7).
* Supplement time (a request 5 until the completion 4 that follows it) is excluded.
  A pending supplement request with no end is judged at the request time (clock paused);
  a second supplement request makes the dossier overdue.
* No end yet: judged at the evaluation time ``at``.
* No appointment (``due_at``): the deadline is reception + the legal duration.
* Early = finished on a calendar day (local time) before the appointment day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Callable

from ioc.clock import LOCAL_TZ
from ioc.domain.dossier import DossierState
from ioc.domain.events import LegalDuration, Status

if TYPE_CHECKING:
    from ioc.domain.calendar import WorkingCalendar

END_PRIORITY = (Status.FINISHED, Status.RETURNED, Status.STOPPED, Status.WITHDRAWN)

DeadlineRule = Callable[[datetime, LegalDuration], datetime]


class Outcome(str, Enum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    IN_PROGRESS_ON_TIME = "in_progress_on_time"
    IN_PROGRESS_OVERDUE = "in_progress_overdue"
    NOT_COUNTED = "not_counted"

    @property
    def is_good(self) -> bool:
        """Counts in the numerator of indicator 2.1 (on time or within time)."""
        return self in (Outcome.EARLY, Outcome.ON_TIME, Outcome.IN_PROGRESS_ON_TIME)

    @property
    def is_open(self) -> bool:
        return self in (Outcome.IN_PROGRESS_ON_TIME, Outcome.IN_PROGRESS_OVERDUE)


def end_of_processing(state: DossierState) -> datetime | None:
    end: datetime | None = state.memo("end_of_processing", _end_of_processing)
    return end


def _end_of_processing(state: DossierState) -> datetime | None:
    for status in END_PRIORITY:
        at = state.first(status)
        if at is not None:
            return at
    return None


def supplement_pause(state: DossierState, until: datetime) -> tuple[timedelta, datetime | None]:
    """Time paused by completed supplement requests before ``until``, and the start of a
    request still pending at ``until`` (None if there is none)."""
    paused = timedelta(0)
    resumes = state.times_of(Status.PROCESSING)
    for requested in state.times_of(Status.SUPPLEMENT_REQUESTED):
        if requested >= until:
            continue
        completed = next((t for t in resumes if t >= requested), None)
        if completed is None or completed > until:
            return paused, requested
        paused += completed - requested
    return paused, None


def deadline_rule(calendar: "WorkingCalendar") -> DeadlineRule:
    """The legal-duration deadline rule of ``calendar``: the one factory every judge uses."""
    return lambda start, duration: calendar.add_duration(start, duration.value, duration.unit)


def default_deadline_rule() -> DeadlineRule:
    from ioc.domain.calendar import WorkingCalendar

    return deadline_rule(WorkingCalendar())


def deadline(state: DossierState, rule: DeadlineRule | None = None) -> datetime | None:
    if state.due_at is not None:
        return state.due_at
    received = state.received_at
    if received is None or state.legal_duration is None:
        return None
    return (rule or default_deadline_rule())(received, state.legal_duration)


def classify(state: DossierState, at: datetime, rule: DeadlineRule | None = None) -> Outcome:
    """The outcome of ``state`` judged at ``at`` (the evaluation time for open dossiers)."""
    received = state.received_at
    if received is None or received > at:
        return Outcome.NOT_COUNTED
    due = deadline(state, rule)
    end = end_of_processing(state)
    if end is not None and end > at:
        end = None
    finished = end is not None
    judged_at = end if end is not None else at
    paused, pending_since = supplement_pause(state, judged_at)
    if pending_since is not None and not finished:
        judged_at = pending_since  # clock paused while the applicant completes the dossier
    effective = judged_at - paused
    second_supplement = len([t for t in state.times_of(Status.SUPPLEMENT_REQUESTED) if t <= at]) > 1
    if due is None:
        # Neither an appointment nor a legal duration: nothing to judge against.
        return Outcome.NOT_COUNTED
    if second_supplement or effective > due:
        return Outcome.LATE if finished else Outcome.IN_PROGRESS_OVERDUE
    if not finished:
        return Outcome.IN_PROGRESS_ON_TIME
    if effective.astimezone(LOCAL_TZ).date() < due.astimezone(LOCAL_TZ).date():
        return Outcome.EARLY
    return Outcome.ON_TIME
