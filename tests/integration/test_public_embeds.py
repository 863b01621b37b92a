"""The public embeds in the whole web process, served by waitress on a free port, over real
HTTP and in headless Chromium: widgets answer anonymously from the live state (this month) and
the warehouse (a past month, chDB); no response carries personal data, a dossier code or an
event id; the public pages cannot reach any internal Dash callback (enumerated from every Dash
app of the process: anonymous -> 401/403); a widget loads in an iframe of an allowed site and
is refused by the browser for another site; the index shows every widget with a preview."""

from __future__ import annotations

import functools
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import dash
import pytest
import requests

from dashboards.public.figures import figure, tally_for
from dashboards.public.params import current_month
from dashboards.public.ratelimit import RateLimiter
from dashboards.server import WebProcess
from ioc import clock
from ioc.config import Settings
from ioc.kpi.periods import LOCAL_TZ
from ioc.process import free_port, wait_until
from ioc.warehouse.backends import ChdbWarehouse, ensure_schema
from ioc.warehouse.schema import KPI_SNAPSHOTS
from ioc.warehouse.sink import snapshot_rows
from tests.integration.web_login import chromium
from tests.unit.test_public_data import PublicData, public_data

pytestmark = pytest.mark.integration


@dataclass
class Served:
    base: str
    web: WebProcess
    live: PublicData
    past: PublicData
    past_month: str
    host_allowed: str   # a site listed in public.frame_ancestors
    host_other: str     # a site that is not


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _host_server(root: Path) -> tuple[ThreadingHTTPServer, str]:
    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, name=f"host-{port}", daemon=True).start()
    return httpd, f"http://127.0.0.1:{port}"


def _host_page(root: Path, widget_url: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng thông tin</title></head><body>'
        '<h1>Cổng thông tin điện tử (trang nhúng thử)</h1>'
        f'<iframe id="embed" src="{widget_url}" width="320" height="180" style="border:1px solid #ccc"></iframe>'
        "<script>document.getElementById('embed').addEventListener('load', function () {"
        "document.body.setAttribute('data-loaded', '1'); });</script></body></html>", encoding="utf-8")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    data = tmp_path_factory.mktemp("public")
    now = clock.now()  # the web process below judges "this month" by this clock
    month_start = datetime.fromisoformat(current_month(now) + "-01T00:00:00").replace(tzinfo=LOCAL_TZ)
    past_end = month_start - timedelta(hours=1)  # 23:00 on the last day of the previous month
    live = public_data(now, days=8, per_day=60, seed=3)
    past = public_data(past_end, days=20, per_day=60, seed=5)
    earlier = public_data(past_end - timedelta(days=5), days=10, per_day=30, seed=9)

    hosts = [_host_server(data / name) for name in ("allowed", "other")]
    port = free_port()
    settings = Settings.model_validate({
        "data_dir": str(data), "web": {"port": port},
        "public": {"frame_ancestors": [hosts[0][1]], "burst": 10_000, "rate_per_minute": 100_000},
    })
    warehouse = ChdbWarehouse(data / "chdb", database="public")
    ensure_schema(warehouse)
    # Two snapshots of the past month: the month's figures are the later one's.
    for snap in (earlier.snapshot(), past.snapshot()):
        warehouse.insert(KPI_SNAPSHOTS, snapshot_rows(json.dumps(snap).encode()))
    web = WebProcess(settings, "127.0.0.1:1", warehouse, with_sink=False)  # no Kafka: the state is seeded
    web.state.apply_snapshot(live.snapshot())
    httpd = create_server(web.build(), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=httpd.run, name="waitress-public", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/public/static/widget.css", timeout=1).status_code == 200, 20,
                   f"web process on :{port}")
        yield Served(base, web, live, past, f"{past_end.astimezone(LOCAL_TZ):%Y-%m}", hosts[0][1], hosts[1][1])
    finally:
        httpd.close()
        thread.join(10)
        for host, _ in hosts:
            host.shutdown()
        web.stop_background()
        warehouse.close()


def dash_apps(web: WebProcess) -> list[dash.Dash]:
    """Every Dash app of the web process (the wall, the console, any later one)."""
    return [v for v in vars(web).values() if isinstance(v, dash.Dash)]


def callback_bodies(app: dash.Dash) -> list[dict[str, Any]]:
    bodies = []
    for output, cb in app.callback_map.items():
        outputs = [{"id": part.split(".")[0], "property": part.split(".")[-1]}
                   for part in output.strip(".").split("...")]
        inputs = [{"id": i["id"], "property": i["property"], "value": 1} for i in cb["inputs"]]
        bodies.append({"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
                       "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs], "state": []})
    return bodies


def value_of(html: str) -> str:
    match = re.search(r'id="widget-value">([^<]+)<', html)
    assert match, html[:500]
    return match.group(1)


def test_widgets_show_this_month_live_and_a_past_month_from_the_warehouse(served):
    unit = max(served.past.per_unit, key=lambda u: served.past.per_unit[u].get("counted", 0))
    expected = figure("ontime", tally_for(served.past.per_unit, unit), served.past.at)
    r = requests.get(f"{served.base}/public/widget/ontime?unit={unit}&period={served.past_month}&lang=en", timeout=10)
    assert r.status_code == 200
    assert f"{expected.numerator:,} of {expected.denominator:,} dossiers" in r.text
    assert "refresh" not in r.text  # a closed month does not reload itself

    province = figure("score", tally_for(served.live.per_unit, None), served.live.at)
    r = requests.get(f"{served.base}/public/widget/score", timeout=10)
    assert r.status_code == 200 and "Tỉnh Phú Thọ" in r.text
    assert value_of(r.text) == f"{province.value:,.2f}".rstrip("0").rstrip(".").translate(
        str.maketrans({",": ".", ".": ","}))
    assert r.headers["Cache-Control"] == f"public, max-age={served.web.settings.public.cache_s}"
    assert f"frame-ancestors 'self' {served.host_allowed}" in r.headers["Content-Security-Policy"]


def test_public_pages_cannot_call_any_internal_callback(served):
    apps = dash_apps(served.web)
    assert served.web.dash_app in apps
    total = 0
    for app in apps:
        endpoint = served.base + app.config.routes_pathname_prefix + "_dash-update-component"
        for body in callback_bodies(app):
            # As a script on a public page would send it: same origin, no session.
            r = requests.post(endpoint, json=body, timeout=5,
                              headers={"Origin": served.base, "Referer": served.base + "/public/"})
            assert r.status_code in (401, 403), (body["output"][:60], r.status_code)
            total += 1
        for internal in ("_dash-layout", "_dash-dependencies"):
            r = requests.get(served.base + app.config.routes_pathname_prefix + internal, timeout=5)
            assert r.status_code in (401, 403), internal
    assert total == sum(len(a.callback_map) for a in apps) >= 2
    # The public surface has no Dash app and declares only its own routes.
    rules = served.web.security.policy.rules()
    public_rules = {r for r in rules if r.startswith("/public")}
    assert public_rules == {"/public/", "/public/widget/<kind>", "/public/widget/<kind>/<item>", "/public/766",
                      "/public/766/unit/<code>", "/public/766.csv", "/public/766.json", "/public/tra-cuu",
                      "/public/static/<path:filename>", "/public/<path:rest>"}
    assert not [r for r, a in rules.items() if a.open and ("_dash" in r or r.endswith("<path:path>"))]
    # Its pages load nothing that could call one: no Dash code, widgets with no script and no
    # fetch at all (default-src 'none'), the index with one script of ours and no connect-src.
    for path in ("/public/", "/public/widget/score", "/public/widget/ontime", "/public/widget/online"):
        r = requests.get(served.base + path, timeout=10)
        assert r.status_code == 200, path
        assert "_dash" not in r.text and "dash_renderer" not in r.text, path
        policy = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "connect-src" not in policy, path
        scripts = re.findall(r"<script[^>]*>", r.text)
        assert scripts == ([] if "widget" in path else ['<script src="/public/static/copy.js">']), path


def test_no_public_response_has_personal_data_codes_or_ids(served):
    secrets = served.live.secrets() | served.past.secrets()
    units = sorted(set(served.live.per_unit) | set(served.past.per_unit))[:25]
    urls = ["/public/", "/public/?lang=en", f"/public/?period={served.past_month}&unit={units[0]}",
            "/public/static/widget.css", "/public/static/index.css", "/public/static/copy.js", "/public/nothing",
            "/public/widget/score?unit=H44.999", "/public/widget/nope"]
    for kind in ("score", "ontime", "online"):
        for unit in [""] + units:
            for period in ("", served.past_month):
                urls.append(f"/public/widget/{kind}?unit={unit}&period={period}")
    for url in urls:
        r = requests.get(served.base + url, timeout=10)
        assert r.status_code in (200, 400, 404), (url, r.status_code)
        text = r.text + json.dumps(dict(r.headers))
        leaked = [s for s in secrets if s in text]
        assert not leaked, (url, leaked[:3])
    assert len(urls) > 150


def test_rate_limit_over_http(served):
    surface = served.web.public
    assert surface is not None
    kept = surface.limiter
    surface.limiter = RateLimiter(per_minute=6, burst=2)
    try:
        codes = [requests.get(f"{served.base}/public/widget/online", timeout=5).status_code for _ in range(3)]
        assert codes[:2] == [200, 200] and codes[2] == 429
        r = requests.get(f"{served.base}/public/widget/online", timeout=5)
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 10
        assert "Too many requests" in r.text and "Quá nhiều yêu cầu" in r.text
    finally:
        surface.limiter = kept


def test_bad_parameter_over_http(served):
    r = requests.get(f"{served.base}/public/widget/score?unit=H44.07&period=2026-14", timeout=5)
    assert r.status_code == 400 and "period" in r.text and "01..12" in r.text


def _browser_log(browser: Any) -> list[str]:
    return [e["message"] for e in browser.get_log("browser")]


def test_a_widget_loads_in_an_allowed_site_and_is_refused_elsewhere(served, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    widget = f"{served.base}/public/widget/ontime?theme=light"
    for host in (served.host_allowed, served.host_other):
        root = Path(served.web.settings.data_dir) / ("allowed" if host == served.host_allowed else "other")
        _host_page(root, widget)
    browser = chromium(900, 500)
    try:
        browser.get(served.host_allowed + "/index.html")
        WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
        browser.switch_to.frame(browser.find_element(By.ID, "embed"))
        shown = WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.ID, "widget-value"))
        assert shown[0].text.endswith("%")
        assert "Tỷ lệ hồ sơ giải quyết đúng hạn" in browser.find_element(By.ID, "widget").text
        browser.switch_to.default_content()
        browser.save_screenshot(str(artifacts / "public-widget-allowed-site.png"))
        assert not [m for m in _browser_log(browser) if "frame-ancestors" in m or "Refused" in m]

        browser.get(served.host_other + "/index.html")
        WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
        refusals = WebDriverWait(browser, 10).until(
            lambda d: [m for m in _browser_log(d) if "frame-ancestors" in m])
        assert served.base in refusals[0] or "127.0.0.1" in refusals[0], refusals
        browser.switch_to.frame(browser.find_element(By.ID, "embed"))
        assert browser.find_elements(By.ID, "widget") == [], "the refused frame must not render the widget"
        browser.switch_to.default_content()
        browser.save_screenshot(str(artifacts / "public-widget-refused-site.png"))
    finally:
        browser.quit()


def test_the_index_previews_every_widget_and_copies_embed_code(served, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = chromium(1400, 1000)
    try:
        browser.get(served.base + "/public/")
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        assert "Số liệu công khai" in browser.find_element(By.TAG_NAME, "h1").text
        for kind in ("score", "ontime", "online"):
            browser.switch_to.frame(browser.find_element(By.ID, f"preview-{kind}"))
            WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "widget-value"))
            browser.switch_to.default_content()
            code = browser.find_element(By.ID, f"code-{kind}").get_attribute("value")
            assert code.startswith(f'<iframe src="{served.base}/public/widget/{kind}"'), code
        button = browser.find_element(By.CSS_SELECTOR, 'button[data-target="code-score"]')
        button.click()
        WebDriverWait(browser, 5).until(lambda d: button.text == "Đã sao chép")
        browser.save_screenshot(str(artifacts / "public-index-vi.png"))
        violations = [m for m in _browser_log(browser) if "Content Security Policy" in m or "Refused" in m]
        assert not violations, violations

        browser.get(served.base + "/public/?lang=en&theme=dark&period=" + served.past_month)
        browser.switch_to.frame(browser.find_element(By.ID, "preview-online"))
        WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "widget-value"))
        assert "Dossiers submitted online" in browser.find_element(By.ID, "widget").text
        browser.switch_to.default_content()
        browser.save_screenshot(str(artifacts / "public-index-en-dark.png"))
    finally:
        browser.quit()
