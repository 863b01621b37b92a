"""The public Decision 766 page, its open data, widgets and the dossier lookup, on real parts:
`ioc simulate` writes five days of the province (events with personal fields added, as a source
system may send them, and petitions), the sink's row functions store them in chDB with the
SAMPLE catalogue (as `ioc up` does), `ioc kpi --from-warehouse` computes November and December
from that warehouse, then the public surface (the real security layer, waitress on a free
port) serves it over HTTP and to headless Chromium.

Checked: the CSV and JSON equal `ioc kpi --from-warehouse` for the same period and instant;
a crawl of every link and form option from /public/ and /public/766 finds no dossier code, event
id or personal value anywhere but in the lookup's own answer; the lookup answers unknown and
hidden codes identically, and has its own stricter rate limit; every page and an embed at 360
and 1920 px pass axe-core (WCAG 2.1 A/AA) with zero violations, work without JavaScript, print,
and weigh under 100 KB. Screenshots land in tests/artifacts/.

"Now" is pinned for the module (IOC_NOW; the surface's clock is that instant, fixed).
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
import requests

from ioc.clock import LOCAL_TZ
from ioc.process import free_port, wait_until
from tests.helpers import child_env, env_clock

pytestmark = pytest.mark.integration

NOW = "2026-12-02T10:00:00+07:00"  # a Wednesday: November is closed, December has begun
AT = datetime.fromisoformat(NOW).astimezone(LOCAL_TZ)
CLOSED, CURRENT = "2026-11", "2026-12"
OUTSIDE_CODE = "H45.01-261201-0001"  # a dossier of a unit outside the province: never shown
AXE = Path(__file__).resolve().parents[1] / ".node" / "node_modules" / "axe-core" / "axe.min.js"
CODE_SHAPE = re.compile(r"H4\d(?:\.\d+)+-\d{6}-\d{4}")  # a dossier code as the simulator writes them
UUID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PERSONAL = ("Bảo Mật", "Bí Mật", "0912-77", "0011223", "applicant_name", "id_number", '"phone"', '"address"')
MAX_BYTES = 100 * 1024


@pytest.fixture(scope="module", autouse=True)
def pinned_clock() -> Iterator[None]:
    with env_clock(NOW):
        yield


def ioc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True, env=child_env(),
                          timeout=600)


def with_personal_data(src: Path, dst: Path) -> tuple[str, str]:
    """The simulated events plus what a source system may send along (never to be shown), and
    one dossier of a unit outside the province; returns a found code and its procedure."""
    out = []
    for i, line in enumerate(src.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        e = json.loads(line)
        e |= {"applicant_name": f"Nguyễn Văn Bảo Mật {i:05d}", "id_number": f"0011223{i:05d}",
              "phone": f"0912-77{i:04d}", "address": f"Số {i} đường Bí Mật, phường Việt Trì"}
        out.append(e)
    outside = {"event_id": "outside-2", "dossier_code": OUTSIDE_CODE, "status": 2, "unit_code": "H45.01",
               "occurred_at": "2026-12-01T09:00:00+07:00", "procedure_code": "1.001612", "channel": 2,
               "due_at": "2026-12-04T17:00:00+07:00", "applicant_name": "Nguyễn Văn Bảo Mật ngoài tỉnh"}
    out.append(outside)
    dst.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in out), encoding="utf-8")
    received = [e for e in out if e["status"] == 2 and e["unit_code"].startswith("H44.")]
    return received[len(received) // 2]["dossier_code"], received[len(received) // 2]["procedure_code"]


@dataclass
class Site:
    base: str
    surface: Any
    kpi: dict[str, dict[str, Any]]  # period -> `ioc kpi --from-warehouse` report
    found_code: str
    hidden_code: str
    events: list[dict[str, Any]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import flask
    from waitress.server import create_server

    from dashboards.auth import WebSecurity
    from dashboards.live_state import LiveState
    from dashboards.public import mount_public
    from dashboards.public.bench import fill_warehouse, live_tallies
    from dashboards.server import unit_levels, unit_names
    from ioc.config import Settings
    from ioc.warehouse.backends import ChdbWarehouse, ensure_schema

    data = tmp_path_factory.mktemp("public766")
    raw, pakn, events_path = data / "raw.jsonl", data / "pakn.jsonl", data / "events.jsonl"
    made = ioc("simulate", "--out", str(raw), "--pakn-out", str(pakn), "--backfill-days", "5", "--seconds", "1",
               "--seed", "11")
    assert made.returncode == 0, made.stderr
    found_code, _ = with_personal_data(raw, events_path)
    events = [json.loads(line) for line in events_path.read_text(encoding="utf-8").splitlines()]
    # A dossier of another procedure than the found one's, hidden from the lookup by the settings.
    found_procedure = next(e["procedure_code"] for e in events if e["dossier_code"] == found_code)
    hidden = next(e for e in events if e["status"] == 2 and e["unit_code"].startswith("H44.")
                  and e["procedure_code"] != found_procedure)

    warehouse = ChdbWarehouse(data / "chdb", database="ioc")
    ensure_schema(warehouse)
    fill_warehouse(warehouse, events_path, pakn, AT)
    warehouse.close()  # chDB: one process at a time; `ioc kpi` reads it next
    kpi = {}
    for period, at in ((CLOSED, None), (CURRENT, NOW)):
        args = ["kpi", "--from-warehouse", "--data-dir", str(data), "--period", period] + (["--at", at] if at else [])
        done = ioc(*args)
        assert done.returncode == 0, done.stderr
        kpi[period] = json.loads(done.stdout)

    warehouse = ChdbWarehouse(data / "chdb", database="ioc")
    port = free_port()
    settings = Settings.model_validate({
        "data_dir": str(data), "web": {"port": port, "trusted_proxy_hops": 1},
        "public": {"frame_ancestors": ["https://dichvucong.phutho.gov.vn"], "burst": 10_000,
                   "rate_per_minute": 100_000, "lookup_burst": 1_000, "lookup_rate_per_minute": 10_000,
                   "lookup_hidden_procedures": [hidden["procedure_code"]]},
    })
    server = flask.Flask("public-766-test", static_folder=None)
    security = WebSecurity.from_settings(settings)
    security.install(server)
    state = LiveState()
    state.apply_snapshot({"computed_at": NOW, "partition": 0, "units": live_tallies(events_path, AT)})
    surface = mount_public(server, security, settings.public, state, lambda: warehouse, unit_names(settings),
                           "Tỉnh Phú Thọ", clock=lambda: AT, levels=unit_levels(settings))
    surface.cold_wait_s = None  # the tests wait for a period's first replay instead of polling a 503
    security.finish(server)
    httpd = create_server(server, host="127.0.0.1", port=port, threads=6, clear_untrusted_proxy_headers=False)
    thread = threading.Thread(target=httpd.run, name="waitress-public-766", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/public/static/766.css", timeout=2).status_code == 200, 30,
                   f"public surface on :{port}")
        yield Site(base, surface, kpi, found_code, hidden["dossier_code"], events)
    finally:
        httpd.close()
        thread.join(10)
        surface.stop()
        warehouse.close()


def get(site: Site, path: str, **kw: Any) -> requests.Response:
    return requests.get(site.base + path, timeout=600, **kw)


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


# -- numbers: the page's open data is `ioc kpi --from-warehouse` ---------------------------------------


@pytest.mark.parametrize("period", [CLOSED, CURRENT])
def test_the_csv_and_json_are_ioc_kpi_from_the_warehouse(site, period):
    expected = site.kpi[period]
    r = get(site, f"/public/766.csv?table=unit-indicators&period={period}")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Cache-Control"] == "public, max-age=60" and r.headers["ETag"]
    rows = read_csv(r.text)
    assert {row["period"] for row in rows} == {period}
    assert {row["at"] for row in rows} == {expected["period"]["at"]}  # the same evaluation instant
    assert all(row["computed_at"] for row in rows) and {row["period_from"] for row in rows} == {expected["period"]["from"]}
    got = {(row["unit"], row["indicator"]): row for row in rows}
    compared = 0
    assert {u for u, _ in got} == {u["unit"] for u in expected["units"]}
    for unit in expected["units"]:
        for ind, v in unit["indicators"].items():
            row = got[(unit["unit"], ind)]
            assert (number(row["numerator"]), number(row["denominator"]), number(row["ratio"]),
                    number(row["score"]), number(row["max_score"])) == (
                v["numerator"], v["denominator"], v["ratio"], v["score"], v["max_score"]), (unit["unit"], ind)
            assert row["missing"] == ""
            compared += 1
        for ind, why in unit["missing"].items():
            assert got[(unit["unit"], ind)]["missing"] == why
    assert compared > 2000

    units = read_csv(get(site, f"/public/766.csv?table=units&period={period}").text)
    by_code = {u["unit"]: u for u in expected["units"]}
    assert len(units) == len(expected["units"]) - 1  # every unit, the province's row apart
    for row in units:
        assert (float(row["total_score"]), int(row["max_score"]), row["band"] or None) == (
            by_code[row["unit"]]["total_score"], by_code[row["unit"]]["max_score"], by_code[row["unit"]]["band"])

    doc = get(site, f"/public/766.json?table=indicators&period={period}").json()
    assert doc["period"]["label"] == period and doc["period"]["at"] == expected["period"]["at"]
    assert doc["computed_at"] and doc["scoring"] == expected["scoring"]
    province = expected["units"][0]
    assert province["unit"] == doc["unit"] == "PROVINCE"
    for row in doc["rows"]:
        ind = province["indicators"].get(row["indicator"])
        if ind is None:
            assert row["missing"] == province["missing"][row["indicator"]]
        else:
            assert {k: row[k] for k in ind} == ind


def test_the_page_shows_the_same_numbers_and_explains_each_indicator(site):
    expected = site.kpi[CLOSED]["units"][0]
    r = get(site, f"/public/766?period={CLOSED}")
    assert r.status_code == 200
    html = r.text
    total = f"{expected['total_score']:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    assert f"<strong>{total}</strong>" in html
    ontime = expected["indicators"]["2.1"]
    assert f"{ontime['numerator']:,}".replace(",", ".") + " / " + f"{ontime['denominator']:,}".replace(",", ".") in html
    assert "Hồ sơ được giải quyết trước hoặc đúng hẹn" in html  # what 2.1 measures, in plain words
    assert "Chưa tính được" in html  # 2.2 (one procedure only): said so, with the reason
    assert html.count('class="spark"') == 24  # every indicator's 12-month trend
    assert re.search(r'aria-label="[^"]+, 12 tháng: 12/2025 không có; [^"]*11/2026 [0-9.,]+ %"', html)
    en = get(site, f"/public/766?period={CLOSED}&lang=en").text
    assert 'lang="en"' in en and "Dossiers handled early or on time" in en and "Not computed" in en
    policy = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy and "frame-ancestors 'none'" in policy
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/public/static/tables.js" defer>']
    again = get(site, f"/public/766?period={CLOSED}", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


def test_a_unit_page_by_path_and_by_parameter(site):
    unit = next(u for u in site.kpi[CLOSED]["units"][1:] if u["unit"].startswith("H44.") and u["unit"].count(".") == 1)
    by_path = get(site, f"/public/766/unit/{unit['unit']}?period={CLOSED}")
    by_param = get(site, f"/public/766?unit={unit['unit']}&period={CLOSED}")
    assert by_path.status_code == by_param.status_code == 200
    total = f"{unit['total_score']:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    for r in (by_path, by_param):
        assert f"<strong>{total}</strong>" in r.text and "Hạng " in r.text and "Về trang toàn tỉnh" in r.text


@pytest.mark.parametrize("url, name", [
    ("/public/766?period=2026-13", "period"),
    ("/public/766?period=2027", "period"),
    ("/public/766?unit=H99.99", "unit"),
    ("/public/766?sort=score", "sort"),
    ("/public/766/unit/H44.07?unit=H44.08", "unit"),
    ("/public/766.csv?table=dossiers", "table"),
    ("/public/766.json?lang=en", "lang"),
    ("/public/widget/indicator/9.9", "indicator"),
    ("/public/widget/group/6", "group"),
    ("/public/widget/ranking/provinces", "ranking"),
    ("/public/widget/trend/2.1?period=2027-Q1", "period"),
    ("/public/widget/gauge/2.1", "widget"),
    ("/public/tra-cuu?ma=<script>", "ma"),
    ("/public/?widget=indicator/9.9", "widget"),
])
def test_a_bad_parameter_is_a_400_naming_it(site, url, name):
    r = get(site, url)
    assert r.status_code == 400, url
    assert f"Bad parameter &#x27;{name}&#x27;" in r.text and r.headers["Cache-Control"] == "no-store"


def test_every_widget_kind_is_embeddable_and_cached(site):
    for path in ("indicator/2.1", "indicator/4.5b", "group/3", "ranking/communes", "ranking/departments",
                 "trend/total", "trend/3.3"):
        for query in ("", f"?period={CLOSED}&lang=en&theme=dark", "?period=2026-Q4&unit=H44.07"):
            r = get(site, f"/public/widget/{path}{query}")
            assert r.status_code == 200, (path, query)
            policy = r.headers["Content-Security-Policy"]
            assert "frame-ancestors 'self' https://dichvucong.phutho.gov.vn" in policy and "default-src 'none'" in policy
            assert "<script" not in r.text and r.headers["Cache-Control"] == "public, max-age=60"
            assert 'id="widget-value"' in r.text
    ontime = site.kpi[CLOSED]["units"][0]["indicators"]["2.1"]
    shown = get(site, f"/public/widget/indicator/2.1?period={CLOSED}&lang=en").text
    assert f"{ontime['ratio'] * 100:.2f}".rstrip("0").rstrip(".") + '<span class="w-sign">%</span>' in shown


# -- the dossier lookup ----------------------------------------------------------------------------------


def test_the_lookup_shows_a_dossiers_progress_and_nothing_personal(site):
    from dashboards.public.lookup import look_up
    from dashboards.server import unit_names
    from ioc.config import Settings
    from ioc.domain.events import parse_event

    r = get(site, f"/public/tra-cuu?ma={site.found_code}")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    mine = [parse_event(e) for e in site.events if e["dossier_code"] == site.found_code]
    answer = look_up(mine, site.found_code, AT, unit_names(Settings()), ())
    assert answer is not None
    text = r.text
    assert site.found_code in text and answer.received.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y") in text
    assert "Ngày hẹn trả kết quả" in text and "Tiến độ" in text and "Bước hiện tại" in text
    assert not [p for p in PERSONAL if p in text]
    assert CODE_SHAPE.findall(text) == [site.found_code] * len(CODE_SHAPE.findall(text))
    assert not UUID_SHAPE.search(text)


def test_unknown_and_hidden_codes_are_answered_alike(site):
    def ask(code: str) -> tuple[int, str, float]:
        started = time.perf_counter()
        r = get(site, f"/public/tra-cuu?ma={code}")
        return r.status_code, r.text.replace(code, "CODE"), time.perf_counter() - started

    unknown = ask("H44.07-991231-9999")
    outside = ask(OUTSIDE_CODE)  # stored, of a unit outside the province
    hidden = ask(site.hidden_code)  # stored, of a procedure listed in public.lookup_hidden_procedures
    assert unknown[0] == outside[0] == hidden[0] == 404
    assert unknown[1] == outside[1] == hidden[1]
    from dashboards.public.lookup import FLOOR_S

    times = [unknown[2], outside[2], hidden[2]]
    assert min(times) >= FLOOR_S and max(times) < 10 * max(min(times), 0.2), times


def test_lookups_have_their_own_stricter_rate_limit(site):
    from dashboards.public.ratelimit import RateLimiter

    surface = site.surface
    kept = surface.lookup_limiter
    surface.lookup_limiter = RateLimiter(per_minute=6, burst=2)
    me = {"X-Forwarded-For": "198.51.100.7"}
    try:
        codes = [get(site, f"/public/tra-cuu?ma=H44.07-000000-000{i}", headers=me).status_code for i in range(3)]
        assert codes == [404, 404, 429]
        limited = get(site, f"/public/tra-cuu?ma={site.found_code}", headers=me)
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 10
        assert site.found_code not in limited.text
        # The same client's pages and the empty form are not in that budget; another client has its own.
        assert get(site, "/public/tra-cuu", headers=me).status_code == 200
        assert get(site, f"/public/766?period={CLOSED}", headers=me).status_code == 200
        assert get(site, f"/public/tra-cuu?ma={site.found_code}",
                   headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 200
    finally:
        surface.lookup_limiter = kept


# -- the crawl: nothing personal anywhere ------------------------------------------------------------------


class Crawl:
    """Every link, frame, script, stylesheet and form option reachable from the roots. The roots'
    own links and options are all followed (every unit, every period of the picker, every
    widget of the index, both languages); deeper ones once per kind of page (:meth:`shape`), so
    each kind is seen without asking for every unit in every period in both languages."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.seen: set[str] = set()
        self.shapes: set[str] = set()
        self.fetched: dict[str, requests.Response] = {}

    @staticmethod
    def shape(url: str) -> str:
        """The kind of page: its path and parameters, with the unit, language and theme
        generalised and a period by its kind (month, quarter, year)."""
        parts = urlsplit(url)
        path = re.sub(r"/unit/[^/?]+", "/unit/*", parts.path)

        def general(k: str, v: str) -> str:
            if k in ("unit", "lang", "theme"):
                return "*"
            if k == "period":
                return "quarter" if "Q" in v else "month" if "-" in v else "year" if v else ""
            return v

        query = sorted((k, general(k, v)) for k, v in parse_qsl(parts.query, keep_blank_values=True))
        return path + "?" + urlencode(query)

    def links(self, url: str, html: str) -> list[str]:
        found = [urljoin(url, h.replace("&amp;", "&")).split("#")[0]
                 for h in re.findall(r'(?:href|src)="([^"]+)"', html)]
        for form in re.findall(r"<form\b(.*?)</form>", html, re.S):
            action = urljoin(url, re.search(r'action="([^"]*)"', form).group(1))
            fields: dict[str, list[str]] = {}
            chosen: dict[str, str] = {}
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
                chosen[name] = value
            for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
                options = re.findall(r'<option value="([^"]*)"', body)
                fields[name] = options
                selected = re.search(r'<option value="([^"]*)" selected', body)
                chosen[name] = selected.group(1) if selected else (options[0] if options else "")
            for name in re.findall(r'<input id="[^"]+" name="([^"]+)"', form):
                chosen.setdefault(name, "")
            found.append(action + "?" + urlencode(chosen))
            for name, options in fields.items():  # every option of every select, the others as chosen
                for option in options:
                    found.append(action + "?" + urlencode({**chosen, name: option}))
        return [u for u in found if u.startswith(self.base + "/public")]

    def run(self, roots: list[str], log: Path | None = None) -> None:
        queue: deque[tuple[str, int]] = deque((self.base + r, 0) for r in roots)
        session = requests.Session()
        out = open(log, "w", encoding="utf-8") if log else None
        while queue:
            url, depth = queue.popleft()
            if url in self.seen:
                continue
            shape = self.shape(url)
            if depth > 1 and shape in self.shapes:
                continue
            self.seen.add(url)
            self.shapes.add(shape)
            started = time.perf_counter()
            r = session.get(url, timeout=600)
            self.fetched[url] = r
            if out is not None:
                out.write(f"{time.perf_counter() - started:.3f} {r.status_code} {len(r.content)} {url}\n")
                out.flush()
            if r.headers.get("Content-Type", "").startswith("text/html"):
                for link in self.links(url, r.text):
                    if link not in self.seen:
                        queue.append((link, depth + 1))


def test_a_crawl_of_the_public_surface_finds_no_dossier_code_or_personal_field(site, artifacts):
    crawl = Crawl(site.base)
    crawl.run(["/public/", "/public/766"], log=artifacts / "public-766-crawl.log")
    kinds = {re.sub(r"/unit/[^/?]+", "/unit/*", urlsplit(u).path) for u in crawl.fetched}
    for expected in ("/public/", "/public/766", "/public/766/unit/*", "/public/766.csv", "/public/766.json",
                     "/public/tra-cuu", "/public/widget/score", "/public/widget/indicator/2.1",
                     "/public/widget/ranking/communes", "/public/widget/trend/total", "/public/static/tables.js"):
        assert expected in kinds, (expected, sorted(kinds)[:40])
    units_on_page = len(re.findall(r'href="/public/766/unit/', crawl.fetched[site.base + "/public/766"].text))
    assert units_on_page > 250
    periods = {dict(parse_qsl(urlsplit(u).query)).get("period") for u in crawl.fetched if "/public/766" in u}
    assert {"2026-11", "2026-Q4", "2026", "2024"} <= periods
    bad = []
    for url, r in crawl.fetched.items():
        assert r.status_code in (200, 304), (url, r.status_code)
        text = r.text + json.dumps(dict(r.headers))
        if CODE_SHAPE.search(text) or UUID_SHAPE.search(text) or any(p in text for p in PERSONAL) \
                or OUTSIDE_CODE in text:
            bad.append(url)
    assert not bad, bad[:5]
    assert len(crawl.fetched) > 600


# -- in the browser: accessible, responsive, without JavaScript, printable, light ------------------------


def browser(width: int, height: int, javascript: bool = True) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
                 f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        opts.add_argument(flag)
    if not javascript:
        opts.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    assert AXE.exists(), f"{AXE} is missing: run scripts/setup --test (it installs axe-core with npm)"
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},"
        " resultTypes: ['violations']}).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))),"
        " e => done([{id: 'error', help: String(e)}]));")


def full_screenshot(driver: Any, path: Path, width: int) -> None:
    height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 12000)")
    driver.set_window_size(width, max(600, height))
    driver.save_screenshot(str(path))


@pytest.mark.parametrize("width, height", [(360, 780), (1920, 1080)])
def test_pages_and_an_embed_are_accessible_and_fit(site, artifacts, width, height):
    from selenium.webdriver.common.by import By

    pages = {
        "page": f"/public/766?period={CLOSED}",
        "unit": "/public/766/unit/H44.07",
        "lookup": f"/public/tra-cuu?ma={site.found_code}",
        "lookup-unknown": "/public/tra-cuu?ma=H44.07-991231-9999&lang=en",
        "embed": "/public/widget/ranking/communes?unit=H44.128",
        "embed-trend": "/public/widget/trend/2.1?theme=dark&lang=en",
    }
    driver = browser(width, height)
    try:
        # The checker finds what it should (a page with none of the above fails it).
        driver.get("data:text/html,<html><body><img src='x.png'><input></body></html>")
        assert {v["id"] for v in axe_violations(driver)} >= {"html-has-lang", "image-alt", "label"}
        for name, path in pages.items():
            driver.set_window_size(width, height)
            driver.get(site.base + path)
            assert driver.find_element(By.TAG_NAME, "main").is_displayed()
            violations = axe_violations(driver)
            assert violations == [], (name, width, violations)
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (name, width, overflow)  # wide tables scroll in their own region
            if name.startswith("embed"):  # the widget fills whatever frame it is given
                driver.save_screenshot(str(artifacts / f"public-766-{name}-{width}.png"))
            else:
                full_screenshot(driver, artifacts / f"public-766-{name}-{width}.png", width)
        csp = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]
               or "Refused" in e["message"]]
        assert not csp, csp
    finally:
        driver.quit()


def test_sorting_and_search_with_javascript(site, artifacts):
    from selenium.webdriver.common.by import By

    driver = browser(1400, 1000)
    try:
        driver.get(site.base + f"/public/766?period={CLOSED}")
        table = driver.find_element(By.CSS_SELECTOR, "#h-communes ~ .scroll table")
        def rows() -> list[str]:  # the unit names shown, in order (one script call, not one per row)
            return driver.execute_script(
                "return Array.from(arguments[0].tBodies[0].rows).filter(r => !r.hidden)"
                ".map(r => r.cells[1].innerText.trim());", table)

        ranked = rows()
        table.find_element(By.CSS_SELECTOR, "thead th:nth-child(2) button").click()
        by_name = rows()
        assert by_name != ranked and sorted(by_name) == sorted(ranked)
        header = table.find_element(By.CSS_SELECTOR, "thead th:nth-child(2)")
        assert header.get_attribute("aria-sort") == "ascending"
        search = driver.find_element(By.ID, "find-1")
        word = ranked[len(ranked) // 2].split(" H44.")[0].split()[-1]  # a commune's last name word
        search.send_keys(word)
        shown = rows()
        assert shown and all(word.lower() in s.lower() for s in shown) and len(shown) < len(ranked)
        assert "/" in driver.find_element(By.CSS_SELECTOR, "#h-communes ~ .finder [role=status]").text
        driver.save_screenshot(str(artifacts / "public-766-search.png"))
    finally:
        driver.quit()


def test_without_javascript_the_page_reads_and_the_period_form_works(site, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = browser(1280, 900, javascript=False)
    try:
        driver.get(site.base + "/public/766")
        assert not driver.find_elements(By.CSS_SELECTOR, "button.sorter")  # the script did not run
        assert len(driver.find_elements(By.CSS_SELECTOR, "table.units tbody tr")) > 250
        Select(driver.find_element(By.ID, "period")).select_by_value("2026-Q4")
        driver.find_element(By.CSS_SELECTOR, ".picker button[type=submit]").click()
        WebDriverWait(driver, 60).until(lambda d: "period=2026-Q4" in d.current_url)
        assert "Quý 4/2026" in driver.find_element(By.ID, "h-total").text
        driver.save_screenshot(str(artifacts / "public-766-no-js-quarter.png"))
    finally:
        driver.quit()


def test_it_prints_and_weighs_under_100_kb(site, artifacts):
    import base64

    from selenium.webdriver.common.by import By

    for path in ("/public/766", f"/public/766?period={CLOSED}&lang=en", "/public/766?period=2026"):
        page = get(site, path)
        css = get(site, "/public/static/766.css")
        js = get(site, "/public/static/tables.js")
        weight = len(page.content) + len(css.content) + len(js.content)
        assert weight < MAX_BYTES, (path, weight)
    driver = browser(1280, 900)
    try:
        driver.get(site.base + f"/public/766?period={CLOSED}")
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert not driver.find_element(By.CSS_SELECTOR, "form.picker").is_displayed()
        assert driver.find_element(By.CSS_SELECTOR, "table.ind").is_displayed()
        full_screenshot(driver, artifacts / "public-766-print-media.png", 1000)
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": False, "paperWidth": 8.27,
                                                         "paperHeight": 11.69})
        out = artifacts / "public-766-print.pdf"
        out.write_bytes(base64.b64decode(pdf["data"]))
        assert out.stat().st_size > 10_000
    finally:
        driver.quit()
