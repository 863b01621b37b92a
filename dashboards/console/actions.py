"""Operators' requests made into alert-desk events: a POSTed action or silence, or the console's
form, and the ``?state=`` filter. Pure: ValueError / SilenceRejected say what is wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ioc.alerts.model import Action
from ioc.alerts.silences import SilenceEvent, SilenceRejected, parse_silence_event


def parse_state(value: str | None) -> str | None:
    """``?state=`` of GET /api/v1/alerts; ValueError names the valid states."""
    from ioc.alerts.model import STATES

    if value is None or value == "":
        return None
    if value not in STATES:
        raise ValueError(f"state: must be one of {', '.join(STATES)}, got {value!r}")
    return value


def build_action(alert_id: str, body: Any, actor: str, at: datetime) -> Action:
    """An Action from a POSTed JSON body ``{"action", "comment"?, "assignee"?}``; ValueError says what is wrong."""
    from ioc.alerts.model import parse_alert_event

    if not isinstance(body, dict):
        raise ValueError('body: expected a JSON object like {"action": "acknowledge"}')
    unknown = sorted(set(body) - {"action", "comment", "assignee"})
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown field (expected action, comment, assignee)")
    event = parse_alert_event({"type": "action", "action": body.get("action"), "alert_id": alert_id,
                               "actor": actor, "at": at.isoformat(), "comment": body.get("comment") or None,
                               "assignee": body.get("assignee") or None})
    assert isinstance(event, Action)
    return event


SILENCE_FIELDS = {"matchers", "ends_at", "duration_min", "starts_at", "comment", "kind"}


def build_silence(body: Any, actor: str, now: datetime) -> SilenceEvent:
    """A ``create`` event from a POSTed body ``{"matchers": {...}, "ends_at" | "duration_min",
    "starts_at"?, "comment", "kind"?}``; SilenceRejected names what is wrong."""
    from datetime import timedelta

    if not isinstance(body, dict):
        raise SilenceRejected('body: expected a JSON object like {"matchers": {"system": "portal"}, '
                              '"duration_min": 60, "comment": "..."}')
    unknown = sorted(set(body) - SILENCE_FIELDS)
    if unknown:
        raise SilenceRejected(f"{unknown[0]}: unknown field (expected {', '.join(sorted(SILENCE_FIELDS))})")
    if ("ends_at" in body) == ("duration_min" in body):
        raise SilenceRejected("ends_at or duration_min: give exactly one (until when)")
    raw: dict[str, Any] = {"op": "create", "at": now.isoformat(), "actor": actor, "matchers": body.get("matchers"),
                           "comment": body.get("comment"), "kind": body.get("kind") or "silence"}
    if body.get("starts_at") is not None:
        raw["starts_at"] = body["starts_at"]
    if "ends_at" in body:
        raw["ends_at"] = body["ends_at"]
    else:
        minutes = body["duration_min"]
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
            raise SilenceRejected("duration_min: a number of minutes greater than 0")
        try:
            start = datetime.fromisoformat(str(body["starts_at"])) if body.get("starts_at") else now
        except ValueError:
            raise SilenceRejected("starts_at: must be ISO-8601 with a UTC offset") from None
        raw["ends_at"] = (start + timedelta(minutes=float(minutes))).isoformat()
    return parse_silence_event(raw)
