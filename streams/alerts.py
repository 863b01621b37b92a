"""The single-writer alerts agent: Signals and operators' Actions in, a numbered log out.

    {prefix}.alerts, {prefix}.alert.actions  ->  AlertDesk.apply / tick  ->  {prefix}.alert.log

A thin Faust adapter: the pure part (:class:`ioc.alerts.desk.AlertDesk`, the log entries)
lives in the core, where the web process and the notifier import it too.

One writer: the input topics have one partition each, so one worker owns them; on (re)gaining
them it rebuilds the book from the log before applying anything new.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ioc import clock
from ioc.alerts.desk import AlertDesk, LogEntry, decode_log_entry
from ioc.alerts.model import AlertEventRejected

log = logging.getLogger(__name__)

ESCALATION_TICK_S = 1.0


async def read_log(bootstrap: str, topic: str, *, fetch_max_wait_ms: int) -> list[LogEntry]:
    """Every entry of the alert log up to its current end (ioc.broker.read_to_end)."""
    from ioc.broker.read_to_end import read_from_beginning

    entries: list[LogEntry] = []
    for msg in await read_from_beginning(bootstrap, [(topic, 0)], fetch_max_wait_ms=fetch_max_wait_ms):
        try:
            entries.append(decode_log_entry(msg.value))
        except (ValueError, AlertEventRejected) as exc:
            log.warning("alert log: skipping offset %s: %s", msg.offset, exc)
    return entries


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
                n = desk.recover(await read_log(bootstrap, topics.alert_log,
                                                  fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms))
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
