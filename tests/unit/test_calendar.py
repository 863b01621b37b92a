"""Vietnam working-day calendar: hand-computed deadlines and properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ioc.domain.calendar import (
    LOCAL_TZ,
    CalendarOverrides,
    OverrideDay,
    WorkingCalendar,
    packaged_overrides,
    parse_overrides,
)

CAL = WorkingCalendar()


def vn(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


def close(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 17, 0, tzinfo=LOCAL_TZ)


# --- holidays ---------------------------------------------------------------------------------


def test_tet_2026_is_five_weekdays_off() -> None:
    # Tết Bính Ngọ: Lunar New Year's Day is Tue 17/2/2026; off Mon 16/2 (Giao thừa) .. Fri 20/2.
    for d in range(16, 21):
        assert not CAL.is_working_day(date(2026, 2, d)), d
    assert CAL.is_working_day(date(2026, 2, 13))  # Friday before
    assert CAL.is_working_day(date(2026, 2, 23))  # Monday after
    # Received Fri 13/2 09:00, 1 working day: 14–15 weekend, 16–20 Tết, 21–22 weekend -> Mon 23/2.
    assert CAL.add_working_days(vn(2026, 2, 13), 1) == close(2026, 2, 23)
    # Working days in (13/2, 23/2]: only 23/2.
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1


def test_30_4_and_1_5() -> None:
    # 2026: 30/4 Thu and 1/5 Fri off. Received Wed 29/4 09:00, 2 WD: 30/4, 1/5, 2–3/5 skipped,
    # Mon 4/5 = day 1, Tue 5/5 = day 2.
    assert not CAL.is_working_day(date(2026, 4, 30))
    assert not CAL.is_working_day(date(2026, 5, 1))
    assert CAL.add_working_days(vn(2026, 4, 29), 2) == close(2026, 5, 5)
    # Giỗ Tổ 2026 (10/3 lunar) is Sunday 26/4, compensated on Monday 27/4.
    assert not CAL.is_working_day(date(2026, 4, 27))


def test_national_day_2_9() -> None:
    # 2025: Mon 1/9 and Tue 2/9 off. Received Fri 29/8 10:00, 1 WD -> Wed 3/9.
    assert not CAL.is_working_day(date(2025, 9, 1))
    assert not CAL.is_working_day(date(2025, 9, 2))
    assert CAL.add_working_days(vn(2025, 8, 29, 10), 1) == close(2025, 9, 3)


# --- reception cut-off ------------------------------------------------------------------------


def test_friday_after_15_00_counts_from_monday() -> None:
    # Fri 9/10/2026 15:30 counts as received Mon 12/10; 1 WD later is Tue 13/10.
    assert CAL.reception_day(vn(2026, 10, 9, 15, 30)) == date(2026, 10, 12)
    assert CAL.add_working_days(vn(2026, 10, 9, 15, 30), 1) == close(2026, 10, 13)
    # Before the cut-off the same Friday counts: 1 WD -> Mon 12/10.
    assert CAL.add_working_days(vn(2026, 10, 9, 14, 59), 1) == close(2026, 10, 12)
    # 15:00 sharp is not "after 15:00"; a same-day procedure (n = 0) ends that Friday.
    assert CAL.add_working_days(vn(2026, 10, 9, 15, 0), 0) == close(2026, 10, 9)
    # The same instant in UTC (08:30Z = 15:30 +07) gives the same deadline.
    utc = datetime(2026, 10, 9, 8, 30, tzinfo=timezone.utc)
    assert CAL.add_working_days(utc, 1) == close(2026, 10, 13)


def test_weekend_reception_counts_from_next_working_day() -> None:
    # Online dossier submitted Sat 10/10/2026 09:00: received Mon 12/10.
    assert CAL.add_working_days(vn(2026, 10, 10), 0) == close(2026, 10, 12)
    assert CAL.add_working_days(vn(2026, 10, 10), 1) == close(2026, 10, 13)


# --- swap days ----------------------------------------------------------------------------------


def test_swap_saturday_is_a_working_day() -> None:
    # Công văn 12729/VPCP-KGVX: Fri 2/1/2026 off, Sat 10/1/2026 worked.
    assert not CAL.is_working_day(date(2026, 1, 2))
    assert CAL.is_working_day(date(2026, 1, 10))
    # Received Wed 31/12/2025 10:00, 2 WD: 1/1 and 2/1 off, 3–4/1 weekend -> Mon 5/1, Tue 6/1.
    assert CAL.add_working_days(vn(2025, 12, 31, 10), 2) == close(2026, 1, 6)
    # Received Fri 9/1/2026 16:00 -> counts from Sat 10/1 (worked); 1 WD -> Mon 12/1.
    assert CAL.reception_day(vn(2026, 1, 9, 16)) == date(2026, 1, 10)
    assert CAL.add_working_days(vn(2026, 1, 9, 16), 1) == close(2026, 1, 12)
    # 2025: Sat 26/4 worked for Fri 2/5. Received Fri 25/4/2025 10:00, 1 WD -> Sat 26/4.
    assert CAL.add_working_days(vn(2025, 4, 25, 10), 1) == close(2025, 4, 26)
    assert not CAL.is_working_day(date(2025, 5, 2))


def test_overrides_file_is_valid_and_documented() -> None:
    ov = packaged_overrides()
    assert date(2026, 1, 2) in ov.non_working
    assert date(2026, 1, 10) in ov.working
    assert all(e.note for e in ov.entries)
    assert "12729/VPCP-KGVX" in (ov.note(date(2026, 1, 10)) or "")


def test_working_override_beats_a_package_holiday() -> None:
    plain = WorkingCalendar(CalendarOverrides())
    forced = WorkingCalendar(CalendarOverrides((OverrideDay(date(2026, 9, 2), True, "test"),)))
    assert not plain.is_working_day(date(2026, 9, 2))  # Quốc khánh
    assert forced.is_working_day(date(2026, 9, 2))
    # Without the packaged overrides, 10/1/2026 is an ordinary Saturday.
    assert not plain.is_working_day(date(2026, 1, 10))


@pytest.mark.parametrize(
    "doc,message",
    [
        ({}, "'years' mapping is required"),
        ({"years": {2026: {"working": [{"date": "2026-01-10"}]}}}, "note naming the deciding document"),
        ({"years": {2026: {"working": [{"date": "2025-01-10", "note": "x"}]}}}, "not in 2026"),
        ({"years": {2026: {"holiday": []}}}, "unknown section"),
        ({"years": {2026: {"working": [{"date": "10/1/2026", "note": "x"}]}}}, "is not a date"),
        (
            {"years": {2026: {"working": [{"date": "2026-01-10", "note": "x"}],
                              "non_working": [{"date": "2026-01-10", "note": "y"}]}}},
            "both working and non-working",
        ),
    ],
)
def test_bad_override_documents_are_rejected(doc: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_overrides(doc)


# --- other units ------------------------------------------------------------------------------


def test_working_hours() -> None:
    # Mon 12/10/2026 10:00 + 4 h: 10:00–11:30 (1.5 h) + 13:00–15:30 (2.5 h) -> 15:30.
    assert CAL.add_duration(vn(2026, 10, 12, 10), 4, "hour") == vn(2026, 10, 12, 15, 30)
    # Fri 9/10 16:00 + 2 h: 1 h to 17:00, then Mon 12/10 07:30 + 1 h -> 08:30 (no 15:00 cut-off).
    assert CAL.add_duration(vn(2026, 10, 9, 16), 2, "hour") == vn(2026, 10, 12, 8, 30)
    # 4 h from 07:30 ends at the lunch break, 11:30, not 13:00.
    assert CAL.add_duration(vn(2026, 10, 12, 7, 30), 4, "hour") == vn(2026, 10, 12, 11, 30)
    # Half a working day = 4 working hours.
    assert CAL.add_duration(vn(2026, 10, 12, 10), 0.5, "working_day") == vn(2026, 10, 12, 15, 30)
    assert CAL.hours_per_day == 8


def test_whole_working_days_through_add_duration() -> None:
    assert CAL.add_duration(vn(2026, 10, 9, 15, 30), 1.0, "working_day") == close(2026, 10, 13)


def test_calendar_days_and_months_roll_to_a_working_day() -> None:
    # Wed 29/4/2026 + 2 days = Fri 1/5 (holiday) -> next working day Mon 4/5.
    assert CAL.add_duration(vn(2026, 4, 29), 2, "day") == close(2026, 5, 4)
    # Mon 12/10/2026 + 3 days = Thu 15/10 (working).
    assert CAL.add_duration(vn(2026, 10, 12), 3, "day") == close(2026, 10, 15)
    # Fri 30/1/2026 + 1 month: no 30/2 -> Sat 28/2 -> Mon 2/3.
    assert CAL.add_duration(vn(2026, 1, 30), 1, "month") == close(2026, 3, 2)
    # 1.5 days rounds up to 2: Mon 12/10 + 2 = Wed 14/10.
    assert CAL.add_duration(vn(2026, 10, 12), 1.5, "day") == close(2026, 10, 14)


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.add_working_days(datetime(2026, 10, 9, 9), 1),
        lambda: CAL.add_duration(datetime(2026, 10, 9, 9), 1, "day"),
        lambda: CAL.working_days_between(datetime(2026, 10, 9), vn(2026, 10, 12)),
        lambda: CAL.is_working_day(datetime(2026, 10, 9)),
        lambda: CAL.add_working_days(vn(2026, 10, 9), -1),
        lambda: CAL.add_duration(vn(2026, 10, 9), 1, "week"),
        lambda: CAL.add_duration(vn(2026, 10, 9), -2, "day"),
    ],
)
def test_bad_inputs_raise_value_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_working_days_between_is_signed() -> None:
    # (Fri 9/10, Tue 13/10] = Mon 12, Tue 13 -> 2; reversed -> -2; same day -> 0.
    assert CAL.working_days_between(date(2026, 10, 9), date(2026, 10, 13)) == 2
    assert CAL.working_days_between(date(2026, 10, 13), date(2026, 10, 9)) == -2
    assert CAL.working_days_between(vn(2026, 10, 9, 8), vn(2026, 10, 9, 16)) == 0


# --- properties ---------------------------------------------------------------------------------

aware = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([LOCAL_TZ, timezone.utc, timezone(timedelta(hours=-5))]),
)


@settings(max_examples=300, deadline=None)
@given(start=aware, n=st.integers(min_value=0, max_value=40))
def test_deadline_is_a_working_day_close_after_start(start: datetime, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert CAL.is_working_day(due)
    assert due.tzinfo is LOCAL_TZ and due.time() == time(17, 0)
    assert due > start
    assert CAL.add_working_days(start, n + 1) > due


@settings(max_examples=300, deadline=None)
@given(start=aware, n=st.integers(min_value=0, max_value=40))
def test_working_days_between_relates_to_n(start: datetime, n: int) -> None:
    # Documented relation: n when the reception counts on its own day, n + 1 when it is deferred
    # (after 15:00 or on a non-working day), because the deferred reception day is counted too.
    due = CAL.add_working_days(start, n)
    extra = 0 if CAL.counts_from_reception_day(start) else 1
    assert CAL.working_days_between(start, due) == n + extra


@settings(max_examples=200, deadline=None)
@given(start=aware, hours=st.integers(min_value=1, max_value=80))
def test_working_hours_land_inside_office_hours(start: datetime, hours: int) -> None:
    end = CAL.add_working_hours(start, hours)
    local = end.astimezone(LOCAL_TZ)
    assert CAL.is_working_day(local.date())
    assert time(7, 30) < local.time() <= time(11, 30) or time(13, 0) < local.time() <= time(17, 0)
    assert end > start
