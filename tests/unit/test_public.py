"""Pure parts of the public embeds: URL parameters, the widget's number, the cache, the rate
limit and the HTML."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dashboards.public.app import csp, frame_ancestors, recent_months
from dashboards.public.cache import TTLCache
from dashboards.public.figures import figure, tally_for
from dashboards.public.params import ParamError, parse_query
from dashboards.public.ratelimit import RateLimiter, client_address
from dashboards.public.render import WidgetView, embed_code, fmt_number, index_page, widget_page
from ioc.clock import LOCAL_TZ
from ioc.kpi.live import province_total, wall_view

NOW = datetime(2026, 11, 18, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội
UNITS = {"H44.07": "Sở Xây dựng tỉnh Phú Thọ", "H44.101": "UBND phường Việt Trì"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- parameters -------------------------------------------------------------------------------


def test_defaults_are_the_province_this_month_in_vietnamese():
    q = parse_query("score", {}, UNITS, NOW)
    assert (q.kind, q.unit, q.month, q.lang, q.theme) == ("score", None, "2026-11", "vi", "auto")
    q = parse_query("online", {"unit": "h44.101", "period": "2026-09", "lang": "en", "theme": "dark"}, UNITS, NOW)
    assert (q.kind, q.unit, q.month, q.lang, q.theme) == ("online", "H44.101", "2026-09", "en", "dark")
    assert q.query_string("2026-11") == "unit=H44.101&period=2026-09&lang=en&theme=dark"
    assert parse_query("ontime", {"period": "2026-11"}, UNITS, NOW).query_string("2026-11") == ""


@pytest.mark.parametrize("kind, args, name, words", [
    ("score", {"unit": "H99.1"}, "unit", "H99.1"),
    ("score", {"period": "2026-13"}, "period", "01..12"),
    ("score", {"period": "11/2026"}, "period", "YYYY-MM"),
    ("score", {"period": "2026-Q4"}, "period", "YYYY-MM"),
    ("score", {"period": "2026-12"}, "period", "has not started"),
    ("score", {"lang": "fr"}, "lang", "vi, en"),
    ("score", {"theme": "pink"}, "theme", "auto, light, dark"),
    ("score", {"units": "H44.07"}, "units", "unknown parameter"),
    ("speed", {}, "widget", "score, ontime, online"),
])
def test_a_bad_parameter_is_named_with_the_problem(kind, args, name, words):
    with pytest.raises(ParamError) as caught:
        parse_query(kind, args, UNITS, NOW)
    assert caught.value.name == name
    assert words in caught.value.en
    assert caught.value.vi and caught.value.vi != caught.value.en


def test_a_repeated_parameter_and_a_long_value_are_refused_clearly():
    with pytest.raises(ParamError) as caught:
        parse_query("score", {"unit": "H44.07"}, UNITS, NOW, repeated={"unit": 2})
    assert caught.value.name == "unit" and "once" in caught.value.en
    with pytest.raises(ParamError) as caught:
        parse_query("score", {"unit": "X" * 500}, UNITS, NOW)
    assert len(caught.value.en) < 250 and "…" in caught.value.en


def test_the_month_boundary_is_local_time():
    # 31 Oct 17:30 UTC is already 1 November in Vietnam: November is this month, not the future.
    at = datetime(2026, 10, 31, 17, 30, tzinfo=timezone.utc)
    assert parse_query("score", {"period": "2026-11"}, UNITS, at).month == "2026-11"
    assert recent_months(at, 3) == ["2026-11", "2026-10", "2026-09"]
    assert recent_months(datetime(2026, 1, 5, tzinfo=LOCAL_TZ), 2) == ["2026-01", "2025-12"]


# -- the number -------------------------------------------------------------------------------

TALLIES = {
    "H44.07": {"counted": 10, "good": 8, "received": 12, "3.3:den": 12, "3.3:num": 3, "3.3:num_known": 12},
    "H44.101": {"counted": 30, "good": 15, "received": 20, "3.3:den": 20, "3.3:num": 15, "3.3:num_known": 20},
}


def test_rates_are_the_indicators_of_the_unit_or_the_province():
    unit = figure("ontime", tally_for(TALLIES, "H44.07"), NOW)
    assert (unit.value, unit.numerator, unit.denominator) == (0.8, 8, 10)
    province = figure("ontime", tally_for(TALLIES, None), NOW)
    assert (province.numerator, province.denominator) == (23, 40)
    online = figure("online", tally_for(TALLIES, None), NOW)
    assert (online.numerator, online.denominator) == (18, 32)
    assert online.value == pytest.approx(18 / 32)


def test_the_score_is_the_walls_projected_score():
    for unit in (None, "H44.07"):
        t = tally_for(TALLIES, unit)
        shown = figure("score", t, NOW)
        view = wall_view(t if unit else province_total(TALLIES), NOW)
        assert shown.value == view["score"] and shown.maximum == view["max_score"]
        assert shown.indicators == len(view["indicators"]) == 2


def test_no_data_is_none_not_zero():
    assert figure("score", tally_for(TALLIES, "H44.09"), NOW).value is None
    assert figure("online", {"counted": 3, "good": 3}, NOW).value is None
    assert figure("ontime", {}, NOW).value is None


# -- cache and rate limit ---------------------------------------------------------------------


def test_the_cache_keeps_a_value_for_its_ttl_and_a_bounded_number_of_entries():
    clock = FakeClock()
    cache: TTLCache[int] = TTLCache(60, max_entries=2, clock=clock)
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get_or_compute("a", compute) == (1, False)
    clock.now += 59.9
    assert cache.get_or_compute("a", compute) == (1, True)
    clock.now += 0.2
    assert cache.get_or_compute("a", compute) == (2, False)
    cache.put("b", 10)
    cache.put("c", 11)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") == 11


def test_the_rate_limit_allows_a_burst_then_the_rate_per_client():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.take("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("10.0.0.1") == 1.0  # one a second after the burst
    assert limiter.take("10.0.0.2") == 0.0  # another client has its own bucket
    clock.now += 1.0
    assert limiter.take("10.0.0.1") == 0.0
    assert limiter.take("10.0.0.1") >= 1.0
    slow = RateLimiter(per_minute=2, burst=1, clock=clock)
    assert slow.take("x") == 0.0 and slow.take("x") == 30.0


def test_the_rate_limit_forgets_the_quietest_clients_first():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=1, burst=1, clock=clock, max_clients=2)
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # evicts a
    assert limiter.take("a") == 0.0 and limiter.take("c") > 0


def test_the_client_is_the_peer_unless_trusted_proxies_say_otherwise():
    assert client_address("10.1.1.1", "6.6.6.6", 0) == "10.1.1.1"  # a forged header is ignored
    assert client_address("10.1.1.1", "6.6.6.6, 203.0.113.9", 1) == "203.0.113.9"
    assert client_address("10.1.1.1", "203.0.113.9, 10.1.1.2", 2) == "203.0.113.9"
    assert client_address("10.1.1.1", "203.0.113.9", 2) == "10.1.1.1"  # bypassed a proxy
    assert client_address(None, None, 1) == "?"


# -- HTML -------------------------------------------------------------------------------------


def test_numbers_in_vietnamese_and_english():
    assert fmt_number(1234.5, 1, "vi") == "1.234,5" and fmt_number(1234.5, 1, "en") == "1,234.5"
    assert fmt_number(80.0, 1, "vi") == "80" and fmt_number(72.35, 2, "vi") == "72,35"


def test_a_widget_page_has_no_script_escapes_names_and_shows_the_figure():
    q = parse_query("ontime", {"unit": "H44.07", "theme": "dark"}, UNITS, NOW)
    shown = figure("ontime", tally_for(TALLIES, "H44.07"), NOW)
    at = datetime(2026, 11, 18, 9, 58, tzinfo=LOCAL_TZ)
    html = widget_page(WidgetView(q, "Sở <b>Xây</b> dựng", shown, at, 60))
    assert "<script" not in html.lower() and "_dash" not in html
    assert "Sở &lt;b&gt;Xây&lt;/b&gt; dựng" in html
    assert '80<span class="w-sign">%</span>' in html and "8 / 10 hồ sơ" in html
    assert 'class="theme-dark"' in html and 'http-equiv="refresh" content="60"' in html
    assert "Tháng 11/2026 · Cập nhật 09:58 18/11/2026" in html
    assert 'width="80.00"' in html  # the bar


def test_the_index_lists_every_widget_with_preview_and_embed_code():
    q = parse_query("score", {"unit": "H44.07", "lang": "en"}, UNITS, NOW)
    html = index_page(q, UNITS, ["2026-11", "2026-10"], "https://ioc.example.vn", "unit=H44.07&lang=en")
    for kind in ("score", "ontime", "online"):
        assert f'id="preview-{kind}" src="/public/widget/{kind}?unit=H44.07&amp;lang=en"' in html
        assert (f"&lt;iframe src=&quot;https://ioc.example.vn/public/widget/{kind}?unit=H44.07&amp;amp;lang=en"
                in html)
    assert '<option value="H44.07" selected>' in html
    assert html.count("<script") == 1 and 'src="/public/static/copy.js"' in html
    assert 'lang="en"' in html and "Embed code" in html


def test_embed_code_is_an_iframe_of_the_widget():
    code = embed_code("https://ioc.example.vn/public/widget/score?unit=H44.07", "Điểm 766")
    assert code.startswith('<iframe src="https://ioc.example.vn/public/widget/score?unit=H44.07"')
    assert 'title="Điểm 766"' in code and code.endswith("</iframe>")


def test_csp_allows_only_the_listed_sites_to_frame_widgets():
    policy = csp(frame_ancestors(("https://dichvucong.phutho.gov.vn",)), "widget")
    assert "frame-ancestors 'self' https://dichvucong.phutho.gov.vn" in policy
    assert "default-src 'none'" in policy and "script-src" not in policy and "connect-src" not in policy
    assert "frame-ancestors 'self'" in csp(frame_ancestors(()), "widget")
    index = csp("'none'", "index")
    assert "script-src 'self'" in index and "frame-ancestors 'none'" in index
