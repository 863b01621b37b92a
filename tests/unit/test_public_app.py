"""The public surface on a Flask server with the real security layer (Flask's test client, no
network): open routes, headers, cache, rate limit, errors, and no personal data. The whole web
process (wall included) is tested over HTTP in tests/integration/test_public_embeds.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

import flask
import pytest

from dashboards.auth import WebSecurity
from dashboards.live_state import LiveState
from dashboards.public import PublicSurface, mount_public
from dashboards.server import unit_names
from ioc.clock import LOCAL_TZ
from ioc.config import Settings
from tests.unit.test_public import FakeClock
from tests.unit.test_public_data import PublicData, public_data

AT = datetime(2026, 11, 18, 16, 0, tzinfo=LOCAL_TZ)
EMBEDDER = "https://dichvucong.phutho.gov.vn"


@pytest.fixture(scope="module")
def data() -> PublicData:
    return public_data(AT, days=12, per_day=80)


@dataclass
class Built:
    security: WebSecurity
    state: LiveState
    public: PublicSurface
    server: flask.Flask


def build(tmp_path: Any, data: PublicData, **public: Any) -> tuple[Built, Any, FakeClock]:
    settings = Settings.model_validate({"data_dir": str(tmp_path), "public": {"frame_ancestors": [EMBEDDER], **public}})
    server = flask.Flask("public-test", static_folder=None)
    security = WebSecurity.from_settings(settings)
    security.install(server)
    state = LiveState()
    state.apply_snapshot(data.snapshot())
    surface = mount_public(server, security, settings.public, state, lambda: None, unit_names(settings),
                           "Tỉnh Phú Thọ", clock=lambda: AT.astimezone(timezone.utc))
    security.finish(server)
    clock = FakeClock()
    surface.figures.clock = clock
    return Built(security, state, surface, server), server.test_client(), clock


@pytest.fixture
def client(tmp_path: Any, data: PublicData) -> Iterator[tuple[Built, Any, FakeClock]]:
    yield build(tmp_path, data)


def public_urls(units: list[str]) -> list[str]:
    urls = ["/public/", "/public/?lang=en", "/public/?unit=H44.07&period=2026-10&theme=dark",
            "/public/static/widget.css", "/public/static/index.css", "/public/static/copy.js",
            "/public/no-such-page", "/public/widget/speed", "/public/widget/score?unit=NOPE",
            "/public/widget/score?period=2030-01"]
    for kind in ("score", "ontime", "online"):
        urls.append(f"/public/widget/{kind}")
        for unit in units:
            for lang in ("vi", "en"):
                urls.append(f"/public/widget/{kind}?unit={unit}&lang={lang}&theme=light")
        urls.append(f"/public/widget/{kind}?period=2026-10")
    return urls


def test_public_routes_are_declared_open_and_nothing_is_left_undeclared(client):
    built, c, _ = client
    rules = built.security.policy.rules()
    public = {r for r in rules if r.startswith("/public/")}
    assert public == {"/public/", "/public/widget/<kind>", "/public/widget/<kind>/<item>", "/public/766",
                      "/public/766/unit/<code>", "/public/766.csv", "/public/766.json", "/public/tra-cuu",
                      "/public/static/<path:filename>", "/public/<path:rest>"}
    assert all(rules[r].open for r in public)
    assert built.security.policy.undeclared(built.server) == []
    assert c.get("/public/widget/score").status_code == 200


def test_widgets_answer_anonymously_with_the_live_figures(client, data):
    _, c, _ = client
    unit = max(data.per_unit, key=lambda u: data.per_unit[u].get("counted", 0))
    t = data.per_unit[unit]
    r = c.get(f"/public/widget/ontime?unit={unit}&lang=en")
    assert r.status_code == 200 and r.mimetype == "text/html"
    text = r.get_data(as_text=True)
    assert f"{t['good']:,} of {t['counted']:,} dossiers" in text
    assert "Month 11/2026" in text and 'lang="en"' in text
    vi = c.get("/public/widget/online").get_data(as_text=True)
    assert "Toàn tỉnh" not in vi and "Tỉnh Phú Thọ" in vi and "Tỷ lệ hồ sơ nộp trực tuyến" in vi


def test_headers_frame_ancestors_from_settings_cache_control_and_etag(client):
    _, c, _ = client
    r = c.get("/public/widget/score?theme=dark")
    policy = r.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {EMBEDDER}" in policy and "default-src 'none'" in policy
    assert "X-Frame-Options" not in r.headers  # the CSP allow-list decides, not DENY
    assert r.headers["Cache-Control"] == "public, max-age=60"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    again = c.get("/public/widget/score?theme=dark", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    index = c.get("/public/")
    assert "frame-ancestors 'none'" in index.headers["Content-Security-Policy"]
    assert "script-src 'self'" in index.headers["Content-Security-Policy"]
    bad = c.get("/public/widget/score?lang=fr")
    assert bad.status_code == 400 and bad.headers["Cache-Control"] == "no-store"


def test_default_allows_only_this_site_to_frame(tmp_path, data):
    _, c, _ = build(tmp_path, data, frame_ancestors=[])
    r = c.get("/public/widget/score")
    assert r.status_code == 200
    assert re.search(r"frame-ancestors 'self'(;|$)", r.headers["Content-Security-Policy"])


def test_figures_are_cached_for_the_configured_seconds(client, data):
    built, c, clock = client
    first = c.get("/public/widget/ontime")
    assert first.headers["X-Cache"] == "MISS"
    before = re.search(r'id="widget-value">([^<]+)<', first.get_data(as_text=True)).group(1)
    # The live figures change: every unit now has 1000 more counted dossiers, all late.
    bumped = {u: {**t, "counted": t.get("counted", 0) + 1000} for u, t in data.per_unit.items()}
    built.state.apply_snapshot({"computed_at": AT.isoformat(), "partition": 0, "units": bumped})
    clock.now += 59
    cached = c.get("/public/widget/ontime")
    assert cached.headers["X-Cache"] == "HIT"
    assert re.search(r'id="widget-value">([^<]+)<', cached.get_data(as_text=True)).group(1) == before
    clock.now += 2
    fresh = c.get("/public/widget/ontime")
    assert fresh.headers["X-Cache"] == "MISS"
    assert re.search(r'id="widget-value">([^<]+)<', fresh.get_data(as_text=True)).group(1) != before


def test_too_many_requests_get_429_with_retry_after(tmp_path, data):
    _, c, _ = build(tmp_path, data, rate_per_minute=6, burst=3)
    codes = [c.get("/public/widget/score").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = c.get("/public/widget/online")
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 10
    assert "Quá nhiều yêu cầu" in r.get_data(as_text=True) and r.headers["Cache-Control"] == "no-store"
    other = c.get("/public/widget/score", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200  # per client
    assert c.get("/public/static/widget.css").status_code == 200  # stylesheets are not counted


@pytest.mark.parametrize("url, name", [
    ("/public/widget/score?unit=H99.99", "unit"),
    ("/public/widget/ontime?period=2026-13", "period"),
    ("/public/widget/online?period=2027-01", "period"),
    ("/public/widget/score?theme=neon", "theme"),
    ("/public/widget/score?lang=de", "lang"),
    ("/public/widget/score?unit=H44.07&unit=H44.101", "unit"),
    ("/public/widget/score?callback=x", "callback"),
    ("/public/widget/gauge", "widget"),
    ("/public/?period=2026", "period"),
])
def test_a_bad_parameter_gets_400_naming_it(client, url, name):
    _, c, _ = client
    r = c.get(url)
    assert r.status_code == 400, url
    text = r.get_data(as_text=True)
    assert f"Tham số không hợp lệ &#x27;{name}&#x27;" in text and f"Bad parameter &#x27;{name}&#x27;" in text


def test_a_month_without_data_says_so(client):
    _, c, _ = client
    r = c.get("/public/widget/score?period=2026-06")
    assert r.status_code == 200 and "Chưa có số liệu" in r.get_data(as_text=True)
    assert "refresh" not in r.get_data(as_text=True)  # a closed month does not reload itself


def test_no_public_response_contains_personal_data_codes_or_ids(tmp_path, data):
    _, c, _ = build(tmp_path, data, burst=10_000)
    secrets = data.secrets()
    units = sorted(data.per_unit)
    checked = 0
    for url in public_urls(units):
        r = c.get(url)
        assert r.status_code in (200, 400, 404), (url, r.status_code)
        body = r.get_data(as_text=True) + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        leaked = [s for s in secrets if s in body]
        assert not leaked, (url, leaked[:3])
        # No dossier-code shape at all (unit-yymmdd-suffix), whatever the data.
        assert not re.search(r"H\d{2}(\.\d+)+-\d{6}-", body), url
        checked += 1
    assert checked == len(public_urls(units)) > 50
