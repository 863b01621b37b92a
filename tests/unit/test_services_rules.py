from datetime import datetime, timedelta, timezone

from ioc.alerts import AlertBook
from ioc.services.rules import LinkWatch
from ioc.services.settings import ServicesSettings
from ioc.services.simulator import ServiceSimulator
from ioc.services.slo import SloWatch

T0 = datetime(2026, 10, 6, 3, 0, tzinfo=timezone.utc)
COMMUNES = tuple(f"0{i:04d}" for i in range(1, 11))


def _run(sim, watches, book, now, seconds):
    for _ in range(int(seconds // 10)):
        now += timedelta(seconds=10)
        samples = sim.tick(now)
        for watch in watches:
            for signal in watch.observe(samples, now):
                book.apply(signal)
        book.tick(now)
    return now


def test_a_flapping_link_is_one_alert_that_clears_once_stable():
    sim, book = ServiceSimulator(seed=1, systems=["wan"], communes=COMMUNES), AlertBook()
    watch = LinkWatch(down_for_s=60, up_for_s=120, commune_names={COMMUNES[3]: "Xã Thử"})
    now = _run(sim, [watch], book, T0, 60)
    incident = sim.inject("wan", "flap", 600, now, unit=COMMUNES[3])
    now = _run(sim, [watch], book, now, 600)
    (alert,) = book.alerts()
    assert (alert.unit, alert.kind.value, alert.state) == (incident.unit, "link_down", "firing")
    assert alert.summary == "Kết nối chập chờn mạng WAN đến Xã Thử" and alert.count == 1
    _run(sim, [watch], book, now, 200)
    (alert,) = book.alerts()
    assert alert.state == "resolved"


def test_wan_outage_shows_one_alert_the_link_alerts_are_muted():
    sim, book = ServiceSimulator(seed=1, systems=["wan"], communes=COMMUNES), AlertBook()
    watches = [SloWatch.from_settings(ServicesSettings()), LinkWatch()]
    now = _run(sim, watches, book, T0, 600)
    sim.inject("wan", "outage", 600, now)
    _run(sim, watches, book, now, 300)
    visible = book.alerts(include_inhibited=False)
    assert [(a.system, a.kind.value) for a in visible] == [("wan", "slo_burn")]
    assert len(book.alerts()) == 1 + len(COMMUNES)  # kept, muted
