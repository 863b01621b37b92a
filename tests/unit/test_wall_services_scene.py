"""The IT scene's model (dashboards/wall/scenes/services.py): every system's figures beside its health,
fed by the real simulator and monitor; declared systems' cards; the service centre's queue."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Iterator

import plotly
import pytest

from dashboards.wall.data import build_wall_data, unit_directory
from dashboards.wall.scenes import services as wall_services
from dashboards.wall.service_queue import QueueCameraState, service_queue
from ioc.services.catalogue import province_communes
from ioc.services.monitor import ServiceMonitor
from ioc.services.settings import ServicesSettings
from ioc.services_io.sim_runner import Injection, SimulatedSystems

START = datetime(2026, 3, 10, 2, 30, tzinfo=timezone.utc)  # 09:30 on a Tuesday in Vietnam
DECLARED = {"systems": {"email": {"name_vi": "Thư điện tử công vụ", "name_en": "Government e-mail",
                                  "figures": [{"metric": "mails_sent_total", "name_vi": "Thư gửi hôm nay",
                                               "name_en": "Mails sent today"},
                                              {"metric": "mailboxes_active", "name_vi": "Hộp thư hoạt động",
                                               "name_en": "Active mailboxes"}],
                                  "simulate": True}}}
QUEUE_CAMERA = {"camera_id": "tiep-nhan", "unit": "H44.07", "status": "ok", "stale": False,
                "queues": {"hang-cho": {"length": 7, "service_rate_per_min": 1.5, "wait_s": 280.0}},
                "zones": {"hang-cho": 7, "quay-1": 1, "quay-2": 0, "quay-3": 2}}


@pytest.fixture(scope="module")
def directory():
    return unit_directory("25", "H44", ())


def run(settings: ServicesSettings, minutes: int) -> Iterator[tuple[ServiceMonitor, datetime]]:
    """The simulator (every system, and the declared one) into the monitor, one tick a minute;
    the monitor after each tick (the same object: read it at once)."""
    catalogue = settings.catalogue()
    systems = SimulatedSystems(1, province_communes("25"), 60, settings.simulated_systems(), catalogue)
    monitor = ServiceMonitor(settings)
    systems.inject(Injection(system="wan", kind="link-down", seconds=7200), START)
    systems.inject(Injection(system="soc", kind="soc_burst", seconds=7200), START)
    at = START
    for _ in range(minutes):
        at += timedelta(minutes=1)
        monitor.observe(systems.tick(at))
        yield monitor, at


def scene(directory, monitor: ServiceMonitor, at: datetime, settings: ServicesSettings, lang: str = "vi",
          cameras: list | None = None):
    figures = monitor.figures(at)
    services = {sid: {"figures": f, "at": figures["at"], "age_s": 1.0} for sid, f in figures["systems"].items()}
    d = build_wall_data({"H44.07": {"received_today": 42}}, at, at, 5.0, directory, services=services,
                        cameras=cameras or [], systems=tuple(settings.catalogue().values()))
    return d, wall_services.model(d, lang)


def test_every_system_shows_its_own_figures_and_they_move(directory):
    settings = ServicesSettings.model_validate(DECLARED)
    figure_ids = [f"sv-{spec.id}-{row[0]}" for spec in settings.catalogue().values()
                  for row in wall_services.rows_of(spec)] + [f"sv-parking-lot-{i}" for i in range(4)]
    assert len(figure_ids) >= 25
    seen: dict[str, set[str]] = {cid: set() for cid in figure_ids}
    first = None
    for i, (monitor, at) in enumerate(run(settings, 40)):
        if i < 20:
            continue
        _, m = scene(directory, monitor, at, settings, cameras=[QUEUE_CAMERA])
        first = first or m
        for cid in figure_ids:
            assert m[cid]["children"] not in ("", "—"), (cid, m[cid])
            seen[cid].add(m[cid]["children"])
    # Every figure moves over 20 minutes but the WAN's count, held by its injected link-down.
    assert sorted(cid for cid, values in seen.items() if len(values) < 2) == ["sv-wan-links"]
    assert first is not None and first["sv-wan-links"]["children"] == "147/148"  # one commune is cut off
    assert first["sv-wan-down"]["className"] == "svc-down bad" and first["sv-wan-down"]["children"]
    colours = first["sv-wan-map"]["~colour"]["values"]
    assert len(colours) == 148 and len(set(colours)) == 2
    assert first["sv-chukyso-certs-active"]["children"].startswith("1.15")  # 1,154 and counting, Vietnamese
    assert first["sv-email-c0"]["children"] != "—" and first["sv-email"]["className"] == "card svc ok"
    assert first["sv-soc-incidents"]["children"].startswith("NT ")
    assert first["sv-parking-lot-0-name"]["children"] == "Trụ sở UBND tỉnh"
    assert first["sv-queue-waiting"]["children"] == "7 người" and first["sv-queue-counters"]["children"] == "2/3"
    assert first["sv-queue-wait"]["children"] == "4,7 phút" and first["sv-queue-received"]["children"] == "42"


def test_english_and_a_layout_with_every_slot(directory):
    settings = ServicesSettings.model_validate(DECLARED)
    *_, (monitor, at) = run(settings, 3)
    d, m = scene(directory, monitor, at, settings, lang="en")
    assert m["sv-payment-value"]["children"].endswith("M VND")
    assert m["sv-queue-note"]["children"] == "no queue camera yet" and m["sv-queue"]["className"].endswith("nodata")
    component = wall_services.layout(d, "en", m)
    blob = json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)
    for cid in m:
        assert f'"{cid}"' in blob, cid
    assert "Government e-mail" in blob and "Mails sent today" in blob
    assert "repeat(3, minmax(0, 1fr))" in blob  # 11 systems + queue + the WAN's second row: 3 rows of 5


def test_without_data_every_card_reads_no_data(directory):
    d = build_wall_data({}, None, START, 5.0, directory)
    m = wall_services.model(d, "vi")
    assert m["sv-portal"]["className"] == "card svc nodata" and m["sv-chukyso-signatures"]["children"] == "—"
    assert m["sv-wan-down"]["children"] == "—" and m["sv-queue-waiting"]["children"] == "—"


def test_service_queue_joins_cameras_with_the_intake():
    assert service_queue([], {}) is None
    assert service_queue([{"camera_id": "x", "status": "ok"}], {}) is None
    two = [QUEUE_CAMERA, {**QUEUE_CAMERA, "camera_id": "b", "queues": {"q": {"length": 3, "wait_s": 60.0}},
                          "zones": {"q": 3}}]
    assert service_queue(two, {"H44.07": {"received_today": 5}}) == {
        "waiting": 10, "wait_s": 280.0, "counters_open": 2, "counters_total": 3, "received_today": 5}


def test_queue_camera_state_keeps_the_queues_of_live_cameras():
    now = [1000.0]
    state = QueueCameraState(stale_after_s=10, clock=lambda: now[0])
    state.apply_record({"camera": "c", "ts": "2026-03-10T09:00:00+07:00", "health": "ok", "people": 4,
                        "zones": {"q": 4, "quay-1": 1}, "queues": {"q": {"length": 4, "wait_s": 120.0}}})
    (tile,) = state.tiles()
    assert tile["queues"]["q"]["length"] == 4 and tile["zones"] == {"q": 4, "quay-1": 1}
    now[0] += 60  # its process is gone: no queue from a stale camera
    assert "queues" not in state.tiles()[0]
