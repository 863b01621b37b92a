"""The operator console at ``/console/``: alert queue, groups, filters and the five actions.

A Dash app of its own on the web server, for the operator role only (every callback is
declared with it). It reads the web process's :class:`~dashboards.alerts_feed.AlertReplica`
and posts each action (with the signed-in user and the time) to the alerts agent through
the feed; the queue refreshes every two seconds without losing the operator's place: the
filters are inputs the refresh never writes, the selection is kept by alert id (re-selected
in the new rows), and the table is updated in place, so its scroll position stays.

Below the queue, the silences and maintenance windows: made from conditions (or from the
selected alert), with who, why and until when, listed with their state, ended on request;
alerts they match are marked "tắt thông báo" and are not notified (ioc.alerts.silences).

Then the dossier drill-down (:mod:`dashboards.console_drilldown`): the dossiers
behind a unit's live figure (overdue, at risk, ...), read from the warehouse.

Vietnamese by default; ``?lang=en`` (the same switch as the sign-in pages) for English.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit

import dash
import flask
from dash import Input, Output, State, ctx, dash_table, dcc, html

from dashboards import console_drilldown
from dashboards.alerts_feed import CONFIRM_WAIT_S, ActionRefused, AlertReplica, SilenceReplica, build_action, build_silence
from dashboards.i18n import pick_lang, t
from ioc import clock
from ioc.alerts.model import STATES, AlertEventRejected, AlertKind
from ioc.alerts.silences import SilenceRejected, parse_silence_event
from ioc.clock import LOCAL_TZ
from ioc.services.catalogue import SYSTEMS

BASE_PATH = "/console/"
REFRESH_MS = 2000
OPEN_STATES = ("firing", "acknowledged", "assigned", "escalated")
SOURCES = ("dossier", "service", "camera")
SEVERITIES = ("critical", "warning", "info")
ACTIONS = ("acknowledge", "assign", "comment", "escalate", "resolve")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
RULES = tuple(k.value for k in AlertKind)
SILENCE_MINUTES = (30, 60, 120, 240, 480, 1440, 4320, 10080)
# The page's own font (console.css): Dash's table sets `monospace` on its <table>, and a cell's
# "inherit" then inherits that, so Vietnamese text looked like code.
CONSOLE_FONT = '"Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif'

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
           and (not unit or a.get("unit") == unit or unit in (a.get("units") or []))
           and (wanted is None or a["state"] in wanted)
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
        "state": _t("state", a["state"], lang) + (f" ({t('c_muted', lang)})" if a.get("inhibited_by") else "")
        + (f" ({t('c_silenced', lang)})" if a.get("silenced_by") and a["state"] != "resolved" else ""),
        "group": f"{system_name(a['system'], lang)} — {_t('kind', a['kind'], lang)}",
        "unit": a.get("unit") or units_text(a.get("units") or []),
        "level": _t("level", a.get("level"), lang),
        "summary": a.get("summary", ""),
        "count": a.get("count", 1),
        "started": local_time(a["started_at"]),
        "updated": local_time(a["updated_at"]),
        "sev_code": a["severity"], "state_code": a["state"],
    } for a in alerts]


def units_text(units: list[str], shown: int = 3) -> str:
    """The units a grouped rule lists, for a table cell: the first few and how many more."""
    return ", ".join(units[:shown]) + (f" (+{len(units) - shown})" if len(units) > shown else "")


def duration_label(minutes: int, lang: str) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} {'ngày' if lang == 'vi' else 'day' + ('s' if minutes > 1440 else '')}"
    if minutes % 60 == 0:
        return f"{minutes // 60} {'giờ' if lang == 'vi' else 'hour' + ('s' if minutes > 60 else '')}"
    return f"{minutes} {'phút' if lang == 'vi' else 'min'}"


def parse_local_start(text: str | None) -> datetime | None:
    """``dd/mm/yyyy hh:mm`` in Vietnam time (the console's way of writing times); empty: None."""
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=LOCAL_TZ)
        except ValueError:
            continue
    raise ValueError(text)


def silence_body(source: str | None, system: str | None, unit: str | None, severity: str | None,
                 rule: str | None, minutes: int | None, starts: datetime | None, kind: str | None,
                 comment: str | None) -> dict[str, Any]:
    """The body of ``POST /api/v1/silences`` from the console's form."""
    matchers = {k: v.strip() for k, v in (("source", source), ("system", system), ("unit", unit),
                                          ("severity", severity), ("rule", rule)) if v and v.strip()}
    body: dict[str, Any] = {"matchers": matchers, "duration_min": minutes or 60, "comment": (comment or "").strip(),
                            "kind": kind or "silence"}
    if starts is not None:
        body["starts_at"] = starts.isoformat()
    return body


def system_options(lang: str, extra: Iterable[str] = ()) -> list[dict[str, str]]:
    """The systems a silence may name: the catalogue's, the petitions', and ``extra`` (a camera's id)."""
    return [{"label": f"{system_name(sid, lang)} ({sid})" if sid in SYSTEMS else sid, "value": sid}
            for sid in dict.fromkeys((*SYSTEMS, "pakn", *extra))]


def silence_rows(views: Iterable[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    return [{
        "id": v["id"], "kind": t(f"s_kind_{v['kind']}", lang), "state": _t("sstate", v["state"], lang),
        "matchers": ", ".join(f"{k}={'|'.join(p)}" for k, p in v["matchers"].items()),
        "who": v["created_by"], "why": v["comment"], "from": local_time(v["starts_at"]),
        "until": local_time(v["ends_at"]),
    } for v in views]


def lang_of_request() -> str:
    """``?lang=`` of this request, or of the page that made it (Dash's own requests)."""
    if not flask.has_request_context():  # Dash validates the layout once at start
        return "vi"
    request = flask.request
    lang = request.args.get("lang")
    if lang is None and request.referrer:
        lang = next(iter(parse_qs(urlsplit(request.referrer).query).get("lang") or []), None)
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
            _filter(t("c_source", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-source",
                                                      options=_options(SOURCES, "src", lang),
                                                      placeholder=t("c_all", lang))),
            _filter(t("c_severity", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-severity",
                                                        options=_options(SEVERITIES, "sev", lang),
                                                        placeholder=t("c_all", lang))),
            _filter(t("c_unit", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-unit", options=[],
                                                    placeholder=t("c_all", lang))),
            _filter(t("c_state", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-state",
                                                     options=_options(STATES, "state", lang),
                                                     value=list(OPEN_STATES), multi=True)),
            _filter(t("c_group", lang), dcc.Dropdown(labels=dropdown_labels(lang), id="console-f-group", options=[],
                                                     placeholder=t("c_all", lang))),
        ], className="console-filters"),
        html.Div([
            html.Div([
                html.H2([t("c_queue", lang), html.Span(id="console-count", className="console-count")]),
                dash_table.DataTable(
                    id="console-table", columns=columns, data=[], row_selectable="single", selected_rows=[],
                    style_table={"maxHeight": "60vh", "overflowY": "auto"}, fixed_rows={"headers": True},
                    style_cell={"fontFamily": CONSOLE_FONT, "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                                "backgroundColor": "#0f1a2e", "color": "#e8eef8", "border": "1px solid #1f2f4a",
                                "fontSize": "15px", "minWidth": "70px"},
                    style_header={"fontFamily": CONSOLE_FONT, "backgroundColor": "#16233d", "fontWeight": "bold"},
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
        silences_panel(lang),
        console_drilldown.panel(lang, dropdown_labels(lang)),
        dcc.Store(id="console-selected", data=None),
        dcc.Store(id="console-lang", data=lang),
        dcc.Interval(id="console-tick", interval=REFRESH_MS),
    ], className="console", lang=lang)


def silences_panel(lang: str) -> html.Div:
    labels = dropdown_labels(lang)
    columns = [{"name": t(key, lang), "id": cid} for cid, key in (
        ("kind", "s_kind"), ("state", "c_state"), ("matchers", "s_c_matchers"), ("who", "s_c_who"),
        ("why", "s_c_why"), ("from", "s_c_from"), ("until", "s_c_until"))]
    systems = system_options(lang)
    return html.Div([
        html.H2(t("s_title", lang)),
        html.P(t("s_intro", lang), className="console-silence-intro"),
        html.Div([
            _filter(t("c_source", lang), dcc.Dropdown(labels=labels, id="silence-source", options=_options(SOURCES, "src", lang),
                                                      placeholder=t("c_all", lang))),
            _filter(t("c_system", lang), dcc.Dropdown(labels=labels, id="silence-system", options=systems,
                                                      placeholder=t("c_all", lang))),
            _filter(t("c_unit", lang), dcc.Input(id="silence-unit", type="text", placeholder=t("s_unit_hint", lang),
                                                 className="console-input", debounce=False)),
            _filter(t("c_severity", lang), dcc.Dropdown(labels=labels, id="silence-severity",
                                                        options=_options(SEVERITIES, "sev", lang),
                                                        placeholder=t("c_all", lang))),
            _filter(t("s_rule", lang), dcc.Dropdown(labels=labels, id="silence-rule", options=_options(RULES, "kind", lang),
                                                    placeholder=t("c_all", lang))),
        ], className="console-filters"),
        html.Div([
            _filter(t("s_kind", lang), dcc.Dropdown(labels=labels, id="silence-kind", clearable=False, value="silence",
                                                    options=[{"label": t(f"s_kind_{k}", lang), "value": k}
                                                             for k in ("silence", "maintenance")])),
            _filter(t("s_starts", lang), dcc.Input(id="silence-starts", type="text", placeholder="08/12/2026 18:00",
                                                   className="console-input", debounce=False)),
            _filter(t("s_duration", lang), dcc.Dropdown(labels=labels, id="silence-duration", clearable=False, value=60,
                                                        options=[{"label": duration_label(m, lang), "value": m}
                                                                 for m in SILENCE_MINUTES])),
            _filter(t("s_comment", lang), dcc.Input(id="silence-comment", type="text", className="console-input",
                                                    debounce=False)),
        ], className="console-filters"),
        html.Div([
            html.Button(t("s_from_alert", lang), id="silence-from-alert", n_clicks=0, className="console-btn"),
            html.Button(t("s_create", lang), id="silence-create", n_clicks=0, className="console-btn"),
            html.Button(t("s_expire", lang), id="silence-expire", n_clicks=0, className="console-btn console-btn-escalate"),
        ], className="console-actions"),
        html.Div(id="silence-message", role="status", className="console-silence-message"),
        dash_table.DataTable(
            id="silence-table", columns=columns, data=[], row_selectable="single", selected_rows=[],
            style_table={"maxHeight": "40vh", "overflowY": "auto"},
            style_cell={"fontFamily": CONSOLE_FONT, "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                        "backgroundColor": "#0f1a2e", "color": "#e8eef8", "border": "1px solid #1f2f4a",
                        "fontSize": "14px"},
            style_header={"fontFamily": CONSOLE_FONT, "backgroundColor": "#16233d", "fontWeight": "bold"},
        ),
        html.Div(id="silence-count", className="console-count"),
    ], className="console-silences", id="console-silences")


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
        (t("c_unit", lang), alert.get("unit") or ", ".join(alert.get("units") or []) or "—"),
        (t("c_level", lang), _t("level", alert.get("level"), lang)),
        (t("c_assignee", lang), alert.get("assignee") or "—"), (t("c_started", lang), local_time(alert["started_at"])),
    ]
    if alert.get("silenced_by"):
        facts.append((t("c_silenced_by", lang), str(alert["silenced_by"])))
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
                  roles: Any, drilldown: console_drilldown.DrilldownSources | None = None,
                  silences: SilenceReplica | None = None) -> dash.Dash:
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
        register(app, replica, submit, silences or SilenceReplica())
        console_drilldown.register(app, drilldown)
    return app


def with_silences(alerts: list[dict[str, Any]], silences: SilenceReplica, now: datetime) -> list[dict[str, Any]]:
    """The book's snapshot with ``silenced_by`` (the id of the active silence matching each open alert)."""
    out = []
    for a in alerts:
        s = silences.silencing(a, now) if a["state"] != "resolved" else None
        out.append({**a, "silenced_by": s.id if s else None})
    return out


def register(app: dash.Dash, replica: AlertReplica, feed: Callable[[], Any],
             silences: SilenceReplica | None = None) -> None:
    silences = silences or SilenceReplica()
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
        everything = with_silences(replica.snapshot(), silences, clock.now())
        shown = filter_alerts(everything, source, severity, unit, states, group)
        rows = table_rows(shown, lang)
        picked = [i for i, r in enumerate(rows) if r["id"] == selected]
        units = sorted({u for a in everything for u in ([a["unit"]] if a.get("unit") else a.get("units") or [])})
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
        alert = next((a for a in with_silences(replica.snapshot(), silences, clock.now()) if a["id"] == selected), None)
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

    register_silences(app, replica, feed, silences)


def register_silences(app: dash.Dash, replica: AlertReplica, feed: Callable[[], Any], silences: SilenceReplica) -> None:
    @app.callback(
        Output("silence-table", "data"), Output("silence-table", "selected_rows"), Output("silence-count", "children"),
        Input("console-tick", "n_intervals"), State("silence-table", "selected_row_ids"), State("console-lang", "data"),
    )
    def refresh_silences(_n: Any, selected: list[str] | None, lang: str | None) -> tuple[Any, ...]:
        lang = pick_lang(lang)
        rows = silence_rows(silences.views(clock.now()), lang)
        picked = [i for i, r in enumerate(rows) if selected and r["id"] in selected]
        return rows, picked, "" if rows else t("s_none", lang)

    @app.callback(
        Output("silence-system", "options"), Output("silence-system", "value"), Output("silence-unit", "value"),
        Output("silence-rule", "value"), Output("silence-source", "value"), Input("silence-from-alert", "n_clicks"),
        State("console-selected", "data"), State("console-lang", "data"), prevent_initial_call=True,
    )
    def from_alert(_clicks: Any, selected: str | None, lang: str | None) -> tuple[Any, ...]:
        alert = next((a for a in replica.snapshot() if a["id"] == selected), None) if selected else None
        if alert is None:
            return (dash.no_update,) * 5
        return (system_options(pick_lang(lang), [alert["system"]]), alert["system"], alert.get("unit") or "",
                alert["kind"], alert["source"])

    @app.callback(
        Output("silence-message", "children"), Output("silence-comment", "value"),
        Input("silence-create", "n_clicks"), Input("silence-expire", "n_clicks"),
        State("silence-source", "value"), State("silence-system", "value"), State("silence-unit", "value"),
        State("silence-severity", "value"), State("silence-rule", "value"), State("silence-duration", "value"),
        State("silence-starts", "value"), State("silence-kind", "value"), State("silence-comment", "value"),
        State("silence-table", "selected_row_ids"), State("console-lang", "data"), prevent_initial_call=True,
    )
    def change(_create: Any, _expire: Any, source: str | None, system: str | None, unit: str | None,
               severity: str | None, rule: str | None, minutes: int | None, starts_text: str | None,
               kind: str | None, comment: str | None, selected: list[str] | None, lang: str | None) -> tuple[Any, Any]:
        lang = pick_lang(lang)
        principal = flask.g.principal
        publisher = feed()
        try:
            if ctx.triggered_id == "silence-expire":
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
