"""The operator console in headless Chromium on a running `ioc up`: an alert raised by a
source (a Signal on the alerts topic) reaches the queue through the alerts agent; an operator
acknowledges it (which survives a reload) and resolves it; every console callback, enumerated
from the app, refuses an anonymous caller and a leader."""

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
from tests.integration.web_login import chromium, create_user, login_browser, login_session

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_operator_acknowledges_and_resolves_an_alert_in_the_browser(kafka_bootstrap, unique, tmp_path, artifacts):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    data = tmp_path / "data"
    op_password = create_user(data, "dieuhanh", ["operator"])
    leader_password = create_user(data, "lanhdao", ["leader"])
    env = {"IOC_KAFKA__TOPIC_PREFIX": unique, "IOC_WORKER__APP_ID": unique, "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN,
           "IOC_CAMERA__ENABLED": "false"}
    proc = start_ioc_up(["--kafka", kafka_bootstrap, "--port", str(port), "--data-dir", str(data), "--no-simulator"],
                        env, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    topics = Topics.from_settings(KafkaSettings(topic_prefix=unique))
    driver = None
    try:
        poll(lambda: requests.get(f"{base}/healthz", timeout=2).status_code, lambda s: s == 200, 90,
             f"/healthz (log: {tmp_path / 'up.log'})")
        signal = Signal(op="raise", source="service", system="payment", kind=AlertKind.SLO_BURN, severity="critical",
                        at=clock.now(), summary="Cổng thanh toán trực tuyến: lỗi tăng cao")
        produce_raw(kafka_bootstrap, topics.alerts, [json.dumps(signal.to_json()).encode()])
        (alert,) = poll(lambda: requests.get(f"{base}/api/v1/alerts?state=firing", headers=AUTH, timeout=2).json(),
                        lambda a: len(a) == 1, 60, "the alert in the web's book")

        # Every console callback refuses anonymous callers and leaders.
        operator = login_session(base, "dieuhanh", op_password)
        deps = operator.get(f"{base}/console/_dash-dependencies", timeout=5).json()
        assert len(deps) >= 4
        leader = login_session(base, "lanhdao", leader_password)
        for spec in deps:
            body = {"output": spec["output"], "outputs": [], "inputs": [], "changedPropIds": [], "state": []}
            anonymous = requests.post(f"{base}/console/_dash-update-component", json=body, timeout=5,
                                      headers={"Origin": base})
            assert anonymous.status_code == 401, spec["output"]
            assert leader.post(f"{base}/console/_dash-update-component", json=body, timeout=5).status_code == 403
        assert requests.get(f"{base}/console/_dash-dependencies", timeout=5).status_code == 401

        driver = chromium(1600, 1000)
        login_browser(driver, base, "dieuhanh", op_password, next_path="/console")
        # The detail is re-rendered every 2 s: an element found just before may be replaced.
        wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))

        def select_first_row() -> None:
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#console-table td.dash-select-cell input"))
            driver.find_element(By.CSS_SELECTOR, "#console-table td.dash-select-cell input").click()

        def detail_state() -> str:
            found = driver.find_elements(By.ID, "console-detail-state")
            return found[0].get_attribute("data-state") if found else ""

        select_first_row()
        wait.until(lambda d: detail_state() == "firing")
        assert "Cổng thanh toán" in driver.find_element(By.ID, "console-table").text
        assert "Đang cảnh báo" in driver.find_element(By.ID, "console-table").text  # Vietnamese by default
        driver.save_screenshot(str(artifacts / "console-firing.png"))
        driver.find_element(By.ID, "console-act-acknowledge").click()
        wait.until(lambda d: detail_state() == "acknowledged")
        assert "Đã ghi nhận" in driver.find_element(By.ID, "console-message").text

        driver.refresh()  # the state lives on the server: it survives the reload
        select_first_row()
        wait.until(lambda d: detail_state() == "acknowledged")
        assert "dieuhanh: acknowledge" in driver.find_element(By.ID, "console-detail").text
        driver.save_screenshot(str(artifacts / "console-acknowledged.png"))

        driver.find_element(By.ID, "console-comment").send_keys("Nhà cung cấp đã khắc phục")
        driver.find_element(By.ID, "console-act-resolve").click()
        wait.until(lambda d: detail_state() == "resolved")
        driver.refresh()
        wait.until(lambda d: "không có cảnh báo" in d.find_element(By.ID, "console-count").text.lower())
        (resolved,) = requests.get(f"{base}/api/v1/alerts?state=resolved", headers=AUTH, timeout=2).json()
        assert resolved["id"] == alert["id"]

        driver.get(f"{base}/console/?lang=en")  # the English switch
        wait.until(lambda d: "Alert queue" in d.find_element(By.TAG_NAME, "body").text)
        driver.save_screenshot(str(artifacts / "console-en.png"))
    finally:
        if driver is not None:
            driver.quit()
        stop_and_check_nothing_left(proc)
