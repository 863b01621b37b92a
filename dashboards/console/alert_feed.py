"""The alerts feed: a background thread with its own event loop that keeps the web's
:mod:`~dashboards.console.alert_state` current (alert log, silences, service figures, on the one
:class:`~ioc.broker.consumer.ConsumerLoop`) and publishes operators' actions to
``{prefix}.alert.actions`` and their silence events (create, expire) to ``{prefix}.alert.silences``."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from dashboards.console.alert_state import AlertReplica, ServiceHealth, SilenceReplica
from ioc.alerts.book import AlertRejected
from ioc.alerts.model import Action
from ioc.alerts.silences import SilenceEvent, SilenceRejected
from ioc.broker.background import BackgroundLoop
from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, EARLIEST, LATEST, ConsumerLoop, Subscription

log = logging.getLogger(__name__)


class ActionRefused(Exception):
    """An operator's action that cannot be applied; the message says why (for the console)."""


class AlertsFeed(BackgroundLoop):
    """Background consumer of the alert log and service figures, and the actions' producer."""

    thread_name = "alerts-feed"

    def __init__(self, bootstrap: str, log_topic: str, figures_topic: str, actions_topic: str,
                 replica: AlertReplica, health: ServiceHealth, silences_topic: str | None = None,
                 silences: SilenceReplica | None = None, *, fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
        super().__init__()
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.bootstrap = bootstrap
        self.log_topic = log_topic
        self.figures_topic = figures_topic
        self.actions_topic = actions_topic
        self.replica = replica
        self.health = health
        self.silences_topic = silences_topic
        self.silences = silences
        self.connected = False
        self._producer: Any = None  # the producer while connected (request threads publish through it)
        self._opened: Any = None  # the producer to stop on disconnect (even if it never started)


    # -- publishing actions (called from request threads) ------------------------------
    def submit(self, action: Action, timeout: float = 5.0) -> None:
        """Check ``action`` against the replica, then publish it; ActionRefused says why not."""
        try:
            self.replica.check(action)
        except AlertRejected as exc:
            raise ActionRefused(str(exc)) from None
        value = json.dumps(action.to_json(), ensure_ascii=False).encode()
        self._publish(self.actions_topic, value, action.alert_id.encode(), "action", timeout)

    def submit_silence(self, event: SilenceEvent, timeout: float = 5.0) -> bool:
        """Check ``event`` against the silences known here, publish it, and wait (True) until it
        is read back; ActionRefused says why not."""
        if self.silences is None or not self.silences_topic:
            raise ActionRefused("silences are not followed by this process")
        try:
            self.silences.check(event)
        except SilenceRejected as exc:
            raise ActionRefused(str(exc)) from None
        self._publish(self.silences_topic, event.encode(), event.silence_id.encode(), "silence", timeout)
        return self.silences.wait_seen(event.event_id, timeout)

    def _publish(self, topic: str, value: bytes, key: bytes, what: str, timeout: float) -> None:
        """Send through the feed's producer on its loop and wait for the broker's ack; ActionRefused
        (naming ``what``) when Kafka is not connected, down or slow."""
        if self._loop is None or self._producer is None:
            raise ActionRefused("Kafka is not connected yet; try again in a moment")
        future = asyncio.run_coroutine_threadsafe(self._producer.send_and_wait(topic, value, key=key), self._loop)
        try:
            future.result(timeout)
        except Exception as exc:  # Kafka down or slow: tell the operator
            raise ActionRefused(f"Kafka did not accept the {what} ({exc.__class__.__name__})") from None

    # -- the thread --------------------------------------------------------------------

    async def _run(self) -> None:
        # The whole log (the book is its fold; entries already applied are skipped by seq) and
        # the silences (a fold too: events seen before are skipped); figures: only the newest matter.
        subscriptions = [Subscription(self.log_topic, EARLIEST, (0,)), Subscription(self.figures_topic, LATEST)]
        if self.silences_topic and self.silences:
            subscriptions.append(Subscription(self.silences_topic, EARLIEST, (0,)))
        await self._follow(ConsumerLoop(self.bootstrap, subscriptions, self._handle, name="alerts feed",
                                        fetch_max_wait_ms=self.fetch_max_wait_ms,
                                        on_connect=self._connect, on_disconnect=self._disconnect))

    async def _connect(self) -> None:
        """The actions' producer, connected with the reader (both need the broker)."""
        from ioc.broker.producer import AsyncProducer

        self._opened = producer = AsyncProducer(self.bootstrap, client_id="ioc-alerts-feed", linger_ms=0)
        await producer.start()
        self._producer, self.connected = producer, True

    async def _disconnect(self) -> None:
        self._producer, self.connected = None, False
        producer, self._opened = self._opened, None
        if producer is not None:
            await producer.stop()

    def _handle(self, records: list[Any]) -> None:
        for msg in records:
            self._apply(msg.topic, msg.value)

    def _apply(self, topic: str, value: bytes | None) -> None:
        if topic == self.log_topic:
            self.replica.apply_raw(value)
            return
        if topic == self.silences_topic and self.silences is not None:
            self.silences.apply_raw(value)
            return
        try:
            self.health.apply(json.loads(value or b"{}"))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("service figures: unreadable message: %s", exc)
