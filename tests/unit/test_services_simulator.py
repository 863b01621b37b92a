from datetime import datetime, timedelta, timezone

import pytest

from ioc.services.catalogue import METRICS, SYSTEMS, UnknownSystem, province_communes, system
from ioc.services.simulator import IncidentRejected, ServiceSimulator, load_factor

COMMUNES = tuple(f"0{i:04d}" for i in range(1, 21))
TUE_10H = datetime(2026, 10, 6, 3, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Asia/Ho_Chi_Minh


def run(sim: ServiceSimulator, start: datetime, ticks: int, step_s: float = 10):
    out, now = [], start
    for _ in range(ticks):
        now += timedelta(seconds=step_s)
        out.append((now, sim.tick(now)))
    return out, now


def total(samples, system_id, metric, **labels):
    return [s.value for s in samples if s.system == system_id and s.metric == metric
            and all(s.labels.get(k) == v for k, v in labels.items())][-1]


def test_catalogue_has_every_system_with_names_and_known_metrics():
    assert list(SYSTEMS) == ["portal", "motcua", "lienthong", "lgsp", "dvcqg_sync", "payment", "chukyso",
                             "wan", "soc", "parking"]
    for spec in SYSTEMS.values():
        assert spec.name_vi and spec.name_en and spec.name_vi != spec.name_en
        assert set(spec.metrics) <= set(METRICS) and "up" in spec.metrics
        assert "outage" in spec.incidents
    with pytest.raises(UnknownSystem, match="valid systems: portal, motcua"):
        system("portl")


def test_province_communes_from_reference_data():
    codes = province_communes("25")  # Phú Thọ after the 2025 merger
    assert len(codes) == 148 and len(set(codes)) == 148 and all(len(c) == 5 for c in codes)


def test_every_system_emits_its_catalogue_metrics():
    sim = ServiceSimulator(seed=3, communes=COMMUNES)
    samples = sim.tick(TUE_10H)
    for sid, spec in SYSTEMS.items():
        assert {s.metric for s in samples if s.system == sid} == set(spec.metrics), sid
    links = [s for s in samples if s.metric == "link_up"]
    assert sorted(s.unit for s in links) == list(COMMUNES)


def test_same_seed_same_samples_and_other_seed_differs():
    a, _ = run(ServiceSimulator(seed=7, communes=COMMUNES), TUE_10H, 5)
    b, _ = run(ServiceSimulator(seed=7, communes=COMMUNES), TUE_10H, 5)
    c, _ = run(ServiceSimulator(seed=8, communes=COMMUNES), TUE_10H, 5)
    assert a == b
    assert a != c


def test_a_system_does_not_depend_on_the_others():
    alone, _ = run(ServiceSimulator(seed=7, systems=["portal"]), TUE_10H, 5)
    together, _ = run(ServiceSimulator(seed=7, communes=COMMUNES), TUE_10H, 5)
    assert [[s for s in ss if s.system == "portal"] for _, ss in alone] == \
           [[s for s in ss if s.system == "portal"] for _, ss in together]


def test_daily_shape_office_hours_lunch_night_weekend():
    local = timezone(timedelta(hours=7))
    day = lambda h, d=6: load_factor(datetime(2026, 10, d, h, 0, tzinfo=local), "office")  # noqa: E731
    assert day(10) == 1.0
    assert day(12) < 0.5 * day(10)  # lunch dip
    assert day(3) < 0.1 * day(10)  # night
    assert load_factor(datetime(2026, 10, 10, 10, 0, tzinfo=local), "office") < 0.2  # Saturday
    assert load_factor(datetime(2026, 10, 6, 3, 0, tzinfo=local), "constant") == 1.0


def test_traffic_follows_the_shape():
    sim = ServiceSimulator(seed=1, systems=["motcua"])
    def requests_per_hour(start):
        ticks, _ = run(sim, start, 360)
        return total(ticks[-1][1], "motcua", "requests_total") - total(ticks[0][1], "motcua", "requests_total")
    office = requests_per_hour(TUE_10H - timedelta(hours=1))  # 09:00-10:00 local
    night = requests_per_hour(TUE_10H + timedelta(hours=15))  # 01:00-02:00 local
    assert office > 20 * night > 0


def test_outage_fails_every_request_and_latency_creeps():
    sim = ServiceSimulator(seed=1, systems=["portal", "lgsp"])
    sim.tick(TUE_10H)
    sim.inject("portal", "outage", 60, TUE_10H)
    sim.inject("lgsp", "latency", 600, TUE_10H)
    before = sim.tick(TUE_10H + timedelta(seconds=10))
    after = sim.tick(TUE_10H + timedelta(seconds=20))
    assert total(after, "portal", "up") == 0
    d_req = total(after, "portal", "requests_total") - total(before, "portal", "requests_total")
    d_err = total(after, "portal", "errors_total") - total(before, "portal", "errors_total")
    assert d_req > 0 and d_err == d_req
    # Recovered after the incident's end.
    sim.tick(TUE_10H + timedelta(seconds=70))
    assert total(sim.tick(TUE_10H + timedelta(seconds=80)), "portal", "up") == 1

    def fast_share(samples_a, samples_b):
        fast = total(samples_b, "lgsp", "latency_seconds_bucket", le="0.25") - \
            total(samples_a, "lgsp", "latency_seconds_bucket", le="0.25")
        return fast / (total(samples_b, "lgsp", "requests_total") - total(samples_a, "lgsp", "requests_total"))
    early = fast_share(before, after)
    a = sim.tick(TUE_10H + timedelta(seconds=590))
    late = fast_share(a, sim.tick(TUE_10H + timedelta(seconds=599)))
    assert early > 0.6 and late < 0.1


def test_flap_toggles_one_commune_and_outage_drops_all():
    sim = ServiceSimulator(seed=1, systems=["wan"], communes=COMMUNES)
    incident = sim.inject("wan", "flap", 300, TUE_10H)
    assert incident.unit in COMMUNES
    states = []
    for k in range(0, 120, 10):
        samples = sim.tick(TUE_10H + timedelta(seconds=k + 1))
        states.append(total([s for s in samples if s.unit == incident.unit], "wan", "link_up"))
        assert total(samples, "wan", "communes_connected") == len(COMMUNES) - (states[-1] == 0)
    assert 0.0 in states and 1.0 in states
    sim.inject("wan", "outage", 60, TUE_10H + timedelta(seconds=200))
    samples = sim.tick(TUE_10H + timedelta(seconds=210))
    assert total(samples, "wan", "communes_connected") == 0
    assert total(samples, "wan", "communes_count") == len(COMMUNES)


def test_soc_burst_raises_critical_alerts():
    quiet = ServiceSimulator(seed=1, systems=["soc"])
    burst = ServiceSimulator(seed=1, systems=["soc"])
    burst.inject("soc", "soc_burst", 600, TUE_10H)
    q = run(quiet, TUE_10H, 30)[0][-1][1]  # samples of the last tick
    b = run(burst, TUE_10H, 30)[0][-1][1]
    assert total(b, "soc", "soc_alerts_total", severity="critical") > 3 + total(q, "soc", "soc_alerts_total", severity="critical")


def test_incident_errors_list_the_valid_choices():
    sim = ServiceSimulator(seed=1, communes=COMMUNES)
    with pytest.raises(IncidentRejected, match="does not apply to portal; valid kinds: outage, latency"):
        sim.inject("portal", "flap", 60, TUE_10H)
    with pytest.raises(IncidentRejected, match="valid kinds: outage, soc_burst"):
        sim.inject("soc", "latency", 60, TUE_10H)
    with pytest.raises(IncidentRejected, match="unknown system 'portl'; simulated systems: portal"):
        sim.inject("portl", "outage", 60, TUE_10H)
    with pytest.raises(IncidentRejected, match="seconds: must be greater than 0"):
        sim.inject("portal", "outage", 0, TUE_10H)
    with pytest.raises(IncidentRejected, match="not one of the province's 20 communes"):
        sim.inject("wan", "flap", 60, TUE_10H, unit="99999")


def test_time_must_move_forward_and_wan_needs_communes():
    sim = ServiceSimulator(seed=1, systems=["portal"])
    sim.tick(TUE_10H)
    with pytest.raises(ValueError, match="is not after the previous one"):
        sim.tick(TUE_10H)
    with pytest.raises(ValueError, match="communes: the WAN simulator needs"):
        ServiceSimulator(seed=1)
