"""Petitions (PAKN): the event, the fold, the judgement of domain.md §2.6 and indicators 5.1-5.3.

Every expectation is computed by hand in a comment. The working calendar of Nov-Dec 2026
(ioc.domain.calendar, holidays package + calendar_overrides.yaml):

    Mon  2 Nov  Tue  3  Wed  4  Thu  5  Fri  6      (Sat 7, Sun 8 off)
    Mon  9      Tue 10  Wed 11  Thu 12  Fri 13
    Mon 16      Tue 17  Wed 18  Thu 19  Fri 20
    Mon 23      Tue 24 OFF (Ngày Văn hóa Việt Nam)  Wed 25  Thu 26  Fri 27
    Mon 30      Tue  1 Dec  Wed 2  Thu 3  Fri 4
    Mon  7 Dec
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ioc.domain.calendar import WorkingCalendar
from ioc.domain.events import EventRejected
from ioc.domain.pakn import PaknEvent, apply_pakn, judge_pakn, link_of, parse_pakn_event
from ioc.kpi.indicators import sum_tallies
from ioc.kpi.pakn import (
    LivePakn,
    complaint_links,
    fold_pakn,
    pakn_figures,
    pakn_figures_for,
    pakn_indicators,
    pakn_tallies,
    pakn_tally,
)
from ioc.kpi.periods import parse_period
from ioc.kpi.scoring import CURRENT

CAL = WorkingCalendar()
NOV = parse_period("2026-11")
OCT = parse_period("2026-10")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text + "+07:00")


def ev(eid: str, status: str, when: str, code: str = "P1", unit: str = "U1", **extra) -> PaknEvent:
    return parse_pakn_event({"event_id": eid, "pakn_code": code, "status": status, "occurred_at": when + "+07:00",
                             "unit_code": unit, **extra})


def fold(*events: PaknEvent):
    state = None
    for e in events:
        state = apply_pakn(state, e)
    return state


def judged(*events: PaknEvent, at: str, period=NOV):
    return judge_pakn(fold(*events), period, t(at), CAL)


RECEIVED = ev("r", "received", "2026-11-02T09:00:00")  # Monday 2 Nov, 09:00


# --- the event ---------------------------------------------------------------------------------------


def test_a_valid_event_keeps_unknown_fields():
    e = parse_pakn_event({"event_id": "e1", "pakn_code": "PAKN-1", "status": "answered",
                          "occurred_at": "2026-11-02T09:00:00+07:00", "unit_code": "H44.07", "category": "conduct",
                          "channel": "hotline", "dossier_code": "H44.07-261102-0001", "likes": 2, "dislikes": 0,
                          "commune_code": "08866", "officer": "Nguyễn Văn A"})
    assert e.to_json()["officer"] == "Nguyễn Văn A"
    assert (e.category, e.channel, e.likes) == ("conduct", "hotline", 2)


@pytest.mark.parametrize(("change", "field"), [
    ({"status": "closed"}, "status"),
    ({"occurred_at": "2026-11-02T09:00:00"}, "occurred_at"),  # no offset
    ({"likes": -1}, "likes"),
    ({"dislikes": True}, "dislikes"),
    ({"category": "traffic"}, "category"),
    ({"channel": "fax"}, "channel"),
    ({"pakn_code": ""}, "pakn_code"),
    ({"unit_code": None}, "unit_code"),
])
def test_a_bad_event_is_rejected_naming_the_field(change, field):
    raw = {"event_id": "e1", "pakn_code": "P", "status": "received", "occurred_at": "2026-11-02T09:00:00+07:00",
           "unit_code": "U1", **change}
    with pytest.raises(EventRejected) as err:
        parse_pakn_event(raw)
    assert err.value.reason.startswith(f"{field}:")


def test_missing_fields_and_non_objects_are_rejected():
    with pytest.raises(EventRejected, match="pakn_code: Field required"):
        parse_pakn_event({"event_id": "e", "status": "received", "occurred_at": "2026-11-02T09:00:00+07:00",
                          "unit_code": "U"})
    with pytest.raises(EventRejected, match="expected a JSON object"):
        parse_pakn_event(["x"])


# --- limits ------------------------------------------------------------------------------------------


def test_the_limits_count_working_days_from_the_day_after_reception():
    j = judged(RECEIVED, at="2026-11-02T10:00:00")
    # Day 1 is Tue 3 Nov. Reject: 2 WD -> Wed 4 Nov 17:00. Supplement: 5 WD -> Tue 3, Wed 4, Thu 5,
    # Fri 6, Mon 9 -> Mon 9 Nov 17:00. Answer: 15 WD -> 3,4,5,6,9,10,11,12,13,16,17,18,19,20,23 -> Mon 23 Nov 17:00.
    assert j.reject_due == t("2026-11-04T17:00:00")
    assert j.supplement_due == t("2026-11-09T17:00:00")
    assert j.answer_due == t("2026-11-23T17:00:00")


def test_no_reception_cut_off_for_petitions():
    # Received Mon 2 Nov at 16:30 (after the dossiers' 15:00 cut-off): still day 1 = Tue 3, answer due Mon 23 Nov.
    j = judged(ev("r", "received", "2026-11-02T16:30:00"), at="2026-11-03T10:00:00")
    assert j.answer_due == t("2026-11-23T17:00:00")
    # Received on Saturday 7 Nov: day 1 is Mon 9; 2 WD -> Tue 10 Nov 17:00.
    j = judged(ev("r", "received", "2026-11-07T10:00:00"), at="2026-11-09T10:00:00")
    assert j.reject_due == t("2026-11-10T17:00:00")


def test_answered_on_the_15th_working_day_at_17_00_is_on_time_and_at_17_01_late():
    on_time = judged(RECEIVED, ev("a", "answered", "2026-11-23T17:00:00"), ev("p", "published", "2026-11-24T09:00:00"),
                     at="2026-11-30T00:00:00")
    assert on_time.outcome == "answered" and on_time.on_time and on_time.late_steps == ()
    late = judged(RECEIVED, ev("a", "answered", "2026-11-23T17:01:00"), ev("p", "published", "2026-11-24T09:00:00"),
                  at="2026-11-30T00:00:00")
    assert late.late_steps == ("answer",) and not late.on_time and not late.satisfied


def test_publishing_within_2_working_days_of_the_answer_skips_the_holiday():
    answered = ev("a", "answered", "2026-11-23T11:00:00")  # Mon 23 Nov
    # Day 1 after Mon 23 is Wed 25 (Tue 24 is off), day 2 Thu 26 -> publish due Thu 26 Nov 17:00.
    j = judged(RECEIVED, answered, ev("p", "published", "2026-11-26T17:00:00"), at="2026-11-30T00:00:00")
    assert j.publish_due == t("2026-11-26T17:00:00") and j.on_time
    j = judged(RECEIVED, answered, ev("p", "published", "2026-11-26T17:01:00"), at="2026-11-30T00:00:00")
    assert j.late_steps == ("publish",)
    # Not published yet: on time while at <= Thu 26 Nov 17:00, pending publication; late after.
    j = judged(RECEIVED, answered, at="2026-11-26T17:00:00")
    assert (j.on_time, j.pending, j.overdue, j.near_limit) == (True, "publish", False, True)
    j = judged(RECEIVED, answered, at="2026-11-26T17:00:01")
    assert (j.late_steps, j.pending, j.overdue) == (("publish",), "publish", True)


def test_a_holiday_inside_the_answer_window_moves_the_limit():
    # Received Fri 13 Nov: 15 WD = Mon 16 (1) .. Mon 23 (6), Tue 24 off, Wed 25 (7), Thu 26 (8), Fri 27 (9),
    # Mon 30 (10), Tue 1 Dec (11), Wed 2 (12), Thu 3 (13), Fri 4 (14), Mon 7 Dec (15) -> Mon 7 Dec 17:00.
    # Counting 24 Nov as a working day would have given Fri 4 Dec, and an answer on 7 Dec late.
    received = ev("r", "received", "2026-11-13T10:00:00")
    j = judged(received, ev("a", "answered", "2026-12-07T16:00:00"), ev("p", "published", "2026-12-08T09:00:00"),
               at="2026-12-10T00:00:00", period=parse_period("2026-12"))
    assert j.answer_due == t("2026-12-07T17:00:00")
    assert j.on_time


def test_rejected_within_and_after_2_working_days():
    # Received Mon 2 Nov -> reject due Wed 4 Nov 17:00.
    assert judged(RECEIVED, ev("x", "rejected", "2026-11-04T17:00:00"), at="2026-11-30T00:00:00").on_time
    late = judged(RECEIVED, ev("x", "rejected", "2026-11-05T08:00:00"), at="2026-11-30T00:00:00")
    assert (late.outcome, late.late_steps) == ("rejected", ("reject",))
    # Received Mon 23 Nov: day 1 Wed 25 (24 off), day 2 Thu 26 -> due Thu 26 Nov 17:00.
    received = ev("r", "received", "2026-11-23T10:00:00")
    assert judged(received, ev("x", "rejected", "2026-11-26T16:30:00"), at="2026-11-30T00:00:00").on_time
    assert not judged(received, ev("x", "rejected", "2026-11-27T08:00:00"), at="2026-11-30T00:00:00").on_time


def test_a_late_supplement_request_makes_the_petition_late_and_does_not_pause_the_answer_clock():
    answered = ev("a", "answered", "2026-11-20T10:00:00")
    published = ev("p", "published", "2026-11-20T15:00:00")
    # Supplement due Mon 9 Nov 17:00: at 17:00 on time ...
    ok = judged(RECEIVED, ev("s", "supplement_requested", "2026-11-09T17:00:00"), answered, published,
                at="2026-11-30T00:00:00")
    assert ok.on_time and ok.answer_due == t("2026-11-23T17:00:00")  # the answer limit did not move
    # ... on Tue 10 Nov late, although the answer itself came in time.
    late = judged(RECEIVED, ev("s", "supplement_requested", "2026-11-10T09:00:00"), answered, published,
                  at="2026-11-30T00:00:00")
    assert late.late_steps == ("supplement",)


def test_an_open_petition_is_on_time_while_within_its_limit_and_late_after():
    # Answer due Mon 23 Nov 17:00.
    before = judged(RECEIVED, at="2026-11-23T17:00:00")
    assert (before.is_open, before.on_time, before.pending, before.overdue) == (True, True, "answer", False)
    after = judged(RECEIVED, at="2026-11-23T17:00:01")
    assert (after.on_time, after.late_steps, after.overdue, after.near_limit) == (False, ("answer",), True, False)


def test_near_limit_means_due_by_the_end_of_the_next_working_day():
    # Due Mon 23 Nov. On Thu 19 the next working day is Fri 20 < 23: not near.
    assert not judged(RECEIVED, at="2026-11-19T10:00:00").near_limit
    # On Fri 20 the next working day is Mon 23 = the due day: near.
    assert judged(RECEIVED, at="2026-11-20T10:00:00").near_limit
    # On Mon 23 before 17:00: near (due today), not overdue.
    j = judged(RECEIVED, at="2026-11-23T16:59:00")
    assert j.near_limit and not j.overdue


# --- which petitions a period counts ------------------------------------------------------------------


def test_period_membership():
    # Received 28 Oct and answered 30 Oct: finished before November's start -> not counted in November.
    early = judged(ev("r", "received", "2026-10-28T09:00:00"), ev("a", "answered", "2026-10-30T09:00:00"),
                   ev("p", "published", "2026-10-30T10:00:00"), at="2026-11-30T00:00:00")
    assert not early.counted and pakn_tally(early) == {}
    # The same answer never published: still not counted in November, but owed publication since
    # Fri 30 Oct + 2 WD = Tue 3 Nov 17:00, so November's operational figures show it overdue.
    unpublished = judged(ev("r", "received", "2026-10-28T09:00:00"), ev("a", "answered", "2026-10-30T09:00:00"),
                         at="2026-11-30T00:00:00")
    assert unpublished.publish_due == t("2026-11-03T17:00:00")
    assert pakn_tally(unpublished) == {"pakn:awaiting_publication": 1, "pakn:overdue": 1}
    # Received 28 Oct, answered 2 Nov: counted in November (ended in it) and in October (open at its end).
    across = [ev("r", "received", "2026-10-28T09:00:00"), ev("a", "answered", "2026-11-02T09:00:00"),
              ev("p", "published", "2026-11-02T10:00:00")]
    assert judged(*across, at="2026-12-01T00:00:00").counted
    in_october = judged(*across, at="2026-11-01T00:00:00", period=OCT)
    assert in_october.counted and in_october.is_open and in_october.received_in_period
    # Received 30 Nov 16:00: counted in November; 1 Dec 00:00: not (the period is [1 Nov, 1 Dec)).
    assert judged(ev("r", "received", "2026-11-30T16:00:00"), at="2026-12-01T00:00:00").counted
    assert not judged(ev("r", "received", "2026-12-01T00:00:00"), at="2026-12-01T00:00:00").counted
    # Received 20 Oct, still open on 10 Nov: counted in November, but not received in it.
    old_open = judged(ev("r", "received", "2026-10-20T09:00:00"), at="2026-11-10T00:00:00")
    assert old_open.counted and not old_open.received_in_period
    # Facts after `at` do not exist yet: received on 5 Nov, judged on 4 Nov -> nothing.
    assert pakn_tally(judged(ev("r", "received", "2026-11-05T09:00:00"), at="2026-11-04T00:00:00")) == {}


# --- 5.3 -----------------------------------------------------------------------------------------------


def test_two_re_complaints_are_one_unsatisfied_petition():
    j = judged(RECEIVED, ev("a", "answered", "2026-11-10T09:00:00"), ev("p", "published", "2026-11-10T10:00:00"),
               ev("c1", "re_complained", "2026-11-12T09:00:00"), ev("c2", "re_complained", "2026-11-16T09:00:00"),
               at="2026-11-30T00:00:00")
    assert (j.on_time, j.re_complaints, j.satisfied) == (True, 2, False)
    tally = pakn_tally(j)
    # counted 1, on time 1, satisfied 0, re-complained 1 (the petition, not the complaints)
    assert (tally["pakn:counted"], tally["pakn:on_time"], tally.get("pakn:satisfied", 0),
            tally["pakn:re_complained"]) == (1, 1, 0, 1)


def test_a_tie_of_likes_and_dislikes_is_not_more_dislikes():
    base = [RECEIVED, ev("a", "answered", "2026-11-10T09:00:00")]
    tie = judged(*base, ev("p", "published", "2026-11-10T10:00:00", likes=3, dislikes=3), at="2026-11-30T00:00:00")
    assert tie.satisfied and not tie.disliked
    more = judged(*base, ev("p", "published", "2026-11-10T10:00:00", likes=3, dislikes=4), at="2026-11-30T00:00:00")
    assert more.disliked and more.on_time and not more.satisfied
    # The latest votes win: 4/3 on the 10th, then 5 likes/4 dislikes on the 12th -> not disliked.
    later = judged(*base, ev("p", "published", "2026-11-10T10:00:00", likes=3, dislikes=4),
                   ev("v", "published", "2026-11-12T10:00:00", likes=5, dislikes=4), at="2026-11-30T00:00:00")
    assert later.satisfied


# --- indicators ----------------------------------------------------------------------------------------


def test_zero_petitions_score_full_marks_and_no_pakn_data_gives_no_indicator():
    scores = pakn_indicators({}, CURRENT, with_pakn=True)
    # 5.2 and 5.3: den 0 -> full marks 6 (domain.md §2.5); 5.1 absent: no categorised petition.
    assert {k: (s.numerator, s.denominator, s.score) for k, s in scores.items()} == {"5.2": (0, 0, 6.0),
                                                                                     "5.3": (0, 0, 6.0)}
    assert pakn_indicators({"pakn:counted": 3}, CURRENT, with_pakn=False) == {}


def test_indicators_of_a_unit_hand_computed():
    at = "2026-11-30T00:00:00"
    states = [
        # A: answered and published on time, category procedure -> on time, satisfied
        fold(ev("a1", "received", "2026-11-02T09:00:00", "A", category="procedure"),
             ev("a2", "answered", "2026-11-05T09:00:00", "A"), ev("a3", "published", "2026-11-05T10:00:00", "A")),
        # B: answered late (due Mon 23 Nov), category conduct -> late, not satisfied
        fold(ev("b1", "received", "2026-11-02T09:00:00", "B", category="conduct"),
             ev("b2", "answered", "2026-11-24T09:00:00", "B"), ev("b3", "published", "2026-11-25T10:00:00", "B")),
        # C: rejected on time, category regulation -> on time, satisfied
        fold(ev("c1", "received", "2026-11-16T09:00:00", "C", category="regulation"),
             ev("c2", "rejected", "2026-11-17T09:00:00", "C")),
        # D: open since 20 Nov (due 11 Dec), no category -> on time, satisfied; open
        fold(ev("d1", "received", "2026-11-20T09:00:00", "D")),
        # E: on time but disliked, category other -> on time, not satisfied
        fold(ev("e1", "received", "2026-11-02T09:00:00", "E", category="other"),
             ev("e2", "answered", "2026-11-03T09:00:00", "E"),
             ev("e3", "published", "2026-11-03T10:00:00", "E", likes=0, dislikes=2)),
        # F: other unit, open since Mon 2 Nov (due Mon 23 Nov 17:00) -> not in U1; late and overdue on 30 Nov
        fold(ev("f1", "received", "2026-11-02T09:00:00", "F", unit="U2")),
    ]
    per_unit = pakn_tallies(states, NOV, t(at), CAL)
    u1 = per_unit["U1"]
    # counted 5 (A-E); on time A, C, D, E = 4; satisfied A, C, D = 3; categorised A, B, C, E = 4;
    # about rules (regulation/procedure) A, C = 2.
    assert (u1["pakn:counted"], u1["pakn:on_time"], u1["pakn:satisfied"]) == (5, 4, 3)
    assert (u1["pakn:categorised"], u1["pakn:about_rules"]) == (4, 2)
    scores = pakn_indicators(u1, CURRENT, with_pakn=True)
    # 5.1: 2/4 = 50 %, monitor (no score). 5.2: 4/5 = 80 % -> 6 x 0.8 = 4.8. 5.3: 3/5 = 60 % -> 3.6.
    assert (scores["5.1"].ratio, scores["5.1"].score) == (0.5, None)
    assert (scores["5.2"].numerator, scores["5.2"].denominator, scores["5.2"].score) == (4, 5, 4.8)
    assert (scores["5.3"].numerator, scores["5.3"].denominator, scores["5.3"].score) == (3, 5, 3.6)
    figures = pakn_figures(u1)
    # received in November: all 5; open: D only; overdue/near: none on 30 Nov (D due 11 Dec).
    assert (figures["received"], figures["open"], figures["overdue"], figures["near_limit"]) == (5, 1, 0, 0)
    assert figures["by_category"] == {"regulation": 1, "procedure": 1, "conduct": 1, "other": 1, "unknown": 1}
    # The province: the sum of the units (F adds one counted, open, late and overdue petition).
    province = sum_tallies(per_unit.values())
    assert (province["pakn:counted"], province["pakn:on_time"], province["pakn:overdue"]) == (6, 4, 1)


# --- fold: order, duplicates, links ---------------------------------------------------------------------

LIFECYCLE = [
    ev("1", "received", "2026-11-02T09:00:00", category="other", channel="portal", dossier_code="D-1"),
    ev("2", "supplement_requested", "2026-11-04T09:00:00"),
    ev("3", "answered", "2026-11-12T09:00:00", category="procedure"),
    ev("4", "published", "2026-11-12T10:00:00", likes=1, dislikes=0),
    ev("5", "published", "2026-11-14T10:00:00", likes=1, dislikes=3),
    ev("6", "re_complained", "2026-11-15T10:00:00"),
    ev("7", "re_complained", "2026-11-15T10:00:00"),  # same time, another id
    ev("8", "received", "2026-11-02T09:00:00", unit="U1", commune_code="08866"),
]


@settings(max_examples=80, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 4))
def test_state_is_independent_of_order_and_duplicate_delivery(rnd, dupes):
    events = LIFECYCLE + [rnd.choice(LIFECYCLE) for _ in range(dupes)]
    rnd.shuffle(events)
    expected = fold(*LIFECYCLE)
    assert fold(*events) == expected
    assert fold_pakn(events, t("2026-12-01T00:00:00")) == [expected]
    j = judge_pakn(fold(*events), NOV, t("2026-11-30T00:00:00"), CAL)
    # category: the latest event carrying it (procedure, 12 Nov); votes the latest (1/3: disliked)
    assert (j.category, j.disliked, j.re_complaints, j.on_time) == ("procedure", True, 2, True)


def test_a_redelivered_event_returns_the_same_state():
    s = fold(*LIFECYCLE)
    assert apply_pakn(s, LIFECYCLE[2]) is s


def test_fold_keeps_only_events_by_at_and_links_name_the_first_event():
    events = [
        ev("1", "received", "2026-11-02T09:00:00", "P1", dossier_code="D-1"),
        ev("0", "received", "2026-11-01T09:00:00", "P2"),  # names no dossier: no link
        ev("2", "answered", "2026-11-03T09:00:00", "P3", dossier_code="D-9"),
        ev("3", "received", "2026-11-02T08:00:00", "P3"),  # P3's first event, before its answer
        ev("4", "received", "2026-11-20T09:00:00", "P4", dossier_code="D-4"),  # after `at`
    ]
    at = t("2026-11-10T00:00:00")
    assert [s.pakn_code for s in fold_pakn(events, at)] == ["P1", "P2", "P3"]
    assert complaint_links(events, at) == [("D-1", t("2026-11-02T09:00:00"), "pakn:P1"),
                                           ("D-9", t("2026-11-02T08:00:00"), "pakn:P3")]
    assert link_of(fold(events[0])) == {"type": "pakn_link", "event_id": "pakn:P1", "dossier_code": "D-1",
                                        "occurred_at": "2026-11-02T09:00:00+07:00"}


def test_state_round_trips_through_json():
    s = fold(*LIFECYCLE)
    assert type(s).from_json(s.to_json()) == s


# --- live ---------------------------------------------------------------------------------------------


def test_live_tallies_follow_deadlines_and_midnight_without_rejudging_everything():
    live = LivePakn(CAL)
    # Open since Mon 2 Nov (due Mon 23 Nov 17:00); one finished on 5 Nov with nothing pending.
    open_one = fold(ev("1", "received", "2026-11-02T09:00:00", "OPEN"))
    done = fold(ev("2", "received", "2026-11-02T09:00:00", "DONE"), ev("3", "rejected", "2026-11-03T09:00:00", "DONE"))
    for s in (open_one, done):
        live.touch(s)
    now = t("2026-11-23T16:00:00")
    live.advance(now)
    assert live.figures() == pakn_figures_for([open_one, done], now, CAL)
    assert live.figures()["U1"]["pakn:near_limit"] == 1
    before = live.recomputed
    live.advance(t("2026-11-23T16:30:00"))  # nothing due: nothing re-judged
    assert live.recomputed == before
    after_due = t("2026-11-23T17:00:01")  # the open one's limit passed: only it is re-judged
    live.advance(after_due)
    assert live.recomputed == before + 1
    assert live.figures() == pakn_figures_for([open_one, done], after_due, CAL)
    assert live.figures()["U1"]["pakn:overdue"] == 1
    next_month = t("2026-12-01T09:00:00")  # both judged again at midnights; DONE leaves December's view
    live.advance(next_month)
    assert live.figures() == pakn_figures_for([open_one, done], next_month, CAL)
    assert "pakn:rejected" not in live.figures()["U1"]


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False))
def test_live_equals_recomputing_everything(rnd):
    start = t("2026-11-02T08:00:00")
    statuses = ["received", "received", "answered", "published", "rejected", "supplement_requested", "re_complained"]
    events = []
    for i in range(40):
        code = f"P{rnd.randrange(8)}"
        when = start + timedelta(hours=rnd.uniform(0, 24 * 40))
        events.append(ev(str(i), rnd.choice(statuses), when.strftime("%Y-%m-%dT%H:%M:%S"), code,
                         unit=f"U{int(code[1:]) % 3}", likes=rnd.randrange(3), dislikes=rnd.randrange(3)))
    live = LivePakn(CAL)
    states: dict[str, object] = {}
    now = start
    for e in sorted(events, key=lambda e: e.occurred_at):
        now = max(now, e.occurred_at)
        states[e.pakn_code] = apply_pakn(states.get(e.pakn_code), e)  # type: ignore[arg-type]
        live.touch(states[e.pakn_code])  # type: ignore[arg-type]
        if rnd.random() < 0.3:
            live.advance(now)
            assert live.figures() == pakn_figures_for(states.values(), now, CAL)  # type: ignore[arg-type]
    end = now + timedelta(days=25)
    live.advance(end)
    assert live.figures() == pakn_figures_for(states.values(), end, CAL)  # type: ignore[arg-type]
