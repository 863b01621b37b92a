"""A system that is down is an alert at once (issue #16), and each SOC incident is an alert:
the pure rules at pinned instants, then through the service monitor and the alert desk."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ioc.alerts import AlertBook
from ioc.alerts.desk import AlertDesk
from ioc.alerts.model import AlertKind
from ioc.services.model import ServiceMetric
from ioc.services.monitor import ServiceMonitor
from ioc.services.rules import DownWatch, SocIncidentWatch
from ioc.services.settings import ServicesSettings
from ioc.services.simulator import ServiceSimulator
from ioc.services_io.sim_runner import Injection, SimulatedSystems, parse_incident

T0 = datetime(2026, 12, 8, 2, 30, tzinfo=timezone.utc)  # Tuesday 09:30 in Asia/Ho_Chi_Minh
COMMUNES = tuple(f"0{i:04d}" for i in range(1, 11))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def up(system: str, value: float, t: float) -> ServiceMetric:
    return ServiceMetric(system=system, metric="up", value=value, time=at(t))


def requests(system: str, total: float, errors: float, t: float) -> list[ServiceMetric]:
    return [ServiceMetric(system=system, metric="requests_total", value=total, time=at(t)),
            ServiceMetric(system=system, metric="errors_total", value=errors, time=at(t))]


def ops(signals):
    return [(s.op, s.system, s.kind.value, s.severity) for s in signals]


def test_up_zero_held_sixty_seconds_raises_one_critical_alert_and_recovery_clears_it():
    watch = DownWatch(down_for_s=60, names={"portal": "Cổng DVC"})
    assert watch.observe([up("portal", 1, 0)], at(0)) == []
    assert watch.observe([up("portal", 0, 10)], at(10)) == []  # down from 10 s
    assert watch.observe([up("portal", 0, 20)], at(20)) == []
    assert watch.observe([], at(69)) == []  # 59 s: not yet
    raised = watch.observe([], at(70))  # a tick without samples: held 60 s
    assert ops(raised) == [("raise", "portal", "system_down", "critical")]
    assert raised[0].summary == "Cổng DVC: ngừng hoạt động (không phản hồi hoặc mọi yêu cầu đều lỗi) từ 09:30:10"
    assert raised[0].effective_level == "province"
    assert watch.observe([up("portal", 0, 80)], at(80)) == []  # still down: no second raise
    cleared = watch.observe([up("portal", 1, 130)], at(130))
    assert ops(cleared) == [("clear", "portal", "system_down", "critical")]
    assert "hoạt động trở lại sau 2 phút" in cleared[0].summary
    assert cleared[0].fingerprint == raised[0].fingerprint


def test_a_short_drop_never_raises():
    watch = DownWatch(down_for_s=60)
    out = []
    for t, v in ((0, 1), (10, 0), (20, 0), (30, 0), (40, 0), (50, 0), (60, 1), (70, 0), (80, 1)):
        out += watch.observe([up("lgsp", v, t)], at(t))
    out += watch.observe([], at(200))
    assert out == []


def test_every_request_failing_is_down_even_with_up_one_and_half_failing_is_not():
    watch = DownWatch(down_for_s=60)
    signals = watch.observe([up("motcua", 1, 0), *requests("motcua", 100, 0, 0)], at(0))  # baselines
    for t in range(10, 80, 10):  # 50 % failing: the burn rates' business, not a hard down
        signals += watch.observe([up("motcua", 1, t), *requests("motcua", 100 + 10 * t, 5 * t, t)], at(t))
    assert signals == []
    base_total, base_errors = 100 + 10 * 70, 5 * 70
    for i, t in enumerate(range(80, 160, 10), start=1):  # every new request fails
        signals += watch.observe([up("motcua", 1, t), *requests("motcua", base_total + 20 * i, base_errors + 20 * i, t)], at(t))
    assert ops(signals) == [("raise", "motcua", "system_down", "critical")]
    # A quiet sample (no requests) with up = 1 is the recovery.
    total, errors = base_total + 20 * 8, base_errors + 20 * 8
    assert ops(watch.observe([up("motcua", 1, 170), *requests("motcua", total, errors, 170)], at(170))) == [
        ("clear", "motcua", "system_down", "critical")]


def test_a_system_without_evidence_keeps_its_state():
    watch = DownWatch(down_for_s=30)
    watch.observe(requests("payment", 10, 0, 0), at(0))
    assert watch.observe(requests("payment", 10, 0, 10), at(10)) == []  # no requests, no up: unknown
    watch.observe([up("payment", 0, 20)], at(20))
    assert watch.observe(requests("payment", 10, 0, 30), at(30)) == []  # still unknown: stays down
    assert ops(watch.observe([], at(50))) == [("raise", "payment", "system_down", "critical")]


def _run(systems, monitor, desk, start, seconds, step=10.0):
    logged, now = [], start
    for _ in range(int(seconds / step)):
        now += timedelta(seconds=step)
        for signal in monitor.observe(systems.tick(now)) + monitor.tick(now):
            outcome = desk.apply(signal)
            if outcome.logged:
                logged.append((now, outcome.logged))
    return logged, now


def test_a_two_minute_outage_under_the_default_burn_rates_is_one_page_at_once():
    """The issue's case: `ioc simulate --incident portal:outage --seconds 120` with the default
    SLO (99.5 %, 14.4x over 1 h): the burn rates stay under the page, the hard-down rule fires."""
    systems = SimulatedSystems(1, COMMUNES, 10.0, systems=["portal"])
    monitor, desk = ServiceMonitor(ServicesSettings()), AlertDesk()
    logged, now = _run(systems, monitor, desk, T0, 3600)
    assert logged == []
    start = now
    systems.inject(Injection(system="portal", kind="outage", seconds=120), start)
    logged, now = _run(systems, monitor, desk, start, 600)
    raises = [(t, e) for t, e in logged if e.event.type == "signal" and e.event.op == "raise"]
    assert [(e.event.system, e.event.kind.value) for _, e in raises] == [("portal", "system_down")]
    assert raises[0][0] - start <= timedelta(seconds=90)
    burn = monitor.slo.burn_rates(start + timedelta(seconds=120))["portal"]["availability"]
    assert burn["3600s"] < 14.4 and burn["21600s"] < 6  # neither long window pages
    (alert,) = desk.book.alerts()
    assert (alert.kind, alert.severity, alert.state) == (AlertKind.SYSTEM_DOWN, "critical", "resolved")
    clear_at = next(t for t, e in logged if e.event.type == "signal" and e.event.op == "clear")
    assert start + timedelta(seconds=120) <= clear_at <= start + timedelta(seconds=140)


def test_down_mutes_the_same_systems_other_alerts_only():
    book = AlertBook()
    down = DownWatch(down_for_s=0).observe([up("wan", 0, 0)], at(0))
    for s in down:
        book.apply(s)
    from ioc.alerts.model import Signal

    book.apply(Signal(op="raise", source="service", system="wan", kind=AlertKind.LINK_DOWN, unit="00001", at=at(1)))
    book.apply(Signal(op="raise", source="service", system="portal", kind=AlertKind.SLO_BURN, at=at(1),
                      labels={"slo": "availability"}))
    visible = {(a.system, a.kind.value) for a in book.alerts(include_inhibited=False)}
    assert visible == {("wan", "system_down"), ("portal", "slo_burn")}


def incident(value: float, t: float, id_: str = "SOC-261208-0001", severity: str = "critical") -> ServiceMetric:
    return ServiceMetric(system="soc", metric="soc_incident", value=value, time=at(t),
                         labels={"id": id_, "severity": severity, "category": "malware", "asset": "portal"})


def test_each_soc_incident_is_one_alert_raised_once_and_cleared_when_closed():
    watch = SocIncidentWatch(asset_names={"portal": "Cổng DVC"})
    raised = watch.observe([incident(1, 0), incident(1, 0, "SOC-261208-0002", "high"),
                            incident(1, 0, "SOC-261208-0003", "medium")], at(0))
    assert [(s.op, s.labels["incident"], s.severity) for s in raised] == [
        ("raise", "SOC-261208-0001", "critical"), ("raise", "SOC-261208-0002", "warning")]
    assert raised[0].summary == "SOC SOC-261208-0001: phát hiện mã độc — Cổng DVC"
    assert raised[0].kind == AlertKind.SOC_INCIDENT and raised[0].fingerprint != raised[1].fingerprint
    assert watch.observe([incident(1, 10), incident(1, 10, "SOC-261208-0002", "high")], at(10)) == []
    closed = watch.observe([incident(0, 20), incident(1, 20, "SOC-261208-0002", "high")], at(20))
    assert [(s.op, s.labels["incident"]) for s in closed] == [("clear", "SOC-261208-0001")]
    # Not reported any more while other incidents are: forgotten (cleared) after forget_after_s.
    later = watch.observe([incident(1, 1000, "SOC-261208-0004")], at(1000))
    assert [(s.op, s.labels["incident"]) for s in later] == [("raise", "SOC-261208-0004"), ("clear", "SOC-261208-0002")]


def test_simulated_soc_incidents_open_and_close_and_become_alerts():
    systems = SimulatedSystems(5, COMMUNES, 10.0, systems=["soc"])
    monitor, desk = ServiceMonitor(ServicesSettings()), AlertDesk()
    systems.inject(parse_incident("soc:soc_burst", 60), T0)  # ~2 critical and ~10 high alerts
    _run(systems, monitor, desk, T0, 3 * 3600)
    incidents = [a for a in desk.book.alerts() if a.kind == AlertKind.SOC_INCIDENT]
    assert len(incidents) >= 3
    assert len({a.labels["incident"] for a in incidents}) == len(incidents)  # one alert per incident
    burst = [a for a in incidents if a.started_at <= T0 + timedelta(seconds=70)]
    assert len(burst) >= 3 and all(a.state == "resolved" for a in burst)  # the SOC closed each within the hour
    assert {a.severity for a in incidents} <= {"critical", "warning"}
    samples = ServiceSimulator(seed=5, systems=["soc"]).tick(T0)
    assert {s.metric for s in samples} == {"up", "soc_alerts_total"}  # no incident open at the first tick


def test_down_and_simulated_systems_settings():
    import pytest

    from ioc.config import load_settings
    from ioc.errors import ConfigError

    s = load_settings(environ={"IOC_SERVICES__SIMULATOR__SYSTEMS": "portal, payment", "IOC_SERVICES__DOWN_FOR_S": "30"})
    assert s.services.simulator.systems == ("portal", "payment") and s.services.down_for_s == 30
    assert ServiceMonitor(s.services).down.down_for_s == 30
    assert SimulatedSystems(1, COMMUNES, 10.0, systems=s.services.simulator.systems).sim.systems == ("portal", "payment")
    with pytest.raises(ConfigError, match="unknown system 'portl'"):
        load_settings(environ={"IOC_SERVICES__SIMULATOR__SYSTEMS": "portl"})
