"""Dossier alert rules on the live figures: thresholds with hysteresis, one alert per unit and rule."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ioc.alerts.book import AlertBook
from ioc.alerts.dossier_rules import DossierRuleSettings, DossierWatch
from ioc.alerts.model import AlertKind
from ioc.kpi.snapshots import LatestSnapshots, snapshot_messages

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def ops(signals):
    return [(s.op, s.unit, s.kind.value, s.severity) for s in signals]


def test_overdue_raises_at_the_threshold_escalates_in_severity_and_clears_below_half():
    watch = DossierWatch(DossierRuleSettings(overdue_raise=5, overdue_critical=20), {"H44.07": "Sở Xây dựng"})
    assert watch.observe({"H44.07": {"overdue": 4, "in_processing": 100}}, T0) == []
    raised = watch.observe({"H44.07": {"overdue": 5, "in_processing": 100}}, T0 + timedelta(minutes=1))
    assert ops(raised) == [("raise", "H44.07", "dossier_overdue", "warning")]
    assert "5 hồ sơ quá hạn tại Sở Xây dựng" in raised[0].summary
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
    assert raised[0].effective_level == "commune"
    assert ops(watch.observe({}, T0 + timedelta(minutes=1))) == [("clear", "H44.101.01", "dossier_at_risk", "warning")]


def test_latest_snapshots_sum_the_partitions_per_unit():
    latest = LatestSnapshots()
    for p, n in ((0, 3), (1, 4)):
        for m in snapshot_messages(p, T0, {"H44.07": {"overdue": n}, f"H44.0{p}": {"overdue": 1}}):
            assert latest.add(json.loads(m))
    assert latest.per_unit() == {"H44.07": {"overdue": 7}, "H44.00": {"overdue": 1}, "H44.01": {"overdue": 1}}
