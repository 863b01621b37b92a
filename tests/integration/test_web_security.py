"""The web process behind its sign-in, served by waitress on a free port and driven over real
HTTP and in headless Chromium: anonymous requests are sent to /login or refused (every route
and every Dash callback, enumerated from the app), the form needs its CSRF token, Dash POSTs
from another origin are refused, every response carries the security headers, and a leader
who signs in through the Vietnamese form sees the live wall with no CSP violation."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from dashboards.auth import Kind, add_user
from dashboards.server import WebProcess
from ioc import clock
from ioc.config import Settings
from ioc.process import free_port, wait_until
from ioc.warehouse.backends import ChdbWarehouse, ensure_schema
from tests.integration.web_login import chromium, create_user, csrf_token, login_browser, login_session

pytestmark = pytest.mark.integration

OPERATOR_TOKEN = "automation-" + "k" * 32
IN_PROCESSING = 3456  # seeded into the live state; the wall shows it as 3.456
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")


@dataclass
class Served:
    base: str
    web: WebProcess
    passwords: dict[str, str]
    data_dir: Path

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    data = tmp_path_factory.mktemp("web-security")
    port = free_port()
    settings = Settings.model_validate({
        "data_dir": str(data), "web": {"port": port, "operator_token": OPERATOR_TOKEN},
    })
    passwords = {"lanhdao": create_user(data, "lanhdao", ["leader"]),
                 "dieuhanh": create_user(data, "dieuhanh", ["operator"]),
                 "quantri": create_user(data, "quantri", ["admin"]),
                 "manhinh": create_user(data, "manhinh", ["leader"])}  # the browser test's kiosk
    warehouse = ChdbWarehouse(data / "chdb", database="websec")
    ensure_schema(warehouse)
    web = WebProcess(settings, "127.0.0.1:1", warehouse, with_sink=False)  # no Kafka: the state is seeded
    web.state.apply_snapshot({"computed_at": clock.now().isoformat(), "partition": 0,
                              "units": {"H44.07": {"received_today": 12, "in_processing": IN_PROCESSING}}})
    httpd = create_server(web.build(), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=httpd.run, name="waitress-test", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=1).status_code in (200, 503), 20,
                   f"web process on :{port}")
        yield Served(base, web, passwords, data)
    finally:
        httpd.close()
        thread.join(10)
        web.stop_background()
        warehouse.close()


def sample_path(rule: str) -> str:
    """A concrete path for a URL rule: each ``<converter:name>`` replaced by a sample value."""
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "sample", rule)


def callback_bodies(served: Served) -> list[dict[str, Any]]:
    """A well-formed request body for every callback of the wall, from its callback map."""
    app = served.web.dash_app
    assert app is not None
    bodies = []
    for output, cb in app.callback_map.items():
        outputs = [{"id": part.split(".")[0], "property": part.split(".")[1]}
                   for part in output.strip(".").split("...")]
        inputs = [{"id": i["id"], "property": i["property"], "value": 1} for i in cb["inputs"]]
        bodies.append({"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0],
                       "inputs": inputs, "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
                       "state": []})
    return bodies


def test_every_protected_route_refuses_anonymous_requests(served):
    security = served.web.security
    assert security is not None
    rules = security.policy.rules()
    protected = {rule: access for rule, access in rules.items() if not access.open}
    assert {"/", "/wall", "/console", "/_dash-layout", "/_dash-dependencies", "/_dash-update-component",
            "/api/v1/live", "/api/v1/warehouse/counts"} <= set(protected)
    for rule, access in protected.items():
        path = sample_path(rule)
        method = "POST" if access.kind is Kind.callback else "GET"
        r = requests.request(method, served.base + path, allow_redirects=False, timeout=5,
                             headers={"Origin": served.base})
        if access.kind is Kind.page:
            assert r.status_code == 303, (rule, r.status_code)
            assert r.headers["Location"].startswith("/login?next="), (rule, r.headers["Location"])
        else:
            assert r.status_code == 401, (rule, r.status_code, r.text[:200])
            assert r.headers["Content-Type"].startswith("application/json"), rule
    # Monitoring stays open.
    assert requests.get(served.base + "/metrics", timeout=5).status_code == 200
    assert requests.get(served.base + "/healthz", timeout=5).status_code in (200, 503)


def test_every_route_of_the_server_has_a_declared_access(served):
    security = served.web.security
    assert security is not None
    app = served.web.dash_app
    assert app is not None
    assert security.policy.undeclared(app.server) == []
    assert security.callbacks.undeclared(app) == []


def test_every_dash_callback_refuses_an_anonymous_call(served):
    bodies = callback_bodies(served)
    assert len(bodies) == len(served.web.dash_app.callback_map) >= 1
    for body in bodies:
        r = requests.post(f"{served.base}/_dash-update-component", json=body, timeout=5,
                          headers={"Origin": served.base})
        assert r.status_code == 401, (body["output"][:60], r.status_code)
        assert "sign in" in r.json()["error"]


def test_signed_in_leader_calls_every_callback_but_not_from_another_origin(served):
    s = login_session(served.base, "lanhdao", served.passwords["lanhdao"])
    for body in callback_bodies(served):
        ok = s.post(f"{served.base}/_dash-update-component", json=body, timeout=10)
        assert ok.status_code == 200, (body["output"][:60], ok.status_code, ok.text[:300])
        evil = s.post(f"{served.base}/_dash-update-component", json=body, timeout=5,
                      headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403, body["output"][:60]
        no_origin = requests.post(f"{served.base}/_dash-update-component", json=body, timeout=5,
                                  cookies=s.cookies)
        assert no_origin.status_code == 403, "a POST with neither Origin nor Referer is refused"
    # The refresh callback really answered with the seeded figures.
    tick = next(b for b in callback_bodies(served) if b["inputs"][0]["id"] == "wall-tick")
    resp = s.post(f"{served.base}/_dash-update-component", json=tick, timeout=10).json()["response"]
    assert resp["tile-in_processing"]["children"] == "3.456"


def test_an_unknown_callback_output_is_refused_for_a_signed_in_user(served):
    s = login_session(served.base, "quantri", served.passwords["quantri"])
    body = callback_bodies(served)[0] | {"output": "not-declared.children"}
    r = s.post(f"{served.base}/_dash-update-component", json=body, timeout=5)
    assert r.status_code == 403 and "not declared" in r.json()["error"]


def test_login_right_and_wrong_password_and_csrf(served):
    base = served.base
    s = requests.Session()
    s.headers["Origin"] = base
    page = s.get(f"{base}/login", timeout=5)
    assert page.status_code == 200 and "Tên đăng nhập" in page.text and "Mật khẩu" in page.text
    token = csrf_token(page.text)

    wrong = s.post(f"{base}/login", data={"csrf_token": token, "username": "lanhdao", "password": "sai-mat-khau-1",
                                           "next": "/"}, allow_redirects=False, timeout=10)
    assert wrong.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in wrong.text
    assert s.get(f"{base}/api/v1/live", timeout=5).status_code == 401

    no_token = s.post(f"{base}/login", data={"username": "lanhdao", "password": served.passwords["lanhdao"]},
                      allow_redirects=False, timeout=10)
    assert no_token.status_code == 400 and "Biểu mẫu đã hết hạn" in no_token.text
    bad_token = s.post(f"{base}/login", data={"csrf_token": token[::-1], "username": "lanhdao",
                                               "password": served.passwords["lanhdao"]},
                       allow_redirects=False, timeout=10)
    assert bad_token.status_code == 400
    cross = s.post(f"{base}/login", data={"csrf_token": token, "username": "lanhdao",
                                           "password": served.passwords["lanhdao"]},
                   headers={"Origin": "http://evil.example"}, allow_redirects=False, timeout=10)
    assert cross.status_code == 403
    assert s.get(f"{base}/api/v1/live", timeout=5).status_code == 401

    english = s.get(f"{base}/login?lang=en", timeout=5)
    assert "Username" in english.text and "Password" in english.text

    right = s.post(f"{base}/login", data={"csrf_token": token, "username": "LanhDao",
                                           "password": served.passwords["lanhdao"], "next": "/wall?x=1"},
                   allow_redirects=False, timeout=10)
    assert right.status_code == 303 and right.headers["Location"] == "/wall?x=1"
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "ioc_session=" in cookie
    live = s.get(f"{base}/api/v1/live", timeout=5)
    assert live.status_code == 200 and live.json()["province"]["in_processing"] == IN_PROCESSING
    assert s.get(f"{base}/", allow_redirects=False, timeout=5).status_code == 200
    # A leader may not open the console; the sign-out form needs its token too.
    console = s.get(f"{base}/console", allow_redirects=False, timeout=5)
    assert console.status_code == 403 and "điều hành viên" in console.text
    assert s.post(f"{base}/logout", data={}, allow_redirects=False, timeout=5).status_code == 400
    confirm = s.get(f"{base}/logout", timeout=5)
    out = s.post(f"{base}/logout", data={"csrf_token": csrf_token(confirm.text)}, allow_redirects=False, timeout=5)
    assert out.status_code == 303
    assert s.get(f"{base}/api/v1/live", timeout=5).status_code == 401


def test_next_redirect_stays_on_this_site(served):
    s = requests.Session()
    s.headers["Origin"] = served.base
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        token = csrf_token(s.get(f"{served.base}/login", timeout=5).text)
        r = s.post(f"{served.base}/login", data={"csrf_token": token, "username": "dieuhanh",
                                                  "password": served.passwords["dieuhanh"], "next": target},
                   allow_redirects=False, timeout=10)
        assert r.status_code == 303 and r.headers["Location"] == "/", target


def test_operator_console_and_bearer_token(served):
    s = login_session(served.base, "dieuhanh", served.passwords["dieuhanh"])
    console = s.get(f"{served.base}/console", timeout=5)
    assert console.status_code == 200 and "Bàn điều hành cảnh báo" in console.text
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    assert requests.get(f"{served.base}/api/v1/live", headers=auth, timeout=5).status_code == 200
    assert requests.get(f"{served.base}/api/v1/warehouse/counts", headers=auth, timeout=10).status_code == 200
    wrong = {"Authorization": f"Bearer {OPERATOR_TOKEN}x"}
    assert requests.get(f"{served.base}/api/v1/live", headers=wrong, timeout=5).status_code == 401
    # The token opens the read APIs only, not pages or Dash internals.
    assert requests.get(f"{served.base}/_dash-layout", headers=auth, timeout=5).status_code == 401
    assert requests.get(f"{served.base}/console", headers=auth, allow_redirects=False, timeout=5).status_code == 303


def test_security_headers_on_every_kind_of_response(served):
    s = login_session(served.base, "lanhdao", served.passwords["lanhdao"])
    anonymous = requests.Session()
    checks = [(s, "/"), (s, "/_dash-layout"), (s, "/api/v1/live"), (s, "/console"),
              (anonymous, "/login"), (anonymous, "/healthz"), (anonymous, "/metrics"), (anonymous, "/_dash-layout"),
              (anonymous, "/no-such-page")]
    for session, path in checks:
        r = session.get(served.base + path, allow_redirects=False, timeout=10)
        for name in SECURITY_HEADERS:
            assert name in r.headers, (path, name)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "http" not in csp, f"{path}: no external origin in the CSP"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Cache-Control"] == "no-store", (path, r.headers.get("Cache-Control"))
    # Library bundles stay cacheable, but only privately.
    layout = s.get(served.base + "/", timeout=10).text
    bundle = re.search(r'src="(/_dash-component-suites/[^"]+)"', layout)
    assert bundle, "the wall page links Dash's bundles locally"
    r = s.get(served.base + bundle.group(1), timeout=10)
    assert r.status_code == 200 and "private" in r.headers["Cache-Control"]
    assert requests.get(served.base + bundle.group(1), timeout=10).status_code == 401


def test_leader_signs_in_through_the_vietnamese_form_and_sees_the_wall(served, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = chromium()
    try:
        browser.get(served.base + "/")
        WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "login-form"))
        assert urlsplit(browser.current_url).path == "/login"
        page = browser.find_element(By.TAG_NAME, "body").text
        assert "Đăng nhập" in page and "Tên đăng nhập" in page and "Mật khẩu" in page
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        browser.save_screenshot(str(artifacts / "login-vi.png"))

        login_browser(browser, served.base, "manhinh", served.passwords["manhinh"], next_path="/")
        shown = WebDriverWait(browser, 30).until(
            lambda d: (t := d.find_element(By.ID, "tile-in_processing").text) != "—" and t)
        assert shown == "3.456"
        assert "Tiếp nhận hôm nay" in browser.find_element(By.ID, "wall-tiles").text
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#wall-scene .panel"))
        browser.save_screenshot(str(artifacts / "wall-after-login.png"))

        # Everything the page loaded came from this server, and the CSP refused nothing.
        sources = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert sources and all(src.startswith(served.base) for src in sources), sources
        messages = [e["message"] for e in browser.get_log("browser")]
        violations = [m for m in messages if "Content Security Policy" in m or "Refused to" in m]
        assert not violations, violations

        # A new password ends the kiosk's session: the wall goes to the sign-in page by itself.
        add_user(served.data_dir / "users.json", "manhinh", "mat-khau-moi-cho-man-hinh", ["leader"], replace=True)
        WebDriverWait(browser, 20).until(lambda d: urlsplit(d.current_url).path == "/login")
        assert browser.find_elements(By.ID, "login-form")
    finally:
        browser.quit()
