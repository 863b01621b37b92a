"""The leaders' wall in headless Chromium against the real web process (waitress on a free port,
sign-in through the form): live numbers change on screen, the playlist rotates, the English
switch and the pin button work, every scene fits 1920x1080 and 3840x2160 with no scrollbar
(screenshots of each), and the page recovers by itself after the server restarts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from dashboards import wall
from dashboards.server import WebProcess
from ioc import clock
from ioc.config import Settings
from ioc.process import free_port, wait_until
from ioc.warehouse.backends import ChdbWarehouse, ensure_schema
from tests.integration.web_login import chromium, create_user, login_browser

pytestmark = pytest.mark.integration

ROTATE_S = 5  # the shortest playlist step the settings allow


def snapshot(in_processing: int, overdue: int = 3) -> dict[str, Any]:
    return {"computed_at": clock.now().isoformat(), "partition": 0, "units": {
        "H44.07": {"received_today": 12, "in_processing": in_processing, "counted": 100, "good": 90,
                   "at_risk": 5, "due_today": 2, "overdue": overdue, "in_progress_on_time": 20,
                   "in_progress_overdue": overdue, "counted_overdue": overdue},
        "H44.101": {"received_today": 3, "in_processing": 30, "counted": 50, "good": 49, "at_risk": 2,
                    "in_progress_on_time": 5}}}


@dataclass
class Served:
    base: str
    port: int
    web: WebProcess
    password: str
    server: Any
    httpd: Any
    thread: threading.Thread

    def stop_http(self) -> None:
        self.httpd.close()
        self.thread.join(10)

    def start_http(self) -> None:
        from waitress.server import create_server

        self.httpd = create_server(self.server, host="127.0.0.1", port=self.port, threads=4)
        self.thread = threading.Thread(target=self.httpd.run, name="waitress-wall", daemon=True)
        self.thread.start()
        wait_until(lambda: requests.get(f"{self.base}/healthz", timeout=1).status_code in (200, 503), 20,
                   f"web process on :{self.port}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("wall")
    port = free_port()
    settings = Settings.model_validate({"data_dir": str(data), "web": {
        "port": port, "wall_rotate_s": ROTATE_S, "stale_after_s": 30, "wall_stall_reload_s": 10}})
    password = create_user(data, "manhinh", ["leader"])
    warehouse = ChdbWarehouse(data / "chdb", database="wallbrowser")
    ensure_schema(warehouse)
    web = WebProcess(settings, "127.0.0.1:1", warehouse, with_sink=False)  # the state is fed directly
    web.state.apply_snapshot(snapshot(3456))
    web.services.apply({"at": clock.now().isoformat(), "systems": {
        "portal": {"up": 1, "availability": 0.9991, "latency_p95_s": 0.31, "error_rate": 0.0009}}})
    served = Served(f"http://127.0.0.1:{port}", port, web, password, web.build(), None, None)  # type: ignore[arg-type]
    served.start_http()
    try:
        yield served
    finally:
        served.stop_http()
        web.stop_background()
        warehouse.close()


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    driver = chromium(1920, 1080)
    try:
        login_browser(driver, served.base, "manhinh", served.password, next_path="/")
        yield driver
    finally:
        driver.quit()


def wait(driver: Any, condition: Any, timeout: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def holds_for(driver: Any, seconds: float, condition: Any) -> None:
    """Poll ``condition`` for ``seconds``; it must hold every time."""
    start = time.monotonic()

    def check(d: Any) -> bool:
        assert condition(d), "the condition stopped holding"
        return time.monotonic() - start >= seconds

    wait(driver, check, seconds + 10)


def text_of(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def open_scene(driver: Any, base: str, query: str, marker_id: str) -> None:
    driver.get(f"{base}/{query}")
    wait(driver, lambda d: text_of(d, marker_id) not in ("", "—"))


def test_live_numbers_change_on_the_wall(served, browser):
    open_scene(browser, served.base, "?scene=flow&pin=1", "fl-total-2")
    assert text_of(browser, "tile-in_processing") == "3.486"  # 3456 + 30, Vietnamese thousands
    assert text_of(browser, "fl-total-2") == "3.486"
    served.web.state.apply_snapshot(snapshot(4000, overdue=7))
    wait(browser, lambda d: text_of(d, "tile-in_processing") == "4.030")
    wait(browser, lambda d: text_of(d, "fl-total-2") == "4.030" and text_of(d, "fl-total-5") == "7")
    assert "bad" in browser.find_element("id", "tile-box-overdue").get_attribute("class")
    clock = text_of(browser, "wall-clock")
    wait(browser, lambda d: text_of(d, "wall-clock") != clock, 5)  # ticks every second


def test_playlist_rotates_and_the_pin_button_holds_a_scene(served, browser):
    from selenium.webdriver.common.by import By

    browser.get(served.base + "/")
    wait(browser, lambda d: text_of(d, "wall-scene-name"))
    first = text_of(browser, "wall-scene-name")
    wait(browser, lambda d: text_of(d, "wall-scene-name") not in ("", first), ROTATE_S * 3)
    browser.find_element(By.ID, "wall-pin").click()
    wait(browser, lambda d: "pin=1" in d.current_url)
    wait(browser, lambda d: text_of(d, "wall-pin") == "Tự chuyển cảnh")
    pinned = text_of(browser, "wall-scene-name")
    assert pinned and "scene=" in browser.current_url
    # Pinned: it stays for longer than two playlist steps.
    holds_for(browser, ROTATE_S * 2, lambda d: text_of(d, "wall-scene-name") == pinned)
    browser.find_element(By.ID, "wall-pin").click()
    wait(browser, lambda d: "pin=1" not in d.current_url)


def test_english_switch(served, browser):
    from selenium.webdriver.common.by import By

    open_scene(browser, served.base, "?scene=scorecard&lang=en", "sc-rate")
    wait(browser, lambda d: text_of(d, "wall-title") == "Smart Operations Centre")
    assert text_of(browser, "tile-in_processing") == "4,030"
    assert "Decision 766 scorecard" in text_of(browser, "wall-scene-name")
    assert "Overdue" in text_of(browser, "wall-tiles")
    browser.find_element(By.ID, "wall-lang").click()
    wait(browser, lambda d: text_of(d, "wall-title") == "Trung tâm Điều hành, giám sát thông minh")
    wait(browser, lambda d: text_of(d, "tile-in_processing") == "4.030")
    assert "lang=en" not in browser.current_url and "Quá hạn" in text_of(browser, "wall-tiles")


def test_a_bad_scene_is_named_on_the_wall(served, browser):
    browser.get(served.base + "/?scene=bando")
    wait(browser, lambda d: "bando" in text_of(d, "wall-error"))
    assert "scorecard" in text_of(browser, "wall-error")


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_every_scene_fits_the_screen_without_scrollbars(served, artifacts: Path, size):
    from selenium.webdriver.common.by import By

    width, height = size
    driver = chromium(width, height)
    try:
        # The window size includes the browser's own bars: set the page's viewport exactly.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        login_browser(driver, served.base, "manhinh", served.password, next_path="/")
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
        assert inner == [width, height], inner
        for scene in wall.SCENES:
            driver.get(f"{served.base}/?scene={scene}&pin=1")
            wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"#wall-scene .scene-{scene}"))
            wait(driver, lambda d: text_of(d, "tile-in_processing") not in ("", "—"))
            if scene == "map":
                wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#mp-province .main-svg")) > 0
                     and len(d.find_elements(By.CSS_SELECTOR, "#mp-national .main-svg")) > 0)
            if scene == "flow":
                wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#fl-trend .main-svg"))
            sizes = driver.execute_script(
                "const s = document.scrollingElement;"
                "return [s.scrollHeight, window.innerHeight, s.scrollWidth, window.innerWidth];")
            assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], (scene, size, sizes)
            # Nothing inside the scene spills out of its box either.
            box = driver.execute_script(
                "const b = document.getElementById('wall-scene').getBoundingClientRect();"
                "const t = document.getElementById('wall-ticker').getBoundingClientRect();"
                "return [b.bottom, t.bottom, window.innerHeight];")
            assert box[0] <= box[1] <= box[2] + 0.5, (scene, size, box)
            driver.save_screenshot(str(artifacts / f"wall-{scene}-{width}x{height}.png"))
        # Everything came from this server, and the CSP refused nothing.
        sources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(src.startswith(served.base) for src in sources), sources
        violations = [e["message"] for e in driver.get_log("browser")
                      if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]
        assert not violations, violations
    finally:
        driver.quit()


def test_the_wall_recovers_after_a_server_restart(served, browser):
    open_scene(browser, served.base, "?scene=flow&pin=1", "fl-total-2")
    served.stop_http()
    try:
        served.web.state.apply_snapshot(snapshot(5000))
        # While it is down (several ticks fail) the wall keeps the last figures.
        holds_for(browser, 3, lambda d: text_of(d, "tile-in_processing") == "4.030")
    finally:
        served.start_http()
    wait(browser, lambda d: text_of(d, "tile-in_processing") == "5.030", 30)
    wait(browser, lambda d: text_of(d, "fl-total-2") == "5.030", 10)


def test_the_undo_history_of_the_tick_does_not_grow(served, browser):
    # Dash records each browser-side input change (the tick's n_intervals, once a second) for
    # its undo button; assets/wall.js keeps that list short, or a kiosk's heap grows all day.
    open_scene(browser, served.base, "?scene=flow&pin=1", "fl-total-2")
    history = "const h = window.store.getState().history; return [h.past.length, (h.present.props || {}).n_intervals || 0];"
    wait(browser, lambda d: d.execute_script(history)[1] >= 30, 60)
    past, ticks = browser.execute_script(history)
    assert past <= 26, (past, ticks)
