"""The dossier drill-down of the operator console: the dossiers behind one KPI of one unit.

The live figures (overdue, at risk, due today, in processing, finished late this month) are
counts from the stream; the dossiers themselves are only in the warehouse. For a unit and a
KPI, the panel reads the unit's events (:func:`ioc.warehouse.queries.unit_events`), folds them
into dossier states (:func:`ioc.commands.kpi_replay.fold`) and judges each one now with the
functions the live figures use (:func:`ioc.kpi.indicators.judge` and ``tally``): a dossier is
listed under a KPI exactly when it adds to that KPI's live count, so the list and the figure
cannot follow two sets of rules.

The events carry no personal data (codes, statuses, times), and the rows show nothing else.
The pure part (events in, rows out) is unit-tested; :func:`panel` and :func:`register` are the
Dash side, registered by :mod:`dashboards.console.app` inside its operator-only declaration.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import dash
from dash import Input, Output, State, ctx, dash_table, dcc, html

from dashboards.console import ids
from dashboards.i18n import pick_lang, t
from ioc import clock as ioc_clock
from ioc.clock import LOCAL_TZ
from ioc.domain.calendar import WorkingCalendar
from ioc.domain.dossier import DossierState, fold
from ioc.domain.events import DossierEvent
from ioc.domain.outcome import Outcome, deadline_rule, supplement_pause
from ioc.kpi.indicators import Judged, Tally, judge, tally
from ioc.kpi.periods import period_of
from ioc.reference.procedures import procedure

log = logging.getLogger(__name__)

# The KPIs an operator can open, by their key in the live tally (ioc.kpi.indicators rule G);
# "late" is the month's dossiers finished after their deadline.
KPIS = ("overdue", "at_risk", "due_today", "in_processing", "late")
_OVERDUE_FIRST = ("overdue", "late")  # listed most overdue first; the others soonest due first
REFRESH_MS = 30_000  # the warehouse is read again this often (and on the refresh button)
PAGE_SIZE = 50

EventsOf = Callable[[str, datetime], list[DossierEvent]]


# -- pure: events -> the dossiers behind a KPI ------------------------------------------------

@dataclass(frozen=True)
class DrilldownLine:
    """One dossier as the drill-down lists it (no personal data: there is none in events)."""

    dossier_code: str
    procedure_code: str
    procedure_name: str | None
    received_at: datetime | None
    due_at: datetime | None
    status: int | None  # the latest status by the judging instant
    outcome: Outcome
    days_overdue: int | None  # local calendar days past the deadline's day (at least 1), supplement excluded


def check_kpi(kpi: str) -> str:
    if kpi not in KPIS:
        raise ValueError(f"unknown KPI {kpi!r}; expected one of {', '.join(KPIS)}")
    return kpi


def latest_status(state: DossierState, at: datetime) -> int | None:
    facts = [f for f in state.facts if f.at <= at]  # facts are sorted by time
    return facts[-1].status if facts else None


def days_overdue(j: Judged, at: datetime) -> int | None:
    """Days an overdue or late dossier is past its deadline: local calendar days from the
    deadline's day to the day of the instant :func:`ioc.domain.outcome.classify` judges it by
    (its end, or ``at``, less supplement time), at least 1 ("quá hạn 1 ngày" the day it slips)."""
    if j.outcome not in (Outcome.IN_PROGRESS_OVERDUE, Outcome.LATE) or j.due is None:
        return None
    judged_at = j.end if j.end is not None else at
    paused, pending_since = supplement_pause(j.state, judged_at)
    if pending_since is not None and j.end is None:
        judged_at = pending_since  # the clock stopped at the pending supplement request
    effective = judged_at - paused
    if effective <= j.due:
        return None  # overdue by a second supplement request, not by the date
    return max(1, (effective.astimezone(LOCAL_TZ).date() - j.due.astimezone(LOCAL_TZ).date()).days)


def _procedure_name(code: str) -> str | None:
    try:
        return procedure(code).name
    except KeyError:
        return None


def _line(j: Judged, at: datetime) -> DrilldownLine:
    return DrilldownLine(
        dossier_code=j.state.dossier_code, procedure_code=j.state.procedure_code,
        procedure_name=_procedure_name(j.state.procedure_code), received_at=j.received, due_at=j.due,
        status=latest_status(j.state, at), outcome=j.outcome, days_overdue=days_overdue(j, at),
    )


def dossiers_behind(states: Iterable[DossierState], unit: str, kpi: str, at: datetime,
                    calendar: WorkingCalendar | None = None) -> list[DrilldownLine]:
    """The dossiers of ``unit`` that count in its live ``kpi`` figure at ``at`` (this month),
    most urgent first."""
    check_kpi(kpi)
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be timezone-aware, got {at.isoformat()}")
    calendar = calendar or WorkingCalendar()

    rule = deadline_rule(calendar)
    period = period_of(at, "month")  # the live figures are month-to-date
    lines = []
    for state in states:
        if state.unit_code != unit:
            continue
        j = judge(state, period, at, rule, calendar)
        counts: Tally = tally(j, at, calendar)
        if counts.get(kpi):
            lines.append(_line(j, at))
    far = datetime.max.replace(tzinfo=timezone.utc)
    if kpi in _OVERDUE_FIRST:
        lines.sort(key=lambda x: (-(x.days_overdue or 0), x.due_at or far, x.dossier_code))
    else:
        lines.sort(key=lambda x: (x.due_at or far, x.dossier_code))
    return lines


def drilldown(events: Iterable[DossierEvent], unit: str, kpi: str, at: datetime) -> list[DrilldownLine]:
    """Events (as :func:`ioc.warehouse.queries.unit_events` reads them) -> the dossiers behind
    ``kpi`` of ``unit`` at ``at``; only events that occurred by ``at`` count."""
    return dossiers_behind(fold(events, at), unit, check_kpi(kpi), at)


def local_datetime(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if value else ""


def _label(key: str, lang: str, fallback: str) -> str:
    try:
        return t(key, lang)
    except KeyError:
        return fallback


def table_rows(lines: Iterable[DrilldownLine], lang: str) -> list[dict[str, Any]]:
    """Rows of the drill-down table: local times (Asia/Ho_Chi_Minh), labels in ``lang``."""
    return [{
        "id": x.dossier_code,
        "dossier": x.dossier_code,
        "procedure": f"{x.procedure_code} — {x.procedure_name}" if x.procedure_name else x.procedure_code,
        "received": local_datetime(x.received_at),
        "due": local_datetime(x.due_at),
        "status": _label(f"dstatus_{x.status}", lang, str(x.status)) if x.status is not None else "",
        "outcome": _label(f"outcome_{x.outcome.value}", lang, x.outcome.value),
        "days_overdue": x.days_overdue if x.days_overdue is not None else "",
        "outcome_code": x.outcome.value,
    } for x in lines]


# -- sources --------------------------------------------------------------------------------

@dataclass
class DrilldownSources:
    """What the panel reads: ``events(unit, since)`` from the warehouse, the live figures per
    unit (to offer units and show each KPI's live count), and display names of units."""

    events: EventsOf
    live_units: Callable[[], Mapping[str, Tally]]
    unit_names: Mapping[str, str] = field(default_factory=dict)


def warehouse_sources(warehouse: Callable[[], Any], live: Any, unit_names: Mapping[str, str]) -> DrilldownSources:
    """Sources of the web process: its warehouse (read at call time) and its
    :class:`~dashboards.live_state.LiveState`."""
    from ioc.warehouse.queries import unit_events

    return DrilldownSources(events=lambda unit, since: unit_events(warehouse(), unit, since),
                            live_units=lambda: live.figures()[1], unit_names=dict(unit_names))


# -- Dash -----------------------------------------------------------------------------------

COLUMNS = (("dossier", "dd_c_dossier"), ("procedure", "dd_c_procedure"), ("received", "dd_c_received"),
           ("due", "dd_c_due"), ("status", "dd_c_status"), ("outcome", "dd_c_outcome"),
           ("days_overdue", "dd_c_days_overdue"))


def kpi_options(figures: Mapping[str, int] | None, lang: str) -> list[dict[str, str]]:
    """The KPIs with the unit's live count, e.g. "Quá hạn (12)"."""
    out = []
    for kpi in KPIS:
        label = t(f"dd_kpi_{kpi}", lang)
        if figures is not None:
            label += f" ({figures.get(kpi, 0)})"
        out.append({"label": label, "value": kpi})
    return out


def unit_options(live: Mapping[str, Tally], names: Mapping[str, str], lang: str) -> list[dict[str, str]]:
    """Units with live figures first (by code, with their overdue count), then the other known
    units, so an operator can also look at a unit the stream has not reported yet."""
    out = []
    for code in sorted(live):
        name = names.get(code)
        text = f"{code} — {name}" if name else code
        out.append({"label": f"{text} ({t('dd_kpi_overdue', lang).lower()} {live[code].get('overdue', 0)})",
                    "value": code})
    out += [{"label": f"{code} — {names[code]}", "value": code} for code in sorted(names) if code not in live]
    return out


def panel(lang: str, dropdown_labels: Mapping[str, str] | None = None) -> html.Section:
    """The drill-down section of the console page (``dropdown_labels``: dcc.Dropdown's own texts)."""
    # dash_table's own cell font is monospace, which draws Vietnamese diacritics apart: the console's font
    cell = {"fontFamily": '"Segoe UI", Roboto, "Noto Sans", Arial, sans-serif', "textAlign": "left",
            "whiteSpace": "normal", "height": "auto", "backgroundColor": "#0f1a2e", "color": "#e8eef8",
            "border": "1px solid #1f2f4a", "fontSize": "15px"}
    return html.Section([
        html.H2(t("dd_title", lang)),
        html.P(t("dd_intro", lang), style={"color": "#9fb3d1", "margin": "0 0 8px"}),
        html.Div([
            html.Div([html.Label(t("c_unit", lang), className="console-filter-label"),
                      dcc.Dropdown(id=ids.DD_UNIT, options=[], placeholder=t("dd_pick_unit", lang),
                                   labels=dict(dropdown_labels or {}))], className="console-filter"),
            html.Div([html.Label(t("dd_kpi", lang), className="console-filter-label"),
                      dcc.RadioItems(id=ids.DD_KPI, options=kpi_options(None, lang), value=None, inline=True,
                                     inputStyle={"marginRight": "4px"},
                                     labelStyle={"marginRight": "16px", "cursor": "pointer", "color": "#e8eef8"})],
                     className="console-filter", style={"flex": "3"}),
            html.Button(t("dd_refresh", lang), id=ids.DD_REFRESH, n_clicks=0, className="console-btn"),
        ], className="console-filters", style={"alignItems": "flex-end"}),
        html.Div(t("dd_pick", lang), id=ids.DD_COUNT, role="status", style={"margin": "6px 0"}),
        dash_table.DataTable(
            id=ids.DD_TABLE, columns=[{"name": t(key, lang), "id": cid} for cid, key in COLUMNS], data=[],
            sort_action="native", page_action="native", page_size=PAGE_SIZE,
            style_table={"overflowX": "auto"}, style_cell=cell,
            style_header={"backgroundColor": "#16233d", "fontWeight": "bold"},
            style_data_conditional=[
                {"if": {"filter_query": '{outcome_code} = "in_progress_overdue" || {outcome_code} = "late"',
                        "column_id": "days_overdue"}, "backgroundColor": "#7a1f2b"},
            ],
        ),
        dcc.Interval(id=ids.DD_TICK, interval=REFRESH_MS),
        dcc.Store(id=ids.DD_VERSION, data=None),
    ], id=ids.DRILLDOWN, className="console-drilldown", style={"marginTop": "18px"})


def _version(rows: list[dict[str, Any]]) -> str:
    return hashlib.sha1(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def register(app: dash.Dash, sources: DrilldownSources | None, now: Callable[[], datetime] | None = None) -> None:
    """The panel's callbacks on ``app`` (call inside the console's role declaration)."""
    clock = now or ioc_clock.now

    @app.callback(Output(ids.DD_UNIT, "options"), Output(ids.DD_KPI, "options"),
                  Input(ids.TICK, "n_intervals"), Input(ids.DD_UNIT, "value"),
                  State(ids.LANG, "data"))
    def options(_n: Any, unit: str | None, lang: str | None) -> tuple[Any, Any]:
        lang = pick_lang(lang)
        if sources is None:
            return [], kpi_options(None, lang)
        live = sources.live_units()
        figures = live.get(unit, {}) if unit else None
        return unit_options(live, sources.unit_names, lang), kpi_options(figures, lang)

    @app.callback(Output(ids.DD_TABLE, "data"), Output(ids.DD_COUNT, "children"),
                  Output(ids.DD_VERSION, "data"), Output(ids.DD_TABLE, "page_current"),
                  Input(ids.DD_UNIT, "value"), Input(ids.DD_KPI, "value"),
                  Input(ids.DD_REFRESH, "n_clicks"), Input(ids.DD_TICK, "n_intervals"),
                  State(ids.DD_VERSION, "data"), State(ids.LANG, "data"))
    def dossiers(unit: str | None, kpi: str | None, _clicks: Any, _n: Any, version: str | None,
                 lang: str | None) -> tuple[Any, Any, Any, Any]:
        lang = pick_lang(lang)
        # Another unit or KPI is another list: back to its first page; a refresh keeps the page.
        page = 0 if ctx.triggered_id in (ids.DD_UNIT, ids.DD_KPI) else dash.no_update
        if not unit or not kpi:
            return [], t("dd_pick", lang), None, 0
        if sources is None:
            return [], t("dd_no_warehouse", lang), None, 0
        if kpi not in KPIS:
            return [], t("dd_bad_kpi", lang).format(kpi=kpi, kpis=", ".join(KPIS)), None, 0
        at = clock()
        try:
            events = sources.events(unit, period_of(at, "month").start)
        except Exception as exc:  # any engine error: say so, keep the rows shown
            log.warning("drill-down: reading the events of %s failed: %s", unit, exc)
            return dash.no_update, t("dd_failed", lang).format(reason=exc.__class__.__name__), dash.no_update, page
        rows = table_rows(drilldown(events, unit, kpi, at), lang)
        live = sources.live_units().get(unit, {}).get(kpi, 0)
        message = t("dd_count", lang).format(n=len(rows), kpi=t(f"dd_kpi_{kpi}", lang).lower(), unit=unit,
                                             live=live, time=at.astimezone(LOCAL_TZ).strftime("%H:%M:%S"))
        new_version = _version(rows)
        # Unchanged rows are not sent again: the table keeps its page, sort and scroll.
        return (dash.no_update if new_version == version else rows), message, new_version, page
