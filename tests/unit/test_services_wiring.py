"""The pure parts of the service and alert wiring, driven in simulated time (no broker):
the service monitor behind the Faust agent, the single-writer alert desk, the web's replica,
the incident injection, the sink's rows and the console's filters."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from dashboards.console.actions import build_action, parse_state
from dashboards.console.alert_state import AlertReplica, ServiceHealth
from dashboards.console.views import filter_alerts, table_rows
from ioc.alerts.desk import AlertDesk, LogEntry, decode_log_entry
from ioc.alerts.model import Action, AlertKind, Signal
from ioc.services.model import ServiceMetric
from ioc.services.monitor import ServiceMonitor
from ioc.services.settings import ServicesSettings
from ioc.services.simulator import IncidentRejected
from ioc.services_io.sim_runner import IncidentOverlay, Injection, SimulatedSystems, decode_injection, parse_incident
from ioc.warehouse.sink import alert_event_rows, service_metric_rows

T0 = datetime(2026, 10, 6, 2, 0, tzinfo=timezone.utc)  # Tuesday 09:00 in Asia/Ho_Chi_Minh
COMMUNES = tuple(f"0{i:04d}" for i in range(1, 21))
SHORT = ServicesSettings.model_validate({
    "resolution_s": 1, "burn_windows": [{"long_s": 30, "short_s": 5, "factor": 14.4, "severity": "critical"}],
    "slo": {"portal": [{"objective": 0.99}]},
})


def run(systems: SimulatedSystems, monitor: ServiceMonitor, desk: AlertDesk, start: datetime, seconds: int,
        step: float = 1.0) -> list[tuple[datetime, LogEntry]]:
    """Tick simulator -> monitor -> desk for ``seconds`` of simulated time; the logged entries."""
    out = []
    now = start
    for _ in range(int(seconds / step)):
        now += timedelta(seconds=step)
        for signal in monitor.observe(systems.tick(now)) + monitor.tick(now):
            outcome = desk.apply(signal)
            if outcome.logged:
                out.append((now, outcome.logged))
    return out


def portal_only(seed: int = 3) -> SimulatedSystems:
    systems = SimulatedSystems(seed, COMMUNES, 1.0)
    systems.sim = type(systems.sim)(seed=seed, systems=["portal"], tick_s=1.0)
    return systems


def test_outage_raises_one_grouped_alert_within_the_window_and_clears_after_recovery():
    systems, monitor, desk = portal_only(), ServiceMonitor(SHORT), AlertDesk()
    assert run(systems, monitor, desk, T0, 60) == []  # healthy: nothing
    outage_at = T0 + timedelta(seconds=60)
    systems.inject(Injection(system="portal", kind="outage", seconds=20), outage_at)
    logged = run(systems, monitor, desk, outage_at, 60)
    raises = [(at, e) for at, e in logged if e.event.type == "signal" and e.event.op == "raise"]
    clears = [(at, e) for at, e in logged if e.event.type == "signal" and e.event.op == "clear"]
    assert raises and clears
    assert raises[0][0] - outage_at <= timedelta(seconds=30)  # within its long window
    assert clears[-1][0] > outage_at + timedelta(seconds=20)  # only after the recovery
    alerts = desk.book.alerts()
    assert [(a.system, a.kind, a.state) for a in alerts] == [("portal", AlertKind.SLO_BURN, "resolved")]
    assert {e.alert_id for _, e in logged} == {alerts[0].id}


def test_default_windows_page_a_hard_outage_within_five_minutes():
    settings = ServicesSettings.model_validate({"slo": {"portal": [{"objective": 0.995}]}})
    systems = SimulatedSystems(1, COMMUNES, 10.0)
    systems.sim = type(systems.sim)(seed=1, systems=["portal"], tick_s=10.0)
    monitor, desk = ServiceMonitor(settings), AlertDesk()
    assert run(systems, monitor, desk, T0, 3600, step=10) == []
    start = T0 + timedelta(seconds=3600)
    systems.inject(Injection(system="portal", kind="outage", seconds=900), start)
    logged = run(systems, monitor, desk, start, 300, step=10)
    # The burn rates page within five minutes; the hard-down rule (issue #16) paged first.
    slo = [e.event for _, e in logged if e.event.kind == AlertKind.SLO_BURN]  # type: ignore[union-attr]
    assert [e.op for e in slo] == ["raise"]  # type: ignore[union-attr]
    assert slo[0].severity == "critical"  # type: ignore[union-attr]
    assert [e.event.kind for _, e in logged] == [AlertKind.SYSTEM_DOWN, AlertKind.SLO_BURN]  # type: ignore[union-attr]


def test_errors_incident_burns_the_budget_and_link_down_raises_a_link_alert():
    systems = SimulatedSystems(2, COMMUNES, 1.0)
    monitor, desk = ServiceMonitor(SHORT), AlertDesk()
    run(systems, monitor, desk, T0, 30)
    systems.inject(parse_incident("portal:errors", 40), T0 + timedelta(seconds=30))
    systems.inject(parse_incident("wan:link-down", 120), T0 + timedelta(seconds=30))
    run(systems, monitor, desk, T0 + timedelta(seconds=30), 90)
    kinds = {(a.system, a.kind.value, a.unit) for a in desk.book.alerts()}
    assert ("portal", "slo_burn", None) in kinds
    assert ("wan", "link_down", COMMUNES[0]) in kinds
    figures = monitor.figures(T0 + timedelta(seconds=120))["systems"]
    assert figures["wan"]["communes_down"] == [COMMUNES[0]]
    assert figures["portal"]["burn_rates"]["availability"]


def test_monitor_time_never_goes_back():
    monitor = ServiceMonitor(SHORT)
    late = ServiceMetric(system="portal", metric="up", value=1, time=T0 + timedelta(seconds=10))
    early = ServiceMetric(system="portal", metric="up", value=1, time=T0)
    monitor.observe([late])
    monitor.observe([early])  # counted at the latest time seen instead of failing
    assert monitor.last == late.time
    assert monitor.tick(T0) == []
    assert monitor.observe_raw([{"s": "portal", "m": "up", "v": "x", "t": 1}]) == [] and monitor.rejected == 1


def _raise(at: datetime, system: str = "portal", unit: str | None = None) -> Signal:
    return Signal(op="raise", source="service", system=system, kind=AlertKind.SLO_BURN, unit=unit,
                  severity="critical", at=at, summary="sự cố")


def test_alert_desk_dedups_redelivery_rejects_with_reason_and_recovers_from_its_log():
    desk = AlertDesk()
    signal = _raise(T0)
    first = desk.apply(signal)
    assert first.logged is not None and first.logged.event.seq == 0
    assert desk.apply(signal).logged is None  # the same event redelivered
    alert_id = first.logged.alert_id
    ack = Action(action="acknowledge", alert_id=alert_id, actor="op1", at=T0 + timedelta(seconds=5))
    assert desk.apply(ack).logged.event.seq == 1  # type: ignore[union-attr]
    again = desk.apply(Action(action="acknowledge", alert_id=alert_id, actor="op2", at=T0 + timedelta(seconds=6)))
    assert again.logged is None and "already acknowledged" in (again.rejected or "")
    assert "unknown alert id" in (desk.apply_raw(json.dumps(
        {"type": "action", "action": "resolve", "alert_id": "nope", "actor": "x", "at": T0.isoformat()}).encode()).rejected or "")
    assert "not JSON" in (desk.apply_raw(b"{oops").rejected or "")
    escalations = desk.tick(T0 + timedelta(hours=2))  # acknowledged: no escalation
    assert escalations == []
    other = desk.apply(_raise(T0, system="motcua", unit="04792"))  # commune level: escalates to the province
    escalated = desk.tick(T0 + timedelta(hours=2))
    assert [e.alert_id for e in escalated] == [other.logged.alert_id]  # type: ignore[union-attr]

    entries = [first.logged, LogEntry(alert_id, desk.book.log[1]), other.logged, *escalated]
    wire = [decode_log_entry(e.encode()) for e in entries]  # type: ignore[union-attr]
    rebuilt = AlertDesk()
    assert rebuilt.recover(reversed(wire)) == 4
    assert rebuilt.book.snapshot() == desk.book.snapshot()
    assert rebuilt.apply(signal).logged is None  # known from the log: not applied twice


def test_replica_follows_the_log_in_order_and_checks_actions():
    desk, replica = AlertDesk(), AlertReplica()
    entry = desk.apply(_raise(T0)).logged
    assert entry is not None
    assert replica.apply_raw(entry.encode()) and not replica.apply_raw(entry.encode())
    assert replica.api_view("firing")[0]["id"] == entry.alert_id
    with pytest.raises(Exception, match="unknown alert id"):
        replica.check(Action(action="acknowledge", alert_id="nope", actor="op", at=T0))
    replica.check(Action(action="acknowledge", alert_id=entry.alert_id, actor="op", at=T0))
    assert replica.api_view("firing")  # the check did not change the replica
    ack = desk.apply(Action(action="acknowledge", alert_id=entry.alert_id, actor="op", at=T0)).logged
    assert ack is not None
    waiter = threading.Timer(0.05, lambda: replica.apply(ack))
    waiter.start()
    assert replica.wait_logged(ack.event.event_id, 5.0)
    assert replica.api_view("acknowledged")[0]["id"] == entry.alert_id and replica.api_view("firing") == []
    assert replica.wait_logged("never", 0.01) is False


def test_api_filters_and_actions_from_json():
    assert parse_state(None) is None and parse_state("firing") == "firing"
    with pytest.raises(ValueError, match="state: must be one of firing, acknowledged"):
        parse_state("open")
    action = build_action("a-1", {"action": "assign", "assignee": "nguyenvana"}, "op", T0)
    assert (action.action, action.assignee, action.actor) == ("assign", "nguyenvana", "op")
    with pytest.raises(Exception, match="assignee: required"):
        build_action("a-1", {"action": "assign"}, "op", T0)
    with pytest.raises(ValueError, match="colour: unknown field"):
        build_action("a-1", {"action": "resolve", "colour": "red"}, "op", T0)


def test_service_health_keeps_the_newest_figures_per_system_with_their_age():
    health = ServiceHealth()
    health.apply({"at": T0.isoformat(), "systems": {"portal": {"availability": 1.0}, "wan": {"availability": 0.9}}})
    health.apply({"at": (T0 - timedelta(seconds=5)).isoformat(), "systems": {"portal": {"availability": 0.1}}})
    latest = health.latest(T0 + timedelta(seconds=3))
    assert latest["portal"]["figures"] == {"availability": 1.0}
    assert latest["wan"]["age_s"] == pytest.approx(3.0)


def test_incident_injections_are_checked_and_listed():
    with pytest.raises(IncidentRejected, match="valid kinds: outage, latency, errors"):
        parse_incident("portal:link-down", 10)
    with pytest.raises(IncidentRejected, match="valid systems: portal, motcua"):
        parse_incident("cong:outage", 10)
    with pytest.raises(IncidentRejected, match="expected SYSTEM:KIND"):
        parse_incident("portal", 10)
    injection = parse_incident("wan:link-down", 30)
    assert decode_injection(injection.encode()) == injection
    with pytest.raises(IncidentRejected):
        decode_injection(b'{"system": "portal", "kind": "flap", "seconds": 5}')


def test_overlay_adds_errors_and_takes_a_link_down():
    overlay = IncidentOverlay(COMMUNES)
    overlay.inject(Injection(system="portal", kind="errors", seconds=20), T0)

    def tick(at: datetime, requests: float) -> dict[str, float]:
        samples = [ServiceMetric(system="portal", metric="requests_total", value=requests, time=at),
                   ServiceMetric(system="portal", metric="errors_total", value=1, time=at)]
        return {s.metric: s.value for s in overlay.apply(samples, at)}

    assert tick(T0 + timedelta(seconds=1), 100)["errors_total"] == 1  # first sample: a baseline
    assert tick(T0 + timedelta(seconds=2), 300)["errors_total"] == 101  # half of 200 new requests
    assert tick(T0 + timedelta(seconds=30), 500)["errors_total"] == 101  # over: no new extra errors
    overlay.inject(Injection(system="wan", kind="link-down", seconds=5, unit=COMMUNES[3]), T0)
    links = overlay.apply([ServiceMetric(system="wan", metric="link_up", unit=c, value=1, time=T0) for c in COMMUNES[:5]]
                          + [ServiceMetric(system="wan", metric="communes_connected", value=5, time=T0)], T0)
    assert [s.value for s in links] == [1, 1, 1, 0, 1, 4]
    with pytest.raises(IncidentRejected, match="not one of the province's 20 communes"):
        overlay.inject(Injection(system="wan", kind="link-down", seconds=5, unit="99999"), T0)


def test_sink_rows_of_metrics_and_the_alert_log():
    sample = ServiceMetric(system="soc", metric="soc_alerts_total", labels={"severity": "high"}, value=3, time=T0)
    rows = service_metric_rows(json.dumps([sample.to_wire(), {"s": "bad"}]).encode())
    assert rows == [{"time": T0, "system": "soc", "metric": "soc_alerts_total", "unit": "",
                     "labels": '{"severity": "high"}', "value": 3.0}]
    entry = AlertDesk().apply(_raise(T0, unit="04792")).logged
    (row,) = alert_event_rows(entry.encode())  # type: ignore[union-attr]
    assert (row["alert_id"], row["seq"], row["what"], row["unit"], row["actor"]) == (entry.alert_id, 0, "raise", "04792", "")  # type: ignore[union-attr]
    assert decode_log_entry({"alert_id": row["alert_id"], "event": json.loads(row["event"])}) == entry


def test_console_filters_group_and_label_in_both_languages():
    desk = AlertDesk()
    a = desk.apply(_raise(T0, system="portal")).logged
    b = desk.apply(_raise(T0 + timedelta(seconds=1), system="wan", unit="04792")).logged
    desk.apply(Action(action="resolve", alert_id=b.alert_id, actor="op", at=T0))  # type: ignore[union-attr]
    snapshot = desk.book.snapshot()
    assert [x["id"] for x in filter_alerts(snapshot, states=["firing"])] == [a.alert_id]  # type: ignore[union-attr]
    assert [x["id"] for x in filter_alerts(snapshot, unit="04792")] == [b.alert_id]  # type: ignore[union-attr]
    assert filter_alerts(snapshot, source="camera") == []
    assert [x["id"] for x in filter_alerts(snapshot, group="wan/slo_burn")] == [b.alert_id]  # type: ignore[union-attr]
    firing = filter_alerts(snapshot, states=["firing"])
    vi, en = table_rows(firing, "vi"), table_rows(firing, "en")
    assert (vi[0]["state"], vi[0]["severity"]) == ("Đang cảnh báo", "Nghiêm trọng")
    assert (en[0]["state"], en[0]["severity"]) == ("Firing", "Critical")
    assert vi[0]["group"].startswith("Cổng Dịch vụ công") and en[0]["group"].startswith("Provincial online")


def test_a_soc_burst_raises_one_soc_alert_and_it_clears_when_the_burst_is_over():
    systems = SimulatedSystems(4, COMMUNES, 10.0)
    systems.sim = type(systems.sim)(seed=4, systems=["soc"], tick_s=10.0)
    monitor, desk = ServiceMonitor(ServicesSettings()), AlertDesk()
    assert [e for _, e in run(systems, monitor, desk, T0, 1800, step=10)
            if e.event.type == "signal" and e.event.kind == AlertKind.SOC_ALERT] == []  # the usual trickle
    start = T0 + timedelta(seconds=1800)
    systems.inject(parse_incident("soc:soc_burst", 600), start)
    logged = run(systems, monitor, desk, start, 2400, step=10)
    soc = [(at, e.event.op) for at, e in logged if e.event.type == "signal" and e.event.kind == AlertKind.SOC_ALERT]
    assert [op for _, op in soc] == ["raise", "clear"]
    assert soc[0][0] - start <= timedelta(minutes=5)  # noticed within minutes of the burst
    assert soc[1][0] > start + timedelta(seconds=600)  # cleared only after it ended
    alerts = [a for a in desk.book.alerts() if a.kind == AlertKind.SOC_ALERT]
    assert len(alerts) == 1 and alerts[0].severity == "critical" and alerts[0].state == "resolved"
