"""The dossier event (contracts.md §2) and its validation.

One event is one status change of one dossier, as the one-stop-shop systems sync to the
national portal. Validation names the field and the problem; unknown fields are kept.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Status(IntEnum):
    SUBMITTED = 1  # submitted online, awaiting reception
    RECEIVED = 2  # received at the one-stop shop: the deadline clock starts
    REFUSED = 3  # refused at intake
    PROCESSING = 4  # in processing (after a 5: the supplement was completed)
    SUPPLEMENT_REQUESTED = 5  # clock paused
    FINANCIAL_OBLIGATION = 6
    WITHDRAWN = 7
    STOPPED = 8
    FINISHED = 9  # result ready: the end-of-processing time judged against the deadline
    RETURNED = 10


class LegalDuration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float = Field(gt=0)
    unit: Literal["working_day", "day", "hour", "month"]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be ISO-8601 with a UTC offset, e.g. 2026-10-08T09:15:00+07:00")
    return value


class DossierEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=200)
    dossier_code: str = Field(min_length=1, max_length=100)
    status: Status
    occurred_at: datetime
    unit_code: str = Field(min_length=1, max_length=100)
    procedure_code: str = Field(min_length=1, max_length=100)

    agency_code: str | None = None
    channel: Literal[1, 2, 3] | None = None
    due_at: datetime | None = None
    legal_duration: LegalDuration | None = None
    fee_amount: float | None = Field(None, ge=0)
    online_payment: Literal[0, 1, 2] | None = None
    digitized: bool | None = None
    e_result: bool | None = None
    reused_data: bool | None = None
    population_db: bool | None = None
    rating: Literal["satisfied", "neutral", "dissatisfied"] | None = None
    complaint: bool | None = None
    # contracts.md §2d: when the national portal acknowledged the dossier (1.4), and whether a
    # component came from / the result went to the citizen's data store on the portal (4.4).
    dvcqg_synced_at: datetime | None = None
    dvcqg_store: bool | None = None

    _check_times = field_validator("occurred_at", "due_at", "dvcqg_synced_at")(
        lambda v: v if v is None else _aware(v)
    )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class EventRejected(ValueError):
    """A malformed event; ``reason`` names the field and the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_event(raw: Any) -> DossierEvent:
    """Validate one raw JSON value as a dossier event, or raise :class:`EventRejected`."""
    if not isinstance(raw, dict):
        raise EventRejected(f"event: expected a JSON object, got {type(raw).__name__}")
    try:
        return DossierEvent.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"]) or "event"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{field}: {msg}")
        raise EventRejected("; ".join(problems)) from None
