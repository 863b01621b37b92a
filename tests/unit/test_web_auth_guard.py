"""WebSecurity on a small Flask + Dash app (Flask's test client, no network): deny by default
for routes and callbacks, roles per callback, session expiry by role, password changes and
removed users ending sessions, and the sign-in rate limit."""

from __future__ import annotations

import re

import dash
import flask
import pytest
from dash import Input, Output, dcc, html

from dashboards.auth import CONSOLE, WALL, Access, Kind, Role, UserStore, WebSecurity
from dashboards.auth.guard import session_lifetime_s
from ioc.config import WebSettings

ORIGIN = {"Origin": "http://localhost"}
PASSWORDS = {"lanhdao": "mat-khau-lanh-dao", "dieuhanh": "mat-khau-dieu-hanh"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site(tmp_path):
    store = UserStore(tmp_path / "users.json")
    store.add("lanhdao", PASSWORDS["lanhdao"], ["leader"])
    store.add("dieuhanh", PASSWORDS["dieuhanh"], ["operator"])
    clock = Clock()
    web = WebSettings(login_max_failures=3, login_window_s=60, leader_session_days=30, staff_session_hours=12)
    security = WebSecurity(store, b"k" * 32, web, clock=clock)
    server = flask.Flask("test", static_folder=None)
    security.install(server)
    server.add_url_rule("/forgotten", "forgotten", lambda: "should never be served")
    app = dash.Dash("t", server=server, url_base_pathname="/")
    security.protect_dash(server, app, WALL)
    app.layout = html.Div([dcc.Input(id="in"), html.Div(id="wall-out"), html.Div(id="console-out"),
                           html.Div(id="stray-out")])
    with security.callbacks.declare(app, WALL):
        app.callback(Output("wall-out", "children"), Input("in", "value"))(lambda v: f"wall {v}")
    with security.callbacks.declare(app, CONSOLE):
        app.callback(Output("console-out", "children"), Input("in", "value"))(lambda v: f"console {v}")
    app.callback(Output("stray-out", "children"), Input("in", "value"))(lambda v: "nobody declared me")
    security.finish(server, app)
    server.extensions["dash_app"] = app
    return server, security, store, clock


def login(client, username: str, password: str | None = None, address: str = "10.0.0.1"):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": password or PASSWORDS[username]},
                       headers=ORIGIN, environ_base={"REMOTE_ADDR": address})


def call(client, output: str):
    body = {"output": output, "outputs": {"id": output.split(".")[0], "property": "children"},
            "inputs": [{"id": "in", "property": "value", "value": "x"}], "changedPropIds": ["in.value"],
            "state": []}
    return client.post("/_dash-update-component", json=body, headers=ORIGIN)


def test_routes_and_callbacks_nobody_declared_are_refused(site):
    server, security, _, _ = site
    assert security.policy.undeclared(server) == ["/forgotten"]
    assert security.callbacks.undeclared(server.extensions["dash_app"]) == ["stray-out.children"]
    client = server.test_client()
    assert login(client, "dieuhanh").status_code == 303
    assert client.get("/forgotten").status_code == 403
    refused = call(client, "stray-out.children")
    assert refused.status_code == 403 and "not declared" in refused.get_json()["error"]
    assert call(client, "wall-out.children").status_code == 200


def test_each_callback_checks_its_own_roles(site):
    server, *_ = site
    leader = server.test_client()
    login(leader, "lanhdao")
    assert call(leader, "wall-out.children").status_code == 200
    assert call(leader, "console-out.children").status_code == 403
    operator = server.test_client()
    login(operator, "dieuhanh")
    ok = call(operator, "console-out.children")
    assert ok.status_code == 200 and ok.get_json()["response"]["console-out"]["children"] == "console x"
    anonymous = server.test_client()
    assert call(anonymous, "wall-out.children").status_code == 401


def test_leader_sessions_last_for_days_and_staff_sessions_for_hours(site):
    server, _, _, clock = site
    leader, operator = server.test_client(), server.test_client()
    login(leader, "lanhdao")
    login(operator, "dieuhanh")
    clock.now += 13 * 3600
    assert leader.get("/_dash-layout").status_code == 200
    assert operator.get("/_dash-layout").status_code == 401
    clock.now += 29 * 86_400
    assert leader.get("/_dash-layout").status_code == 200
    clock.now += 2 * 86_400
    assert leader.get("/_dash-layout").status_code == 401
    web = WebSettings(leader_session_days=30, staff_session_hours=12)
    assert session_lifetime_s(web, frozenset({Role.leader})) == 30 * 86_400
    assert session_lifetime_s(web, frozenset({Role.leader, Role.operator})) == 12 * 3600


def test_a_new_password_or_a_removed_role_takes_effect_on_open_sessions(site):
    server, _, store, _ = site
    client = server.test_client()
    login(client, "dieuhanh")
    assert client.get("/console").headers["Location"] == "/console/"  # in: on to the console app
    store.add("dieuhanh", "mat-khau-moi-hoan-toan", ["operator"], replace=True)
    r = client.get("/console")
    assert r.status_code == 303 and r.headers["Location"].startswith("/login?next=%2Fconsole")

    login(client, "dieuhanh", "mat-khau-moi-hoan-toan")
    assert client.get("/console").headers["Location"] == "/console/"
    # A role taken away (same password: the session stays, its rights shrink at once).
    users = store.users()
    store._write({**users, "dieuhanh": users["dieuhanh"].model_copy(update={"roles": frozenset({Role.leader})})})
    assert client.get("/console").status_code == 403
    assert client.get("/").status_code == 200


def test_failed_sign_ins_are_rate_limited_per_address(site):
    server, *_ = site
    client = server.test_client()
    for _ in range(3):
        r = login(client, "lanhdao", "sai-mat-khau-roi", address="10.9.9.9")
        assert r.status_code == 401 and "không đúng" in r.get_data(as_text=True)
    blocked = login(client, "lanhdao", address="10.9.9.9")  # even the right password now waits
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert "Đăng nhập sai quá nhiều lần" in blocked.get_data(as_text=True)
    assert login(server.test_client(), "lanhdao", address="10.0.0.2").status_code == 303


def proxied_site(tmp_path, hops: int | None, **web: object):
    """A sign-in behind ``hops`` trusted proxies (peer 10.0.0.254, the proxy)."""
    store = UserStore(tmp_path / "users.json")
    for name, password in PASSWORDS.items():
        store.add(name, password, ["leader"])
    settings = WebSettings(login_max_failures=3, login_window_s=60, **web)
    security = WebSecurity(store, b"k" * 32, settings, trusted_proxy_hops=hops)
    server = flask.Flask("proxied", static_folder=None)
    security.install(server)
    return server


def login_via_proxy(server, username: str, password: str, forwarded_for: str):
    client = server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password},
                       headers={**ORIGIN, "X-Forwarded-For": forwarded_for},
                       environ_base={"REMOTE_ADDR": "10.0.0.254"})


def test_behind_a_proxy_the_lockout_keys_on_the_real_client_and_the_user_name(tmp_path):
    server = proxied_site(tmp_path, hops=1)
    for _ in range(3):
        assert login_via_proxy(server, "lanhdao", "sai-mat-khau-roi", "203.0.113.7").status_code == 401
    assert login_via_proxy(server, "lanhdao", PASSWORDS["lanhdao"], "203.0.113.7").status_code == 429
    # Forging X-Forwarded-For does not help: the proxy appends the address it saw, and that one counts.
    assert login_via_proxy(server, "lanhdao", PASSWORDS["lanhdao"], "198.51.100.1, 203.0.113.7").status_code == 429
    # The same account from another client, and another account from the attacker's address, still sign in.
    assert login_via_proxy(server, "lanhdao", PASSWORDS["lanhdao"], "203.0.113.8").status_code == 303
    assert login_via_proxy(server, "dieuhanh", PASSWORDS["dieuhanh"], "203.0.113.7").status_code == 303


def test_without_trusted_hops_the_header_is_ignored(tmp_path):
    server = proxied_site(tmp_path, hops=None)  # web.trusted_proxy_hops unset: 0
    for i in range(3):
        assert login_via_proxy(server, "lanhdao", "sai-mat-khau-roi", f"203.0.113.{i}").status_code == 401
    assert login_via_proxy(server, "lanhdao", PASSWORDS["lanhdao"], "203.0.113.99").status_code == 429
    assert login_via_proxy(server, "dieuhanh", PASSWORDS["dieuhanh"], "203.0.113.99").status_code == 303


def test_one_address_spraying_many_user_names_is_stopped(tmp_path):
    server = proxied_site(tmp_path, hops=1, login_max_failures_per_address=5)
    for i in range(5):
        assert login_via_proxy(server, f"khong-co-{i}", "sai-mat-khau-roi", "203.0.113.7").status_code == 401
    assert login_via_proxy(server, "dieuhanh", PASSWORDS["dieuhanh"], "203.0.113.7").status_code == 429
    assert login_via_proxy(server, "dieuhanh", PASSWORDS["dieuhanh"], "203.0.113.8").status_code == 303


def test_the_operator_token_is_only_for_routes_that_accept_it(tmp_path):
    store = UserStore(tmp_path / "users.json")
    security = WebSecurity(store, b"k" * 32, WebSettings(operator_token="t" * 40))
    server = flask.Flask("test", static_folder=None)
    security.install(server)
    server.add_url_rule("/api/read", "read", lambda: {"ok": True})
    server.add_url_rule("/api/session-only", "session_only", lambda: {"ok": True})
    server.add_url_rule("/api/act", "act", lambda: {"done": True}, methods=["POST"])
    security.policy.declare("/api/act", Access(frozenset({Role.operator}), Kind.api, operator_token=True))
    security.policy.declare("/api/read", Access(frozenset(Role), Kind.api, operator_token=True))
    security.policy.declare("/api/session-only", Access(frozenset(Role), Kind.api))
    client = server.test_client()
    bearer = {"Authorization": "Bearer " + "t" * 40}
    assert client.get("/api/read", headers=bearer).status_code == 200
    assert client.get("/api/read", headers={"Authorization": "Bearer " + "t" * 39}).status_code == 401
    assert client.get("/api/read").status_code == 401
    assert client.get("/api/session-only", headers=bearer).status_code == 401
    # Automation POSTs with the token need no Origin (a browser never adds the token by itself).
    assert client.post("/api/act", headers=bearer).status_code == 200
    assert client.post("/api/act").status_code == 401
    # No token configured: a bearer token opens nothing.
    unset = WebSecurity(store, b"k" * 32, WebSettings())
    server2 = flask.Flask("test2", static_folder=None)
    unset.install(server2)
    server2.add_url_rule("/api/read", "read", lambda: {"ok": True})
    unset.policy.declare("/api/read", Access(frozenset(Role), Kind.api, operator_token=True))
    assert server2.test_client().get("/api/read", headers=bearer).status_code == 401


def test_a_view_that_sets_its_own_csp_keeps_it_for_embedding(tmp_path):
    security = WebSecurity(UserStore(tmp_path / "users.json"), b"k" * 32, WebSettings())
    server = flask.Flask("test", static_folder=None)
    security.install(server)

    def widget() -> flask.Response:
        r = flask.Response("<p>widget</p>")
        r.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors https://portal.example.vn"
        return r

    server.add_url_rule("/public/widget", "widget", widget)
    security.policy.declare("/public/widget", Access(None, Kind.page))
    r = server.test_client().get("/public/widget")
    assert r.status_code == 200
    assert r.headers["Content-Security-Policy"].endswith("frame-ancestors https://portal.example.vn")
    assert "X-Frame-Options" not in r.headers
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    internal = server.test_client().get("/login")
    assert "frame-ancestors 'none'" in internal.headers["Content-Security-Policy"]
    assert internal.headers["X-Frame-Options"] == "DENY"


def test_the_login_page_escapes_what_it_echoes_and_speaks_english_on_request(site):
    server, *_ = site
    client = server.test_client()
    r = login(client, '<script>alert(1)</script>', "sai-mat-khau-roi")
    page = r.get_data(as_text=True)
    assert r.status_code == 401
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    english = client.get("/login?lang=en&next=/console").get_data(as_text=True)
    assert 'lang="en"' in english and "Username" in english and "Sign in" in english
    assert 'name="next" value="/console"' in english
    assert 'href="/login?next=%2Fconsole&amp;lang=vi"' in english  # the switch keeps ?next=
