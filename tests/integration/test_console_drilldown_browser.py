"""The console's dossier drill-down on real parts: the unit query on both engines (chDB and
Debian's ClickHouse 18.16), then `ioc up` in headless Chromium: an operator picks a unit and
"Quá hạn" and sees exactly the overdue dossiers it has; the list keeps its place while the
console refreshes and takes a new dossier on "Làm mới"; its callback refuses anonymous callers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from ioc import clock
from ioc.config import KafkaSettings
from ioc.process import free_port
from ioc.topics import Topics
from ioc.warehouse.backends import ChdbWarehouse, NativeWarehouse, ensure_schema
from ioc.warehouse.queries import unit_events
from ioc.warehouse.schema import DOSSIER_EVENTS
from ioc.warehouse.sink import dossier_rows
from ioc.wire import encode_batch
from tests.helpers import LOCAL, poll, produce
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, start_ioc_up, stop_and_check_nothing_left
from tests.integration.web_login import chromium, create_user, login_browser, login_session

pytestmark = pytest.mark.integration


def event(code: str, eid: str, status: int, at: datetime, unit: str, **extra) -> dict:
    return {"event_id": eid, "dossier_code": code, "unit_code": unit, "procedure_code": "1.001612",
            "status": status, "occurred_at": at.isoformat(), **extra}


# -- the query, on both engines --------------------------------------------------------------

@pytest.fixture(params=["chdb", "native"])
def warehouse(request, unique, tmp_path):
    if request.param == "chdb":
        wh = ChdbWarehouse(tmp_path / "chdb", database=unique)
    else:
        url = request.getfixturevalue("clickhouse_url")
        wh = NativeWarehouse(url.rsplit("/", 1)[0] + f"/{unique}")
    ensure_schema(wh)
    yield wh
    wh.execute(f"DROP DATABASE IF EXISTS {unique}")
    wh.close()


def test_unit_events_reads_the_units_open_and_recent_dossiers_whole(warehouse):
    since = datetime(2026, 10, 1, tzinfo=LOCAL)
    old = since - timedelta(days=60)
    events = [
        event("OPEN-OLD", "e1", 2, old, "U1"),  # open, nothing since: still read
        event("OPEN-OLD", "e2", 4, old + timedelta(days=1), "U1"),
        event("DONE-OLD", "e3", 2, old, "U1"),  # ended before the period: not read
        event("DONE-OLD", "e4", 9, since - timedelta(days=3), "U1"),
        event("DONE-NEW", "e5", 2, old, "U1"),  # ended in the period: read
        event("DONE-NEW", "e6", 9, since + timedelta(hours=2), "U1"),
        event("MOVED", "e7", 2, since + timedelta(days=1), "U1"),  # one event filed under another unit:
        event("MOVED", "e8", 9, since + timedelta(days=2), "U2"),  # the dossier is read whole
        event("OTHER", "e9", 2, since + timedelta(days=1), "U2"),  # another unit's: not read
    ]
    rows = dossier_rows(encode_batch(events), clock.now())
    warehouse.insert(DOSSIER_EVENTS, rows)
    warehouse.insert(DOSSIER_EVENTS, rows[:4])  # a batch stored twice: read once
    got = unit_events(warehouse, "U1", since)
    assert sorted(e.event_id for e in got) == ["e1", "e2", "e5", "e6", "e7", "e8"]
    assert {e.dossier_code for e in got} == {"OPEN-OLD", "DONE-NEW", "MOVED"}
    # Later: DONE-NEW ended before; MOVED's end was filed under U2, so U1's events alone look
    # open and it is read (the fold then judges it as the stream does).
    later = unit_events(warehouse, "U1", since + timedelta(days=3))
    assert {e.dossier_code for e in later} == {"OPEN-OLD", "MOVED"}
    assert unit_events(warehouse, "NOPE", since) == []


# -- the console in a browser ----------------------------------------------------------------

UNIT, OTHER_UNIT = "H44.07", "H44.08"


def scenario(now: datetime) -> tuple[list[dict], set[str]]:
    """The units' dossiers, and the codes of UNIT's overdue ones."""
    d = lambda n: f"{UNIT}-{now:%y%m%d}-{n:04d}"  # noqa: E731
    due = {"due_at": (now - timedelta(days=2)).isoformat()}
    events = [
        event(d(1), "od1-2", 2, now - timedelta(days=10), UNIT, **due),  # overdue, in processing
        event(d(1), "od1-4", 4, now - timedelta(days=9), UNIT),
        event(d(2), "od2-2", 2, now - timedelta(days=45), UNIT, due_at=(now - timedelta(days=30)).isoformat()),
        event(d(3), "od3-2", 2, now - timedelta(days=6), UNIT, due_at=(now - timedelta(hours=1)).isoformat()),
        event(d(4), "ok-2", 2, now - timedelta(days=1), UNIT, due_at=(now + timedelta(days=10)).isoformat()),
        event(d(5), "fin-2", 2, now - timedelta(days=10), UNIT, **due),  # finished (late): no longer open
        event(d(5), "fin-9", 9, now - timedelta(hours=2), UNIT),
        # past its date, but the applicant owes a supplement since before it: the clock stopped in time
        event(d(6), "sup-2", 2, now - timedelta(days=10), UNIT, due_at=(now - timedelta(days=3)).isoformat()),
        event(d(6), "sup-5", 5, now - timedelta(days=9), UNIT),
        event(f"{OTHER_UNIT}-{now:%y%m%d}-0001", "b-2", 2, now - timedelta(days=10), OTHER_UNIT, **due),
    ]
    return events, {d(1), d(2), d(3)}


def test_operator_lists_the_overdue_dossiers_of_a_unit_in_the_browser(kafka_bootstrap, unique, tmp_path, artifacts):
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    data = tmp_path / "data"
    op_password = create_user(data, "dieuhanh", ["operator"])
    leader_password = create_user(data, "lanhdao", ["leader"])
    env = {"IOC_KAFKA__TOPIC_PREFIX": unique, "IOC_WORKER__APP_ID": unique, "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN,
           "IOC_CAMERA__ENABLED": "false", "IOC_CLICKHOUSE__BATCH_SECONDS": "0.5"}
    proc = start_ioc_up(["--kafka", kafka_bootstrap, "--port", str(port), "--data-dir", str(data), "--no-simulator"],
                        env, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    topics = Topics.from_settings(KafkaSettings(topic_prefix=unique))
    now = clock.now().astimezone(LOCAL)
    events, overdue = scenario(now)
    driver = None

    def live_overdue() -> int:
        units = requests.get(f"{base}/api/v1/live", headers=AUTH, timeout=2).json()["units"]
        return units.get(UNIT, {}).get("overdue", -1)

    def stored() -> int:
        return requests.get(f"{base}/api/v1/warehouse/counts", headers=AUTH, timeout=2).json()["dossier_events"]

    try:
        poll(lambda: requests.get(f"{base}/healthz", timeout=2).status_code, lambda s: s == 200, 90,
             f"/healthz (log: {tmp_path / 'up.log'})")
        produce(kafka_bootstrap, topics.dossier_events, events)
        poll(stored, lambda n: n == len(events), 60, "the events in the warehouse")
        poll(live_overdue, lambda n: n == len(overdue), 60, "the live overdue figure")

        # The drill-down's callback, like every console callback, refuses anonymous callers and leaders.
        operator = login_session(base, "dieuhanh", op_password)
        deps = operator.get(f"{base}/console/_dash-dependencies", timeout=5).json()
        (spec,) = [d for d in deps if "console-dd-table.data" in d["output"]]
        body = {"output": spec["output"], "outputs": [], "inputs": [], "changedPropIds": [], "state": []}
        assert requests.post(f"{base}/console/_dash-update-component", json=body, timeout=5,
                             headers={"Origin": base}).status_code == 401
        leader = login_session(base, "lanhdao", leader_password)
        assert leader.post(f"{base}/console/_dash-update-component", json=body, timeout=5).status_code == 403

        driver = chromium(1600, 1200)
        login_browser(driver, base, "dieuhanh", op_password, next_path="/console")
        patient = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))

        def until(condition):
            """Wait for ``condition``; on a timeout, say what the panel showed (and keep a picture)."""
            try:
                return patient.until(condition)
            except TimeoutException:
                driver.save_screenshot(str(artifacts / "console-drilldown-failed.png"))
                panel = driver.find_elements(By.ID, "console-drilldown")
                shown = panel[0].get_attribute("innerText") if panel else "(no panel)"
                raise AssertionError(f"drill-down panel: {shown}") from None

        def listed() -> set[str]:
            cells = driver.find_elements(By.CSS_SELECTOR, "#console-dd-table td[data-dash-column='dossier']")
            return {c.text for c in cells}

        def click(css: str) -> None:  # options re-render every 2 s: a found element may be replaced
            until(lambda d: d.find_element(By.CSS_SELECTOR, css).click() or True)

        def kpi_label(kpi: str) -> str:
            return driver.find_element(By.CSS_SELECTOR, f"#console-dd-kpi input[value='{kpi}']").find_element(
                By.XPATH, "./ancestor::label[1]").text

        # Pick the unit (a searchable dropdown, as an operator types it) and "Quá hạn".
        click("#console-dd-unit")
        until(lambda d: d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-search"))
        driver.find_element(By.CSS_SELECTOR, ".dash-dropdown-search").send_keys(UNIT)

        def click_unit_option() -> bool:  # the options are refreshed every 2 s: find, then click
            for option in driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option"):
                if option.text.startswith(UNIT):
                    option.click()
                    return True
            return False

        until(lambda d: click_unit_option())
        until(lambda d: kpi_label("overdue") == f"Quá hạn ({len(overdue)})")  # the unit's live figure
        click("#console-dd-kpi input[value='overdue']")
        until(lambda d: listed() == overdue)
        count = until(lambda d: d.find_element(By.ID, "console-dd-count").text)
        assert f"{len(overdue)} hồ sơ quá hạn của đơn vị {UNIT}" in count and f"trực tiếp: {len(overdue)}" in count
        table = until(lambda d: d.find_element(By.ID, "console-drilldown").text)
        assert "Số ngày quá hạn" in table and "Đăng ký thành lập hộ kinh doanh" in table  # Vietnamese labels
        assert "Đang giải quyết, quá hạn" in table
        driver.save_screenshot(str(artifacts / "console-drilldown-overdue.png"))

        # A new overdue dossier: the 2 s refresh shows the live figure without losing the
        # operator's place (unit, KPI, rows); "Làm mới" reads the warehouse again.
        late = event(f"{UNIT}-{now:%y%m%d}-0007", "od7-2", 2, now - timedelta(days=8), UNIT,
                     due_at=(now - timedelta(days=1)).isoformat())
        produce(kafka_bootstrap, topics.dossier_events, [late])
        poll(stored, lambda n: n == len(events) + 1, 60, "the new event in the warehouse")
        until(lambda d: kpi_label("overdue") == f"Quá hạn ({len(overdue) + 1})")
        until(lambda d: d.find_element(By.CSS_SELECTOR, "#console-dd-kpi input[value='overdue']").is_selected())
        assert UNIT in until(lambda d: d.find_element(By.ID, "console-dd-unit").text)
        until(lambda d: listed() >= overdue)  # the rows stay (until "Làm mới" or the slow refresh)
        click("#console-dd-refresh")
        until(lambda d: listed() == overdue | {late["dossier_code"]})

        # Another figure of the same unit.
        click("#console-dd-kpi input[value='late']")
        if (now - timedelta(hours=2)).month == now.month:  # finished this month
            until(lambda d: listed() == {f"{UNIT}-{now:%y%m%d}-0005"})
        driver.save_screenshot(str(artifacts / "console-drilldown-late.png"))
    finally:
        if driver is not None:
            driver.quit()
        stop_and_check_nothing_left(proc)
