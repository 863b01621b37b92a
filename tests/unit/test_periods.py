"""Reporting periods: half-open local-time boundaries, parsing, defaults (ioc/kpi/periods.py)."""

from datetime import datetime, timedelta, timezone

import pytest

from ioc.kpi.periods import (
    LOCAL_TZ,
    Period,
    explicit_period,
    parse_instant,
    parse_period,
    period_of,
    period_to_date,
    resolve,
)


def local(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    "text, start, end, kind",
    [
        ("2026-10", "2026-10-01", "2026-11-01", "month"),
        ("2026-12", "2026-12-01", "2027-01-01", "month"),  # the year rolls over
        ("2026-02", "2026-02-01", "2026-03-01", "month"),
        ("2026-Q1", "2026-01-01", "2026-04-01", "quarter"),
        ("2026-Q4", "2026-10-01", "2027-01-01", "quarter"),
        ("2026-q3", "2026-07-01", "2026-10-01", "quarter"),
        ("2026", "2026-01-01", "2027-01-01", "year"),
        (" 2026-10 ", "2026-10-01", "2026-11-01", "month"),
    ],
)
def test_named_periods_are_half_open_local_intervals(text, start, end, kind):
    p = parse_period(text)
    assert (p.start, p.end, p.kind) == (local(start), local(end), kind)
    assert p.start.isoformat().endswith("+07:00")


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-10", "2026-1", "abc", "",
                                  "2026-10-01", "9999", "0000", "٢٠٢٦"])
def test_bad_period_text_names_the_value(text):
    with pytest.raises(ValueError) as err:
        parse_period(text)
    assert repr(text) in str(err.value)


def test_half_open_membership():
    p = parse_period("2026-10")
    assert local("2026-10-01T00:00:00") in p  # first instant belongs
    assert local("2026-10-31T23:59:59.999999") in p
    assert local("2026-11-01T00:00:00") not in p  # the end belongs to the next period
    # 2026-10-31 17:30 UTC is 2026-11-01 00:30 in Vietnam: November
    assert datetime(2026, 10, 31, 17, 30, tzinfo=timezone.utc) not in p
    assert datetime(2026, 9, 30, 17, 0, tzinfo=timezone.utc) in p  # = 1 Oct 00:00 local


def test_default_at_is_the_end_of_the_period():
    p = parse_period("2026-Q4")
    assert p.default_at == local("2027-01-01T00:00:00")
    assert resolve("2026-Q4", None, None, None, now=local("2030-01-01T00:00:00")) == (p, p.end)


def test_explicit_period_reads_naive_and_dates_as_local_time():
    p = explicit_period("2026-10-05", "2026-10-08T12:00:00")
    assert (p.start, p.end) == (local("2026-10-05T00:00:00"), local("2026-10-08T12:00:00"))
    # an offset is honoured and converted to local time: 01:00Z = 08:00 +07:00
    q = explicit_period("2026-10-05T01:00:00Z", "2026-10-06T00:00:00+07:00")
    assert q.start == local("2026-10-05T08:00:00") and q.start.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("start, end, named", [("2026-10-08", "2026-10-08", "'2026-10-08'"),
                                               ("2026-10-09", "2026-10-08", "'2026-10-09'"),
                                               ("yesterday", "2026-10-08", "'yesterday'"),
                                               ("2026-10-01", "2026-10-32", "'2026-10-32'")])
def test_bad_explicit_period_names_the_value(start, end, named):
    with pytest.raises(ValueError, match=named):
        explicit_period(start, end)


def test_parse_instant_rejects_garbage_naming_it():
    with pytest.raises(ValueError, match="at 'soon'"):
        parse_instant("soon", "at")


def test_period_to_date_is_the_month_so_far():
    at = local("2026-10-15T12:00:00")
    p = period_to_date(at)
    assert (p.start, p.end, p.label) == (local("2026-10-01T00:00:00"), at, "2026-10")
    q = period_to_date(at, "quarter")
    assert (q.start, q.end) == (local("2026-10-01T00:00:00"), at)
    y = period_to_date(at, "year")
    assert (y.start, y.end) == (local("2026-01-01T00:00:00"), at)
    # At the first instant of a month there is nothing "so far": the whole previous month.
    assert period_to_date(local("2026-11-01T00:00:00")) == parse_period("2026-10")


def test_month_out_of_range_says_so():
    with pytest.raises(ValueError, match=r"'2026-13': month 13 is not 01\.\.12"):
        parse_period("2026-13")


@pytest.mark.parametrize("instant, quarter", [("2026-01-01T00:00:00", "2026-Q1"), ("2026-03-31T23:59:00", "2026-Q1"),
                                              ("2026-04-01T00:00:00", "2026-Q2"), ("2026-11-30T23:00:00", "2026-Q4"),
                                              ("2026-12-31T23:59:00", "2026-Q4")])
def test_period_of_finds_the_quarter(instant, quarter):
    assert period_of(local(instant), "quarter") == parse_period(quarter)


def test_period_of_and_to_date():
    assert period_of(local("2026-12-31T23:00:00"), "month") == parse_period("2026-12")
    p = parse_period("2026-10")
    assert p.to_date(local("2026-12-01T00:00:00")) == p  # past the end: the whole period
    with pytest.raises(ValueError):
        p.to_date(local("2026-10-01T00:00:00"))


def test_resolve_without_a_period_takes_the_month_to_date_of_at_or_now():
    p, at = resolve(None, None, None, "2026-10-15T12:00:00+07:00", now=local("2030-01-01T00:00:00"))
    assert (p.start, p.end, at) == (local("2026-10-01T00:00:00"), local("2026-10-15T12:00:00"), p.end)
    p, at = resolve(None, None, None, None, now=datetime(2026, 10, 20, 3, 0, tzinfo=timezone.utc))
    assert (p.start, at) == (local("2026-10-01T00:00:00"), local("2026-10-20T10:00:00"))


def test_resolve_keeps_an_explicit_at_inside_or_after_the_period():
    p, at = resolve("2026-10", None, None, "2026-10-15", now=local("2030-01-01T00:00:00"))
    assert (p, at) == (parse_period("2026-10"), local("2026-10-15T00:00:00"))


@pytest.mark.parametrize(
    "args, message",
    [
        (("2026-10", "2026-10-01", "2026-11-01", None), "not both"),
        ((None, "2026-10-01", None, None), "go together"),
        ((None, None, "2026-11-01", None), "go together"),
        (("2026-10", None, None, "2026-09-30"), "before the period start"),
        (("2026-13", None, None, None), "'2026-13'"),
        (("2026-10", None, None, "noon"), "'noon'"),
    ],
)
def test_resolve_rejects_inconsistent_flags(args, message):
    with pytest.raises(ValueError, match=message):
        resolve(*args, now=local("2026-10-15T00:00:00"))


def test_period_requires_aware_ordered_bounds_and_shapes_json():
    with pytest.raises(ValueError):
        Period(datetime(2026, 10, 1), local("2026-11-01T00:00:00"))
    with pytest.raises(ValueError):
        Period(local("2026-11-01T00:00:00"), local("2026-10-01T00:00:00"))
    p = parse_period("2026-10")
    assert p.to_json(datetime(2026, 10, 15, 5, 0, tzinfo=timezone.utc)) == {
        "from": "2026-10-01T00:00:00+07:00", "to": "2026-11-01T00:00:00+07:00", "at": "2026-10-15T12:00:00+07:00"}
