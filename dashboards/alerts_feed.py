"""The web process's side of alerts and IT services.

* :class:`AlertReplica`: the alert book rebuilt from the alerts agent's log (``{prefix}.alert.log``),
  in ``seq`` order, for ``GET /api/v1/alerts`` and the console; thread-safe.
* :class:`ServiceHealth`: the newest live figures of every system (``{prefix}.service.figures``)
  with the age of their newest sample, for the wall.
* :class:`AlertsFeed`: a background thread with its own event loop that keeps both current and
  publishes operators' :class:`~ioc.alerts.model.Action` events to ``{prefix}.alert.actions``.

The web never changes the book itself: an action goes to the alerts agent (the single
writer) and shows up here once the agent has logged it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import threading
from datetime import datetime
from typing import Any, Callable, Iterable

from ioc import clock
from ioc.alerts.book import AlertBook, AlertRejected, EscalationPolicy, InhibitRule
from ioc.alerts.model import Action, AlertEventRejected
from streams.alerts import LogEntry, decode_log_entry
from ioc.broker.background import BackgroundLoop

log = logging.getLogger(__name__)


class AlertReplica:
    def __init__(self, escalation: EscalationPolicy = EscalationPolicy(),
                 inhibit_rules: Iterable[InhibitRule] | None = None) -> None:
        rules = tuple(inhibit_rules) if inhibit_rules is not None else None
        self.book = AlertBook(escalation, rules) if rules is not None else AlertBook(escalation)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.logged_ids: set[str] = set()
        self.gaps = 0

    def apply(self, entry: LogEntry) -> bool:
        """Apply one log entry in order; an entry seen before (redelivery) is skipped."""
        with self.changed:
            seq = entry.event.seq or 0
            if seq < len(self.book.log):
                return False
            if seq > len(self.book.log):
                self.gaps += 1  # should not happen with one writer; apply anyway, and say so
                log.warning("alert log: seq %d after %d: entries missing", seq, len(self.book.log))
            self.book.apply(entry.event)
            self.logged_ids.add(entry.event.event_id)
            self.changed.notify_all()
            return True

    def apply_raw(self, value: bytes | None) -> bool:
        try:
            return self.apply(decode_log_entry(value or b""))
        except (ValueError, AlertEventRejected) as exc:
            log.warning("alert log: unreadable entry: %s", exc)
            return False

    @property
    def length(self) -> int:
        with self.lock:
            return len(self.book.log)

    def api_view(self, state: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return self.book.api_view(state)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return self.book.snapshot()

    def groups(self, include_resolved: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            return self.book.groups(include_resolved)

    def check(self, action: Action) -> None:
        """Raise AlertRejected when the book as known here would refuse ``action``."""
        with self.lock:
            trial = copy.deepcopy(self.book)
        trial.apply(action)

    def wait_logged(self, event_id: str, timeout: float) -> bool:
        """Block until the agent has logged ``event_id`` (True) or ``timeout`` passed (False)."""
        with self.changed:
            return self.changed.wait_for(lambda: event_id in self.logged_ids, timeout)


class ServiceHealth:
    """Newest figures per system; several workers may each report some systems."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._systems: dict[str, tuple[datetime, dict[str, Any]]] = {}

    def apply(self, payload: dict[str, Any]) -> None:
        at = datetime.fromisoformat(payload["at"])
        with self.lock:
            for sid, figures in payload.get("systems", {}).items():
                old = self._systems.get(sid)
                if old is None or old[0] <= at:
                    self._systems[sid] = (at, figures)

    def latest(self, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """``{system_id: {"figures", "at", "age_s"}}``: the age is of the newest sample behind them."""
        now = now or clock.now()  # the samples were stamped by the project clock
        with self.lock:
            items = list(self._systems.items())
        return {sid: {"figures": fig, "at": at.isoformat(), "age_s": max(0.0, (now - at).total_seconds())}
                for sid, (at, fig) in sorted(items)}


class ActionRefused(Exception):
    """An operator's action that cannot be applied; the message says why (for the console)."""


class AlertsFeed(BackgroundLoop):
    """Background consumer of the alert log and service figures, and the actions' producer."""

    thread_name = "alerts-feed"

    def __init__(self, bootstrap: str, log_topic: str, figures_topic: str, actions_topic: str,
                 replica: AlertReplica, health: ServiceHealth) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        self.log_topic = log_topic
        self.figures_topic = figures_topic
        self.actions_topic = actions_topic
        self.replica = replica
        self.health = health
        self.connected = False
        self._producer: Any = None


    # -- publishing actions (called from request threads) ------------------------------
    def submit(self, action: Action, timeout: float = 5.0) -> None:
        """Check ``action`` against the replica, then publish it; ActionRefused says why not."""
        try:
            self.replica.check(action)
        except AlertRejected as exc:
            raise ActionRefused(str(exc)) from None
        if self._loop is None or self._producer is None:
            raise ActionRefused("Kafka is not connected yet; try again in a moment")
        value = json.dumps(action.to_json(), ensure_ascii=False).encode()
        future = asyncio.run_coroutine_threadsafe(
            self._producer.send_and_wait(self.actions_topic, value, key=action.alert_id.encode()), self._loop)
        try:
            future.result(timeout)
        except Exception as exc:  # noqa: BLE001 - Kafka down or slow: tell the operator
            raise ActionRefused(f"Kafka did not accept the action ({exc.__class__.__name__})") from None

    # -- the thread --------------------------------------------------------------------

    async def _run(self) -> None:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

        assert self._stop is not None
        while not self._stop.is_set():
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=0)
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False)
            try:
                await producer.start()
                await consumer.start()
                log_tp = TopicPartition(self.log_topic, 0)
                await consumer.topics()  # fetches the cluster metadata
                figure_tps = [TopicPartition(self.figures_topic, p)
                              for p in sorted(consumer.partitions_for_topic(self.figures_topic) or {0})]
                consumer.assign([log_tp, *figure_tps])
                # The whole log (the book is its fold); figures: only the newest matter.
                await consumer.seek_to_beginning(log_tp)  # entries already applied are skipped by seq
                await consumer.seek_to_end(*figure_tps)
                self._producer = producer
                self.connected = True
                while not self._stop.is_set():
                    batches = await consumer.getmany(timeout_ms=250)
                    for tp, messages in batches.items():
                        for msg in messages:
                            self._apply(tp.topic, msg.value)
            except Exception as exc:  # noqa: BLE001 - broker gone: reconnect, keep serving
                log.warning("alerts feed: %s; reconnecting", exc)
                self.connected = False
                try:
                    await asyncio.wait_for(self._stop.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
            finally:
                self._producer = None
                await consumer.stop()
                await producer.stop()

    def _apply(self, topic: str, value: bytes | None) -> None:
        if topic == self.log_topic:
            self.replica.apply_raw(value)
            return
        try:
            self.health.apply(json.loads(value or b"{}"))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("service figures: unreadable message: %s", exc)


def now_utc() -> datetime:
    return clock.now()  # an operator's action joins the alert desk's timeline


# -- HTTP (contracts.md §5) ----------------------------------------------------------------
ALERTS_PATH = "/api/v1/alerts"
ACTIONS_PATH = "/api/v1/alerts/<alert_id>/actions"
SERVICES_PATH = "/api/v1/services"
CONFIRM_WAIT_S = 5.0  # how long a POSTed action waits to be logged by the alerts agent


def alert_route_access() -> dict[str, Any]:
    """Who may call the routes of :func:`register_alert_routes` (merged into ROUTE_ACCESS)."""
    from dashboards.auth import CONSOLE, SIGNED_IN, Access, Kind

    return {
        # Operators' session, or automation with the operator bearer token.
        ALERTS_PATH: Access(CONSOLE, Kind.api, operator_token=True),
        # A session POST must come from our own pages (same-origin check of the guard).
        ACTIONS_PATH: Access(CONSOLE, Kind.api, operator_token=True),
        SERVICES_PATH: Access(SIGNED_IN, Kind.api, operator_token=True),
    }


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


def register_alert_routes(server: Any, replica: AlertReplica, health: ServiceHealth,
                          feed: "Callable[[], AlertsFeed | None]") -> None:
    import flask

    def error(status: int, message: str) -> Any:
        return flask.jsonify({"error": message}), status

    @server.get(ALERTS_PATH)
    def list_alerts() -> Any:
        try:
            state = parse_state(flask.request.args.get("state"))
        except ValueError as exc:
            return error(400, str(exc))
        return flask.jsonify(replica.api_view(state))

    @server.route(ACTIONS_PATH, methods=["GET", "POST"])
    def post_action(alert_id: str) -> Any:
        if flask.request.method == "GET":  # the alert's history: what was done, by whom, when
            alert = next((a for a in replica.snapshot() if a["id"] == alert_id), None)
            return flask.jsonify(alert["history"]) if alert else error(404, f"unknown alert id {alert_id!r}")
        principal = flask.g.principal
        try:
            action = build_action(alert_id, flask.request.get_json(silent=True), principal.username, now_utc())
        except (ValueError, AlertEventRejected) as exc:
            return error(400, getattr(exc, "reason", None) or str(exc))
        publisher = feed()
        if publisher is None:
            return error(503, "the alert feed is not running")
        try:
            publisher.submit(action)
        except ActionRefused as exc:
            return error(409, str(exc))
        logged = replica.wait_logged(action.event_id, CONFIRM_WAIT_S)
        return flask.jsonify({"event_id": action.event_id, "logged": logged}), 200 if logged else 202

    @server.get(SERVICES_PATH)
    def services() -> Any:
        return flask.jsonify(health.latest())
