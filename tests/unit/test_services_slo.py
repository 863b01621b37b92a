from datetime import datetime, timedelta, timezone

import pytest

from ioc.alerts import AlertBook
from ioc.services.catalogue import SYSTEMS
from ioc.services.model import ServiceMetric
from ioc.services.settings import DEFAULT_BURN_WINDOWS, ServicesSettings, SloDefinition
from ioc.services.simulator import ServiceSimulator
from ioc.services.slo import BurnRateEvaluator, SliReader, SloWatch

T0 = datetime(2026, 10, 6, 2, 0, tzinfo=timezone.utc)  # Tuesday 09:00 in Asia/Ho_Chi_Minh
COMMUNES = tuple(f"0{i:04d}" for i in range(1, 31))
PAGE = DEFAULT_BURN_WINDOWS[0]


def feed(ev: BurnRateEvaluator, start: datetime, seconds: int, bad_share: float, step: int = 10, rate: float = 100):
    now = start
    for _ in range(seconds // step):
        now += timedelta(seconds=step)
        ev.record(now, rate * (1 - bad_share), rate)
    return now


def test_burn_rate_is_bad_share_over_budget():
    ev = BurnRateEvaluator(0.99, resolution_s=60)
    now = feed(ev, T0, 3 * 86400 + 3600, 0.02, step=60)
    for window in (300, 3600, 6 * 3600, 3 * 86400):
        assert ev.burn_rate(window, now) == pytest.approx(2.0)
    # 2x: too slow to page (14.4x, 6x), fast enough for the 3-day ticket (1x).
    assert ev.holding(now) == [DEFAULT_BURN_WINDOWS[2]]


def test_no_traffic_burns_nothing():
    ev = BurnRateEvaluator(0.995)
    assert ev.burn_rate(3600, T0) == 0
    ev.record(T0, 0, 0)
    assert ev.burn_rate(300, T0 + timedelta(seconds=30)) == 0


def test_cold_start_counts_unseen_history_as_healthy():
    ev = BurnRateEvaluator(0.995, resolution_s=10)
    now = feed(ev, T0, 600, 1.0)  # the first 10 minutes are a hard outage
    assert ev.burn_rate(300, now) == pytest.approx(200)
    assert ev.burn_rate(3600, now) == pytest.approx(200 * 600 / 3600)
    assert ev.burn_rate(3 * 86400, now) == pytest.approx(200 * 600 / 259200)


def test_hard_outage_pages_within_the_short_window_and_clears_after_it():
    ev = BurnRateEvaluator(0.995, resolution_s=10)
    start = feed(ev, T0, 3600, 0.0)
    now, fired = start, None
    while fired is None:
        now += timedelta(seconds=10)
        ev.record(now, 0, 100)
        if PAGE in ev.holding(now):
            fired = now
    # 14.4 x 0.5 % of an hour of traffic = 4.32 minutes of a hard outage.
    assert (fired - start).total_seconds() == pytest.approx(260, abs=10)
    end = now
    cleared = None
    while cleared is None:
        now += timedelta(seconds=10)
        ev.record(now, 100, 100)
        if not ev.holding(now):
            cleared = now
    assert 0 < (cleared - end).total_seconds() <= PAGE.short_s
    assert ev.burn_rate(3600, cleared) > 14.4  # the long window alone still burns: the short one clears it


def test_samples_out_of_time_order_are_refused_and_counts_checked():
    ev = BurnRateEvaluator(0.99)
    ev.record(T0, 1, 1)
    with pytest.raises(ValueError, match="time order"):
        ev.record(T0 - timedelta(minutes=1), 1, 1)
    with pytest.raises(ValueError, match="good <= total"):
        ev.record(T0, 2, 1)
    with pytest.raises(ValueError, match="objective"):
        BurnRateEvaluator(1.0)


def test_long_runs_keep_exact_window_sums_after_trimming():
    ev = BurnRateEvaluator(0.99, resolution_s=60)
    now = feed(ev, T0, 4 * 86400, 0.0, step=60)
    now = feed(ev, now, 3600, 0.5, step=60)
    assert ev.burn_rate(3600, now) == pytest.approx(50)
    assert ev.burn_rate(6 * 3600, now) == pytest.approx(50 / 6)
    assert len(ev._idx) < 3 * 1440 + 200  # trimmed to the 3-day horizon


def _sample(metric, value, **kw):
    return ServiceMetric(system=kw.pop("system", "portal"), metric=metric, value=value, time=T0, **kw)


def test_sli_readers():
    avail = SliReader("portal", SloDefinition(objective=0.99))
    avail.read([_sample("requests_total", 100), _sample("errors_total", 5)])
    assert avail.read([_sample("requests_total", 300), _sample("errors_total", 15)]) == (190, 200)
    lat = SliReader("portal", SloDefinition(name="latency", sli="latency", latency_threshold_s=0.7, objective=0.9))
    first = [_sample("requests_total", 10), _sample("latency_seconds_bucket", 5, labels={"le": "0.5"}),
             _sample("latency_seconds_bucket", 8, labels={"le": "1.0"})]
    lat.read(first)
    assert lat.read([_sample("requests_total", 110), _sample("latency_seconds_bucket", 65, labels={"le": "0.5"}),
                     _sample("latency_seconds_bucket", 100, labels={"le": "1.0"})]) == (60, 100)
    probe = SliReader("soc", SloDefinition(objective=0.99))
    assert probe.read([_sample("up", 1, system="soc"), _sample("up", 0, system="soc")]) == (1, 2)
    links = SliReader("wan", SloDefinition(objective=0.99))
    assert links.read([_sample("link_up", v, system="wan", unit=f"0000{i}") for i, v in enumerate((1, 1, 0))]) == (2, 3)


def _drive(sim, watch, book, now, seconds, on_signal=None):
    for _ in range(int(seconds // 10)):
        now += timedelta(seconds=10)
        for signal in watch.observe(sim.tick(now), now):
            book.apply(signal)
            if on_signal:
                on_signal(signal, now)
    return now


@pytest.mark.parametrize("system_id", list(SYSTEMS))
def test_outage_of_each_system_raises_one_grouped_alert_and_resolves(system_id):
    settings = ServicesSettings()
    sim = ServiceSimulator(seed=11, communes=COMMUNES)
    watch, book = SloWatch.from_settings(settings), AlertBook()
    now = _drive(sim, watch, book, T0, 1800)  # half an hour of normal office traffic
    assert book.alerts() == []
    objective = settings.slo[system_id][0].objective
    detect_s = PAGE.factor * (1 - objective) * PAGE.long_s  # the page condition's expected delay
    seen: dict[str, datetime] = {}
    sim.inject(system_id, "outage", detect_s + 60, now)
    start = now
    now = _drive(sim, watch, book, now, detect_s + 60 + PAGE.short_s + 20,
                 lambda sig, at: seen.setdefault(sig.op, at))
    assert (seen["raise"] - start).total_seconds() <= PAGE.short_s
    alerts = book.alerts()
    assert len(alerts) == 1 and len(book.groups(include_resolved=True)) == 1
    alert = alerts[0]
    assert (alert.system, alert.kind.value, alert.severity) == (system_id, "slo_burn", "critical")
    assert alert.state == "resolved" and alert.resolved_by == "system"
    recovered = start + timedelta(seconds=detect_s + 60)
    assert 0 < (seen["clear"] - recovered).total_seconds() <= PAGE.short_s + 10
    assert SYSTEMS[system_id].name_vi in alert.summary


def test_latency_creep_fires_a_latency_slo_only():
    slos = {"portal": (SloDefinition(objective=0.995),
                       SloDefinition(name="latency", sli="latency", latency_threshold_s=2.5, objective=0.999))}
    sim = ServiceSimulator(seed=2, systems=["portal"])
    watch, book = SloWatch(slos), AlertBook()
    now = _drive(sim, watch, book, T0, 1800)
    sim.inject("portal", "latency", 1800, now)
    _drive(sim, watch, book, now, 1800)
    (alert,) = book.alerts()
    assert alert.labels == {"slo": "latency"} and alert.state == "firing"
    assert "thời gian phản hồi" in alert.summary


def test_burn_rates_view():
    watch = SloWatch({"soc": (SloDefinition(objective=0.99),)})
    watch.observe([_sample("up", 0, system="soc")], T0)
    rates = watch.burn_rates(T0)
    # One bad probe: 100x over its 10 s, and the unseen rest of the 5 minutes counts as healthy.
    assert rates["soc"]["availability"]["300s"] == pytest.approx(100 * 10 / 300)
    assert set(rates["soc"]["availability"]) == {"300s", "1800s", "3600s", "21600s", "259200s"}
