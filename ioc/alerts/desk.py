"""The alerts agent's pure part: the book, the event ids already logged, and the log entries.

:class:`AlertDesk` applies Signals and operators' Actions once each (a redelivered event is
applied once) and says what to log. A log entry is ``{"alert_id", "event"}``: the event as
logged (with its ``seq``) and the id of the alert it changed, so the warehouse can key the
history by alert without replaying it. The Faust agent (streams/alerts.py) feeds it; the web
process and the notifier read the log with :func:`decode_log_entry`; replaying its events
(``AlertBook.replay``) gives the same book.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from ioc.alerts.book import AlertBook, AlertRejected, EscalationPolicy, InhibitRule
from ioc.alerts.model import Action, AlertEventRejected, Signal, parse_alert_event


@dataclass(frozen=True)
class LogEntry:
    alert_id: str
    event: Signal | Action

    def to_json(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "event": self.event.to_json()}

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()


def decode_log_entry(value: bytes | str | dict[str, Any]) -> LogEntry:
    """One alert.log message; AlertEventRejected names what is wrong."""
    data = json.loads(value) if isinstance(value, (bytes, str)) else value
    if not isinstance(data, dict) or not isinstance(data.get("alert_id"), str) or "event" not in data:
        raise AlertEventRejected("alert log entry: expected {\"alert_id\": str, \"event\": {...}}")
    event = parse_alert_event(data["event"])
    if event.seq is None:
        raise AlertEventRejected("event.seq: a logged event must be numbered")
    return LogEntry(data["alert_id"], event)


@dataclass(frozen=True)
class Outcome:
    logged: LogEntry | None = None  # None: nothing changed (duplicate, or a clear with nothing open)
    rejected: str | None = None  # the reason an input was refused


class AlertDesk:
    def __init__(self, escalation: EscalationPolicy = EscalationPolicy(),
                 inhibit_rules: Iterable[InhibitRule] | None = None) -> None:
        self.escalation = escalation
        self.inhibit_rules = tuple(inhibit_rules) if inhibit_rules is not None else None
        self.book = self._new_book()
        self.seen: set[str] = set()

    def _new_book(self) -> AlertBook:
        if self.inhibit_rules is None:
            return AlertBook(self.escalation)
        return AlertBook(self.escalation, self.inhibit_rules)

    def recover(self, entries: Iterable[LogEntry]) -> int:
        """Rebuild from the log (what a previous writer published); returns its length."""
        self.book = self._new_book()
        self.seen = set()
        for entry in sorted(entries, key=lambda e: e.event.seq or 0):
            if self.book.apply(entry.event) is not None:
                self.seen.add(entry.event.event_id)
        return len(self.book.log)

    def apply(self, event: Signal | Action) -> Outcome:
        if event.event_id in self.seen:
            return Outcome()
        before = self.book.open_alert(event.fingerprint) if isinstance(event, Signal) else None
        try:
            logged = self.book.apply(event.model_copy(update={"seq": None}))
        except AlertRejected as exc:
            return Outcome(rejected=str(exc))
        if logged is None:
            return Outcome()
        self.seen.add(event.event_id)
        if isinstance(logged, Action):
            alert_id = logged.alert_id
        else:
            opened = self.book.open_alert(logged.fingerprint) or before
            assert opened is not None, "a logged signal has its alert"
            alert_id = opened.id
        return Outcome(LogEntry(alert_id, logged))

    def apply_raw(self, raw: bytes | None) -> Outcome:
        """One message of the input topics: a Signal or an Action as JSON."""
        try:
            event = parse_alert_event(json.loads(raw or b"null"))
        except (ValueError, AlertEventRejected) as exc:
            return Outcome(rejected=getattr(exc, "reason", None) or f"not JSON: {exc}")
        return self.apply(event)

    def tick(self, now: datetime) -> list[LogEntry]:
        return [LogEntry(a.alert_id, a) for a in self.book.tick(now)]
