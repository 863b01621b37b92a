"""The alerts' HTTP API (contracts.md §5): ``/api/v1/alerts`` and their actions, ``/api/v1/services``,
``/api/v1/silences`` and ``/runbooks/<rule>``; reads the replicas, publishes through the feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from dashboards.console.actions import build_action, build_silence, parse_state
from dashboards.console.alert_feed import ActionRefused, AlertsFeed
from dashboards.console.alert_state import CONFIRM_WAIT_S, AlertReplica, ServiceHealth, SilenceReplica
from ioc import clock
from ioc.alerts.model import AlertEventRejected
from ioc.alerts.silences import SilenceEvent, SilenceRejected, parse_silence_event

# -- HTTP (contracts.md §5) ----------------------------------------------------------------
ALERTS_PATH = "/api/v1/alerts"
ACTIONS_PATH = "/api/v1/alerts/<alert_id>/actions"
SERVICES_PATH = "/api/v1/services"
SILENCES_PATH = "/api/v1/silences"
SILENCE_PATH = "/api/v1/silences/<silence_id>"
RUNBOOK_PATH = "/runbooks/<rule>"


def now_utc() -> datetime:
    return clock.now()  # an operator's action joins the alert desk's timeline


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

    def submit(event: SilenceEvent) -> tuple[bool, Any]:
        """Publish ``event``: (read back in time?, None), or (False, the error response)."""
        publisher = feed()
        if publisher is None:
            return False, error(503, "the alert feed is not running")
        try:
            return publisher.submit_silence(event), None
        except ActionRefused as exc:
            return False, error(409, str(exc))

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
        seen, refused = submit(event)
        if refused is not None:
            return refused
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
        seen, refused = submit(event)
        if refused is not None:
            return refused
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
