"""`ioc run notifier`: tells people about alerts through the channels of ``notify``.

    {prefix}.alert.log  (the alert book's log)      \\
    {prefix}.alert.silences  (silences, maintenance)  }-> plan (ioc.alerts.routing) -> senders
    {prefix}.notify.log  (what was delivered)        /       -> {prefix}.notify.log (sent | dead)
                                                               -> {prefix}.deadletter (dead, with the reason)

It reads all three topics from their beginning (the book, the silences and the deliveries are
folds of them) and, once caught up with where they ended at its start, asks the pure
:func:`~ioc.alerts.routing.plan` every second (and after each message) what is due. Each due
notification is delivered by a task of its own (a slow channel holds up nobody else): tried up
to ``notify.retry.attempts`` times with exponential backoff, then recorded ``sent`` or ``dead``
on the notify log (keyed ``alert|transition|channel``); a dead one also goes to the dead-letter
topic with the reason, as rejected input does. Recorded before the next plan, read back at
every start (and restored from the warehouse with the embedded broker), so a notification is
sent once: a restart, a redelivered log entry or a repeated raise of the same alert never sends
it again. The one window left: killed between a successful send and its record, it sends that
one again on restart (at least once, never silently lost).

One notifier per stack (``ioc up`` starts it when ``notify`` has channels and routes); two
would each send.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any, Iterable, Mapping

from ioc import clock
from ioc.alerts.book import AlertBook, EscalationPolicy, InhibitRule
from ioc.alerts.messages import render
from ioc.alerts.model import AlertEventRejected, Frame, Signal
from ioc.alerts.routing import Delivery, DeliveryLog, Notification, NotifySettings, plan
from ioc.alerts.silences import SilenceBook, SilenceRejected, parse_silence_event
from ioc.backoff import Backoff
from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, EARLIEST, ConsumerLoop, Subscription
from ioc.broker.read_to_end import read_to_end
from ioc.health import Health
from ioc.notify.senders import Sender, SendFailed

log = logging.getLogger(__name__)

NOTIFIER_CONDITIONS = ("connected", "caught_up")
PLAN_EVERY_S = 1.0
RECONNECT_S = 2.0
MAX_FRAMES = 500  # pictures of open camera alerts kept for escalations (the newest raise's)


class NotifierState:
    """The notifier's view: the alert book (as the web's replica), the silences, the deliveries,
    and the newest camera picture of each alert. Pure: fed messages, asked what is due."""

    def __init__(self, settings: NotifySettings, escalation: EscalationPolicy = EscalationPolicy(),
                 inhibit_rules: Iterable[InhibitRule] | None = None) -> None:
        self.settings = settings
        self.book = AlertBook(escalation, inhibit_rules) if inhibit_rules is not None else AlertBook(escalation)
        self.silences = SilenceBook()
        self.delivered = DeliveryLog()
        self.frames: dict[str, Frame] = {}

    def apply_log(self, value: bytes | None) -> None:
        from ioc.alerts.desk import decode_log_entry

        try:
            entry = decode_log_entry(value or b"")
        except (ValueError, AlertEventRejected) as exc:
            log.warning("notifier: unreadable alert log entry: %s", exc)
            return
        if (entry.event.seq or 0) < len(self.book.log):
            return  # read before (a reconnect)
        self.book.apply(entry.event)
        event = entry.event
        if isinstance(event, Signal) and event.frame is not None:
            self.frames[entry.alert_id] = event.frame
            while len(self.frames) > MAX_FRAMES:
                del self.frames[next(iter(self.frames))]

    def apply_silence(self, value: bytes | None) -> None:
        try:
            self.silences.apply(parse_silence_event(value or b""))
        except SilenceRejected as exc:
            log.warning("notifier: unreadable silence event: %s", exc)

    def apply_delivery(self, value: bytes | None) -> None:
        try:
            self.delivered.record(Delivery.from_json(json.loads(value or b"{}")))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("notifier: unreadable notify log record: %s", exc)

    def due(self, now: datetime) -> list[Notification]:
        return plan(self.book.snapshot(), self.silences, self.delivered, self.settings, now)

    def alert(self, alert_id: str) -> dict[str, Any]:
        a = self.book.get(alert_id)
        return {**a.model_dump(mode="json"), "inhibited_by": self.book.inhibitor(a)}


class Notifier:
    """The I/O around :class:`NotifierState`: Kafka in and out (a :class:`ConsumerLoop`, so it
    reconnects and reads the topics again: the folds skip what they hold), senders, retries."""

    def __init__(self, state: NotifierState, senders: Mapping[str, Sender], bootstrap: str, log_topic: str,
                 silences_topic: str, notify_topic: str, deadletter_topic: str, base_url: str,
                 health: Health | None = None, stop: asyncio.Event | None = None, *,
                 fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
        self.state = state
        self.senders = dict(senders)
        self.bootstrap = bootstrap
        self.topics = {"log": log_topic, "silences": silences_topic, "notify": notify_topic}
        self.deadletter_topic = deadletter_topic
        self.base_url = base_url
        self.health = health or Health("notifier", conditions=NOTIFIER_CONDITIONS)
        self.in_flight: dict[str, asyncio.Task[None]] = {}
        self.sent = self.dead = 0
        self._producer: Any = None
        self._stop = stop or asyncio.Event()
        self._next_plan = 0.0
        self._reader = ConsumerLoop(bootstrap, [Subscription(t, EARLIEST, (0,)) for t in self.topics.values()],
                                    self._handle, name="notifier", fetch_max_wait_ms=fetch_max_wait_ms, poll_ms=200,
                                    backoff=Backoff(RECONNECT_S, RECONNECT_S), on_connect=self._connect,
                                    on_disconnect=self._disconnect)

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Until :meth:`stop`."""
        await self._reader.run(self._stop.is_set, self._pause)

    async def _pause(self, seconds: float) -> None:
        self.health.beat()  # reconnecting is this process at work
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _connect(self) -> None:
        """The producer, then the topics read up to where they end now (ioc.broker.read_to_end)."""
        from ioc.broker.producer import start_producer

        self._producer = await start_producer(self.bootstrap)
        self.health.set("connected", True)
        consumer = self._reader.consumer
        await read_to_end(consumer, consumer.assignment(), self._catch_up, stopped=self._stop.is_set)
        self.health.set("caught_up", True)
        log.info("notifier: caught up: %d alerts, %d silences, %d deliveries",
                 len(self.state.book.alerts()), len(self.state.silences.silences(clock.now(), True)),
                 len(self.state.delivered))

    def _catch_up(self, records: list[Any]) -> None:
        self.health.beat()
        for msg in records:
            self._apply(msg.topic, msg.value)

    def _handle(self, records: list[Any]) -> None:
        """Each poll (empty ones too): apply, then plan after messages or every PLAN_EVERY_S."""
        self._catch_up(records)
        now = asyncio.get_running_loop().time()
        if records or now >= self._next_plan:
            self._next_plan = now + PLAN_EVERY_S
            self._dispatch(clock.now())

    async def _disconnect(self) -> None:
        for task in list(self.in_flight.values()):
            task.cancel()  # not recorded: due again once connected
        await asyncio.gather(*self.in_flight.values(), return_exceptions=True)
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
        self.health.set("connected", False)
        self.health.set("caught_up", False)

    def _apply(self, topic: str, value: bytes | None) -> None:
        if topic == self.topics["log"]:
            self.state.apply_log(value)
        elif topic == self.topics["silences"]:
            self.state.apply_silence(value)
        else:
            self.state.apply_delivery(value)

    def _dispatch(self, now: datetime) -> None:
        for n in self.state.due(now):
            if n.key in self.in_flight:
                continue
            if n.channel not in self.senders:  # cannot happen: the settings check the routes' channels
                continue
            self.in_flight[n.key] = asyncio.create_task(self._deliver(n), name=f"notify {n.key}")

    async def _deliver(self, n: Notification) -> None:
        policy = self.state.settings.retry
        sender = self.senders[n.channel]
        alert = self.state.alert(n.alert_id)
        message = render(n, alert, self.base_url, clock.now(), self.state.frames.get(n.alert_id),
                         self.state.settings.runbooks)
        failures, error = 0, None
        try:
            while True:
                try:
                    await asyncio.to_thread(sender.send, message, n.key)
                    break
                except SendFailed as exc:
                    failures += 1
                    error = str(exc)
                    log.warning("notifier: %s: try %d of %d failed: %s", n.key, failures, policy.attempts, exc)
                    if failures >= policy.attempts:
                        break
                    try:
                        await asyncio.wait_for(self._stop.wait(), policy.delay(failures))
                        return  # stopping: not recorded, so due again at the next start
                    except asyncio.TimeoutError:
                        pass
            status = "sent" if failures < policy.attempts else "dead"
            d = Delivery(n.alert_id, n.transition, n.channel, status, clock.now(),  # type: ignore[arg-type]
                         attempts=failures + (status == "sent"), error=error if status == "dead" else None)
            self.state.delivered.record(d)  # before the next plan: never due twice
            await self._producer.send_and_wait(self.topics["notify"], json.dumps(d.to_json()).encode(),
                                               key=n.key.encode())
            if status == "sent":
                self.sent += 1
                log.info("notifier: sent %s", n.key)
            else:
                self.dead += 1
                await self._producer.send_and_wait(self.deadletter_topic, deadletter_record(n, d, message.payload))
        finally:
            self.in_flight.pop(n.key, None)


def deadletter_record(n: Notification, d: Delivery, payload: dict[str, Any]) -> bytes:
    """A notification given up, on the dead-letter topic in the shape every rejected item has
    (streams/agents.py ``deadletter_message``), the picture left out."""
    raw = json.dumps({**payload, "frame": None} if payload.get("frame") else payload, ensure_ascii=False)
    return json.dumps({
        "rejected_at": d.at.isoformat(), "source_topic": "notify:" + n.channel, "source_partition": 0,
        "source_offset": 0, "source_item": 0,
        "reason": f"notification {n.key} not delivered after {d.attempts} tries: {d.error}",
        "raw": raw[:65_536],
    }, ensure_ascii=False).encode()


async def run_notifier(settings: Any, bootstrap: str, senders: Mapping[str, Sender], health: Health,
                       stop: asyncio.Event) -> Notifier:
    """Until ``stop``: ``settings`` is :class:`ioc.config.Settings`."""
    from ioc.topics import Topics

    topics = Topics.from_settings(settings.kafka)
    state = NotifierState(settings.notify, settings.services.escalation, settings.services.inhibit_rules)
    notifier = Notifier(state, senders, bootstrap, topics.alert_log, topics.silences, topics.notify_log,
                        topics.deadletter, settings.notify_base_url, health, stop,
                        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms)
    await notifier.run()
    return notifier
