"""The console's dossier drill-down, pure part (dashboards/console/drilldown.py): given events,
the right dossiers behind each KPI of a unit, judged by the live figures' own rules.

All times local (+07:00). Judged at Wed 14 Oct 2026 10:00 (Mon 5 Oct 2026 is a Monday).
"""

from datetime import datetime, timedelta

import pytest

from dashboards.console.drilldown import (
    KPIS,
    dossiers_behind,
    drilldown,
    kpi_options,
    table_rows,
    unit_options,
)
from ioc.domain.dossier import fold
from ioc.domain.events import parse_event
from ioc.domain.outcome import Outcome
from ioc.kpi.live import figures_for

TZ = "+07:00"
AT = datetime.fromisoformat("2026-10-14T10:00:00" + TZ)
KNOWN_PROCEDURE = "1.001612"  # Đăng ký thành lập hộ kinh doanh, in the packaged catalogue
UNKNOWN_PROCEDURE = "9.999999"


def ev(code, eid, status, when, unit="U1", procedure=KNOWN_PROCEDURE, **extra):
    return {"event_id": eid, "dossier_code": code, "unit_code": unit, "procedure_code": procedure,
            "status": status, "occurred_at": when + TZ, **extra}


RAW = [
    # OD1: open, due Thu 8 Oct 17:00 -> overdue 5 d 17 h; finished after AT (not known yet)
    ev("OD1", "od1-2", 2, "2026-10-01T09:00:00", due_at="2026-10-08T17:00:00" + TZ),
    ev("OD1", "od1-9", 9, "2026-10-15T09:00:00"),
    # OD2: received last month, still open -> overdue however old (13 d 17 h)
    ev("OD2", "od2-2", 2, "2026-09-20T09:00:00", due_at="2026-09-30T17:00:00" + TZ, procedure=UNKNOWN_PROCEDURE),
    ev("OD2", "od2-4", 4, "2026-09-21T09:00:00"),
    # OD3: two days of supplement (5 Oct -> 7 Oct) excluded: 4 d 17 h past the date, 2 d 17 h overdue
    ev("OD3", "od3-2", 2, "2026-10-01T09:00:00", due_at="2026-10-09T17:00:00" + TZ),
    ev("OD3", "od3-5", 5, "2026-10-05T09:00:00"),
    ev("OD3", "od3-4", 4, "2026-10-07T09:00:00"),
    # LD1: no appointment, 3 working days from reception: the calendar gives the deadline
    ev("LD1", "ld1-2", 2, "2026-10-05T09:00:00", legal_duration={"value": 3, "unit": "working_day"}),
    # AR1: due tomorrow (the next working day) -> at risk, not due today
    ev("AR1", "ar1-2", 2, "2026-10-12T09:00:00", due_at="2026-10-15T17:00:00" + TZ),
    # DT1: due today -> due today and at risk
    ev("DT1", "dt1-2", 2, "2026-10-09T09:00:00", due_at="2026-10-14T17:00:00" + TZ),
    # FAR: due next month -> only in processing
    ev("FAR", "far-2", 2, "2026-10-13T09:00:00", due_at="2026-11-20T17:00:00" + TZ),
    # LATE1: finished Fri 9 Oct 10:00, due Tue 6 Oct 17:00 -> finished late this month (2 d 17 h)
    ev("LATE1", "late1-2", 2, "2026-10-01T09:00:00", due_at="2026-10-06T17:00:00" + TZ),
    ev("LATE1", "late1-9", 9, "2026-10-09T10:00:00"),
    # LATEOLD: finished late last month -> not this month's
    ev("LATEOLD", "lo-2", 2, "2026-09-01T09:00:00", due_at="2026-09-04T17:00:00" + TZ),
    ev("LATEOLD", "lo-9", 9, "2026-09-20T09:00:00"),
    # ON1: finished on time this month -> in no KPI list
    ev("ON1", "on1-2", 2, "2026-10-05T09:00:00", due_at="2026-10-09T17:00:00" + TZ),
    ev("ON1", "on1-9", 9, "2026-10-09T15:00:00"),
    # SUB1: submitted online, never received -> nothing
    ev("SUB1", "sub1-1", 1, "2026-10-13T09:00:00"),
    # OTHER: another unit's overdue dossier
    ev("OTHER", "ot-2", 2, "2026-10-01T09:00:00", unit="U2", due_at="2026-10-05T17:00:00" + TZ),
]
EVENTS = [parse_event(e) for e in RAW]

EXPECTED = {
    "overdue": {"OD1", "OD2", "OD3", "LD1"},
    "at_risk": {"AR1", "DT1"},
    "due_today": {"DT1"},
    "in_processing": {"OD1", "OD2", "OD3", "LD1", "AR1", "DT1", "FAR"},
    "late": {"LATE1"},
}


def codes(lines):
    return {x.dossier_code for x in lines}


@pytest.mark.parametrize("kpi", KPIS)
def test_each_kpi_lists_exactly_its_dossiers(kpi):
    assert codes(drilldown(EVENTS, "U1", kpi, AT)) == EXPECTED[kpi]


@pytest.mark.parametrize("kpi", KPIS)
def test_the_list_has_as_many_dossiers_as_the_live_figure(kpi):
    states = fold(EVENTS, AT)
    live = figures_for(states, AT)
    for unit in ("U1", "U2"):
        assert len(dossiers_behind(states, unit, kpi, AT)) == live[unit].get(kpi, 0), (unit, kpi)


def test_overdue_days_exclude_supplement_time_and_sort_most_overdue_first():
    lines = drilldown(EVENTS, "U1", "overdue", AT)
    days = {x.dossier_code: x.days_overdue for x in lines}
    assert days["OD1"] == 6  # due Thu 8, judged Wed 14: calendar days, Vietnam time
    assert days["OD2"] == 14
    assert days["OD3"] == 3  # 4 d 17 h past the date less the 2 days of supplement: Mon 12 vs Fri 9
    assert [x.days_overdue for x in lines] == sorted((x.days_overdue for x in lines), reverse=True)
    assert all(x.outcome is Outcome.IN_PROGRESS_OVERDUE for x in lines)
    (late,) = drilldown(EVENTS, "U1", "late", AT)
    assert (late.days_overdue, late.outcome, late.status) == (3, Outcome.LATE, 9)


def test_only_what_is_known_at_the_instant_counts():
    """OD1's result on 15 Oct is not known on the 14th; on the 16th it is finished late."""
    later = datetime.fromisoformat("2026-10-16T10:00:00" + TZ)
    assert "OD1" not in codes(drilldown(EVENTS, "U1", "overdue", later))
    assert "OD1" in codes(drilldown(EVENTS, "U1", "late", later))


def test_the_deadline_from_a_legal_duration_is_shown():
    (ld1,) = [x for x in drilldown(EVENTS, "U1", "overdue", AT) if x.dossier_code == "LD1"]
    assert ld1.due_at == datetime.fromisoformat("2026-10-08T17:00:00" + TZ)  # Mon + 3 working days
    assert ld1.days_overdue == 6


def test_other_kpis_are_sorted_soonest_due_first():
    assert [x.dossier_code for x in drilldown(EVENTS, "U1", "in_processing", AT)] == [
        "OD2", "LD1", "OD1", "OD3", "DT1", "AR1", "FAR"]  # LD1 and OD1: same deadline, by code


def test_rows_speak_vietnamese_in_local_time_and_carry_no_other_data():
    rows = {r["dossier"]: r for r in table_rows(drilldown(EVENTS, "U1", "overdue", AT), "vi")}
    od1, od2, od3 = rows["OD1"], rows["OD2"], rows["OD3"]
    assert od1["received"] == "01/10/2026 09:00" and od1["due"] == "08/10/2026 17:00"
    assert od1["procedure"] == f"{KNOWN_PROCEDURE} — Đăng ký thành lập hộ kinh doanh"
    assert od2["procedure"] == UNKNOWN_PROCEDURE  # not in the catalogue: the code alone
    assert od1["status"] == "Được tiếp nhận" and od2["status"] == "Đang xử lý" and od3["status"] == "Đang xử lý"
    assert od1["outcome"] == "Đang giải quyết, quá hạn" and od1["days_overdue"] == 6
    assert set(od1) == {"id", "dossier", "procedure", "received", "due", "status", "outcome", "days_overdue",
                        "outcome_code"}
    (en,) = [r for r in table_rows(drilldown(EVENTS, "U1", "overdue", AT), "en") if r["dossier"] == "OD1"]
    assert (en["status"], en["outcome"]) == ("Received", "In processing, overdue")


def test_times_are_shown_in_vietnam_time_whatever_the_zone_of_the_event():
    utc = [parse_event({**ev("Z", "z-2", 2, "2026-10-13T09:00:00"), "occurred_at": "2026-10-13T20:30:00Z",
                        "due_at": "2026-10-20T10:00:00Z"})]
    (row,) = table_rows(drilldown(utc, "U1", "in_processing", AT + timedelta(days=1)), "vi")
    assert (row["received"], row["due"]) == ("14/10/2026 03:30", "20/10/2026 17:00")


def test_a_bad_kpi_or_a_naive_instant_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown KPI 'backlog'.*overdue"):
        drilldown(EVENTS, "U1", "backlog", AT)
    with pytest.raises(ValueError, match="timezone-aware"):
        dossiers_behind(fold(EVENTS, AT), "U1", "overdue", AT.replace(tzinfo=None))


def test_an_unknown_unit_has_no_dossier():
    assert drilldown(EVENTS, "U9", "in_processing", AT) == []


def test_options_show_the_live_counts():
    live = figures_for(fold(EVENTS, AT), AT)
    kpis = {o["value"]: o["label"] for o in kpi_options(live["U1"], "vi")}
    assert kpis["overdue"] == "Quá hạn (4)" and kpis["late"] == "Hoàn thành trễ hạn trong tháng (1)"
    assert [o["label"] for o in kpi_options(None, "en")][0] == "Overdue"
    units = unit_options(live, {"U1": "Sở Tư pháp", "U7": "UBND xã Bảy"}, "vi")
    assert [o["value"] for o in units] == ["U1", "U2", "U7"]
    assert units[0]["label"] == "U1 — Sở Tư pháp (quá hạn 4)" and units[1]["label"] == "U2 (quá hạn 1)"


def test_a_dossier_overdue_by_hours_is_one_day_overdue_and_a_second_supplement_has_no_days():
    hours = [parse_event(ev("H", "h-2", 2, "2026-10-13T09:00:00", due_at="2026-10-14T08:00:00" + TZ))]
    (line,) = drilldown(hours, "U1", "overdue", AT)
    assert line.days_overdue == 1
    twice = [parse_event(e) for e in (
        ev("S2", "s-2", 2, "2026-10-12T09:00:00", due_at="2026-10-20T17:00:00" + TZ),
        ev("S2", "s-5a", 5, "2026-10-12T10:00:00"), ev("S2", "s-4", 4, "2026-10-12T11:00:00"),
        ev("S2", "s-5b", 5, "2026-10-13T10:00:00"))]
    (line,) = drilldown(twice, "U1", "overdue", AT)  # overdue by rule (a second request), not by date
    assert (line.outcome, line.days_overdue) == (Outcome.IN_PROGRESS_OVERDUE, None)
    assert table_rows([line], "vi")[0]["days_overdue"] == ""
