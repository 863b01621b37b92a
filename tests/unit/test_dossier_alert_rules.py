"""Dossier alert rules on the live figures: thresholds relative to a unit's volume with
hysteresis, one alert per rule listing the units (issue #16: grouped instead of one per unit)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ioc.alerts.book import AlertBook
from ioc.alerts.dossier_rules import DossierRuleSettings, DossierWatch
from ioc.alerts.model import AlertKind
from ioc.kpi.snapshots import LatestSnapshots, snapshot_messages

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def ops(signals):
    # Grouped (issue #16): the unit is no longer the alert's identity but one of its listed units.
    return [(s.op, s.units[0] if len(s.units) == 1 else s.units, s.kind.value, s.severity) for s in signals]


def test_overdue_raises_at_the_threshold_escalates_in_severity_and_clears_below_half():
    # Absolute thresholds only (the share of open dossiers is tested below).
    watch = DossierWatch(DossierRuleSettings(overdue_raise=5, overdue_critical=20, overdue_share=0,
                                             overdue_critical_share=1.1), {"H44.07": "Sở Xây dựng"})
    assert watch.observe({"H44.07": {"overdue": 4, "in_processing": 100}}, T0) == []
    raised = watch.observe({"H44.07": {"overdue": 5, "in_processing": 100}}, T0 + timedelta(minutes=1))
    assert ops(raised) == [("raise", "H44.07", "dossier_overdue", "warning")]
    assert "5 hồ sơ quá hạn tại 1 đơn vị: Sở Xây dựng (5/100)" in raised[0].summary
    assert watch.observe({"H44.07": {"overdue": 4, "in_processing": 100}}, T0 + timedelta(minutes=2)) == []  # hysteresis
    worse = watch.observe({"H44.07": {"overdue": 25, "in_processing": 100}}, T0 + timedelta(minutes=3))
    assert ops(worse) == [("raise", "H44.07", "dossier_overdue", "critical")]
    cleared = watch.observe({"H44.07": {"overdue": 1, "in_processing": 100}}, T0 + timedelta(minutes=4))
    assert ops(cleared) == [("clear", "H44.07", "dossier_overdue", "critical")]


def test_a_backlog_surge_within_the_hour_is_one_alert_and_the_book_keeps_one_incident():
    watch = DossierWatch(DossierRuleSettings(surge_ratio=0.3, surge_min=50, surge_window_s=3600))
    book = AlertBook()
    at, signals = T0, []
    for open_ in [200, 210, 220, 260, 290, 300, 300]:  # +100 within the hour: surge
        signals += watch.observe({"H44.101": {"in_processing": open_}}, at)
        at += timedelta(minutes=10)
    surges = [s for s in signals if s.kind == AlertKind.BACKLOG_SURGE]
    assert [s.op for s in surges] == ["raise"]
    for s in signals:
        book.apply(s)
    assert len([a for a in book.alerts() if a.kind == AlertKind.BACKLOG_SURGE]) == 1
    calm = []
    for _ in range(8):  # the hour passes with no growth: the window forgets the climb
        at += timedelta(minutes=10)
        calm += watch.observe({"H44.101": {"in_processing": 300}}, at)
    assert [s.op for s in calm if s.kind == AlertKind.BACKLOG_SURGE] == ["clear"]


def test_a_unit_gone_from_the_figures_clears_its_alerts_and_levels_follow_the_unit():
    watch = DossierWatch(unit_level=lambda u: "commune" if u.count(".") == 2 else "province")
    raised = watch.observe({"H44.101.01": {"at_risk": 12}}, T0)
    assert ops(raised) == [("raise", "H44.101.01", "dossier_at_risk", "warning")]
    assert raised[0].effective_level == "province"  # grouped: one provincial alert listing the units
    assert ops(watch.observe({}, T0 + timedelta(minutes=1))) == [("clear", "H44.101.01", "dossier_at_risk", "warning")]


def test_latest_snapshots_sum_the_partitions_per_unit():
    latest = LatestSnapshots()
    for p, n in ((0, 3), (1, 4)):
        for m in snapshot_messages(p, T0, {"H44.07": {"overdue": n}, f"H44.0{p}": {"overdue": 1}}):
            assert latest.add(json.loads(m))
    assert latest.per_unit() == {"H44.07": {"overdue": 7}, "H44.00": {"overdue": 1}, "H44.01": {"overdue": 1}}


def test_one_alert_per_rule_lists_the_units_worst_first_and_updates_without_a_new_incident():
    names = {"H44.07": "Sở Xây dựng", "H44.101": "UBND xã A", "H44.102": "UBND xã B"}
    watch, book = DossierWatch(unit_names=names), AlertBook()
    figures = {"H44.07": {"overdue": 30, "in_processing": 300}, "H44.101": {"overdue": 6, "in_processing": 20},
               "H44.102": {"overdue": 2, "in_processing": 20}, "H44.103": {"in_processing": 5}}
    raised = watch.observe(figures, T0)
    assert ops(raised) == [("raise", ("H44.07", "H44.101"), "dossier_overdue", "critical")]
    assert raised[0].unit is None and raised[0].summary == (
        "36 hồ sơ quá hạn tại 2 đơn vị: Sở Xây dựng (30/300); UBND xã A (6/20)")
    for s in raised:
        book.apply(s)
    assert watch.observe(figures, T0 + timedelta(minutes=1)) == []  # nothing changed: no repeat
    figures["H44.102"] = {"overdue": 8, "in_processing": 20}  # a third unit joins: the same alert, updated
    joined = watch.observe(figures, T0 + timedelta(minutes=2))
    assert ops(joined) == [("raise", ("H44.07", "H44.102", "H44.101"), "dossier_overdue", "critical")]
    for s in joined:
        book.apply(s)
    (alert,) = book.alerts()
    assert alert.units == ["H44.07", "H44.102", "H44.101"] and alert.count == 2 and alert.incident == 1
    assert alert.api_view()["units"] == ["H44.07", "H44.102", "H44.101"] and alert.api_view()["unit"] is None


def test_thresholds_are_relative_to_the_units_open_dossiers():
    watch = DossierWatch()
    big = {"H44.06.01": {"overdue": 40, "at_risk": 300, "in_processing": 1800}}  # 2 % overdue, 17 % at risk
    small = {"H44.150": {"overdue": 6, "at_risk": 12, "in_processing": 16}}  # 38 % overdue, 75 % at risk
    assert watch.observe(big, T0) == []
    got = watch.observe({**big, **small}, T0 + timedelta(minutes=1))
    assert ops(got) == [("raise", "H44.150", "dossier_overdue", "critical"), ("raise", "H44.150", "dossier_at_risk", "warning")]


def test_a_surge_is_judged_only_after_a_whole_window_of_watching():
    watch = DossierWatch(DossierRuleSettings(surge_ratio=0.3, surge_min=50, surge_window_s=3600))
    at, signals = T0, []
    for open_ in range(0, 400, 40):  # the history arriving right after a start: +360 in minutes
        signals += watch.observe({"H44.07": {"in_processing": open_}}, at)
        at += timedelta(seconds=30)
    assert [s for s in signals if s.kind == AlertKind.BACKLOG_SURGE] == []


def test_a_unit_fallen_below_the_threshold_stays_listed_last_and_marked_until_below_half():
    watch = DossierWatch(unit_names={"H44.101": "UBND xã A", "H44.102": "UBND xã B"})
    watch.observe({"H44.101": {"overdue": 6, "in_processing": 20}}, T0)
    figures = {"H44.101": {"overdue": 3, "in_processing": 20}, "H44.102": {"overdue": 5, "in_processing": 20}}
    (update,) = watch.observe(figures, T0 + timedelta(minutes=1))  # B joins; A is below 5 but not below half
    assert update.units == ("H44.102", "H44.101") and update.severity == "critical"  # B: 25 % of its open dossiers
    assert update.summary.endswith("UBND xã B (5/20); UBND xã A (3/20) dưới ngưỡng")
    figures["H44.101"] = {"overdue": 1, "in_processing": 20}
    (left,) = watch.observe(figures, T0 + timedelta(minutes=2))
    assert left.units == ("H44.102",) and left.op == "raise"
