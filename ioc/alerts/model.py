"""One alert model for every source, and the events that change alerts.

Everything that happens to an alert is an event, so the current state is a fold over the
event log (:mod:`ioc.alerts.book`) and replaying the stored log gives the same state:

* :class:`Signal`: a rule says a condition holds (``raise``) or no longer holds (``clear``);
* :class:`Action`: a person (or the escalation timer, actor ``system``) acknowledges,
  assigns, comments, escalates or resolves one alert.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

SYSTEM_ACTOR = "system"
Severity = Literal["critical", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
State = Literal["firing", "acknowledged", "assigned", "escalated", "resolved"]
STATES: tuple[str, ...] = ("firing", "acknowledged", "assigned", "escalated", "resolved")
Source = Literal["dossier", "service", "camera"]
Level = Literal["commune", "province"]


class AlertKind(str, Enum):
    DOSSIER_AT_RISK = "dossier_at_risk"
    DOSSIER_OVERDUE = "dossier_overdue"
    BACKLOG_SURGE = "backlog_surge"
    SLO_BURN = "slo_burn"
    LINK_DOWN = "link_down"
    SOC_ALERT = "soc_alert"
    CAMERA_HEALTH = "camera_health"
    PAKN_NEAR_LIMIT = "pakn_near_limit"  # petitions (PAKN) due by the next working day
    PAKN_OVERDUE = "pakn_overdue"  # petitions past their limit
    SYSTEM_DOWN = "system_down"  # a system hard down (up = 0 or every request failing) for a minute
    SOC_INCIDENT = "soc_incident"  # one security incident the SOC opened (critical or high)


KIND_SOURCE: dict[AlertKind, str] = {
    AlertKind.DOSSIER_AT_RISK: "dossier", AlertKind.DOSSIER_OVERDUE: "dossier",
    AlertKind.BACKLOG_SURGE: "dossier", AlertKind.SLO_BURN: "service", AlertKind.LINK_DOWN: "service",
    AlertKind.SOC_ALERT: "service", AlertKind.CAMERA_HEALTH: "camera",
    # Petitions are citizens' feedback on the one-stop service: the dossier desk handles them.
    AlertKind.PAKN_NEAR_LIMIT: "dossier", AlertKind.PAKN_OVERDUE: "dossier",
    AlertKind.SYSTEM_DOWN: "service", AlertKind.SOC_INCIDENT: "service",
}
MAX_FRAME_B64 = 400_000  # a camera alert's picture: a 320 px JPEG is ~15-40 KB


def _aware(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("must be ISO-8601 with a UTC offset, e.g. 2026-10-08T09:15:00+07:00")
    return v.astimezone(timezone.utc)


def _new_id() -> str:
    return uuid.uuid4().hex


def fingerprint(source: str, system: str, unit: str | None, kind: str, labels: dict[str, str]) -> str:
    """Stable identity of the condition an alert is about (the same across processes and runs)."""
    key = json.dumps([source, system, unit, kind, sorted(labels.items())], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    event_id: str = Field(default_factory=_new_id, min_length=1, max_length=200)
    at: datetime
    seq: int | None = Field(None, ge=0, description="position in the book's log, set when the book accepts it")

    _check_at = field_validator("at")(_aware)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Frame(BaseModel):
    """A camera's picture carried by its alert (the newest thumbnail when the condition was
    raised): base64 JPEG and when it was taken. Not part of the alert's identity."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    jpeg_base64: str = Field(min_length=4, max_length=MAX_FRAME_B64)
    captured_at: datetime

    _check_at = field_validator("captured_at")(_aware)


class Signal(_Event):
    """A rule's verdict about one condition, identified by its fingerprint.

    ``units`` lists the units a grouped rule found (one alert per rule, e.g. every unit with
    overdue dossiers), and ``frame`` is a camera's picture: both describe the condition now and
    are not part of its identity, so a raise with another list updates the same alert.
    """

    type: Literal["signal"] = "signal"
    op: Literal["raise", "clear"]
    source: Source
    system: str = Field(min_length=1, max_length=100)
    kind: AlertKind
    unit: str | None = Field(None, min_length=1, max_length=100)
    level: Level | None = Field(None, description="administrative level; default commune with a unit, else province")
    severity: Severity = "warning"
    summary: str = Field("", max_length=1000, description="Vietnamese, for the operator")
    labels: dict[str, str] = Field(default_factory=dict, description="more identity, part of the fingerprint")
    units: tuple[str, ...] = Field((), max_length=2000, description="units a grouped rule found; not identity")
    frame: Frame | None = Field(None, description="a camera alert's picture; not identity")

    def to_json(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        if not out["units"]:  # absent unless set: the log of a plain signal stays as it was
            del out["units"]
        if out["frame"] is None:
            del out["frame"]
        return out

    @model_validator(mode="after")
    def _kind_fits_source(self) -> "Signal":
        expected = KIND_SOURCE[self.kind]
        if expected != self.source:
            raise ValueError(f"kind {self.kind.value} belongs to source {expected}, not {self.source}")
        return self

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.source, self.system, self.unit, self.kind.value, self.labels)

    @property
    def effective_level(self) -> Level:
        return self.level or ("commune" if self.unit else "province")


ActionName = Literal["acknowledge", "assign", "comment", "escalate", "resolve"]


class Action(_Event):
    """An operator's (or the escalation timer's) action on one alert."""

    type: Literal["action"] = "action"
    action: ActionName
    alert_id: str = Field(min_length=1, max_length=200)
    actor: str = Field(min_length=1, max_length=200)
    comment: str | None = Field(None, max_length=4000)
    assignee: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _assignee_only_for_assign(self) -> "Action":
        if self.action == "assign" and not self.assignee:
            raise ValueError("assignee: required to assign an alert")
        if self.action != "assign" and self.assignee is not None:
            raise ValueError(f"assignee: only allowed with assign, not {self.action}")
        if self.action == "comment" and not self.comment:
            raise ValueError("comment: required for a comment action")
        return self


AlertEvent = Annotated[Union[Signal, Action], Field(discriminator="type")]
_EVENT = TypeAdapter(AlertEvent)


class AlertEventRejected(ValueError):
    """A malformed alert event; ``reason`` names the field and the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_alert_event(raw: Any) -> Signal | Action:
    """Validate one JSON value as a :class:`Signal` or :class:`Action`."""
    if not isinstance(raw, dict):
        raise AlertEventRejected(f"event: expected a JSON object, got {type(raw).__name__}")
    try:
        return _EVENT.validate_python(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = [str(p) for p in err["loc"] if p not in ("signal", "action")]
            tag_error = err["type"] in ("union_tag_invalid", "union_tag_not_found")
            field = ".".join(loc) or ("type" if tag_error else "event")
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{field}: {msg}")
        raise AlertEventRejected("; ".join(problems)) from None


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: datetime
    actor: str
    what: str  # raise, severity, clear, acknowledge, assign, comment, escalate, resolve
    comment: str | None = None


class Alert(BaseModel):
    """One incident: opened by a raise signal, closed by a clear signal or an operator."""

    id: str
    fingerprint: str
    incident: int = Field(description="1 for the first incident of this fingerprint, then 2, ...")
    source: Source
    system: str
    kind: AlertKind
    unit: str | None
    level: str  # a level of the escalation chain (commune, province)
    level_since: datetime = Field(description="when it reached its level: the escalation clock")
    labels: dict[str, str]
    severity: Severity
    state: State
    summary: str
    started_at: datetime
    updated_at: datetime
    last_seen_at: datetime
    count: int = 1
    units: list[str] = Field(default_factory=list, description="units a grouped rule found (newest raise)")
    assignee: str | None = None
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def group_key(self) -> str:
        """Alerts shown together on the console: one system, one kind."""
        return f"{self.system}/{self.kind.value}"

    def label(self, name: str) -> str | None:
        """A field or label by name, for inhibition matchers."""
        if name in ("source", "system", "unit", "level", "severity", "state"):
            return getattr(self, name)
        if name == "kind":
            return self.kind.value
        return self.labels.get(name)

    def api_view(self) -> dict[str, Any]:
        """The contract's ``GET /api/v1/alerts`` item (contracts.md §5), plus ``units`` for an
        alert of a grouped rule (the units it found; its ``unit`` is null)."""
        out: dict[str, Any] = {
            "id": self.id, "source": self.source, "system": self.system, "unit": self.unit,
            "severity": self.severity, "state": self.state, "summary": self.summary,
            "started_at": self.started_at.isoformat(), "updated_at": self.updated_at.isoformat(),
        }
        if self.units:
            out["units"] = list(self.units)
        return out
