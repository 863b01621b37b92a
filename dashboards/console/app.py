"""The operator console at ``/console/``: alert queue, groups, filters and the five actions.

A Dash app of its own on the web server, for the operator role only (every callback is
declared with it). It reads the web process's :class:`~dashboards.console.alert_state.AlertReplica`
and posts each action (with the signed-in user and the time) to the alerts agent through
the feed; the queue refreshes every two seconds without losing the operator's place: the
filters are inputs the refresh never writes, the selection is kept by alert id (re-selected
in the new rows), and the table is updated in place, so its scroll position stays.

Below the queue, the silences and maintenance windows: made from conditions (or from the
selected alert), with who, why and until when, listed with their state, ended on request;
alerts they match are marked "tắt thông báo" and are not notified (ioc.alerts.silences).

Then the dossier drill-down (:mod:`dashboards.console.drilldown`): the dossiers
behind a unit's live figure (overdue, at risk, ...), read from the warehouse.

Vietnamese by default; ``?lang=en`` (the same switch as the sign-in pages) for English.
"""

from __future__ import annotations

from typing import Any, Callable

import dash
import flask
from dash import Input, Output, State, ctx

from dashboards import ASSETS_DIR
from dashboards.console import drilldown as console_drilldown
from dashboards.console import ids
from dashboards.console.actions import build_action, build_silence
from dashboards.console.alert_feed import ActionRefused
from dashboards.console.alert_state import CONFIRM_WAIT_S, AlertReplica, SilenceReplica
from dashboards.console.layout import BASE_PATH, detail_view, groups_view, layout
from dashboards.console.views import (
    ACTIONS,
    filter_alerts,
    group_key,
    label_of,
    parse_local_start,
    silence_body,
    silence_rows,
    system_name,
    system_options,
    table_rows,
    with_silences,
)
from dashboards.i18n import pick_lang, t
from ioc import clock
from ioc.alerts.model import AlertEventRejected
from ioc.alerts.silences import SilenceRejected, parse_silence_event


# -- the app --------------------------------------------------------------------------------
def mount_console(server: flask.Flask, security: Any, replica: AlertReplica, submit: Callable[[], Any],
                  roles: Any, drilldown: console_drilldown.DrilldownSources | None = None,
                  silences: SilenceReplica | None = None) -> dash.Dash:
    """The console Dash app on ``server``, protected for ``roles``; ``submit()`` returns the
    :class:`~dashboards.console.alert_feed.AlertsFeed` (or None before it runs); ``drilldown``: where
    the dossier drill-down reads (without it the panel says the warehouse is not connected)."""
    app = dash.Dash("ioc-console", server=server, url_base_pathname=BASE_PATH, title="IOC — Bàn điều hành cảnh báo",
                    assets_folder=str(ASSETS_DIR), assets_ignore=r"wall\.css", serve_locally=True, update_title=None)
    security.protect_dash(server, app, roles)
    from dashboards.auth import Access, Kind

    for rule in server.url_map.iter_rules():  # the assets blueprint of a second Dash app
        if rule.rule.startswith(BASE_PATH + "assets/") and security.policy.for_rule(rule.rule) is None:
            security.policy.declare(rule.rule, Access(frozenset(roles), Kind.static))
    app.layout = layout
    with security.callbacks.declare(app, roles):
        register(app, replica, submit, silences or SilenceReplica())
        console_drilldown.register(app, drilldown)
    return app



def register(app: dash.Dash, replica: AlertReplica, feed: Callable[[], Any],
             silences: SilenceReplica | None = None) -> None:
    silences = silences or SilenceReplica()
    @app.callback(
        Output(ids.TABLE, "data"), Output(ids.TABLE, "selected_rows"), Output(ids.GROUPS, "children"),
        Output(ids.FILTER_UNIT, "options"), Output(ids.FILTER_GROUP, "options"), Output(ids.COUNT, "children"),
        Input(ids.TICK, "n_intervals"), Input(ids.FILTER_SOURCE, "value"), Input(ids.FILTER_SEVERITY, "value"),
        Input(ids.FILTER_UNIT, "value"), Input(ids.FILTER_STATE, "value"), Input(ids.FILTER_GROUP, "value"),
        State(ids.SELECTED, "data"), State(ids.LANG, "data"),
    )
    def refresh(_n: Any, source: str | None, severity: str | None, unit: str | None, states: list[str] | None,
                group: str | None, selected: str | None, lang: str | None) -> tuple[Any, ...]:
        lang = pick_lang(lang)
        everything = with_silences(replica.snapshot(), silences, clock.now())
        shown = filter_alerts(everything, source, severity, unit, states, group)
        rows = table_rows(shown, lang)
        picked = [i for i, r in enumerate(rows) if r["id"] == selected]
        units = sorted({u for a in everything for u in ([a["unit"]] if a.get("unit") else a.get("units") or [])})
        groups = sorted({group_key(a) for a in everything})
        group_options = [{"label": f"{system_name(g.split('/')[0], lang)} — {label_of('kind', g.split('/')[1], lang)}",
                          "value": g} for g in groups]
        visible_groups = [g for g in replica.groups(include_resolved=bool(states and "resolved" in states))
                          if not group or g["key"] == group]
        count = f" ({t('c_shown', lang).format(n=len(rows))})" if rows else f" ({t('c_none', lang)})"
        return (rows, picked, groups_view(visible_groups, lang), [{"label": u, "value": u} for u in units],
                group_options, count)

    @app.callback(Output(ids.SELECTED, "data"), Input(ids.TABLE, "selected_row_ids"),
                  State(ids.SELECTED, "data"), prevent_initial_call=True)
    def select(row_ids: list[str] | None, current: str | None) -> Any:
        if not row_ids or row_ids[0] == current:
            return dash.no_update
        return row_ids[0]

    @app.callback(Output(ids.DETAIL, "children"), Input(ids.SELECTED, "data"),
                  Input(ids.TICK, "n_intervals"), State(ids.LANG, "data"))
    def detail(selected: str | None, _n: Any, lang: str | None) -> Any:
        lang = pick_lang(lang)
        if not selected:
            return t("c_select", lang)
        alert = next((a for a in with_silences(replica.snapshot(), silences, clock.now()) if a["id"] == selected), None)
        return detail_view(alert, lang) if alert else t("c_select", lang)

    @app.callback(
        Output(ids.MESSAGE, "children"), Output(ids.COMMENT, "value"),
        *(Input(ids.action_button(a), "n_clicks") for a in ACTIONS),
        State(ids.SELECTED, "data"), State(ids.ASSIGNEE, "value"), State(ids.COMMENT, "value"),
        State(ids.LANG, "data"), prevent_initial_call=True,
    )
    def act(*values: Any) -> tuple[Any, Any]:
        selected, assignee, comment, lang = values[len(ACTIONS):]
        lang = pick_lang(lang)
        action = str(ctx.triggered_id or "").removeprefix(ids.ACTION_PREFIX)
        if action not in ACTIONS:
            return dash.no_update, dash.no_update
        if not selected:
            return t("c_pick_first", lang), dash.no_update
        if action == "assign" and not (assignee or "").strip():
            return t("c_need_assignee", lang), dash.no_update
        if action == "comment" and not (comment or "").strip():
            return t("c_need_comment", lang), dash.no_update
        what = t(f"c_act_{action}", lang)
        principal = flask.g.principal
        body = {"action": action, "comment": (comment or "").strip() or None,
                "assignee": (assignee or "").strip() or None if action == "assign" else None}
        try:
            event = build_action(selected, body, principal.username, clock.now())
            publisher = feed()
            if publisher is None:
                raise ActionRefused("the alert feed is not running")
            publisher.submit(event)
        except (ValueError, AlertEventRejected, ActionRefused) as exc:
            return t("c_refused", lang).format(reason=getattr(exc, "reason", None) or str(exc)), dash.no_update
        logged = replica.wait_logged(event.event_id, CONFIRM_WAIT_S)
        return t("c_done" if logged else "c_pending", lang).format(what=what), ""

    register_silences(app, replica, feed, silences)


def register_silences(app: dash.Dash, replica: AlertReplica, feed: Callable[[], Any], silences: SilenceReplica) -> None:
    @app.callback(
        Output(ids.SILENCE_TABLE, "data"), Output(ids.SILENCE_TABLE, "selected_rows"), Output(ids.SILENCE_COUNT, "children"),
        Input(ids.TICK, "n_intervals"), State(ids.SILENCE_TABLE, "selected_row_ids"), State(ids.LANG, "data"),
    )
    def refresh_silences(_n: Any, selected: list[str] | None, lang: str | None) -> tuple[Any, ...]:
        lang = pick_lang(lang)
        rows = silence_rows(silences.views(clock.now()), lang)
        picked = [i for i, r in enumerate(rows) if selected and r["id"] in selected]
        return rows, picked, "" if rows else t("s_none", lang)

    @app.callback(
        Output(ids.SILENCE_SYSTEM, "options"), Output(ids.SILENCE_SYSTEM, "value"), Output(ids.SILENCE_UNIT, "value"),
        Output(ids.SILENCE_RULE, "value"), Output(ids.SILENCE_SOURCE, "value"), Input(ids.SILENCE_FROM_ALERT, "n_clicks"),
        State(ids.SELECTED, "data"), State(ids.LANG, "data"), prevent_initial_call=True,
    )
    def from_alert(_clicks: Any, selected: str | None, lang: str | None) -> tuple[Any, ...]:
        alert = next((a for a in replica.snapshot() if a["id"] == selected), None) if selected else None
        if alert is None:
            return (dash.no_update,) * 5
        return (system_options(pick_lang(lang), [alert["system"]]), alert["system"], alert.get("unit") or "",
                alert["kind"], alert["source"])

    @app.callback(
        Output(ids.SILENCE_MESSAGE, "children"), Output(ids.SILENCE_COMMENT, "value"),
        Input(ids.SILENCE_CREATE, "n_clicks"), Input(ids.SILENCE_EXPIRE, "n_clicks"),
        State(ids.SILENCE_SOURCE, "value"), State(ids.SILENCE_SYSTEM, "value"), State(ids.SILENCE_UNIT, "value"),
        State(ids.SILENCE_SEVERITY, "value"), State(ids.SILENCE_RULE, "value"), State(ids.SILENCE_DURATION, "value"),
        State(ids.SILENCE_STARTS, "value"), State(ids.SILENCE_KIND, "value"), State(ids.SILENCE_COMMENT, "value"),
        State(ids.SILENCE_TABLE, "selected_row_ids"), State(ids.LANG, "data"), prevent_initial_call=True,
    )
    def change(_create: Any, _expire: Any, source: str | None, system: str | None, unit: str | None,
               severity: str | None, rule: str | None, minutes: int | None, starts_text: str | None,
               kind: str | None, comment: str | None, selected: list[str] | None, lang: str | None) -> tuple[Any, Any]:
        lang = pick_lang(lang)
        principal = flask.g.principal
        publisher = feed()
        try:
            if ctx.triggered_id == ids.SILENCE_EXPIRE:
                if not selected:
                    return t("s_pick", lang), dash.no_update
                event = parse_silence_event({"op": "expire", "silence_id": selected[0], "at": clock.now().isoformat(),
                                             "actor": principal.username})
                if publisher is None:
                    raise ActionRefused("the alert feed is not running")
                publisher.submit_silence(event)
                return t("s_expired", lang).format(id=event.silence_id), dash.no_update
            try:
                starts = parse_local_start(starts_text)
            except ValueError:
                return t("s_bad_start", lang).format(value=starts_text), dash.no_update
            body = silence_body(source, system, unit, severity, rule, minutes, starts, kind, comment)
            if not body["matchers"]:
                return t("s_need_match", lang), dash.no_update
            if not body["comment"]:
                return t("s_need_comment", lang), dash.no_update
            event = build_silence(body, principal.username, clock.now())
            if publisher is None:
                raise ActionRefused("the alert feed is not running")
            publisher.submit_silence(event)
        except (SilenceRejected, ActionRefused) as exc:
            return t("c_refused", lang).format(reason=str(exc)), dash.no_update
        return t("s_created", lang).format(id=event.silence_id), ""
