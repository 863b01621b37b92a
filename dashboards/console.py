"""The operator console at ``/console/``: alert queue, groups, filters and the five actions.

A Dash app of its own on the web server, for the operator role only (every callback is
declared with it). It reads the web process's :class:`~dashboards.alerts_feed.AlertReplica`
and posts each action (with the signed-in user and the time) to the alerts agent through
the feed; the queue refreshes every two seconds without losing the operator's place: the
filters are inputs the refresh never writes, the selection is kept by alert id (re-selected
in the new rows), and the table is updated in place, so its scroll position stays.

Below the queue, the dossier drill-down (:mod:`dashboards.console_drilldown`): the dossiers
behind a unit's live figure (overdue, at risk, ...), read from the warehouse.

Vietnamese by default; ``?lang=en`` (the same switch as the sign-in pages) for English.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import dash
import flask
from dash import Input, Output, State, ctx, dash_table, dcc, html

from dashboards import console_drilldown
from dashboards.alerts_feed import ActionRefused, AlertReplica, CONFIRM_WAIT_S, build_action
from dashboards.i18n import pick_lang, t
from ioc import clock
from ioc.alerts.model import STATES, AlertEventRejected
from ioc.services.catalogue import SYSTEMS

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BASE_PATH = "/console/"
REFRESH_MS = 2000
OPEN_STATES = ("firing", "acknowledged", "assigned", "escalated")
SOURCES = ("dossier", "service", "camera")
SEVERITIES = ("critical", "warning", "info")
ACTIONS = ("acknowledge", "assign", "comment", "escalate", "resolve")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}

Submit = Callable[[Any], None]


# -- pure helpers (unit-tested) -------------------------------------------------------------

def dropdown_labels(lang: str) -> dict[str, str]:
    """dcc.Dropdown's own texts ("4 selected", "Select All", ...) in the page's language."""
    if lang != "vi":
        return {}
    return {"select_all": "Chọn tất cả", "deselect_all": "Bỏ chọn tất cả",
            "selected_count": "Đã chọn {num_selected}", "search": "Tìm kiếm", "clear_search": "Xóa tìm kiếm",
            "clear_selection": "Bỏ chọn", "no_options_found": "Không có lựa chọn phù hợp"}

def filter_alerts(alerts: Iterable[dict[str, Any]], source: str | None = None, severity: str | None = None,
                  unit: str | None = None, states: Iterable[str] | None = None,
                  group: str | None = None) -> list[dict[str, Any]]:
    """Alerts of :meth:`AlertBook.snapshot` that pass the filters, grouped (group key), worst first."""
    wanted = set(states) if states else None
    out = [a for a in alerts
           if (not source or a["source"] == source) and (not severity or a["severity"] == severity)
           and (not unit or a.get("unit") == unit) and (wanted is None or a["state"] in wanted)
           and (not group or group_key(a) == group)]
    return sorted(out, key=lambda a: (group_key(a), SEVERITY_ORDER.get(a["severity"], 9),
                                      a["started_at"]), reverse=False)


def group_key(alert: dict[str, Any]) -> str:
    return f"{alert['system']}/{alert['kind']}"


def system_name(system_id: str, lang: str) -> str:
    spec = SYSTEMS.get(system_id)
    if spec is None:
        return system_id
    return spec.name_en if lang == "en" else spec.name_vi


def local_time(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).strftime("%H:%M:%S %d/%m")


def _t(prefix: str, value: str | None, lang: str) -> str:
    if not value:
        return ""
    try:
        return t(f"{prefix}_{value}", lang)
    except KeyError:
        return value


def table_rows(alerts: Iterable[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    return [{
        "id": a["id"],
        "severity": _t("sev", a["severity"], lang),
        "state": _t("state", a["state"], lang) + (f" ({t('c_muted', lang)})" if a.get("inhibited_by") else ""),
        "group": f"{system_name(a['system'], lang)} — {_t('kind', a['kind'], lang)}",
        "unit": a.get("unit") or "",
        "level": _t("level", a.get("level"), lang),
        "summary": a.get("summary", ""),
        "count": a.get("count", 1),
        "started": local_time(a["started_at"]),
        "updated": local_time(a["updated_at"]),
        "sev_code": a["severity"], "state_code": a["state"],
    } for a in alerts]


def lang_of_request() -> str:
    """``?lang=`` of this request, or of the page that made it (Dash's own requests)."""
    if not flask.has_request_context():  # Dash validates the layout once at start
        return "vi"
    request = flask.request
    lang = request.args.get("lang")
    if lang is None and request.referrer:
        lang = (parse_qs(urlsplit(request.referrer).query).get("lang") or [None])[0]
    return pick_lang(lang)


# -- layout ---------------------------------------------------------------------------------
def _options(values: Iterable[str], prefix: str, lang: str) -> list[dict[str, str]]:
    return [{"label": _t(prefix, v, lang), "value": v} for v in values]


def _filter(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label, className="console-filter-label"), component], className="console-filter")


def layout() -> html.Div:
    lang = lang_of_request()
    principal = flask.g.get("principal") if flask.has_request_context() else None
    other = "en" if lang == "vi" else "vi"
    columns = [{"name": t(key, lang), "id": cid} for cid, key in (
        ("severity", "c_severity"), ("state", "c_state"), ("group", "c_group"), ("unit", "c_unit"),
        ("level", "c_level"), ("summary", "c_summary"), ("count", "c_count"), ("started", "c_started"),
        ("updated", "c_updated"))]
    return html.Div([
        html.Div([
            html.H1(t("console_title", lang), className="console-title"),
            html.Div([
                html.Span(f"{t('signed_in_as', lang)} {principal.username if principal else ''}",
                          id="console-user"),
                html.A(t("back_to_wall", lang), href="/", className="console-link"),
                html.A(t("other_lang", lang), href=BASE_PATH + "?" + urlencode({"lang": other}),
                       id="console-lang-switch", className="console-link"),
                html.A(t("sign_out", lang), href="/logout", className="console-link"),
            ], className="console-nav"),
        ], className="console-header"),
        html.Div([
            _filter(t("c_source", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-source", options=_options(SOURCES, "src", lang),
                                                      placeholder=t("c_all", lang))),
            _filter(t("c_severity", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-severity",
                                                        options=_options(SEVERITIES, "sev", lang),
                                                        placeholder=t("c_all", lang))),
            _filter(t("c_unit", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-unit", options=[], placeholder=t("c_all", lang))),
            _filter(t("c_state", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-state", options=_options(STATES, "state", lang),
                                                     value=list(OPEN_STATES), multi=True)),
            _filter(t("c_group", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-group", options=[], placeholder=t("c_all", lang))),
        ], className="console-filters"),
        html.Div([
            html.Div([
                html.H2([t("c_queue", lang), html.Span(id="console-count", className="console-count")]),
                dash_table.DataTable(
                    id="console-table", columns=columns, data=[], row_selectable="single", selected_rows=[],
                    style_table={"maxHeight": "60vh", "overflowY": "auto"}, fixed_rows={"headers": True},
                    style_cell={"fontFamily": "inherit", "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                                "backgroundColor": "#0f1a2e", "color": "#e8eef8", "border": "1px solid #1f2f4a",
                                "fontSize": "15px", "minWidth": "70px"},
                    style_header={"fontFamily": "inherit", "backgroundColor": "#16233d", "fontWeight": "bold"},
                    style_data_conditional=[
                        {"if": {"filter_query": '{sev_code} = "critical"', "column_id": "severity"},
                         "backgroundColor": "#7a1f2b"},
                        {"if": {"filter_query": '{sev_code} = "warning"', "column_id": "severity"},
                         "backgroundColor": "#6b5312"},
                        {"if": {"filter_query": '{state_code} = "resolved"'}, "color": "#8fa3c0"},
                    ],
                ),
                html.H2(t("c_groups", lang)),
                html.Div(id="console-groups"),
            ], className="console-queue"),
            html.Div([
                html.Div(t("c_select", lang), id="console-detail"),
                html.Div([
                    dcc.Input(id="console-assignee", type="text", placeholder=t("c_assignee", lang),
                              className="console-input", debounce=False),
                    dcc.Textarea(id="console-comment", placeholder=t("c_comment", lang), className="console-input"),
                    html.Div([html.Button(t(f"c_act_{a}", lang), id=f"console-act-{a}", n_clicks=0,
                                          className=f"console-btn console-btn-{a}") for a in ACTIONS],
                             className="console-actions"),
                    html.Div(id="console-message", role="status"),
                ], className="console-form"),
            ], className="console-side"),
        ], className="console-main"),
        console_drilldown.panel(lang, dropdown_labels(lang)),
        dcc.Store(id="console-selected", data=None),
        dcc.Store(id="console-lang", data=lang),
        dcc.Interval(id="console-tick", interval=REFRESH_MS),
    ], className="console", lang=lang)


def _groups_view(groups: list[dict[str, Any]], lang: str) -> html.Table:
    head = html.Tr([html.Th(t("c_group", lang)), html.Th(t("c_severity", lang)), html.Th(t("c_count", lang)),
                    html.Th(t("c_muted", lang))])
    rows = [html.Tr([html.Td(f"{system_name(g['system'], lang)} — {_t('kind', g['kind'], lang)}"),
                     html.Td(_t("sev", g["severity"], lang)), html.Td(g["alerts"]), html.Td(g["inhibited"])])
            for g in groups]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="console-groups")


def _detail_view(alert: dict[str, Any], lang: str) -> html.Div:
    facts = [
        (t("c_state", lang), _t("state", alert["state"], lang)), (t("c_severity", lang), _t("sev", alert["severity"], lang)),
        (t("c_system", lang), system_name(alert["system"], lang)), (t("c_kind", lang), _t("kind", alert["kind"], lang)),
        (t("c_unit", lang), alert.get("unit") or "—"), (t("c_level", lang), _t("level", alert.get("level"), lang)),
        (t("c_assignee", lang), alert.get("assignee") or "—"), (t("c_started", lang), local_time(alert["started_at"])),
    ]
    history = [html.Li(f"{local_time(h['at'])} — {h['actor']}: {h['what']}" + (f" — {h['comment']}" if h.get("comment") else ""))
               for h in alert.get("history", [])]
    return html.Div([
        html.H2(alert.get("summary") or alert["id"], id="console-detail-title"),
        html.Dl([part for k, v in facts for part in (html.Dt(k), html.Dd(v))], className="console-facts"),
        html.Div(alert["state"], id="console-detail-state", **{"data-state": alert["state"]}, className="console-hidden"),
        html.H3(t("c_history", lang)), html.Ol(history, className="console-history"),
    ])


# -- the app --------------------------------------------------------------------------------
def mount_console(server: flask.Flask, security: Any, replica: AlertReplica, submit: Callable[[], Any],
                  roles: Any, drilldown: console_drilldown.DrilldownSources | None = None) -> dash.Dash:
    """The console Dash app on ``server``, protected for ``roles``; ``submit()`` returns the
    :class:`~dashboards.alerts_feed.AlertsFeed` (or None before it runs); ``drilldown``: where
    the dossier drill-down reads (without it the panel says the warehouse is not connected)."""
    assets = os.path.join(os.path.dirname(__file__), "assets")
    app = dash.Dash("ioc-console", server=server, url_base_pathname=BASE_PATH, title="IOC — Bàn điều hành cảnh báo",
                    assets_folder=assets, assets_ignore=r"wall\.css", serve_locally=True, update_title=None)
    security.protect_dash(server, app, roles)
    from dashboards.auth import Access, Kind

    for rule in server.url_map.iter_rules():  # the assets blueprint of a second Dash app
        if rule.rule.startswith(BASE_PATH + "assets/") and security.policy.for_rule(rule.rule) is None:
            security.policy.declare(rule.rule, Access(frozenset(roles), Kind.static))
    app.layout = layout
    with security.callbacks.declare(app, roles):
        register(app, replica, submit)
        console_drilldown.register(app, drilldown)
    return app


def register(app: dash.Dash, replica: AlertReplica, feed: Callable[[], Any]) -> None:
    @app.callback(
        Output("console-table", "data"), Output("console-table", "selected_rows"), Output("console-groups", "children"),
        Output("console-f-unit", "options"), Output("console-f-group", "options"), Output("console-count", "children"),
        Input("console-tick", "n_intervals"), Input("console-f-source", "value"), Input("console-f-severity", "value"),
        Input("console-f-unit", "value"), Input("console-f-state", "value"), Input("console-f-group", "value"),
        State("console-selected", "data"), State("console-lang", "data"),
    )
    def refresh(_n: Any, source: str | None, severity: str | None, unit: str | None, states: list[str] | None,
                group: str | None, selected: str | None, lang: str | None) -> tuple[Any, ...]:
        lang = pick_lang(lang)
        everything = replica.snapshot()
        shown = filter_alerts(everything, source, severity, unit, states, group)
        rows = table_rows(shown, lang)
        picked = [i for i, r in enumerate(rows) if r["id"] == selected]
        units = sorted({a["unit"] for a in everything if a.get("unit")})
        groups = sorted({group_key(a) for a in everything})
        group_options = [{"label": f"{system_name(g.split('/')[0], lang)} — {_t('kind', g.split('/')[1], lang)}",
                          "value": g} for g in groups]
        visible_groups = [g for g in replica.groups(include_resolved=bool(states and "resolved" in states))
                          if not group or g["key"] == group]
        count = f" ({t('c_shown', lang).format(n=len(rows))})" if rows else f" ({t('c_none', lang)})"
        return (rows, picked, _groups_view(visible_groups, lang), [{"label": u, "value": u} for u in units],
                group_options, count)

    @app.callback(Output("console-selected", "data"), Input("console-table", "selected_row_ids"),
                  State("console-selected", "data"), prevent_initial_call=True)
    def select(ids: list[str] | None, current: str | None) -> Any:
        if not ids or ids[0] == current:
            return dash.no_update
        return ids[0]

    @app.callback(Output("console-detail", "children"), Input("console-selected", "data"),
                  Input("console-tick", "n_intervals"), State("console-lang", "data"))
    def detail(selected: str | None, _n: Any, lang: str | None) -> Any:
        lang = pick_lang(lang)
        if not selected:
            return t("c_select", lang)
        alert = next((a for a in replica.snapshot() if a["id"] == selected), None)
        return _detail_view(alert, lang) if alert else t("c_select", lang)

    @app.callback(
        Output("console-message", "children"), Output("console-comment", "value"),
        *(Input(f"console-act-{a}", "n_clicks") for a in ACTIONS),
        State("console-selected", "data"), State("console-assignee", "value"), State("console-comment", "value"),
        State("console-lang", "data"), prevent_initial_call=True,
    )
    def act(*values: Any) -> tuple[Any, Any]:
        selected, assignee, comment, lang = values[len(ACTIONS):]
        lang = pick_lang(lang)
        action = str(ctx.triggered_id or "").removeprefix("console-act-")
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
