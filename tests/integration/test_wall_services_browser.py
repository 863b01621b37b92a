"""The IT scene in headless Chromium against the real web process: every system's own figures
(signatures, documents, sync, LGSP, payments, SOC by severity, the WAN map, parking per car
park, the service centre's queue, a declared system's figures) change on screen between two
reads, and the scene fits 1920x1080 and 3840x2160 without scrollbars (screenshots of both).

The figures come from the real services simulator and monitor in this process, one simulated
minute a second (so slow figures, as certificates issued, move within the test), handed to
the web as the worker's figures topic would; the queue camera's records as the camera feed
would. The broker path is covered by test_declared_system_stack.py."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from dashboards.server import WebProcess
from dashboards.wall.scenes import services as wall_services
from ioc import clock
from ioc.config import Settings
from ioc.process import free_port
from ioc.services.catalogue import province_communes
from ioc.services.monitor import ServiceMonitor
from ioc.services_io.sim_runner import Injection, SimulatedSystems
from tests.helpers import env_clock
from tests.integration.test_wall_browser import Served, text_of, wait
from tests.integration.web_login import chromium, create_user, login_browser

pytestmark = pytest.mark.integration

NOW = "2026-12-08T09:30:00+07:00"  # a Tuesday morning: every system busy
DECLARED = {"email": {"name_vi": "Thư điện tử công vụ", "name_en": "Government e-mail", "simulate": True,
                      "figures": [{"metric": "mails_sent_total", "name_vi": "Thư gửi hôm nay",
                                   "name_en": "Mails sent today"},
                                  {"metric": "mailboxes_active", "name_vi": "Hộp thư hoạt động",
                                   "name_en": "Active mailboxes"}]}}


@pytest.fixture(scope="module", autouse=True)
def pinned_clock() -> Iterator[None]:
    with env_clock(NOW):
        yield


class Feeder:
    """Simulator -> monitor -> the web's service figures, and a queue camera, twice a second."""

    def __init__(self, web: WebProcess) -> None:
        self.web = web
        services = web.settings.services
        self.systems = SimulatedSystems(1, province_communes("25"), 60, services.simulated_systems(),
                                        services.catalogue())
        self.monitor = ServiceMonitor(services)
        self.at = clock.now() - timedelta(minutes=30)
        self.communes = province_communes("25")
        self.systems.inject(Injection(system="soc", kind="soc_burst", seconds=86400), self.at)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.n = 0

    def step(self) -> None:
        self.at += timedelta(minutes=1)
        if self.n % 3 == 0:  # a commune's link drops for two of every three minutes, another's next time
            self.systems.inject(Injection(system="wan", kind="link-down", seconds=100,
                                          unit=self.communes[self.n % 7]), self.at)
        self.monitor.observe(self.systems.tick(self.at))
        figures = self.monitor.figures(self.at)
        figures["at"] = clock.now().isoformat()  # fresh for the wall: the simulated minutes ran fast
        self.web.services.apply(figures)
        self.n += 1
        self.web.cameras.apply_record({
            "camera": "tiep-nhan", "ts": clock.now().isoformat(), "health": "ok", "people": 9,
            "zones": {"hang-cho": 4 + self.n % 5, "quay-1": 1, "quay-2": self.n % 2, "quay-3": 1},
            "queues": {"hang-cho": {"length": 4 + self.n % 5, "service_rate_per_min": 1.5,
                                    "wait_s": round(60 * (4 + self.n % 5) / 1.5, 1)}}})
        self.web.cameras.apply_thumbnail("tiep-nhan", b"", None, {"unit": "H44.07", "name": "Quầy tiếp nhận"})
        self.web.state.apply_snapshot({"computed_at": clock.now().isoformat(), "partition": 0, "units": {
            "H44.07": {"received_today": 40 + self.n, "in_processing": 100, "counted": 10, "good": 9}}})

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.step()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("wallsvc")
    port = free_port()
    settings = Settings.model_validate({"data_dir": str(data), "web": {"port": port, "stale_after_s": 30},
                                        "services": {"systems": DECLARED}})
    password = create_user(data, "manhinh", ["leader"])
    web = WebProcess(settings, "127.0.0.1:1", None, with_sink=False)  # type: ignore[arg-type]
    feeder = Feeder(web)
    for _ in range(25):  # half an hour of history before the first read
        feeder.step()
    served = Served(f"http://127.0.0.1:{port}", port, web, password, web.build(), None, None)  # type: ignore[arg-type]
    served.start_http()
    feeder.thread.start()
    try:
        yield served
    finally:
        feeder.stop.set()
        feeder.thread.join(5)
        served.stop_http()
        web.stop_background()


def figure_ids(web: WebProcess) -> list[str]:
    out = [f"sv-{spec.id}-{row[0]}" for spec in web.settings.services.catalogue().values()
           for row in wall_services.rows_of(spec)]
    return out + [f"sv-parking-lot-{i}" for i in range(wall_services.LOTS)] + [
        "sv-wan-down", *(f"sv-queue-{k}" for k in wall_services.QUEUE_ROWS)]


def colours(driver: Any) -> list[str]:
    return driver.execute_script(
        "const g = document.getElementById('sv-wan-map').querySelector('.js-plotly-plot') || "
        "document.getElementById('sv-wan-map'); const d = (g.data || []).find(t => t.meta && t.meta.communes_of);"
        "return d ? [].concat(d.marker.color) : [];")


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_every_figure_moves_and_the_scene_fits(served, artifacts: Path, size):
    from selenium.webdriver.common.by import By

    width, height = size
    driver = chromium(width, height, exact=True)
    try:
        login_browser(driver, served.base, "manhinh", served.password, next_path="/?scene=services&pin=1")
        driver.get(f"{served.base}/?scene=services&pin=1")
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#wall-scene .scene-services"))
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#sv-wan-map .main-svg"))
        ids = figure_ids(served.web)
        wait(driver, lambda d: all(text_of(d, cid) not in ("", "—") for cid in ids), 30)
        assert "Thư điện tử công vụ" in text_of(driver, "sv-email") and "Hộp thư hoạt động" in text_of(driver, "sv-email")
        if size == (1920, 1080):  # each figure moves (values change between two reads); once is enough
            first = {cid: text_of(driver, cid) for cid in ids}
            map_first = colours(driver)
            moved: set[str] = set()

            def all_moved(d: Any) -> bool:
                moved.update(cid for cid in ids if text_of(d, cid) not in (first[cid], ""))
                return moved == set(ids)

            try:
                wait(driver, all_moved, 45)
            except Exception:
                pytest.fail(f"did not move on the wall: {sorted(set(ids) - moved)}")
            wait(driver, lambda d: colours(d) and colours(d) != map_first, 30)  # the communes cut off move
        sizes = driver.execute_script(
            "const s = document.scrollingElement;"
            "return [s.scrollHeight, window.innerHeight, s.scrollWidth, window.innerWidth];")
        assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], (size, sizes)
        box = driver.execute_script(
            "const b = document.getElementById('wall-scene').getBoundingClientRect();"
            "const t = document.getElementById('wall-ticker').getBoundingClientRect();"
            "const cards = [...document.querySelectorAll('.card.svc')].map(c => c.getBoundingClientRect().bottom);"
            "return [b.bottom, t.bottom, window.innerHeight, Math.max(...cards)];")
        assert box[3] <= box[0] + 0.5 and box[0] <= box[1] <= box[2] + 0.5, (size, box)
        # Every figure row is whole inside its card (none cut off by the card's bottom).
        clipped = driver.execute_script(
            "return [...document.querySelectorAll('.card.svc .fig-row')].filter(r => {"
            "  const c = r.closest('.card').getBoundingClientRect(); const b = r.getBoundingClientRect();"
            "  return b.bottom > c.bottom + 0.5; }).map(r => r.textContent);")
        assert clipped == [], (size, clipped)
        driver.save_screenshot(str(artifacts / f"wall-services-{width}x{height}.png"))
    finally:
        driver.quit()
