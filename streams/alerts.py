"""The single-writer alerts agent: Signals and operators' Actions in, a numbered log out.

    {prefix}.alerts, {prefix}.alert.actions  ->  AlertBook.apply / tick  ->  {prefix}.alert.log

:class:`AlertDesk` is the pure part: the book, the event ids already logged (a redelivered
event is applied once), and the log entries. A log entry is ``{"alert_id", "event"}``: the
event as logged (with its ``seq``) and the id of the alert it changed, so the warehouse can
key the history by alert without replaying it. The web process and the sink read the log;
replaying its events (``AlertBook.replay``) gives the same book.

One writer: the input topics have one partition each, so one worker owns them; on (re)gaining
them it rebuilds the book from the log before applying anything new.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from ioc import clock
from ioc.alerts.book import AlertBook, AlertRejected, EscalationPolicy, InhibitRule
from ioc.alerts.model import Action, AlertEventRejected, Signal, parse_alert_event

log = logging.getLogger(__name__)

ESCALATION_TICK_S = 1.0


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


async def read_log(bootstrap: str, topic: str) -> list[LogEntry]:
    """Every entry of the alert log up to its current end."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        entries: list[LogEntry] = []
        while await consumer.position(tp) < end:
            batches = await consumer.getmany(tp, timeout_ms=500)
            for msg in batches.get(tp, []):
                try:
                    entries.append(decode_log_entry(msg.value))
                except (ValueError, AlertEventRejected) as exc:
                    log.warning("alert log: skipping offset %s: %s", msg.offset, exc)
        return entries
    finally:
        await consumer.stop()


def register_alert_agent(app: Any, settings: Any, bootstrap: str) -> None:
    """The agent and its escalation timer (``app``: faust.App, ``settings``: ioc.config.Settings)."""
    import faust

    from ioc.topics import Topics
    from streams.agents import deadletter_message

    topics = Topics.from_settings(settings.kafka)
    services = settings.services
    source = app.topic(topics.alerts, topics.alert_actions, key_serializer="raw", value_serializer="raw")
    log_topic = app.topic(topics.alert_log, key_serializer="raw", value_serializer="raw", partitions=1)
    deadletter = app.topic(topics.deadletter, value_serializer="raw")
    desk = AlertDesk(services.escalation, services.inhibit_rules)
    status = {"current": False, "owned": False}
    recovering = asyncio.Lock()

    def owned() -> bool:
        return any(tp.topic in (topics.alerts, topics.alert_actions) for tp in app.consumer.assignment())

    async def ensure_current() -> None:
        async with recovering:
            if not status["current"]:
                n = desk.recover(await read_log(bootstrap, topics.alert_log))
                status["current"] = True
                log.info("alerts agent: book rebuilt from %d logged events", n)

    async def publish(entry: LogEntry) -> None:
        await log_topic.send(key=entry.alert_id.encode(), value=entry.encode())

    @app.agent(source, name="alerts-agent", concurrency=1)
    async def alerts_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await ensure_current()
            outcome = desk.apply_raw(event.value)
            if outcome.logged is not None:
                await publish(outcome.logged)
            elif outcome.rejected is not None:
                m = event.message
                log.warning("alerts agent: refused %s:%s: %s", m.topic, m.offset, outcome.rejected)
                raw = (event.value or b"").decode("utf-8", "replace")
                await deadletter.send(value=deadletter_message(outcome.rejected, raw, m.topic, m.partition, m.offset))

    @app.timer(ESCALATION_TICK_S)
    async def escalate() -> None:
        if not owned():
            if status["owned"]:
                status["current"] = False  # another worker writes now: rebuild when it comes back
            status["owned"] = False
            return
        status["owned"] = True
        await ensure_current()
        for entry in desk.tick(clock.now()):
            await publish(entry)
