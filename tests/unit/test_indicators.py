"""Decision 766 indicators from dossier states, hand-computed case by case (ioc/kpi/indicators.py).

All times are local (+07:00). October 2026: Thu 1, Mon 5, Fri 9, Mon 12, Fri 16, Sat 31; no
holiday. Office hours 07:30-11:30 and 13:00-17:00 (8 h = 1 working day). Unless a test says
otherwise the period is 2026-10 evaluated at its end, 2026-11-01 00:00.
"""

from datetime import datetime, timedelta

import pytest

from ioc.domain.calendar import WorkingCalendar
from ioc.domain.dossier import DossierState, apply_event
from ioc.domain.events import parse_event
from ioc.kpi.indicators import Report, compute, processing_time
from ioc.kpi.periods import Period, parse_period

TZ = "+07:00"
OCT = parse_period("2026-10")
FAR = "2026-12-31T17:00:00"  # an appointment nobody misses
SUPPORTED = {"2.1", "2.2", "3.3", "3.6", "4.1", "4.2", "4.3", "4.5b", "5.4"}


def t(s: str) -> datetime:
    return datetime.fromisoformat(s + TZ)


def ev(code: str, n: int, status: int, when: str, unit: str = "U1", proc: str = "P1", **extra):
    return parse_event({"event_id": f"{code}-{n}", "dossier_code": code, "status": status, "occurred_at": when + TZ,
                        "unit_code": unit, "procedure_code": proc, **extra})


def received(code: str, when: str = "2026-10-05T09:00:00", due: str | None = FAR, unit: str = "U1",
             proc: str = "P1", **extra):
    if due is not None:
        extra["due_at"] = due + TZ
    return ev(code, 2, 2, when, unit, proc, **extra)


def fold(events) -> list[DossierState]:
    states: dict[str, DossierState] = {}
    for e in events:
        states[e.dossier_code] = apply_event(states.get(e.dossier_code), e)
    return list(states.values())


def run(events, period: Period = OCT, at: str | None = None, **kw) -> Report:
    return compute(fold(events), period, t(at) if at else period.end, **kw)


def unit(report: Report, code: str):
    return next(u for u in report.units if u.unit == code)


def counts(report: Report, code: str = "U1") -> dict[str, tuple]:
    """id -> (numerator, denominator, score) of one unit."""
    return {k: (s.numerator, s.denominator, s.score) for k, s in unit(report, code).indicators.items()}


# --- 2.1 and the outcome rules it depends on ------------------------------------------------------

TWO_ONE = [
    # A: due Fri 9 Oct, finished Wed 7 -> early (good)
    received("A", due="2026-10-09T17:00:00"), ev("A", 9, 9, "2026-10-07T10:00:00"),
    # B: finished on the appointment day before 17:00 -> on_time (good)
    received("B", due="2026-10-09T17:00:00"), ev("B", 9, 9, "2026-10-09T16:00:00"),
    # C: finished Mon 12, after the Fri 9 appointment -> late
    received("C", due="2026-10-09T17:00:00"), ev("C", 9, 9, "2026-10-12T10:00:00"),
    # D: received Mon 26, due 6 Nov, open at 1 Nov -> in_progress_on_time (good)
    received("D", "2026-10-26T09:00:00", due="2026-11-06T17:00:00"),
    # E: due Fri 16, still open on 1 Nov -> in_progress_overdue
    received("E", "2026-10-12T09:00:00", due="2026-10-16T17:00:00"),
    # F: received and finished in September -> not processed in October, out of scope
    received("F", "2026-09-01T09:00:00", due="2026-09-10T17:00:00"), ev("F", 9, 9, "2026-09-08T10:00:00"),
    # G: received in September, still open, overdue -> counted (still in processing in October)
    received("G", "2026-09-21T09:00:00", due="2026-09-25T17:00:00"),
    # H: received in September, finished Thu 1 Oct before its Fri 2 appointment -> early (good)
    received("H", "2026-09-28T09:00:00", due="2026-10-02T17:00:00"), ev("H", 9, 9, "2026-10-01T10:00:00"),
    # I: no appointment and no legal duration -> not_counted, left out
    received("I", "2026-10-20T09:00:00", due=None),
    # J: submitted online, never received -> not_counted, left out
    ev("J", 1, 1, "2026-10-20T09:00:00"),
    # K: received after the evaluation instant -> does not exist yet
    received("K", "2026-11-02T09:00:00"),
    # L: withdrawn Sat 31 Oct (an end state), before its 5 Nov appointment day -> early (good)
    received("L", "2026-10-30T09:00:00", due="2026-11-05T17:00:00"), ev("L", 7, 7, "2026-10-31T09:00:00"),
    # M: supplement Tue 6 09:00 -> completed Fri 9 09:00 (3 days paused); finished Mon 12 10:00,
    #    effectively Fri 9 10:00, before the Fri 17:00 appointment -> on_time (good)
    received("M", due="2026-10-09T17:00:00"), ev("M", 5, 5, "2026-10-06T09:00:00"),
    ev("M", 4, 4, "2026-10-09T09:00:00"), ev("M", 9, 9, "2026-10-12T10:00:00"),
    # N: a second supplement request -> overdue although far from its appointment
    received("N", due="2026-10-16T17:00:00"), ev("N", 5, 5, "2026-10-06T09:00:00"),
    ev("N", 4, 4, "2026-10-06T15:00:00"), ev("N", 55, 5, "2026-10-07T09:00:00"),
    # O: no appointment, 3 working days -> Thu 8 Oct 17:00; finished Thu 16:00 -> on_time (good)
    ev("O", 2, 2, "2026-10-05T09:00:00", legal_duration={"value": 3, "unit": "working_day"}),
    ev("O", 9, 9, "2026-10-08T16:00:00"),
]


def test_2_1_on_time_ratio_hand_computed():
    r = run(TWO_ONE)
    # counted: A B C D E G H L M N O = 11; good: A B D H L M O = 7
    # 7 / 11 = 63.636 % -> 20 * 0.63636 = 12.727 -> 12.73
    assert counts(r)["2.1"] == (7, 11, 12.73)
    outcomes = {d.dossier_code: d.outcome.value for d in r.dossiers}
    assert outcomes == {
        "A": "early", "B": "on_time", "C": "late", "D": "in_progress_on_time", "E": "in_progress_overdue",
        "G": "in_progress_overdue", "H": "early", "I": "not_counted", "J": "not_counted", "L": "early",
        "M": "on_time", "N": "in_progress_overdue", "O": "on_time",
    }  # F (September) and K (after `at`) are not in the period's list


def test_2_1_figures_of_the_same_period():
    f = unit(run(TWO_ONE), "U1").figures
    # received in October: A B C D E I L M N O = 10; finished (9/10) in October: A B C H M O = 6
    # open on 1 Nov: D E G I N = 5, of which overdue E G N = 3
    # outcomes of the processed ones: early A H L, on time B M O, late C, not counted I
    assert (f.received, f.finished, f.in_processing, f.overdue) == (10, 6, 5, 3)
    assert (f.early, f.on_time, f.late, f.not_counted) == (3, 3, 1, 1)


def test_2_1_counts_a_dossier_processed_across_the_period_when_at_is_later():
    events = [
        # received in September, finished 5 Nov after its 30 Oct appointment: in processing all
        # October -> counted, late
        received("X", "2026-09-20T09:00:00", due="2026-10-30T17:00:00"), ev("X", 9, 9, "2026-11-05T09:00:00"),
        # received 3 Nov, before `at` but after the period -> not October's
        received("Y", "2026-11-03T09:00:00"),
        # finished exactly at the period start (00:00 1 Oct) -> ended in October, early
        received("Z", "2026-09-29T09:00:00", due="2026-10-02T17:00:00"), ev("Z", 9, 9, "2026-10-01T00:00:00"),
    ]
    # 1 good (Z) of 2 (X, Z): 50 % -> 20 * 0.5 = 10.00
    assert counts(run(events, at="2026-11-10T00:00:00"))["2.1"] == (1, 2, 10.0)


def test_2_1_period_to_date_ignores_what_happens_after_at():
    events = [
        # at Fri 9 Oct 12:00: A's 16:00 finish has not happened -> open, within time (good)
        received("A", due="2026-10-09T17:00:00"), ev("A", 9, 9, "2026-10-09T16:00:00"),
        # B is received after `at` -> not counted at all
        received("B", "2026-10-09T14:00:00"),
        # C was due Thu 8 and is open -> overdue
        received("C", due="2026-10-08T17:00:00"),
    ]
    period = OCT.to_date(t("2026-10-09T12:00:00"))
    # 1 good of 2: 50 % -> 10.00
    assert counts(run(events, period, "2026-10-09T12:00:00"))["2.1"] == (1, 2, 10.0)
    # The whole month evaluated at the same instant: B is in October but not received yet.
    r = run(events, OCT, "2026-10-09T12:00:00")
    assert counts(r)["2.1"] == (1, 2, 10.0)
    assert (unit(r, "U1").figures.received, unit(r, "U1").figures.in_processing) == (2, 2)


def test_only_not_counted_dossiers_give_2_1_zero_of_zero():
    # domain.md §2.5: 2.1 with nothing received scores 0 (it is not left out, nor full marks).
    r = run([received("I", due=None), ev("J", 1, 1, "2026-10-06T09:00:00", unit="U1")])
    assert [u.unit for u in r.units] == ["PROVINCE", "U1"]
    assert counts(r, "U1") == {"2.1": (0, 0, 0.0)} and unit(r, "U1").figures.not_counted == 1
    assert unit(r, "U1").max_total == 20 and unit(r, "U1").missing["4.1"]


# --- 3.3 online -------------------------------------------------------------------------------


def test_3_3_online_share_of_received():
    events = [
        # U1: 3 online of 4 received: 75 % -> T = 50 -> 6 * min(1, 75/50) = 6.00
        received("A", channel=2), received("B", channel=2), received("C", channel=2), received("D", channel=1),
        # received in September (open in October): not in 3.3's denominator
        received("S", "2026-09-20T09:00:00", channel=2),
        # U2: 1 online of 5, unknown channel counts as not online: 20 % -> 6 * 20/50 = 2.40
        received("E", unit="U2", channel=2), received("F", unit="U2", channel=1),
        received("G", unit="U2", channel=3), received("H", unit="U2"), received("I", unit="U2"),
        # U3: no channel known -> 3.3 absent
        received("J", unit="U3"),
    ]
    r = run(events)
    assert counts(r, "U1")["3.3"] == (3, 4, 6.0)
    assert counts(r, "U2")["3.3"] == (1, 5, 2.4)
    assert "3.3" not in counts(r, "U3")
    # province: 4 online of 10 received in October: 40 % -> 6 * 40/50 = 4.80
    assert counts(r, "PROVINCE")["3.3"] == (4, 10, 4.8)


# --- 3.6 online payment ---------------------------------------------------------------------------


def test_3_6_online_payment_of_fee_bearing_dossiers():
    events = [
        # U1: fee-bearing d1 d2 d3 d4 (den 4); paid online d1 (portal) d2 (provincial gateway)
        # -> 2/4 = 50 % -> T 100 -> 6 * 0.5 = 3.00
        received("d1", fee_amount=50000, online_payment=1), received("d2", fee_amount=20000, online_payment=2),
        received("d3", fee_amount=10000, online_payment=0), received("d4", fee_amount=10000),
        received("d5", fee_amount=0, online_payment=0),  # free: not in the denominator
        received("d6", online_payment=1),  # fee unknown: not in the denominator
        # U2: every fee known and 0 -> 0/0, which the portal scores 0
        received("e1", unit="U2", fee_amount=0),
        # U3: no fee known -> absent
        received("f1", unit="U3", online_payment=1),
        # U4: a fee but no payment information at all -> absent (unknown, not 0)
        received("g1", unit="U4", fee_amount=10000),
    ]
    r = run(events)
    assert counts(r, "U1")["3.6"] == (2, 4, 3.0)
    assert counts(r, "U2")["3.6"] == (0, 0, 0.0)
    assert "3.6" not in counts(r, "U3") and "3.6" not in counts(r, "U4")


def test_3_6_fee_set_on_a_later_event_counts():
    # The fee is known from the financial-obligation event (6): 1 paid of 1 -> 100 % -> 6.00
    events = [received("d1"), ev("d1", 6, 6, "2026-10-06T09:00:00", fee_amount=30000),
              ev("d1", 9, 9, "2026-10-07T09:00:00", online_payment=1)]
    assert counts(run(events))["3.6"] == (1, 1, 6.0)


# --- 4.x digitisation -----------------------------------------------------------------------------


def test_4_1_e_result_of_finished_dossiers():
    events = [
        received("f1"), ev("f1", 9, 9, "2026-10-07T09:00:00", e_result=True),
        received("f2"), ev("f2", 9, 9, "2026-10-07T09:00:00", e_result=False),
        received("f3"), ev("f3", 10, 10, "2026-10-08T09:00:00", e_result=True),  # returned only: finished
        received("f4"), ev("f4", 8, 8, "2026-10-08T09:00:00", e_result=True),  # stopped: no result
        received("f5"),  # open
        received("f6", "2026-09-01T09:00:00"), ev("f6", 9, 9, "2026-09-02T09:00:00", e_result=True),  # September
    ]
    # finished in October: f1 f2 f3; with an e-result f1 f3 -> 2/3 = 66.67 % -> 6 * 2/3 = 4.00
    assert counts(run(events))["4.1"] == (2, 3, 4.0)


def test_4_1_absent_without_e_result_information():
    assert "4.1" not in counts(run([received("f1"), ev("f1", 9, 9, "2026-10-07T09:00:00")]))


def test_zero_denominators_score_as_the_portal_does():
    # domain.md §2.5. U1 carries the facts; U2 received one dossier and finished none, paid no fee
    # and has no rated dossier counted: its zero denominators are scored by each rule's policy.
    events = [
        received("a1", fee_amount=10000, online_payment=1, rating="satisfied"),
        ev("a1", 9, 9, "2026-10-07T09:00:00", e_result=True),
        received("b1", unit="U2", due=None, fee_amount=0, channel=1),
    ]
    r = run(events)
    u2 = unit(r, "U2")
    got = counts(r, "U2")
    assert got["2.1"] == (0, 0, 0.0)  # received = 0 -> 0
    assert got["4.1"] == (0, 0, None)  # null: shown empty, counts 0 in its group
    assert got["3.6"] == (0, 0, 0.0)  # 0, not full marks
    assert got["5.4"] == (0, 0, 0.0)  # 0
    assert u2.groups["4"]["score"] == 0.0 and u2.groups["4"]["max_score"] >= 6
    assert u2.max_total == sum(s.max_score for s in u2.indicators.values())
    # A feed that never sends a field leaves its indicator out, with the reason, for every unit.
    assert "4.3" not in got and "reused_data" in u2.missing["4.3"]
    assert "4.3" not in counts(r, "U1")


def test_4_2_digitised_and_e_result_where_applicable():
    events = [
        received("g1", digitized=True),  # open: digitised inputs suffice -> yes
        received("g2", digitized=True), ev("g2", 9, 9, "2026-10-07T09:00:00", e_result=True),  # yes
        received("g3", digitized=True), ev("g3", 9, 9, "2026-10-07T09:00:00", e_result=False),  # no e-result
        received("g4", digitized=False),  # no
        received("g5"),  # unknown: not in the numerator
    ]
    # 2 of 5 received: 40 % -> T 100 -> 4 * 0.4 = 1.60
    assert counts(run(events))["4.2"] == (2, 5, 1.6)


def test_4_2_uses_the_registry_of_the_period():
    # Same counts, 3/4 = 75 %. 2026 (portal profile): T 100 -> 4 * 0.75 = 3.00.
    # 2025-03 (2022 formula document): T 80 -> 4 * 75/80 = 3.75.
    def events(month: str):
        return [received(f"g{i}", f"{month}-05T09:00:00", due=None, digitized=i < 3) for i in range(4)]

    assert counts(run(events("2026-10")))["4.2"] == (3, 4, 3.0)
    assert counts(run(events("2025-03"), parse_period("2025-03")))["4.2"] == (3, 4, 3.75)


def test_4_3_and_4_5b_reuse_and_population_data():
    events = [
        received("a", reused_data=True, population_db=True),
        received("b", reused_data=True, population_db=False),
        received("c", reused_data=True),
        received("d", reused_data=False),
    ]
    c = counts(run(events))
    # 4.3: 3 of 4 = 75 % -> T 80 -> 2 * 75/80 = 1.875 -> 1.88 (half-up)
    assert c["4.3"] == (3, 4, 1.88)
    # 4.5b: 1 of 4 = 25 % -> T 100 -> 2 * 0.25 = 0.50
    assert c["4.5b"] == (1, 4, 0.5)


# --- 5.4 satisfaction -----------------------------------------------------------------------------


def test_5_4_satisfaction_hand_computed():
    late = [received("L", due="2026-10-09T17:00:00"), ev("L", 9, 9, "2026-10-12T09:00:00")]
    events = late + [
        received("c1", complaint=True),
        received("c2", complaint=True, rating="dissatisfied"),  # both: counted once
        received("n1", rating="neutral"),
        received("s1", rating="satisfied"),
        received("c3", complaint=False),
        received("u1", due=None, complaint=True),  # no deadline: not counted, so not in 5.4 either
    ] + [received(f"x{i}") for i in range(4)]
    # counted 10 (u1 is not); overdue 1 (L); complaint or dissatisfied 2 (c1, c2)
    # 10 - 1 - 2 = 7 -> 70 % -> T 90 -> 6 * 70/90 = 4.667 -> 4.67
    assert counts(run(events))["5.4"] == (7, 10, 4.67)


def test_5_4_rates_add_and_clamp_at_zero():
    # An overdue dossier with a complaint is in both rates: 4 - 1 - 1 = 2 -> 50 % -> 6 * 50/90 = 3.33
    events = [received("L", due="2026-10-09T17:00:00", complaint=True)] + [received(f"x{i}") for i in range(3)]
    assert counts(run(events))["5.4"] == (2, 4, 3.33)
    # 2 dossiers, both overdue and dissatisfied: 2 - 2 - 2 = -2 -> clamped to 0 -> 0.00
    events = [received(c, due="2026-10-09T17:00:00", rating="dissatisfied") for c in ("a", "b")]
    assert counts(run(events))["5.4"] == (0, 2, 0.0)


def test_5_4_absent_without_ratings_or_complaints():
    assert "5.4" not in counts(run([received("a"), received("b", due="2026-10-09T17:00:00")]))


# --- 2.2 and processing time ---------------------------------------------------------------------

TWO_TWO = [
    # X1: Mon 08:00 -> Tue 08:00: Mon 3.5 h + 4 h, Tue 0.5 h = 8 h = 1.00 working day
    received("X1", "2026-10-05T08:00:00"), ev("X1", 9, 9, "2026-10-06T08:00:00"),
    # X2: Mon 09:00 -> 11:00 = 2 h = 0.25
    received("X2", "2026-10-05T09:00:00"), ev("X2", 9, 9, "2026-10-05T11:00:00"),
    # X3: Mon 08:00 -> Thu 08:00 = 7.5 + 8 + 8 + 0.5 = 24 h; supplement Mon 13:00 -> Wed 13:00
    #     = 4 + 8 + 4 = 16 h; 24 - 16 = 8 h = 1.00
    received("X3", "2026-10-05T08:00:00"), ev("X3", 5, 5, "2026-10-05T13:00:00"),
    ev("X3", 4, 4, "2026-10-07T13:00:00"), ev("X3", 9, 9, "2026-10-08T08:00:00"),
    # X4: Fri 16:00 -> Mon 08:30 over the weekend: 1 h + 1 h = 2 h = 0.25
    received("X4", "2026-10-09T16:00:00"), ev("X4", 10, 10, "2026-10-12T08:30:00"),
    # another procedure: filtered out
    received("Y1", "2026-10-05T08:00:00", proc="P2"), ev("Y1", 9, 9, "2026-10-20T08:00:00"),
]


def test_2_2_average_working_days_only_with_a_procedure_filter():
    r = run(TWO_TWO, procedure="P1")
    s = unit(r, "U1").indicators["2.2"]
    # 1.00 + 0.25 + 1.00 + 0.25 = 2.50 working days over 4 finished; monitor only: no score
    assert (s.numerator, s.denominator, s.ratio, s.score, s.max_score) == (2.5, 4, None, None, 0)
    # the figure: 2.50 / 4 = 0.625 -> 0.63 (half-up, as the portal rounds)
    assert unit(r, "U1").figures.avg_processing_working_days == 0.63
    assert {d.dossier_code for d in r.dossiers} == {"X1", "X2", "X3", "X4"}
    assert "2.2" not in unit(run(TWO_TWO), "U1").indicators


def test_processing_time_counts_overlapping_supplement_requests_once():
    # Mon 08:00 -> Thu 08:00 = 24 working hours. Requests Mon 13:00 and Tue 08:00, both completed
    # Wed 13:00: paused Mon 13:00 -> Wed 13:00 once = 16 h (not 16 + 11.5). 24 - 16 = 8 h.
    state = fold([received("R", "2026-10-05T08:00:00"), ev("R", 5, 5, "2026-10-05T13:00:00"),
                  ev("R", 55, 5, "2026-10-06T08:00:00"), ev("R", 4, 4, "2026-10-07T13:00:00")])[0]
    assert processing_time(state, t("2026-10-05T08:00:00"), t("2026-10-08T08:00:00"), WorkingCalendar()) \
        == timedelta(hours=8)


# --- operational figures --------------------------------------------------------------------------


def test_figures_at_an_instant_hand_computed():
    at = "2026-10-09T12:00:00"  # Friday noon; the next working day is Mon 12 Oct
    events = [
        received("P1", "2026-10-09T08:00:00", due="2026-10-16T17:00:00"),  # open, due next week
        received("P2", due="2026-10-09T17:00:00"),  # due today -> due_today, at_risk
        received("P3", due="2026-10-12T17:00:00"),  # due Monday -> at_risk
        received("P4", due="2026-10-08T17:00:00"),  # overdue, so not at risk
        # P5: late, finished Fri 09:00: Mon 09:00 -> Fri 09:00 = 6.5 + 8 + 8 + 8 + 1.5 = 32 h = 4.00
        received("P5", due="2026-10-08T17:00:00"), ev("P5", 9, 9, "2026-10-09T09:00:00"),
        # P6: as X3 above, 1.00 working day, early
        received("P6", "2026-10-05T08:00:00", due="2026-10-09T17:00:00"), ev("P6", 5, 5, "2026-10-05T13:00:00"),
        ev("P6", 4, 4, "2026-10-07T13:00:00"), ev("P6", 9, 9, "2026-10-08T08:00:00"),
        received("P7", "2026-10-09T14:00:00"),  # after `at`: nowhere
        received("Q1", unit="U2", due="2026-10-13T17:00:00"),  # U2: due Tuesday, not at risk
    ]
    r = run(events, OCT.to_date(t(at)), at)
    f = unit(r, "U1").figures
    # received P1-P6 = 6; finished P5 P6 = 2; open P1-P4 = 4
    assert (f.received, f.finished, f.in_processing) == (6, 2, 4)
    assert (f.due_today, f.at_risk, f.overdue) == (1, 2, 1)
    assert (f.early, f.on_time, f.late, f.not_counted) == (1, 0, 1, 0)
    # (4.00 + 1.00) / 2 = 2.50
    assert f.avg_processing_working_days == 2.5
    p = unit(r, "PROVINCE").figures
    assert (p.received, p.in_processing, p.at_risk, p.avg_processing_working_days) == (7, 5, 2, 2.5)
    assert unit(r, "U2").figures.avg_processing_working_days is None


# --- units, province, totals ----------------------------------------------------------------------

UNITS = [
    # U1: 3 good of 4
    received("a1", unit="U1", channel=2), received("a2", unit="U1"), received("a3", unit="U1"),
    received("a4", unit="U1", due="2026-10-09T17:00:00"),
    # U2: 1 good of 2
    received("b1", unit="U2"), received("b2", unit="U2", due="2026-10-09T17:00:00"),
]


def test_province_aggregates_units_and_comes_first():
    r = run(UNITS)
    assert [u.unit for u in r.units] == ["PROVINCE", "U1", "U2"]
    # U1 3/4 = 75 % -> 15.00; U2 1/2 -> 10.00; province 4/6 = 66.667 % -> 13.333 -> 13.33
    assert counts(r, "U1")["2.1"] == (3, 4, 15.0)
    assert counts(r, "U2")["2.1"] == (1, 2, 10.0)
    assert counts(r, "PROVINCE")["2.1"] == (4, 6, 13.33)
    # U1 3.3: 1 online of 4 = 25 % -> 6 * 25/50 = 3.00; U2 has no channel known: absent
    assert counts(r, "U1")["3.3"] == (1, 4, 3.0) and "3.3" not in counts(r, "U2")
    # province 3.3: 1 of 6 = 16.667 % -> 6 * 16.667/50 = 2.00
    assert counts(r, "PROVINCE")["3.3"] == (1, 6, 2.0)
    assert [(d.unit, d.dossier_code) for d in r.dossiers] == sorted((d.unit, d.dossier_code) for d in r.dossiers)


def test_totals_and_band_over_present_indicators():
    r = run(UNITS)
    u1 = unit(r, "U1")
    # 2.1 15.00 + 3.3 3.00 = 18.00 of the 26 points present; no band on an incomplete index
    # (issue #12: a 26-point total is not banded against 100)
    assert (u1.total_score, u1.max_total, u1.band) == (18.0, 26, None)
    assert set(u1.indicators) <= SUPPORTED
    j = u1.to_json()
    assert j["indicators"]["2.1"] == {"numerator": 3, "denominator": 4, "ratio": 0.75, "score": 15.0, "max_score": 20}
    assert set(j["figures"]) == {"received", "finished", "in_processing", "due_today", "at_risk", "overdue",
                                 "early", "on_time", "late", "not_counted", "avg_processing_working_days"}


def test_unit_selection_and_province_code():
    only_u2 = run(UNITS, units={"U2"})
    assert [u.unit for u in only_u2.units] == ["U2"]
    assert {d.unit for d in only_u2.dossiers} == {"U2"}
    province = run(UNITS, units={"H15"}, province="H15")
    assert [u.unit for u in province.units] == ["H15"] and len(province.dossiers) == 6
    assert run(UNITS, units={"NOPE"}).units == ()
    with pytest.raises(ValueError, match="U1"):
        run(UNITS, province="U1")


def test_procedure_filter_applies_to_every_count():
    events = UNITS + [received("p1", unit="U1", proc="P2", channel=2)]
    r = run(events, procedure="P2")
    # only p1: 1 good of 1 -> 20.00; 1 online of 1 -> 6.00
    assert counts(r)["2.1"] == (1, 1, 20.0) and counts(r)["3.3"] == (1, 1, 6.0)
    assert [d.dossier_code for d in r.dossiers] == ["p1"]


def test_no_dossier_in_the_period_no_units():
    r = run([received("F", "2026-09-01T09:00:00", due="2026-09-10T17:00:00"), ev("F", 9, 9, "2026-09-08T10:00:00")])
    assert r.units == () and r.dossiers == ()
    out = run([]).to_json()
    assert out["scoring"]["effective_from"] == "2025-07-01"  # the profile in force is named
    assert {k: v for k, v in out.items() if k != "scoring"} == {"period": OCT.to_json(OCT.end), "units": [],
                                                               "dossiers": []}
