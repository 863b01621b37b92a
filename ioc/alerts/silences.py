"""Silences and maintenance windows: alerts matching them are recorded but not notified.

Alertmanager's semantics: a silence has matchers (:mod:`ioc.alerts.matchers`), who made it,
why, and a time range; while it is active an alert it matches is kept in the book, shown on
the console (marked), and no notification goes out for it. A maintenance window is a silence
planned ahead (``starts_at`` in the future, ``kind`` maintenance). It expires on its own at
``ends_at``; it can be ended earlier (``expire``). What has not been notified under a silence
is notified when it ends if the alert is still open (:mod:`ioc.alerts.routing`).

Every change is an event (:class:`SilenceEvent`: create, expire) on the silences topic, stored
in the warehouse as the audit trail; the current silences are the fold of those events
(:class:`SilenceBook`), which every reader (web, notifier) computes the same way. Nothing here
reads the clock: "now" is passed in.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ioc.alerts.matchers import Matchers

MAX_SILENCE = timedelta(days=31)


def _aware(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("must be ISO-8601 with a UTC offset, e.g. 2026-12-08T18:00:00+07:00")
    return v.astimezone(timezone.utc)


class SilenceRejected(ValueError):
    """A silence event that is malformed or does not fit the silences as they are."""


class SilenceEvent(BaseModel):
    """``create``: a new silence (id, matchers, starts_at, ends_at, comment, kind);
    ``expire``: end one now (id, and who). ``actor`` and ``at`` say who and when."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    type: Literal["silence"] = "silence"
    op: Literal["create", "expire"]
    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=200)
    silence_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], pattern=r"^[A-Za-z0-9_-]{1,64}$")
    at: datetime
    actor: str = Field(min_length=1, max_length=200)
    matchers: Matchers | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    comment: str | None = Field(None, max_length=2000)
    kind: Literal["silence", "maintenance"] = "silence"

    _check_at = field_validator("at", "starts_at", "ends_at")(lambda v: v if v is None else _aware(v))

    @model_validator(mode="after")
    def _shape(self) -> "SilenceEvent":
        if self.op == "create":
            if self.matchers is None or self.matchers.empty:
                raise ValueError("matchers: at least one of source, system, unit, severity, rule, level "
                                 "(a silence of everything would hide every alert)")
            if self.ends_at is None:
                raise ValueError("ends_at: required (until when)")
            if not (self.comment or "").strip():
                raise ValueError("comment: say why (it is audited)")
            start = self.starts_at or self.at
            if self.ends_at <= start:
                raise ValueError("ends_at: must be after starts_at")
            if self.ends_at <= self.at:
                raise ValueError("ends_at: must be in the future")
            if self.ends_at - start > MAX_SILENCE:
                raise ValueError(f"ends_at: a silence lasts at most {MAX_SILENCE.days} days")
        elif any(v is not None for v in (self.matchers, self.starts_at, self.ends_at)):
            raise ValueError("expire: takes only silence_id (and a comment)")
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()


def parse_silence_event(raw: Any) -> SilenceEvent:
    """One event as JSON; SilenceRejected names the field and the problem."""
    if isinstance(raw, (bytes, str)):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SilenceRejected("silence event: not JSON") from None
    if not isinstance(raw, dict):
        raise SilenceRejected("silence event: expected a JSON object")
    try:
        return SilenceEvent.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "silence"
        raise SilenceRejected(f"{field}: {err['msg'].removeprefix('Value error, ')}") from None


class Silence(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    kind: str
    matchers: Matchers
    created_by: str
    created_at: datetime
    comment: str
    starts_at: datetime
    ends_at: datetime  # moved to the expiry time by an ``expire``
    expired_by: str | None = None

    def state(self, now: datetime) -> Literal["pending", "active", "expired"]:
        if now >= self.ends_at:
            return "expired"
        return "active" if now >= self.starts_at else "pending"

    def view(self, now: datetime) -> dict[str, Any]:
        """``GET /api/v1/silences`` item."""
        return {"id": self.id, "kind": self.kind, "state": self.state(now),
                "matchers": self.matchers.model_dump(mode="json", exclude_none=True),
                "created_by": self.created_by, "created_at": self.created_at.isoformat(), "comment": self.comment,
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "expired_by": self.expired_by}


class SilenceBook:
    """The silences as the fold of their events (any reader computes the same)."""

    def __init__(self) -> None:
        self._silences: dict[str, Silence] = {}
        self.seen: set[str] = set()

    def check(self, event: SilenceEvent) -> None:
        """Raise SilenceRejected when ``event`` does not fit (an id taken, an unknown or ended silence)."""
        current = self._silences.get(event.silence_id)
        if event.op == "create" and current is not None:
            raise SilenceRejected(f"silence {event.silence_id} exists already")
        if event.op == "expire":
            if current is None:
                raise SilenceRejected(f"unknown silence {event.silence_id!r}")
            if current.state(event.at) == "expired":
                raise SilenceRejected(f"silence {event.silence_id} has ended already")

    def apply(self, event: SilenceEvent) -> bool:
        """Apply one event (a redelivered one, or one that does not fit, changes nothing)."""
        if event.event_id in self.seen:
            return False
        try:
            self.check(event)
        except SilenceRejected:
            return False
        self.seen.add(event.event_id)
        if event.op == "create":
            assert event.matchers is not None and event.ends_at is not None
            self._silences[event.silence_id] = Silence(
                id=event.silence_id, kind=event.kind, matchers=event.matchers, created_by=event.actor,
                created_at=event.at, comment=event.comment or "", starts_at=event.starts_at or event.at,
                ends_at=event.ends_at)
        else:
            current = self._silences[event.silence_id]
            self._silences[event.silence_id] = current.model_copy(
                update={"ends_at": max(event.at, current.starts_at), "expired_by": event.actor})
        return True

    def get(self, silence_id: str) -> Silence | None:
        return self._silences.get(silence_id)

    def silences(self, now: datetime, include_expired: bool = False) -> list[Silence]:
        out = [s for s in self._silences.values() if include_expired or s.state(now) != "expired"]
        return sorted(out, key=lambda s: (s.starts_at, s.id))

    def silencing(self, alert: Mapping[str, Any], now: datetime) -> Silence | None:
        """The active silence that matches ``alert`` (as JSON), or None."""
        for s in self.silences(now):
            if s.state(now) == "active" and s.matchers.matches(alert, units="all"):
                return s
        return None

    @classmethod
    def replay(cls, events: Iterable[SilenceEvent]) -> "SilenceBook":
        book = cls()
        for e in events:
            book.apply(e)
        return book
