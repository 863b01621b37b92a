"""The console page's layout: header, filters, the alert queue and the selected alert's detail
and actions, the silences panel and the drill-down's (:func:`dashboards.console.drilldown.panel`).
Component ids: :mod:`dashboards.console.ids`."""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit

import flask
from dash import dash_table, dcc, html

from dashboards.console import drilldown as console_drilldown
from dashboards.console import ids
from dashboards.console.views import (
    ACTIONS,
    OPEN_STATES,
    RULES,
    SEVERITIES,
    SILENCE_MINUTES,
    SOURCES,
    dropdown_labels,
    duration_label,
    label_of,
    local_time,
    system_name,
    system_options,
)
from dashboards.i18n import pick_lang, t
from ioc.alerts.model import STATES

BASE_PATH = "/console/"
REFRESH_MS = 2000
# The page's own font (console.css): Dash's table sets `monospace` on its <table>, and a cell's
# "inherit" then inherits that, so Vietnamese text looked like code.
CONSOLE_FONT = '"Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif'


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
    return [{"label": label_of(prefix, v, lang), "value": v} for v in values]


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
                          id=ids.USER),
                html.A(t("back_to_wall", lang), href="/", className="console-link"),
                html.A(t("other_lang", lang), href=BASE_PATH + "?" + urlencode({"lang": other}),
                       id=ids.LANG_SWITCH, className="console-link"),
                html.A(t("sign_out", lang), href="/logout", className="console-link"),
            ], className="console-nav"),
        ], className="console-header"),
        html.Div([
            _filter(t("c_source", lang), dcc.Dropdown(labels=dropdown_labels(lang), id=ids.FILTER_SOURCE,
                                                      options=_options(SOURCES, "src", lang),
                                                      placeholder=t("c_all", lang))),
            _filter(t("c_severity", lang), dcc.Dropdown(labels=dropdown_labels(lang), id=ids.FILTER_SEVERITY,
                                                        options=_options(SEVERITIES, "sev", lang),
                                                        placeholder=t("c_all", lang))),
            _filter(t("c_unit", lang), dcc.Dropdown(labels=dropdown_labels(lang), id=ids.FILTER_UNIT, options=[],
                                                    placeholder=t("c_all", lang))),
            _filter(t("c_state", lang), dcc.Dropdown(labels=dropdown_labels(lang), id=ids.FILTER_STATE,
                                                     options=_options(STATES, "state", lang),
                                                     value=list(OPEN_STATES), multi=True)),
            _filter(t("c_group", lang), dcc.Dropdown(labels=dropdown_labels(lang), id=ids.FILTER_GROUP, options=[],
                                                     placeholder=t("c_all", lang))),
        ], className="console-filters"),
        html.Div([
            html.Div([
                html.H2([t("c_queue", lang), html.Span(id=ids.COUNT, className="console-count")]),
                dash_table.DataTable(
                    id=ids.TABLE, columns=columns, data=[], row_selectable="single", selected_rows=[],
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
                html.Div(id=ids.GROUPS),
            ], className="console-queue"),
            html.Div([
                html.Div(t("c_select", lang), id=ids.DETAIL),
                html.Div([
                    dcc.Input(id=ids.ASSIGNEE, type="text", placeholder=t("c_assignee", lang),
                              className="console-input", debounce=False),
                    dcc.Textarea(id=ids.COMMENT, placeholder=t("c_comment", lang), className="console-input"),
                    html.Div([html.Button(t(f"c_act_{a}", lang), id=ids.action_button(a), n_clicks=0,
                                          className=f"console-btn console-btn-{a}") for a in ACTIONS],
                             className="console-actions"),
                    html.Div(id=ids.MESSAGE, role="status"),
                ], className="console-form"),
            ], className="console-side"),
        ], className="console-main"),
        silences_panel(lang),
        console_drilldown.panel(lang, dropdown_labels(lang)),
        dcc.Store(id=ids.SELECTED, data=None),
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Interval(id=ids.TICK, interval=REFRESH_MS),
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
            _filter(t("c_source", lang), dcc.Dropdown(labels=labels, id=ids.SILENCE_SOURCE,
                                                      options=_options(SOURCES, "src", lang),
                                                      placeholder=t("c_all", lang))),
            _filter(t("c_system", lang), dcc.Dropdown(labels=labels, id=ids.SILENCE_SYSTEM, options=systems,
                                                      placeholder=t("c_all", lang))),
            _filter(t("c_unit", lang), dcc.Input(id=ids.SILENCE_UNIT, type="text", placeholder=t("s_unit_hint", lang),
                                                 className="console-input", debounce=False)),
            _filter(t("c_severity", lang), dcc.Dropdown(labels=labels, id=ids.SILENCE_SEVERITY,
                                                        options=_options(SEVERITIES, "sev", lang),
                                                        placeholder=t("c_all", lang))),
            _filter(t("s_rule", lang), dcc.Dropdown(labels=labels, id=ids.SILENCE_RULE, options=_options(RULES, "kind", lang),
                                                    placeholder=t("c_all", lang))),
        ], className="console-filters"),
        html.Div([
            _filter(t("s_kind", lang), dcc.Dropdown(labels=labels, id=ids.SILENCE_KIND, clearable=False, value="silence",
                                                    options=[{"label": t(f"s_kind_{k}", lang), "value": k}
                                                             for k in ("silence", "maintenance")])),
            _filter(t("s_starts", lang), dcc.Input(id=ids.SILENCE_STARTS, type="text", placeholder="08/12/2026 18:00",
                                                   className="console-input", debounce=False)),
            _filter(t("s_duration", lang), dcc.Dropdown(labels=labels, id=ids.SILENCE_DURATION, clearable=False, value=60,
                                                        options=[{"label": duration_label(m, lang), "value": m}
                                                                 for m in SILENCE_MINUTES])),
            _filter(t("s_comment", lang), dcc.Input(id=ids.SILENCE_COMMENT, type="text", className="console-input",
                                                    debounce=False)),
        ], className="console-filters"),
        html.Div([
            html.Button(t("s_from_alert", lang), id=ids.SILENCE_FROM_ALERT, n_clicks=0, className="console-btn"),
            html.Button(t("s_create", lang), id=ids.SILENCE_CREATE, n_clicks=0, className="console-btn"),
            html.Button(t("s_expire", lang), id=ids.SILENCE_EXPIRE, n_clicks=0, className="console-btn console-btn-escalate"),
        ], className="console-actions"),
        html.Div(id=ids.SILENCE_MESSAGE, role="status", className="console-silence-message"),
        dash_table.DataTable(
            id=ids.SILENCE_TABLE, columns=columns, data=[], row_selectable="single", selected_rows=[],
            style_table={"maxHeight": "40vh", "overflowY": "auto"},
            style_cell={"fontFamily": CONSOLE_FONT, "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                        "backgroundColor": "#0f1a2e", "color": "#e8eef8", "border": "1px solid #1f2f4a",
                        "fontSize": "14px"},
            style_header={"fontFamily": CONSOLE_FONT, "backgroundColor": "#16233d", "fontWeight": "bold"},
        ),
        html.Div(id=ids.SILENCE_COUNT, className="console-count"),
    ], className="console-silences", id=ids.SILENCES)


def groups_view(groups: list[dict[str, Any]], lang: str) -> html.Table:
    head = html.Tr([html.Th(t("c_group", lang)), html.Th(t("c_severity", lang)), html.Th(t("c_count", lang)),
                    html.Th(t("c_muted", lang))])
    rows = [html.Tr([html.Td(f"{system_name(g['system'], lang)} — {label_of('kind', g['kind'], lang)}"),
                     html.Td(label_of("sev", g["severity"], lang)), html.Td(g["alerts"]), html.Td(g["inhibited"])])
            for g in groups]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="console-groups")


def detail_view(alert: dict[str, Any], lang: str) -> html.Div:
    facts = [
        (t("c_state", lang), label_of("state", alert["state"], lang)),
        (t("c_severity", lang), label_of("sev", alert["severity"], lang)),
        (t("c_system", lang), system_name(alert["system"], lang)), (t("c_kind", lang), label_of("kind", alert["kind"], lang)),
        (t("c_unit", lang), alert.get("unit") or ", ".join(alert.get("units") or []) or "—"),
        (t("c_level", lang), label_of("level", alert.get("level"), lang)),
        (t("c_assignee", lang), alert.get("assignee") or "—"), (t("c_started", lang), local_time(alert["started_at"])),
    ]
    if alert.get("silenced_by"):
        facts.append((t("c_silenced_by", lang), str(alert["silenced_by"])))
    history = [html.Li(f"{local_time(h['at'])} — {h['actor']}: {h['what']}" + (f" — {h['comment']}" if h.get("comment") else ""))
               for h in alert.get("history", [])]
    return html.Div([
        html.H2(alert.get("summary") or alert["id"], id=ids.DETAIL_TITLE),
        html.Dl([part for k, v in facts for part in (html.Dt(k), html.Dd(v))], className="console-facts"),
        html.Div(alert["state"], id=ids.DETAIL_STATE, **{"data-state": alert["state"]}, className="console-hidden"),
        html.H3(t("c_history", lang)), html.Ol(history, className="console-history"),
    ])
