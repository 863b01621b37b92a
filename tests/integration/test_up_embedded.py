"""`ioc up` with nothing configured: embedded broker, chDB, simulator; the wall's numbers
move in a real browser within 60 s, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import time

import pytest
import requests

from ioc.process import free_port
from tests.helpers import poll
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, start_ioc_up, stop_and_check_nothing_left
from tests.integration.web_login import chromium, create_user, login_browser

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_embedded_stack_brings_up_a_moving_wall(tmp_path, artifacts):
    port, kafka_port = free_port(), free_port()
    started = time.monotonic()
    password = create_user(tmp_path / "data", "lanhdao", ["leader"])
    proc = start_ioc_up(["--port", str(port), "--data-dir", str(tmp_path / "data")],
                        {"IOC_KAFKA__EMBEDDED_PORT": str(kafka_port), "IOC_SIMULATOR__RATE": "5",
                         "IOC_SIMULATOR__BACKFILL_DAYS": "2", "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN},
                        tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    try:
        first = poll(lambda: requests.get(f"{base}/api/v1/live", headers=AUTH, timeout=2).json(),
                     lambda s: s["updated_at"] and s["province"]["in_processing"] > 0, 60,
                     f"first live figures (log {tmp_path / 'up.log'})")
        # Moving: different figures, and every partition's partial newer than before (the age
        # shown is the oldest partial's, so one partition moving alone is not enough).
        poll(lambda: requests.get(f"{base}/api/v1/live", headers=AUTH, timeout=2).json(),
             lambda s: s["province"] != first["province"] and s["updated_at"] > first["updated_at"], 30,
             "figures moving")
        assert time.monotonic() - started < 60 + 30

        from selenium.webdriver.common.by import By

        browser = chromium()
        try:
            login_browser(browser, base, "lanhdao", password)
            # Dash renders the layout after its scripts load: poll for the element, not once.
            shown = poll(lambda: browser.find_element(By.ID, "tile-in_processing").text,
                         lambda t: t.replace(".", "").isdigit(), 30, "wall tile in browser")
            assert int(shown.replace(".", "")) > 0
            assert "Tiếp nhận hôm nay" in browser.find_element(By.ID, "wall-tiles").text
            browser.save_screenshot(str(artifacts / "wall-1920x1080.png"))
        finally:
            browser.quit()
    finally:
        took = stop_and_check_nothing_left(proc)
    assert took < 10, f"stopping took {took:.1f} s"
