"""The public Decision 766 page, open data, widgets and lookup: the pure parts (parameters,
tables, HTML, the lookup's judgement) and the report store's caching, without a warehouse.
Reports come from the real engine (``replay_many`` over hand-made events); every instant is
fixed, so the tests do not depend on the day they run."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import datetime
from typing import Any

import pytest

from dashboards.public.lookup import Answer, look_up, lookup_page
from dashboards.public.page766 import PageView, report_page, spark
from dashboards.public.params import (
    LookupQuery,
    ParamError,
    ReportQuery,
    parse_data_query,
    parse_item_widget,
    parse_lookup,
    parse_report_period,
    parse_report_query,
    period_choices,
    trend_months,
)
from dashboards.public.reports import Computing, PeriodReport, ReportStore, Unavailable
from dashboards.public.tables import (
    indicator_rows,
    rankings,
    registry_of,
    to_csv,
    to_json,
    trend_rows,
    unit_indicator_rows,
    unit_rows,
)
from dashboards.public.widgets766 import ItemView, item_widget
from ioc.clock import LOCAL_TZ
from ioc.commands.kpi_replay import replay_many
from ioc.domain.events import parse_event
from ioc.kpi.indicators import Sources
from ioc.kpi.periods import parse_period

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ)
NOV, DEC = parse_period("2026-11"), parse_period("2026-12")
NAMES = {"H44.07": "Sở <b>Xây</b> dựng", "H44.101": "UBND phường Việt Trì", "H44.102": "UBND xã Một",
         "H44.103": "UBND xã Hai"}
LEVELS = {"H44.07": "province", "H44.101": "commune", "H44.102": "commune", "H44.103": "commune"}
IDS = registry_of(NOV).indicator_ids


def ev(eid: str, code: str, status: int, at: str, unit: str = "H44.07", **extra: Any) -> dict[str, Any]:
    return {"event_id": eid, "dossier_code": code, "unit_code": unit, "procedure_code": "1.001612",
            "status": status, "occurred_at": at + "+07:00", **extra}


EVENTS = [
    ev("a2", "H44.07-261103-0001", 2, "2026-11-03T09:00:00", due_at="2026-11-06T17:00:00+07:00", channel=2,
       applicant_name="Nguyễn Văn Bảo Mật", phone="0912-770001"),
    ev("a9", "H44.07-261103-0001", 9, "2026-11-05T10:00:00", e_result=True),
    ev("b2", "H44.07-261104-0002", 2, "2026-11-04T09:00:00", due_at="2026-11-05T17:00:00+07:00", channel=1),
    ev("c2", "H44.101-261110-0001", 2, "2026-11-10T09:00:00", unit="H44.101",
       due_at="2026-11-20T17:00:00+07:00", channel=2),
    ev("c9", "H44.101-261110-0001", 9, "2026-11-12T09:00:00", unit="H44.101"),
    ev("d2", "H44.102-261111-0001", 2, "2026-11-11T09:00:00", unit="H44.102",
       due_at="2026-11-20T17:00:00+07:00", channel=2),
    ev("d9", "H44.102-261111-0001", 9, "2026-11-12T09:00:00", unit="H44.102"),
    ev("e2", "H44.103-261201-0001", 2, "2026-12-01T09:00:00", unit="H44.103",
       due_at="2026-12-03T17:00:00+07:00", channel=1),
    ev("x2", "H45.01-261201-0001", 2, "2026-12-01T09:00:00", unit="H45.01", due_at="2026-12-03T17:00:00+07:00"),
]


def report_of(period: Any, at: datetime, version: int = 1) -> PeriodReport:
    report, = replay_many([parse_event(e) for e in EVENTS], [period], at, sources=Sources(pakn=True))
    report.pop("dossiers")
    return PeriodReport(period, at, at, report, version)


@pytest.fixture(scope="module")
def nov() -> PeriodReport:
    return report_of(NOV, NOV.end)


def months_up_to(period: Any, nov: PeriodReport) -> list[PeriodReport]:
    return [nov if m.label == "2026-11" else report_of(m, m.end) if m.end <= NOW else report_of(m, NOW)
            for m in trend_months(period, NOW)]


# -- parameters --------------------------------------------------------------------------------------


def test_a_period_is_a_month_quarter_or_year_that_has_started():
    assert parse_report_period(None, NOW).label == "2026-12"
    assert parse_report_period("2026-11", NOW).kind == "month"
    assert parse_report_period("2026-q4", NOW).label == "2026-Q4"
    assert parse_report_period("2026", NOW).kind == "year"
    for bad in ("2027-01", "2027", "2026-13", "2026-Q5", "11/2026", "x" * 200):
        with pytest.raises(ParamError) as err:
            parse_report_period(bad, NOW)
        assert err.value.name == "period" and len(str(err.value)) < 200


def test_page_data_widget_and_lookup_parameters_are_named_when_bad():
    def name_of(call: Any) -> str:
        with pytest.raises(ParamError) as err:
            call()
        return err.value.name

    assert name_of(lambda: parse_report_query({"q": "x"}, NAMES, NOW)) == "q"
    assert name_of(lambda: parse_report_query({"unit": "H44.07"}, NAMES, NOW, {"unit": 2})) == "unit"
    assert name_of(lambda: parse_report_query({"unit": "H44.101"}, NAMES, NOW, unit_in_path="H44.07")) == "unit"
    assert name_of(lambda: parse_report_query({}, NAMES, NOW, unit_in_path="H99.1")) == "unit"
    assert name_of(lambda: parse_data_query({"table": "dossiers"}, NAMES, NOW)) == "table"
    assert name_of(lambda: parse_data_query({"lang": "en"}, NAMES, NOW)) == "lang"
    assert name_of(lambda: parse_item_widget("gauge", "1", {}, NAMES, NOW, IDS)) == "widget"
    assert name_of(lambda: parse_item_widget("indicator", "9.9", {}, NAMES, NOW, IDS)) == "indicator"
    assert name_of(lambda: parse_item_widget("trend", "9.9", {}, NAMES, NOW, IDS)) == "indicator"
    assert name_of(lambda: parse_item_widget("group", "6", {}, NAMES, NOW, IDS)) == "group"
    assert name_of(lambda: parse_item_widget("ranking", "x", {}, NAMES, NOW, IDS)) == "ranking"
    assert name_of(lambda: parse_item_widget("group", "1", {"theme": "neon"}, NAMES, NOW, IDS)) == "theme"
    assert name_of(lambda: parse_lookup({"ma": "<script>"})) == "ma"
    assert name_of(lambda: parse_lookup({"ma": "A" * 65})) == "ma"
    assert name_of(lambda: parse_lookup({"code": "A"})) == "code"
    q = parse_item_widget("trend", "total", {"unit": "h44.07", "period": "2026-Q4", "lang": "en"}, NAMES, NOW, IDS)
    assert (q.kind, q.item, q.unit, q.period.label, q.lang) == ("trend", "total", "H44.07", "2026-Q4", "en")
    assert parse_lookup({"ma": " H44.07-261103-0001 "}) == LookupQuery("H44.07-261103-0001", "vi")
    assert parse_lookup({"ma": "", "lang": "en"}) == LookupQuery(None, "en")
    assert parse_report_query({}, NAMES, NOW, unit_in_path="h44.07").unit == "H44.07"


def test_the_picker_and_the_trend_months():
    labels = [p.label for p in period_choices(NOW)]
    assert labels[:2] == ["2026-12", "2026-11"] and labels[12] == "2025-12"
    assert labels[13:18] == ["2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4"]
    assert labels[18:] == ["2026", "2025", "2024"]
    assert [m.label for m in trend_months(NOV, NOW)][::11] == ["2025-12", "2026-11"]
    assert trend_months(parse_period("2026"), NOW)[-1].label == "2026-12"  # the year so far
    assert trend_months(parse_period("2025-Q2"), NOW)[-1].label == "2025-06"
    q = ReportQuery("H44.07", NOV, "en", "dark")
    assert q.query_string(default_period="2026-12") == "unit=H44.07&period=2026-11&lang=en&theme=dark"
    assert ReportQuery(None, DEC).query_string(default_period="2026-12") == ""


# -- tables ------------------------------------------------------------------------------------------


def fake(period: Any, totals: dict[str, float]) -> PeriodReport:
    rows = [{"unit": "PROVINCE", "total_score": 50.0, "max_score": 20, "indicators": {}, "figures": {}}]
    rows += [{"unit": code, "total_score": t, "max_score": 20, "band": None, "groups": {"2": {"score": t}},
              "indicators": {"2.1": {"ratio": t / 100}}, "figures": {"received": 3}} for code, t in totals.items()]
    return PeriodReport(period, period.end, period.end, {"units": rows}, 1)


def test_units_are_ranked_within_their_kind_and_ties_share_a_rank():
    r = fake(NOV, {"H44.101": 80.0, "H44.102": 90.0, "H44.103": 80.0, "H44.104": 70.0, "H44.07": 10.0, "X": 5.0})
    ranked = rankings(r, LEVELS | {"H44.104": "commune"})
    assert [(x.code, x.rank, x.of) for x in ranked["communes"]] == [
        ("H44.102", 1, 4), ("H44.101", 2, 4), ("H44.103", 2, 4), ("H44.104", 4, 4)]
    assert [x.code for x in ranked["departments"]] == ["H44.07"] and [x.code for x in ranked["other"]] == ["X"]
    rows = unit_rows(r, NAMES, LEVELS | {"H44.104": "commune"})
    assert rows[0]["kind"] == "departments" and {row["unit"] for row in rows} == {"H44.101", "H44.102", "H44.103",
                                                                                 "H44.104", "H44.07", "X"}


def test_indicator_rows_carry_the_engines_numbers_and_reasons(nov):
    registry = registry_of(NOV)
    province = indicator_rows(nov.row(None), registry, "PROVINCE")
    assert [r["indicator"] for r in province] == list(registry.indicator_ids)
    by_id = {r["indicator"]: r for r in province}
    ontime = nov.row(None)["indicators"]["2.1"]
    assert (by_id["2.1"]["numerator"], by_id["2.1"]["denominator"], by_id["2.1"]["ratio"]) == (
        ontime["numerator"], ontime["denominator"], ontime["ratio"])
    assert by_id["2.2"]["missing"] == nov.row(None)["missing"]["2.2"]  # the engine's reason, verbatim
    assert by_id["5.1"]["scored"] is False
    nothing = indicator_rows(None, registry, "H44.999")
    assert all(r["missing"] for r in nothing) and all(r["ratio"] is None for r in nothing)
    long = unit_indicator_rows(nov, registry)
    assert len(long) == len(nov.rows) * len(registry.indicator_ids)


def test_csv_and_json_carry_the_period_and_computation_time_in_every_row(nov):
    registry = registry_of(NOV)
    rows = indicator_rows(nov.row(None), registry, "PROVINCE")
    text = to_csv("indicators", rows, nov)
    assert text.startswith("period,period_from,period_to,at,computed_at,unit,indicator,")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == len(rows)
    assert {(r["period"], r["at"], r["computed_at"]) for r in parsed} == {
        ("2026-11", "2026-12-01T00:00:00+07:00", "2026-12-01T00:00:00+07:00")}
    two_one = next(r for r in parsed if r["indicator"] == "2.1")
    assert float(two_one["ratio"]) == nov.row(None)["indicators"]["2.1"]["ratio"] and two_one["scored"] == "true"
    import json

    doc = json.loads(to_json("indicators", rows, nov, None))
    assert doc["period"] == {"label": "2026-11", "from": "2026-11-01T00:00:00+07:00",
                             "to": "2026-12-01T00:00:00+07:00", "at": "2026-12-01T00:00:00+07:00"}
    assert doc["unit"] == "PROVINCE" and doc["rows"] == rows


def test_trend_rows_are_the_months_reports(nov):
    months = months_up_to(NOV, nov)
    rows = trend_rows(months, None, "PROVINCE")
    assert {r["month"] for r in rows} == {"2026-11"}  # the only month with dossiers
    total = next(r for r in rows if r["indicator"] == "total")
    assert total["score"] == nov.row(None)["total_score"]


# -- HTML ---------------------------------------------------------------------------------------------


def view(nov: PeriodReport, unit: str | None = None, lang: str = "vi") -> PageView:
    return PageView(ReportQuery(unit, NOV, lang), nov, months_up_to(NOV, nov), period_choices(NOW), NAMES, LEVELS,
                    "Tỉnh <Phú Thọ>", "2026-12")


def test_the_page_shows_groups_indicators_trends_units_and_data_links(nov):
    html = report_page(view(nov))
    assert html.startswith('<!doctype html><html lang="vi"')
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/public/static/tables.js" defer>']
    assert "Sở &lt;b&gt;Xây&lt;/b&gt; dựng" in html and "Tỉnh &lt;Phú Thọ&gt;" in html and "<b>Xây" not in html
    total = nov.row(None)["total_score"]
    assert f"<strong>{total:.2f}".rstrip("0").rstrip(".").replace(".", ",") in html
    assert html.count('<tr id="i') == len(IDS) and html.count('class="spark"') == len(IDS)
    assert "Chưa tính được" in html and "chỉ hiển thị khi chọn một thủ tục" in html  # 2.2, the engine's reason
    assert '<option value="2026-11" selected>Tháng 11/2026</option>' in html and '<optgroup label="Quý">' in html
    assert 'href="/public/766/unit/H44.101?period=2026-11"' in html
    for table in ("indicators", "groups", "units", "unit-indicators", "trend"):
        assert f'/public/766.csv?table={table}' in html and f'/public/766.json?table={table}' in html
    assert not re.search(r"H4\d(\.\d+)+-\d{6}-\d{4}", html) and "Bảo Mật" not in html  # no dossier, no person
    assert "ranking" not in html or "/public/widget/ranking/communes" in html
    en = report_page(view(nov, lang="en"))
    assert 'lang="en"' in en and "Not computed" in en and "Dossiers handled early or on time" in en


def test_a_unit_page_has_its_rank_and_no_unit_tables(nov):
    html = report_page(view(nov, unit="H44.101"))
    assert "UBND phường Việt Trì" in html and "Hạng 1/2 trong nhóm xã, phường" in html
    assert 'data-sort' not in html and "Về trang toàn tỉnh" in html
    empty = report_page(view(nov, unit="H44.103"))  # no dossier in November
    assert "Đơn vị không có hồ sơ nào trong kỳ này." in empty


def test_a_sparkline_leaves_gaps_and_says_its_values():
    svg = spark([("01", 0.5), ("02", None), ("03", 1.0), ("04", 0.25)], "label & co")
    assert svg.count("<polyline") == 0 and svg.count("<circle") == 2 or svg.count("<polyline") == 1
    assert 'aria-label="label &amp; co"' in svg and 'role="img"' in svg
    assert spark([("01", None)] * 3, "x").count("<polyline") == 0


@pytest.mark.parametrize("kind, item", [("indicator", "2.1"), ("indicator", "2.2"), ("group", "2"),
                                        ("ranking", "communes"), ("trend", "total"), ("trend", "3.3")])
def test_item_widgets_have_no_script_and_show_their_figure(nov, kind, item):
    q = ReportQuery("H44.102" if kind == "ranking" else None, NOV, "vi", "dark", kind=kind, item=item)
    html = item_widget(ItemView(q, nov, months_up_to(NOV, nov), NAMES, LEVELS, "Tỉnh Phú Thọ", None))
    assert "<script" not in html and 'id="widget-value"' in html and 'class="theme-dark"' in html
    assert "refresh" not in html  # no self-reload (WCAG 2.2.1)
    if (kind, item) == ("indicator", "2.2"):
        assert "Chưa tính được" in html
    if kind == "ranking":
        assert 'class="w-mine" aria-current="true"' in html and "UBND xã Một" in html


# -- the lookup -----------------------------------------------------------------------------------------


def test_the_lookup_judges_with_the_engines_rules_and_hides_what_it_must():
    events = [parse_event(e) for e in EVENTS]
    at = datetime(2026, 11, 6, 9, 0, tzinfo=LOCAL_TZ)  # B's appointment was yesterday 17:00
    units = set(NAMES)
    late = look_up(events, "H44.07-261104-0002", at, units, ())
    assert late is not None and (late.state, late.outcome, late.step) == ("processing", "in_progress_overdue", 2)
    assert late.due == datetime(2026, 11, 5, 17, 0, tzinfo=LOCAL_TZ) and late.ended is None
    done = look_up(events, "H44.07-261103-0001", at, units, ())
    assert done is not None and (done.state, done.outcome) == ("finished", "early")
    assert look_up(events, "H44.07-999999-0000", at, units, ()) is None  # unknown
    assert look_up(events, "H45.01-261201-0001", NOW, units, ()) is None  # a unit outside the province
    assert look_up(events, "H44.07-261103-0001", at, units, ("1.001612",)) is None  # a hidden procedure
    before = look_up(events, "H44.07-261103-0001", datetime(2026, 11, 1, tzinfo=LOCAL_TZ), units, ())
    assert before is None  # nothing had happened yet at that instant


def test_the_lookup_page_shows_dates_and_progress_and_nothing_else():
    answer = Answer("H44.07-261103-0001", "H44.07", "finished", 9, datetime(2026, 11, 5, 10, 0, tzinfo=LOCAL_TZ),
                    datetime(2026, 11, 3, 9, 0, tzinfo=LOCAL_TZ), datetime(2026, 11, 6, 17, 0, tzinfo=LOCAL_TZ),
                    datetime(2026, 11, 5, 10, 0, tzinfo=LOCAL_TZ), "early", NOW)
    html = lookup_page(LookupQuery(answer.code), answer, NAMES, "Tỉnh Phú Thọ", 10)
    for text in ("Sở &lt;b&gt;Xây&lt;/b&gt; dựng", "Đã có kết quả", "09:00 03/11/2026", "17:00 06/11/2026",
                 "Trước hạn", "Đã xử lý xong (10:00 05/11/2026)", "tối đa 10 lần mỗi phút"):
        assert text in html, text
    assert "<script" not in html
    unknown = lookup_page(LookupQuery("A-1"), None, NAMES, "Tỉnh Phú Thọ", 10)
    hidden = lookup_page(LookupQuery("B-2"), None, NAMES, "Tỉnh Phú Thọ", 10)
    assert unknown.replace("A-1", "C") == hidden.replace("B-2", "C") and "Không tìm thấy hồ sơ" in unknown
    form = lookup_page(LookupQuery(None, "en"), None, NAMES, "Tỉnh Phú Thọ", 10)
    assert "Không tìm thấy" not in form and 'lang="en"' in form and 'name="lang" value="en"' in form


# -- the report store ------------------------------------------------------------------------------------


class Tick:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Any:
    import dashboards.public.reports as mod

    calls: dict[str, Any] = {"fingerprint": ("a",), "reads": 0, "replays": [], "gate": None}

    def fingerprint(wh: Any, at: datetime) -> tuple[str, ...]:
        return calls["fingerprint"]

    def read(wh: Any, sources: Any) -> Any:
        calls["reads"] += 1
        return object()

    def replay(inputs: Any, periods: Any, at: datetime, province: str) -> list[dict[str, Any]]:
        if calls["gate"] is not None:
            calls["gate"].wait(10)
        calls["replays"].append(([p.label for p in periods], at))
        return [{"period": p.label, "units": [], "dossiers": []} for p in periods]

    monkeypatch.setattr(mod, "inputs_fingerprint", fingerprint)
    monkeypatch.setattr(mod, "read_inputs", read)
    monkeypatch.setattr(mod, "reports", replay)
    tick = Tick()
    warehouse: dict[str, Any] = {"wh": object()}
    s = ReportStore(lambda: warehouse["wh"], 60.0, lambda: NOW, sources=lambda: Sources(), monotonic=tick,
                    processes=False)
    yield s, calls, tick, warehouse
    s.stop()


def wait_for(condition: Any) -> None:
    done = threading.Event()
    for _ in range(200):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError("not reached")


def test_the_store_computes_once_serves_stale_and_keeps_unchanged_closed_periods(store):
    s, calls, tick, _ = store
    nov, dec = s.get_many([NOV, DEC])
    assert "dossiers" not in nov.report  # aggregates only, from the start
    assert nov.at == NOV.end and dec.at == NOW  # closed: its end; current: now
    assert sorted(calls["replays"]) == [(["2026-11"], NOV.end), (["2026-12"], NOW)]
    assert s.get(NOV) is nov and len(calls["replays"]) == 2  # fresh: from the cache
    tick.now += 61  # stale: served at once, refreshed behind
    assert s.get(NOV) is nov and s.get(DEC) is dec
    wait_for(lambda: len(calls["replays"]) == 3 and s.peek(NOV) is not None)
    assert calls["replays"][2] == (["2026-12"], NOW)  # the current period only: November's rows are the same
    wait_for(lambda: s.peek(DEC).version > dec.version)
    assert s.peek(NOV) is nov
    calls["fingerprint"] = ("b",)  # a late event of November arrives
    tick.now += 61
    s.get_many([NOV, DEC])
    wait_for(lambda: s.peek(NOV) is not nov)
    assert s.peek(NOV).version > nov.version and calls["reads"] >= 2


def test_the_store_says_computing_and_unavailable(store):
    s, calls, tick, warehouse = store
    calls["gate"] = threading.Event()
    with pytest.raises(Computing):
        s.get(NOV, wait_s=0.1)
    calls["gate"].set()
    assert s.get(NOV).period == NOV
    warehouse["wh"] = None
    with pytest.raises(Unavailable):
        s.get(DEC)
    assert s.get(NOV).period == NOV  # what was computed stays available


def test_the_worker_replay_keeps_its_rows_by_key_and_drops_the_dossier_lists():
    import json

    from ioc.commands.kpi_warehouse import RowsNeeded, StoredRows, replay_in_worker

    rows = StoredRows([json.dumps(e) for e in EVENTS], [], Sources(pakn=True))
    first = replay_in_worker("k1", rows, [NOV], NOV.end)
    expected, = replay_many([parse_event(e) for e in EVENTS], [NOV], NOV.end, sources=Sources(pakn=True))
    expected.pop("dossiers")
    assert first == [expected]
    assert replay_in_worker("k1", None, [NOV, DEC], NOW)[1]["period"]["at"] == NOW.isoformat()
    with pytest.raises(RowsNeeded):
        replay_in_worker("k2", None, [NOV], NOV.end)


def test_a_period_asked_again_while_it_is_refreshed_is_replayed_once(store):
    s, calls, tick, _ = store
    s.get(DEC)
    calls["gate"] = threading.Event()
    tick.now += 61
    s.get(DEC)  # stale: a refresh starts and waits at the gate
    wait_for(lambda: s._compute.locked())
    for _ in range(5):
        s.get(DEC)  # still stale: asked again and again meanwhile
    calls["gate"].set()
    wait_for(lambda: len(calls["replays"]) == 2)
    threading.Event().wait(1.5)  # the refresher's next rounds find it fresh
    assert len(calls["replays"]) == 2
