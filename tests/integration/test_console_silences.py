"""The console in headless Chromium on a running `ioc up` (issue #16):

* the alert table is set in the page's font, not Dash's monospace, so Vietnamese reads as prose
  ("Hồ sơ", "Sự cố camera"): the computed font of its cells is the console's, and a screenshot
  is kept (tests/artifacts/console-font.png);
* an alert of a grouped rule shows the units it lists;
* an operator silences the selected alert from the console (who, why, until): the silence is
  listed, the API shows it with its author, the alert is marked; then ends it.
"""

from __future__ import annotations

import json

import pytest
import requests

from ioc import clock
from ioc.alerts.model import AlertKind, Signal
from ioc.config import KafkaSettings
from ioc.process import free_port
from ioc.topics import Topics
from tests.helpers import poll, produce_raw
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, start_ioc_up, stop_and_check_nothing_left
from tests.integration.web_login import chromium, create_user, login_browser

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FONT_OF = "return window.getComputedStyle(arguments[0]).fontFamily;"


def test_console_table_uses_the_page_font_and_an_operator_silences_an_alert(kafka_bootstrap, unique, tmp_path,
                                                                            artifacts):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    data = tmp_path / "data"
    password = create_user(data, "dieuhanh", ["operator"])
    env = {"IOC_KAFKA__TOPIC_PREFIX": unique, "IOC_WORKER__APP_ID": unique, "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN,
           "IOC_CAMERA__ENABLED": "false"}
    proc = start_ioc_up(["--kafka", kafka_bootstrap, "--port", str(port), "--data-dir", str(data), "--no-simulator"],
                        env, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    topics = Topics.from_settings(KafkaSettings(topic_prefix=unique))
    driver = None
    try:
        poll(lambda: requests.get(f"{base}/healthz", timeout=2).status_code, lambda s: s == 200, 120,
             f"/healthz (log: {tmp_path / 'up.log'})")
        now = clock.now()
        signals = [
            Signal(op="raise", source="dossier", system="motcua", kind=AlertKind.DOSSIER_OVERDUE, at=now,
                   severity="critical", units=("H44.07", "H44.112"),
                   summary="27 hồ sơ quá hạn tại 2 đơn vị: Sở Xây dựng (22/80); UBND xã Lương Sơn (5/12)"),
            Signal(op="raise", source="camera", system="quay-1", kind=AlertKind.CAMERA_HEALTH, unit="H44.06.01",
                   at=now, summary="Camera Quầy 1: hình ảnh bị đứng (đóng băng)", labels={"condition": "frozen"}),
        ]
        produce_raw(kafka_bootstrap, topics.alerts, [json.dumps(s.to_json()).encode() for s in signals])
        poll(lambda: requests.get(f"{base}/api/v1/alerts?state=firing", headers=AUTH, timeout=2).json(),
             lambda a: len(a) == 2, 60, "both alerts in the web's book")

        driver = chromium(1600, 1000)
        login_browser(driver, base, "dieuhanh", password, next_path="/console")
        wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))
        wait.until(lambda d: "Sự cố camera" in d.find_element(By.ID, "console-table").text)
        table = driver.find_element(By.ID, "console-table").text
        assert "Hồ sơ quá hạn" in table and "H44.07, H44.112" in table  # a grouped rule lists its units

        page_font = driver.execute_script(FONT_OF, driver.find_element(By.CSS_SELECTOR, ".console"))
        cell = driver.find_element(By.CSS_SELECTOR, "#console-table td.dash-cell")
        header = driver.find_element(By.CSS_SELECTOR, "#console-table th.dash-header")
        fonts = {name: driver.execute_script(FONT_OF, el) for name, el in (
            ("cell", cell), ("header", header), ("table", driver.find_element(By.CSS_SELECTOR, "#console-table table")),
            ("cell text", cell.find_element(By.CSS_SELECTOR, "div")))}
        assert "monospace" not in page_font
        for name, font in fonts.items():
            assert "monospace" not in font, f"{name}: {font}"
            assert font.split(",")[0].strip('"') == page_font.split(",")[0].strip('"'), (name, font, page_font)
        driver.save_screenshot(str(artifacts / "console-font.png"))

        # Silence the camera alert from the console: its conditions taken from the selected row.
        rows = driver.find_elements(By.CSS_SELECTOR, "#console-table tbody tr")
        camera_row = next(i for i, r in enumerate(r for r in rows if r.find_elements(By.CSS_SELECTOR, "td.dash-cell"))
                          if "Sự cố camera" in r.text)
        driver.find_elements(By.CSS_SELECTOR, "#console-table td.dash-select-cell input")[camera_row].click()
        wait.until(lambda d: "Camera Quầy 1" in d.find_element(By.ID, "console-detail").text)
        driver.find_element(By.ID, "silence-from-alert").click()
        wait.until(lambda d: d.find_element(By.ID, "silence-unit").get_attribute("value") == "H44.06.01")
        driver.find_element(By.ID, "silence-comment").send_keys("Đang thay camera quầy 1")
        driver.find_element(By.ID, "silence-create").click()
        wait.until(lambda d: "Đã tạo silence" in d.find_element(By.ID, "silence-message").text)
        (made,) = requests.get(f"{base}/api/v1/silences", headers=AUTH, timeout=5).json()
        assert made["created_by"] == "dieuhanh" and made["comment"] == "Đang thay camera quầy 1"
        assert made["matchers"] == {"source": ["camera"], "system": ["quay-1"], "unit": ["H44.06.01"],
                                    "rule": ["camera_health"]}
        wait.until(lambda d: "tắt thông báo" in d.find_element(By.ID, "console-table").text)
        wait.until(lambda d: "Đang thay camera quầy 1" in d.find_element(By.ID, "silence-table").text)
        driver.save_screenshot(str(artifacts / "console-silence.png"))

        driver.find_element(By.CSS_SELECTOR, "#silence-table td.dash-select-cell input").click()
        driver.find_element(By.ID, "silence-expire").click()
        wait.until(lambda d: "Đã kết thúc silence" in d.find_element(By.ID, "silence-message").text)
        assert requests.get(f"{base}/api/v1/silences", headers=AUTH, timeout=5).json() == []
        (ended,) = requests.get(f"{base}/api/v1/silences?state=expired", headers=AUTH, timeout=5).json()
        assert ended["expired_by"] == "dieuhanh"
        wait.until(lambda d: "tắt thông báo" not in d.find_element(By.ID, "console-table").text)
    finally:
        if driver is not None:
            driver.quit()
        stop_and_check_nothing_left(proc)
