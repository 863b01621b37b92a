"""The leaders' wall in headless Chromium against the real web process (waitress on a free port,
sign-in through the form): live numbers change on screen, the playlist rotates, the English
switch and the pin button work, every scene fits 1920x1080 and 3840x2160 with no scrollbar
(screenshots of each), the scorecard shows every indicator's full name (also for the quarter,
replayed from the warehouse), and the page recovers by itself after the server restarts.

"Now" is pinned for the module (ioc.clock, IOC_NOW): the quarter's events are dated in it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from dashboards.server import WebProcess
from dashboards.wall import app as wall
from ioc import clock
from ioc.config import Settings
from ioc.process import free_port, wait_until
from ioc.warehouse.backends import ChdbWarehouse, ensure_schema
from tests.helpers import env_clock
from tests.integration.web_login import chromium, create_user, login_browser

pytestmark = pytest.mark.integration

ROTATE_S = 5  # the shortest playlist step the settings allow
NOW = "2026-12-08T09:30:00+07:00"  # a Tuesday; the quarter 2026-Q4 so far
PAKN = {"pakn:counted": 13, "pakn:on_time": 10, "pakn:late": 3, "pakn:satisfied": 9, "pakn:categorised": 12,
        "pakn:about_rules": 6, "pakn:category:regulation": 2, "pakn:category:procedure": 4,
        "pakn:category:conduct": 5, "pakn:category:other": 1, "pakn:category:unknown": 1, "pakn:open": 6,
        "pakn:near_limit": 2, "pakn:overdue": 3, "pakn:received": 11}
PAKN_COMMUNE = {"pakn:counted": 3, "pakn:on_time": 3, "pakn:satisfied": 3, "pakn:categorised": 3,
                "pakn:about_rules": 1, "pakn:category:procedure": 1, "pakn:category:other": 2, "pakn:open": 2,
                "pakn:overdue": 1, "pakn:received": 3}  # of Tân Hòa's UBND: placed on the map


@pytest.fixture(scope="module", autouse=True)
def pinned_clock() -> Iterator[None]:
    with env_clock(NOW):
        yield


def quarter_events() -> list[dict[str, Any]]:
    """Dossiers of the quarter in the warehouse: two finished (one late), one open and overdue."""
    base = {"unit_code": "H44.07", "procedure_code": "1.001612"}
    return [
        {**base, "event_id": "q1", "dossier_code": "Q-A", "status": 2, "occurred_at": "2026-10-05T09:00:00+07:00",
         "due_at": "2026-10-09T17:00:00+07:00", "channel": 2},
        {**base, "event_id": "q2", "dossier_code": "Q-A", "status": 9, "occurred_at": "2026-10-07T10:00:00+07:00"},
        {**base, "event_id": "q3", "dossier_code": "Q-B", "status": 2, "occurred_at": "2026-11-02T09:00:00+07:00",
         "due_at": "2026-11-04T17:00:00+07:00", "channel": 1},
        {**base, "event_id": "q4", "dossier_code": "Q-B", "status": 9, "occurred_at": "2026-11-06T10:00:00+07:00"},
        {**base, "unit_code": "H44.101", "event_id": "q5", "dossier_code": "Q-C", "status": 2,
         "occurred_at": "2026-12-01T09:00:00+07:00", "due_at": "2026-12-03T17:00:00+07:00", "channel": 2},
    ]


def snapshot(in_processing: int, overdue: int = 3) -> dict[str, Any]:
    return {"computed_at": clock.now().isoformat(), "partition": 0, "units": {
        "H44.07": {"received_today": 12, "in_processing": in_processing, "counted": 100, "good": 90,
                   "at_risk": 5, "due_today": 2, "overdue": overdue, "in_progress_on_time": 20,
                   "in_progress_overdue": overdue, "counted_overdue": overdue, **PAKN},
        "H44.101": {"received_today": 3, "in_processing": 30, "counted": 50, "good": 49, "at_risk": 2,
                    "in_progress_on_time": 5, **PAKN_COMMUNE}}}


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
        from waitress.channel import HTTPChannel

        # Closing the listening socket alone leaves the browser's keep-alive connections served
        # (waitress's loop runs until no channel is left; join(10) then timed out and the "down"
        # server went on answering): close them too, as a restart would.
        for channel in list(self.httpd._map.values()):  # waitress has no public way
            if isinstance(channel, HTTPChannel):
                channel.will_close = True
        self.httpd.pull_trigger()
        self.httpd.close()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the wall's HTTP server did not stop"

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
    from ioc.warehouse.schema import DOSSIER_EVENTS
    from ioc.warehouse.sink import dossier_rows
    from ioc.wire import encode_batch

    warehouse.insert(DOSSIER_EVENTS, dossier_rows(encode_batch(quarter_events()), clock.now()))
    web = WebProcess(settings, "127.0.0.1:1", warehouse, with_sink=False)  # the state is fed directly
    web.state.apply_snapshot(snapshot(3456))
    # The national portal's published table (ioc import --national-scores): Phú Thọ 12th of 34.
    import json as _json
    for i in range(33):
        web.state.national.apply(f"score|Tỉnh số {i}|2026-10".encode(),
                                 _json.dumps({"score": 95.0 - i * 0.5 if i < 11 else 80.0 - i * 0.1}).encode())
    web.state.national.apply("score|Phú Thọ|2026-10".encode(), b'{"score": 88.5}')
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
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(5):  # the element may be replaced between finding and reading it (a new scene)
        try:
            found = driver.find_elements(By.ID, element_id)
            return found[0].text if found else ""
        except StaleElementReferenceException:
            continue
    return ""


def assert_whole_index(driver: Any, where: str) -> None:
    """The scorecard shows the 5 groups and all 23 indicators with their names whole and in view
    (wrapped, never cut: no ellipsis, not clipped by the panel), "n/100" and the national rank."""
    from dashboards.wall.scenes.scorecard import indicator_rules
    from ioc.kpi.scoring import registry_for

    rules = [r for group in indicator_rules(registry_for(clock.now())).values() for r in group]
    assert len(rules) == 23
    for g in "12345":
        assert text_of(driver, f"sc-grp-{g}-name").startswith(f"{g}. "), (where, g)
    for rule in rules:
        cid = f"sc-ind-{rule.id.replace('.', '_')}-name"
        assert " ".join(text_of(driver, cid).split()) == rule.name_vi, (where, rule.id, text_of(driver, cid))
        fits = driver.execute_script(
            "const e = document.getElementById(arguments[0]); const r = e.getBoundingClientRect();"
            "const p = e.closest('.panel').getBoundingClientRect();"
            "return [e.scrollWidth <= e.clientWidth, r.top >= p.top, r.bottom <= p.bottom + 0.5,"
            "        r.right <= p.right + 0.5, getComputedStyle(e).textOverflow];", cid)
        assert fits[:4] == [True, True, True, True], (where, rule.id, fits)
    assert "/100 điểm" in text_of(driver, "sc-computed"), where
    assert text_of(driver, "sc-national") == "Cổng DVCQG công bố: 88,5 — hạng 12/34 (2026-10)", where


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
    assert "scene=" in browser.current_url
    # The pin holds the scene its link named, which the playlist may have left by the click:
    # read the name once the page shows the URL's scene (its dot active).
    scene = browser.current_url.split("scene=")[1].split("&")[0]
    wait(browser, lambda d: "active" in (d.find_element(By.ID, f"wall-dot-{scene}").get_attribute("class") or ""))
    pinned = text_of(browser, "wall-scene-name")
    assert pinned
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
    driver = chromium(width, height, exact=True)
    try:
        login_browser(driver, served.base, "manhinh", served.password, next_path="/")
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
        assert inner == [width, height], inner
        for scene in wall.SCENES:
            driver.get(f"{served.base}/?scene={scene}&pin=1")
            wait(driver, lambda d, scene=scene: d.find_elements(By.CSS_SELECTOR, f"#wall-scene .scene-{scene}"))
            wait(driver, lambda d: text_of(d, "tile-in_processing") not in ("", "—"))
            if scene == "map":
                wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#mp-province .main-svg")) > 0
                     and len(d.find_elements(By.CSS_SELECTOR, "#mp-national .main-svg")) > 0)
            if scene == "flow":
                wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#fl-trend .main-svg"))
            if scene == "pakn":
                wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#pk-map .main-svg"))
                assert text_of(driver, "pk-overdue") == "4" and text_of(driver, "pk-cat-conduct-1") == "5"
                assert text_of(driver, "pk-placed") == "(1/148 có PAKN)"
                assert text_of(driver, "pk-un-0-0") == "Sở Xây dựng tỉnh Phú Thọ"
                assert text_of(driver, "pk-un-0-3") == "3"
            if scene == "scorecard":
                assert_whole_index(driver, f"{scene} {size}")
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
        # The quarter so far, replayed from the warehouse's events in the background.
        driver.get(f"{served.base}/?scene=scorecard&pin=1&period=quarter")
        wait(driver, lambda d: text_of(d, "sc-period").startswith("Quý 4/2026 đến nay"), 60)
        # Q-A early; Q-B finished late; Q-C open past its date: 1 of 3 on time.
        assert text_of(driver, "sc-ind-2_1-note") == "1 / 3" and text_of(driver, "sc-ind-2_1-ratio") == "33,33 %"
        assert text_of(driver, "sc-rate") == "33,33 %"
        assert_whole_index(driver, f"quarter {size}")
        driver.save_screenshot(str(artifacts / f"wall-scorecard-quarter-{width}x{height}.png"))
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
    # Generous: the tick waits for each answer, and on a loaded box (CI runs two files at once)
    # thirty answers can take more than a minute; the assertion is about the history, not speed.
    wait(browser, lambda d: d.execute_script(history)[1] >= 30, 180)
    past, ticks = browser.execute_script(history)
    assert past <= 26, (past, ticks)


def test_a_server_slower_than_the_tick_still_updates_the_wall(served, browser, monkeypatch):
    # Found by scripts/soak on a loaded machine: when an answer takes longer than the 1 s tick,
    # Dash cancels it as the next tick fires (set_props still land: the clock ran on while the
    # tiles and the scene froze, and unanswered requests piled up). The tick now waits for the
    # answer (the interval is disabled while the callback runs).
    open_scene(browser, served.base, "?scene=flow&pin=1", "fl-total-2")
    engine = served.web.wall_engine
    fast = engine.update

    def slow(*args: Any) -> Any:
        time.sleep(1.6)
        return fast(*args)

    monkeypatch.setattr(engine, "update", slow)
    served.web.state.apply_snapshot(snapshot(6000))
    wait(browser, lambda d: text_of(d, "tile-in_processing") == "6.030", 20)
    browser.get(f"{served.base}/?scene=scorecard&pin=1")  # a whole scene, slowly
    wait(browser, lambda d: d.find_elements("css selector", "#wall-scene .scene-scorecard"), 20)
