"""Petitions (PAKN: phản ánh, kiến nghị): the event (contracts.md §2c), its fold and its judgement.

One event is one step of one petition. The state of a petition is a fold of its events that,
like :func:`ioc.domain.dossier.apply_event`, keeps the facts (status, time, event id) keyed by
event id, so the same events in any order, or delivered twice, give the same state; the
attributes (unit, category, channel, dossier, votes, commune) are those of the latest event
(by event time, then id) that carried them.

The judgement (:func:`judge_pakn`) applies domain.md §2.6. The rules, with what the sources
leave open decided here:

1. *Reception*: the first ``received`` fact dated by ``at``. A petition without one is not
   counted anywhere (its other facts wait for it).
2. *Finished*: the first ``rejected`` or ``answered`` fact by ``at`` (whichever is earlier; a
   ``published`` fact without an ``answered`` one counts as the answer at that time: an answer
   cannot be made public before it exists). Publication is a later step of a finished petition,
   not part of "finished".
3. *Which petitions a period counts* (5.1-5.3): received before the period's end and not
   finished before its start (an open petition has no end), as for dossiers (domain.md §1.3).
   A consequence: a petition answered in one period whose publication limit runs into the next
   is judged, for publication, in the period(s) it is counted in, at their evaluation instant.
4. *Limits* in working days counted from the first working day after the local day of the
   reception (no 15:00 cut-off: that is a rule of the one-stop counter for paper dossiers,
   Decree 61 Art. 20, not of petitions), ending at 17:00 of the last day; holidays and swap
   days of :class:`~ioc.domain.calendar.WorkingCalendar` apply. Reject within 2, ask for a
   supplement within 5, answer within 15; publish within 2 working days counted the same way
   from the day of the answer. A step at exactly 17:00 of its last day is on time.
5. *A supplement request does not pause the answer clock* (decided): the contract has no
   "supplement received" step, so a pause could never end, and the 5-day limit for asking
   exists so that the request comes early within the 15 days. A supplement request after its
   limit makes the petition late.
6. *On time* (5.2): every step it took met its limit: the supplement request (if any), then
   for a rejected petition the rejection; for an answered one the answer and the publication
   (published by its limit, or, not yet published, ``at`` still within it); for an open one,
   ``at`` still within the answer limit (open and past it: late, domain.md §2.6).
7. *Rejected petitions are in 5.2's and 5.3's denominators* (decided): a rejection is a way of
   handling a petition, with its own 2-day limit; leaving rejected petitions out would make that
   limit count for nothing. 5.2 and 5.3 share one population (the counted petitions).
8. *Satisfactory* (5.3): on time (rule 6), never re-complained (a ``re_complained`` fact by
   ``at``; two re-complaints are still one unsatisfactory petition), and not more dislikes than
   likes (a tie is not "more"). Votes are the latest values given (absent: no votes); the
   contract defines them as votes on the published answer, so votes count whether or not a
   ``published`` fact has arrived.
9. *Operational facts* at ``at``: the *pending step* is the answer while the petition is open,
   the publication while it is answered and not published, none otherwise; its deadline is
   ``pending_due``; *overdue* when ``at`` is past it, *near limit* when not overdue and due by
   the end of the next working day after ``at``'s local day (as the dossiers' ``at_risk``).
   They cover every petition received before the period's end with a pending step, so an
   answer owed publication from before the period start still shows (and alerts).

Votes, category and the other attributes are the latest values in the state, whatever their
time: callers pass states folded from the events up to ``at`` (:func:`ioc.kpi.pakn.fold_pakn`
does), as for dossiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ioc.clock import LOCAL_TZ
from ioc.domain.calendar import WorkingCalendar
from ioc.domain.events import LINK_TYPE, EventRejected, _aware
from ioc.kpi.periods import Period

PaknStatus = Literal["received", "rejected", "supplement_requested", "answered", "published", "re_complained"]
Category = Literal["regulation", "procedure", "conduct", "other"]
CATEGORIES: tuple[str, ...] = ("regulation", "procedure", "conduct", "other")
ABOUT_RULES: frozenset[str] = frozenset({"regulation", "procedure"})  # 5.1's numerator

REJECT_WD = 2
SUPPLEMENT_WD = 5
ANSWER_WD = 15
PUBLISH_WD = 2

# LINK_TYPE (a petition's link item on the dossier topic) is defined with the event decoder that sets it apart.


class PaknEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=200)
    pakn_code: str = Field(min_length=1, max_length=100)
    status: PaknStatus
    occurred_at: datetime
    unit_code: str = Field(min_length=1, max_length=100)

    category: Category | None = None
    channel: Literal["portal", "hotline", "app", "in_person", "mail"] | None = None
    dossier_code: str | None = Field(None, min_length=1, max_length=100)
    likes: int | None = Field(None, ge=0)
    dislikes: int | None = Field(None, ge=0)
    commune_code: str | None = Field(None, min_length=1, max_length=20)

    _check_time = field_validator("occurred_at")(_aware)

    @field_validator("likes", "dislikes", mode="before")
    @classmethod
    def _whole_count(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a whole number >= 0, not a boolean")
        return value

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_pakn_event(raw: Any) -> PaknEvent:
    """Validate one raw JSON value as a petition event, or raise :class:`EventRejected`
    whose reason names the field and the problem."""
    if not isinstance(raw, dict):
        raise EventRejected(f"event: expected a JSON object, got {type(raw).__name__}")
    try:
        return PaknEvent.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            name = ".".join(str(p) for p in err["loc"]) or "event"
            problems.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise EventRejected("; ".join(problems)) from None


# --- state ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaknFact:
    status: str
    at: datetime
    event_id: str


_ATTRS = ("unit_code", "category", "channel", "dossier_code", "likes", "dislikes", "commune_code")


@dataclass(frozen=True)
class PaknState:
    pakn_code: str
    facts: tuple[PaknFact, ...] = ()
    # name -> [occurred_at ISO, event_id, value] of the latest event that carried it.
    attrs: dict[str, list[Any]] = field(default_factory=dict)

    def attr(self, name: str) -> Any:
        entry = self.attrs.get(name)
        return entry[2] if entry else None

    @property
    def unit_code(self) -> str:
        return str(self.attr("unit_code") or "")

    @property
    def category(self) -> str | None:
        value = self.attr("category")
        return None if value is None else str(value)

    @property
    def dossier_code(self) -> str | None:
        value = self.attr("dossier_code")
        return None if value is None else str(value)

    @property
    def event_ids(self) -> frozenset[str]:
        return frozenset(f.event_id for f in self.facts)

    def times(self, status: str, at: datetime | None = None) -> list[datetime]:
        """The times of ``status``, sorted (only those by ``at`` when given)."""
        return [f.at for f in self.facts if f.status == status and (at is None or f.at <= at)]

    def first(self, status: str, at: datetime | None = None) -> datetime | None:
        times = self.times(status, at)
        return times[0] if times else None

    def first_seen(self, at: datetime | None = None) -> datetime | None:
        """The time of its earliest event (by ``at`` when given)."""
        times = [f.at for f in self.facts if at is None or f.at <= at]
        return min(times) if times else None

    def to_json(self) -> dict[str, Any]:
        return {"pakn_code": self.pakn_code,
                "facts": [[f.status, f.at.isoformat(), f.event_id] for f in self.facts],
                "attrs": self.attrs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PaknState":
        return cls(pakn_code=data["pakn_code"],
                   facts=tuple(PaknFact(s, datetime.fromisoformat(at), eid) for s, at, eid in data["facts"]),
                   attrs={k: list(v) for k, v in (data.get("attrs") or {}).items()})


def _stamp_key(stamp: list[Any]) -> tuple[datetime, str]:
    return (datetime.fromisoformat(stamp[0]), stamp[1])


def _fact_key(f: PaknFact) -> tuple[datetime, str, str]:
    return (f.at, f.status, f.event_id)


def apply_pakn(state: PaknState | None, event: PaknEvent) -> PaknState:
    """The state after ``event``; an event already applied (same ``event_id``) changes nothing."""
    if state is None:
        state = PaknState(event.pakn_code)
    elif event.event_id in state.event_ids:
        return state
    facts = tuple(sorted(state.facts + (PaknFact(event.status, event.occurred_at, event.event_id),), key=_fact_key))
    stamp = [event.occurred_at.isoformat(), event.event_id]
    attrs = dict(state.attrs)
    for name in _ATTRS:
        value = getattr(event, name)
        if value is not None and (name not in attrs or _stamp_key(stamp) > _stamp_key(attrs[name][:2])):
            attrs[name] = [*stamp, value]
    return replace(state, facts=facts, attrs=attrs)


def link_of(state: PaknState, at: datetime | None = None) -> dict[str, Any] | None:
    """The complaint link of a petition that names a dossier (domain.md §2.6, 5.4): a wire item
    for the dossier stream, with a stable id and the time of the petition's first event."""
    code = state.dossier_code
    first = state.first_seen(at)
    if not code or first is None:
        return None
    return {"type": LINK_TYPE, "event_id": f"pakn:{state.pakn_code}", "dossier_code": code,
            "occurred_at": first.isoformat()}


# --- judgement --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaknJudged:
    """One petition as the period sees it at ``at`` (module docstring, rules 1-9)."""

    state: PaknState
    at: datetime
    received: datetime | None
    outcome: Literal["rejected", "answered"] | None  # how it finished by ``at``; None: open
    end: datetime | None
    answered: datetime | None
    published: datetime | None
    supplement_requested: datetime | None
    re_complaints: int
    reject_due: datetime | None
    supplement_due: datetime | None
    answer_due: datetime | None
    publish_due: datetime | None  # once answered
    counted: bool  # rule 3
    received_in_period: bool
    late_steps: tuple[str, ...]  # the limits missed: supplement, reject, answer, publish
    disliked: bool
    pending: Literal["answer", "publish"] | None  # rule 9
    pending_due: datetime | None
    overdue: bool
    near_limit: bool
    in_view: bool  # rule 9: received before the period's end

    @property
    def on_time(self) -> bool:
        return self.received is not None and not self.late_steps

    @property
    def satisfied(self) -> bool:
        return self.on_time and self.re_complaints == 0 and not self.disliked

    @property
    def is_open(self) -> bool:
        return self.received is not None and self.end is None

    @property
    def category(self) -> str | None:
        return self.state.category

    @property
    def deadline(self) -> datetime | None:
        """The deadline that matters now: the pending step's, else the answer's."""
        return self.pending_due or self.answer_due


def judge_pakn(state: PaknState, period: Period, at: datetime, calendar: WorkingCalendar) -> PaknJudged:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be timezone-aware, got {at.isoformat()}")
    received = state.first("received", at)
    rejected = state.first("rejected", at)
    published = state.first("published", at)
    answered = state.first("answered", at)
    if answered is None:
        answered = published  # rule 2: made public, so answered by then
    supplement = state.first("supplement_requested", at)
    re_complaints = len(state.times("re_complained", at))
    likes, dislikes = state.attr("likes"), state.attr("dislikes")
    disliked = (dislikes or 0) > (likes or 0)

    def base(**kw: Any) -> PaknJudged:
        return PaknJudged(state=state, at=at, received=received, answered=answered, published=published,
                          supplement_requested=supplement, re_complaints=re_complaints, disliked=disliked, **kw)

    if received is None:
        return base(outcome=None, end=None, reject_due=None, supplement_due=None, answer_due=None,
                    publish_due=None, counted=False, received_in_period=False, late_steps=(), pending=None,
                    pending_due=None, overdue=False, near_limit=False, in_view=False)

    outcome: Literal["rejected", "answered"] | None = None
    end = None
    if rejected is not None and (answered is None or rejected < answered):
        outcome, end = "rejected", rejected
    elif answered is not None:
        outcome, end = "answered", answered
    reject_due = calendar.working_days_after(received, REJECT_WD)
    supplement_due = calendar.working_days_after(received, SUPPLEMENT_WD)
    answer_due = calendar.working_days_after(received, ANSWER_WD)
    publish_due = calendar.working_days_after(answered, PUBLISH_WD) if outcome == "answered" and answered else None

    late: list[str] = []
    if supplement is not None and supplement > supplement_due:
        late.append("supplement")
    pending: Literal["answer", "publish"] | None = None
    pending_due = None
    if outcome == "rejected":
        if rejected is not None and rejected > reject_due:
            late.append("reject")
    elif outcome == "answered":
        assert answered is not None and publish_due is not None
        if answered > answer_due:
            late.append("answer")
        if published is not None:
            if published > publish_due:
                late.append("publish")
        else:
            pending, pending_due = "publish", publish_due
            if at > publish_due:
                late.append("publish")
    else:
        pending, pending_due = "answer", answer_due
        if at > answer_due:
            late.append("answer")

    overdue = pending_due is not None and at > pending_due
    near = False
    if pending_due is not None and not overdue:
        today = at.astimezone(LOCAL_TZ).date()
        near = pending_due.astimezone(LOCAL_TZ).date() <= calendar.next_working_day(today)
    counted = received < period.end and (end is None or end >= period.start)
    return base(outcome=outcome, end=end, reject_due=reject_due, supplement_due=supplement_due,
                answer_due=answer_due, publish_due=publish_due, counted=counted,
                received_in_period=received in period, late_steps=tuple(late), pending=pending,
                pending_due=pending_due, overdue=overdue, near_limit=near, in_view=received < period.end)


__all__ = [
    "ABOUT_RULES", "CATEGORIES", "LINK_TYPE", "PaknEvent", "PaknFact", "PaknJudged", "PaknState",
    "apply_pakn", "judge_pakn", "link_of", "parse_pakn_event",
]
