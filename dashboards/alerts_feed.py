"""The web process's side of alerts and IT services.

* :class:`AlertReplica`: the alert book rebuilt from the alerts agent's log (``{prefix}.alert.log``),
  in ``seq`` order, for ``GET /api/v1/alerts`` and the console; thread-safe.
* :class:`ServiceHealth`: the newest live figures of every system (``{prefix}.service.figures``)
  with the age of their newest sample, for the wall.
* :class:`SilenceReplica`: the silences and maintenance windows, the fold of ``{prefix}.alert.silences``.
* :class:`AlertsFeed`: a background thread with its own event loop that keeps them current,
  publishes operators' :class:`~ioc.alerts.model.Action` events to ``{prefix}.alert.actions`` and
  their silence events (create, expire) to ``{prefix}.alert.silences``.

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
from ioc.alerts.desk import LogEntry, decode_log_entry
from ioc.alerts.model import Action, AlertEventRejected
from ioc.alerts.silences import Silence, SilenceBook, SilenceEvent, SilenceRejected, parse_silence_event
from ioc.broker.background import BackgroundLoop
from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, EARLIEST, LATEST, ConsumerLoop, Subscription

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


class SilenceReplica:
    """The silences as the web knows them (the fold of the silences topic); thread-safe."""

    def __init__(self) -> None:
        self.book = SilenceBook()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)

    def apply_raw(self, value: bytes | None) -> bool:
        try:
            event = parse_silence_event(value or b"")
        except SilenceRejected as exc:
            log.warning("silences: unreadable event: %s", exc)
            return False
        with self.changed:
            applied = self.book.apply(event)
            self.changed.notify_all()
            return applied

    def check(self, event: SilenceEvent) -> None:
        with self.lock:
            self.book.check(event)

    def get(self, silence_id: str) -> Silence | None:
        with self.lock:
            return self.book.get(silence_id)

    def views(self, now: datetime, state: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/v1/silences``: not ended ones by default; ``state`` active, pending, expired or all."""
        with self.lock:
            silences = self.book.silences(now, include_expired=state in ("expired", "all"))
        views = [s.view(now) for s in silences]
        return [v for v in views if state in (None, "all") or v["state"] == state]

    def silencing(self, alert: dict[str, Any], now: datetime) -> Silence | None:
        with self.lock:
            return self.book.silencing(alert, now)

    def wait_seen(self, event_id: str, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: event_id in self.book.seen, timeout)


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
        if self._loop is None or self._producer is None:
            raise ActionRefused("Kafka is not connected yet; try again in a moment")
        value = json.dumps(action.to_json(), ensure_ascii=False).encode()
        future = asyncio.run_coroutine_threadsafe(
            self._producer.send_and_wait(self.actions_topic, value, key=action.alert_id.encode()), self._loop)
        try:
            future.result(timeout)
        except Exception as exc:  # noqa: BLE001 - Kafka down or slow: tell the operator
            raise ActionRefused(f"Kafka did not accept the action ({exc.__class__.__name__})") from None

    def submit_silence(self, event: SilenceEvent, timeout: float = 5.0) -> bool:
        """Check ``event`` against the silences known here, publish it, and wait (True) until it
        is read back; ActionRefused says why not."""
        if self.silences is None or not self.silences_topic:
            raise ActionRefused("silences are not followed by this process")
        try:
            self.silences.check(event)
        except SilenceRejected as exc:
            raise ActionRefused(str(exc)) from None
        if self._loop is None or self._producer is None:
            raise ActionRefused("Kafka is not connected yet; try again in a moment")
        future = asyncio.run_coroutine_threadsafe(
            self._producer.send_and_wait(self.silences_topic, event.encode(), key=event.silence_id.encode()),
            self._loop)
        try:
            future.result(timeout)
        except Exception as exc:  # noqa: BLE001 - Kafka down or slow: tell the operator
            raise ActionRefused(f"Kafka did not accept the silence ({exc.__class__.__name__})") from None
        return self.silences.wait_seen(event.event_id, timeout)

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


def now_utc() -> datetime:
    return clock.now()  # an operator's action joins the alert desk's timeline


# -- HTTP (contracts.md §5) ----------------------------------------------------------------
ALERTS_PATH = "/api/v1/alerts"
ACTIONS_PATH = "/api/v1/alerts/<alert_id>/actions"
SERVICES_PATH = "/api/v1/services"
SILENCES_PATH = "/api/v1/silences"
SILENCE_PATH = "/api/v1/silences/<silence_id>"
RUNBOOK_PATH = "/runbooks/<rule>"
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
        # Silences: the same as the alerts (operators, or automation with the operator token).
        SILENCES_PATH: Access(CONSOLE, Kind.api, operator_token=True),
        SILENCE_PATH: Access(CONSOLE, Kind.api, operator_token=True),
        # What to do about each rule: linked from every notification.
        RUNBOOK_PATH: Access(CONSOLE, Kind.page),
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


def runbook_page(rule: str) -> str | None:
    """The runbook of a rule as a plain page (no script), or None for an unknown rule."""
    import html

    from ioc.alerts.runbooks import RUNBOOKS

    if rule not in RUNBOOKS:
        return None
    title, steps = RUNBOOKS[rule]
    items = "".join(f"<li>{html.escape(step)}</li>" for step in steps)
    return ("<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
            f"<title>Hướng dẫn xử lý — {html.escape(title)}</title><style>body{{background:#0b1320;color:#e8eef7;"
            "font-family:'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;margin:24px;max-width:60em}a{color:#9ecbff}"
            f"li{{margin:.4em 0}}</style></head><body><h1>{html.escape(title)}</h1><p>Quy tắc / rule: "
            f"<code>{html.escape(rule)}</code></p><ol>{items}</ol>"
            "<p><a href=\"/console/\">← Bàn điều hành cảnh báo</a></p></body></html>")


def register_silence_routes(server: Any, silences: SilenceReplica, feed: "Callable[[], AlertsFeed | None]") -> None:
    """``GET/POST /api/v1/silences``, ``DELETE /api/v1/silences/<id>`` and ``/runbooks/<rule>``."""
    import flask

    def error(status: int, message: str) -> Any:
        return flask.jsonify({"error": message}), status

    @server.route(SILENCES_PATH, methods=["GET", "POST"])
    def silences_api() -> Any:
        now = clock.now()
        if flask.request.method == "GET":
            state = flask.request.args.get("state") or None
            if state not in (None, "active", "pending", "expired", "all"):
                return error(400, f"state: must be one of active, pending, expired, all; got {state!r}")
            return flask.jsonify(silences.views(now, state))
        try:
            event = build_silence(flask.request.get_json(silent=True), flask.g.principal.username, now)
        except SilenceRejected as exc:
            return error(400, str(exc))
        publisher = feed()
        if publisher is None:
            return error(503, "the alert feed is not running")
        try:
            seen = publisher.submit_silence(event)
        except ActionRefused as exc:
            return error(409, str(exc))
        created = silences.get(event.silence_id)
        body = created.view(now) if created else {"id": event.silence_id}
        return flask.jsonify({**body, "logged": seen}), 201 if seen else 202

    @server.route(SILENCE_PATH, methods=["GET", "DELETE"])
    def silence_api(silence_id: str) -> Any:
        now = clock.now()
        current = silences.get(silence_id)
        if current is None:
            return error(404, f"unknown silence {silence_id!r}")
        if flask.request.method == "GET":
            return flask.jsonify(current.view(now))
        body = flask.request.get_json(silent=True) or {}
        comment = body.get("comment") if isinstance(body, dict) else None
        try:
            event = parse_silence_event({"op": "expire", "silence_id": silence_id, "at": now.isoformat(),
                                         "actor": flask.g.principal.username, "comment": comment})
        except SilenceRejected as exc:
            return error(400, str(exc))
        publisher = feed()
        if publisher is None:
            return error(503, "the alert feed is not running")
        try:
            seen = publisher.submit_silence(event)
        except ActionRefused as exc:
            return error(409, str(exc))
        ended = silences.get(silence_id)
        return flask.jsonify({**(ended.view(clock.now()) if ended else {}), "logged": seen}), 200 if seen else 202

    @server.get(RUNBOOK_PATH)
    def runbook(rule: str) -> Any:
        page = runbook_page(rule)
        if page is None:
            return flask.Response("Không có hướng dẫn cho quy tắc này / no runbook for this rule", status=404,
                                  mimetype="text/plain")
        return flask.Response(page, mimetype="text/html")


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
