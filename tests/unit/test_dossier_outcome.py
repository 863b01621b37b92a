"""Dossier state and the on-time rules of domain.md §1.3, case by case.

All times are local (+07:00). 2026-10-05 is a Monday.
"""

import random
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ioc.domain.dossier import apply_event
from ioc.domain.events import parse_event
from ioc.domain.outcome import Outcome, classify, deadline
from ioc.kpi.live import figures_for, merge

TZ = "+07:00"


def at(s: str) -> datetime:
    return datetime.fromisoformat(s + TZ)


def ev(i, status, when, code="D1", unit="U1", **extra):
    return parse_event({"event_id": f"{code}-{i}", "dossier_code": code, "status": status,
                        "occurred_at": when + TZ, "unit_code": unit, "procedure_code": "1.001612", **extra})


def fold(events):
    state = None
    for e in events:
        state = apply_event(state, e)
    return state


DUE = "2026-10-09T17:00:00"  # Friday


def received(code="D1", unit="U1", when="2026-10-05T09:00:00", due=DUE):
    return ev(2, 2, when, code, unit, due_at=due + TZ)


def test_finished_two_days_before_appointment_is_early():
    s = fold([received(), ev(4, 4, "2026-10-05T10:00:00"), ev(9, 9, "2026-10-07T16:00:00")])
    assert classify(s, at("2026-10-31T00:00:00")) is Outcome.EARLY


def test_finished_on_the_appointment_day_is_on_time():
    s = fold([received(), ev(9, 9, "2026-10-09T16:59:00")])
    assert classify(s, at("2026-10-31T00:00:00")) is Outcome.ON_TIME


def test_finished_after_the_appointment_is_late():
    s = fold([received(), ev(9, 9, "2026-10-09T17:01:00")])
    assert classify(s, at("2026-10-31T00:00:00")) is Outcome.LATE


def test_finished_beats_returned_for_the_end_time():
    # Result ready on time (Fri 16:00), handed over on Monday: judged by status 9.
    s = fold([received(), ev(10, 10, "2026-10-12T08:00:00"), ev(9, 9, "2026-10-09T16:00:00")])
    assert classify(s, at("2026-10-31T00:00:00")) is Outcome.ON_TIME


def test_supplement_time_is_excluded():
    # Finished Mon 12 Oct 10:00, 2 days 17 h after the Friday 17:00 appointment; the
    # supplement paused the clock Tue 6 Oct 09:00 -> Fri 9 Oct 09:00 (3 days), so the
    # effective end is Fri 9 Oct 10:00 - before 17:00 the same day: on time.
    s = fold([received(), ev(5, 5, "2026-10-06T09:00:00"), ev(6, 4, "2026-10-09T09:00:00"),
              ev(9, 9, "2026-10-12T10:00:00")])
    assert classify(s, at("2026-10-31T00:00:00")) is Outcome.ON_TIME


def test_second_supplement_request_is_overdue():
    s = fold([received(), ev(5, 5, "2026-10-06T09:00:00"), ev(6, 4, "2026-10-06T15:00:00"),
              ev(7, 5, "2026-10-07T09:00:00")])
    assert classify(s, at("2026-10-08T09:00:00")) is Outcome.IN_PROGRESS_OVERDUE


def test_pending_supplement_pauses_the_clock():
    # Requested Thu 8 Oct 09:00 and not yet completed: judged at the request time.
    s = fold([received(), ev(5, 5, "2026-10-08T09:00:00")])
    assert classify(s, at("2026-10-20T09:00:00")) is Outcome.IN_PROGRESS_ON_TIME


def test_open_dossier_judged_at_evaluation_time():
    s = fold([received(), ev(4, 4, "2026-10-05T10:00:00")])
    assert classify(s, at("2026-10-09T16:00:00")) is Outcome.IN_PROGRESS_ON_TIME
    assert classify(s, at("2026-10-09T17:00:01")) is Outcome.IN_PROGRESS_OVERDUE
    # Before reception it does not exist yet for the KPIs.
    assert classify(s, at("2026-10-05T08:00:00")) is Outcome.NOT_COUNTED


def test_missing_due_at_uses_legal_duration_in_working_days():
    # Received Mon 5 Oct 09:00, 3 working days -> Thu 8 Oct 17:00 (the calendar's rule).
    s = fold([ev(2, 2, "2026-10-05T09:00:00", legal_duration={"value": 3, "unit": "working_day"}),
              ev(9, 9, "2026-10-08T16:00:00")])
    assert deadline(s) == at("2026-10-08T17:00:00")
    assert classify(s, at("2026-10-31T00:00:00")) is Outcome.ON_TIME


def test_never_received_or_refused_is_not_counted():
    assert classify(fold([ev(1, 1, "2026-10-05T09:00:00")]), at("2026-10-31T00:00:00")) is Outcome.NOT_COUNTED
    assert classify(fold([ev(3, 3, "2026-10-05T09:00:00")]), at("2026-10-31T00:00:00")) is Outcome.NOT_COUNTED


def test_redelivered_event_changes_nothing():
    s = fold([received(), ev(9, 9, "2026-10-07T16:00:00")])
    assert apply_event(s, ev(9, 9, "2026-10-07T16:00:00")) is s


LIFECYCLE = [received(), ev(4, 4, "2026-10-05T10:00:00"), ev(5, 5, "2026-10-06T09:00:00", digitized=True),
             ev(6, 4, "2026-10-07T09:00:00", digitized=False), ev(9, 9, "2026-10-09T18:00:00", e_result=True),
             ev(10, 10, "2026-10-10T09:00:00", rating="satisfied")]


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 3))
def test_state_is_independent_of_order_and_duplicates(rnd, dupes):
    events = LIFECYCLE + [rnd.choice(LIFECYCLE) for _ in range(dupes)]
    rnd.shuffle(events)
    assert fold(events) == fold(LIFECYCLE)


def test_live_figures_hand_computed():
    now = at("2026-10-09T12:00:00")  # Friday noon
    states = [
        # A: received today, open, due Friday next week -> received_today, in processing, within time
        fold([received("A", when="2026-10-09T08:00:00", due="2026-10-16T17:00:00")]),
        # B: due today at 17:00, open -> due_today, at risk, within time
        fold([received("B")]),
        # C: due yesterday, open -> overdue
        fold([received("C", due="2026-10-08T17:00:00")]),
        # D: finished late this morning -> finished_today, late
        fold([received("D", due="2026-10-08T17:00:00"), ev(9, 9, "2026-10-09T09:00:00", "D")]),
        # E: other unit, finished early last month -> outside the month, not in 2.1
        fold([received("E", "U2", when="2026-09-01T09:00:00", due="2026-09-10T17:00:00"),
              ev(9, 9, "2026-09-02T09:00:00", "E", "U2")]),
    ]
    figs = figures_for(states, now)
    u1 = figs["U1"]
    get = lambda k: u1.get(k, 0)  # noqa: E731
    assert (get("received_today"), get("in_processing"), get("due_today"), get("overdue"), get("finished_today")) \
        == (1, 3, 1, 1, 1)
    # 2.1 month to date: A, B within time; C overdue; D late -> 2 good of 4 counted
    assert (get("good"), get("counted")) == (2, 4)
    # At risk: open, within time, due by the end of the next working day (Mon 12 Oct): B only
    assert get("at_risk") == 1
    # Finished this month: D, late. Office hours Mon 5 Oct 09:00 -> Fri 9 Oct 09:00:
    # Mon 09:00-17:00 minus lunch 11:30-13:00 = 6.5 h, Tue-Thu 8 h each, Fri 07:30-09:00 = 1.5 h
    # -> 32 h = 4 working days of 8 h.
    assert (get("early"), get("on_time"), get("late"), get("finished")) == (0, 0, 1, 1)
    assert get("processing_us") == 32 * 3600 * 10**6
    # E ended last month: it no longer counts anywhere
    assert "U2" not in figs
    total = merge([figs, {"U1": {"received_today": 2}}])
    assert total["U1"]["received_today"] == 3


def test_incremental_figures_equal_full_recomputation_over_time():
    from ioc.kpi.live import LiveFigures

    states = [
        fold([received("A", when="2026-10-09T08:00:00", due="2026-10-16T17:00:00")]),
        fold([received("B")]),
        fold([received("C", due="2026-10-08T17:00:00")]),
        fold([received("D", due="2026-10-08T17:00:00"), ev(9, 9, "2026-10-09T09:00:00", "D")]),
        fold([received("F", when="2026-09-29T09:00:00", due="2026-10-02T17:00:00"),
              ev(9, 9, "2026-09-30T09:00:00", "F")]),
        fold([received("G", when="2026-10-09T08:00:00", due="2026-10-09T16:00:00"),
              ev(9, 9, "2026-10-12T10:00:00", "G")]),  # its end is dated after "now"
    ]
    start = at("2026-09-30T08:00:00")
    live = LiveFigures()
    for s in states:
        live.update(s, start)
    t = start
    while t < at("2026-11-03T00:00:00"):
        t += timedelta(hours=5, minutes=17)
        live.advance(t)
        assert live.figures() == figures_for(states, t), t
    # Between changes it recomputes only what changed, not every dossier every step.
    assert live.recomputed < len(states) * 160 / 2


def test_shuffled_partitions_merge_to_the_same_totals():
    states = [fold([received(f"X{i}", f"U{i % 3}", due=f"2026-10-{8 + i % 3:02d}T17:00:00")]) for i in range(30)]
    now = at("2026-10-09T12:00:00")
    whole = figures_for(states, now)
    random.Random(3).shuffle(states)
    parts = [figures_for(states[i::4], now) for i in range(4)]
    assert merge(parts) == whole
    assert sum(t["in_processing"] for t in whole.values()) == 30




def test_equal_tallies_are_shared_and_a_shared_one_is_never_changed_in_place(monkeypatch):
    import ioc.kpi.live as live_module
    from ioc.kpi.live import LiveFigures

    states = [fold([received(f"E{i}", f"U{i % 2}", due="2026-10-16T17:00:00")]) for i in range(6)]
    now = at("2026-10-09T12:00:00")
    live = LiveFigures()
    for s in states:
        live.update(s, now)
    shared = {id(t) for t in live._contrib.values()}
    assert len(shared) == 1  # six open dossiers of one day and procedure: one dict
    # One of them finishes: its tally changes, the others' (the shared dict) do not.
    live.update(apply_event(states[0], ev(9, 9, "2026-10-09T11:00:00", "E0")), now)
    assert all(not s.__dict__ for s in live.states.values())  # judging caches dropped once judged
    assert live.figures() == figures_for([live.get(f"E{i}") for i in range(6)], now)
    monkeypatch.setattr(live_module, "MAX_SHARED_TALLIES", 1)
    live.advance(at("2026-10-10T12:00:00"))  # the table is emptied when full, the figures hold
    assert live.figures() == figures_for([live.get(f"E{i}") for i in range(6)], at("2026-10-10T12:00:00"))


def test_touched_dossiers_are_judged_once_at_the_next_advance():
    from ioc.kpi.live import LiveFigures

    live = LiveFigures()
    d = fold([received("T1")])
    live.touch(d)
    live.touch(apply_event(d, ev(9, 9, "2026-10-07T16:00:00", "T1")))
    assert live.figures() == {} and live.recomputed == 0
    now = at("2026-10-09T12:00:00")
    live.advance(now)
    assert live.recomputed == 1
    assert live.figures() == figures_for([live.get("T1")], now)
    assert live.figures()["U1"]["early"] == 1


def test_a_judging_round_in_slices_gives_the_figures_of_one_pass():
    from ioc.kpi.live import LiveFigures

    states = [fold([received(f"S{i}", f"U{i % 4}", due=f"2026-10-{8 + i % 5:02d}T17:00:00")]) for i in range(300)]
    now = at("2026-10-09T12:00:00")
    sliced, whole = LiveFigures(), LiveFigures()
    for s in states:
        sliced.touch(s)
        whole.touch(s)
    whole.advance(now)
    assert sliced.start_round(now) == 300
    rounds = 0
    while not sliced.work(0.0):  # the smallest slices: 32 dossiers each
        rounds += 1
    assert rounds > 3 and sliced.round_pending == 0
    assert sliced.figures() == whole.figures() == figures_for(states, now)
    assert sliced.take_changed_units() == {"U0", "U1", "U2", "U3"} and not sliced.take_changed_units()
    sliced.start_round(now)  # nothing touched, nothing due: nobody judged again
    assert sliced.round_pending == 0


def test_new_states_share_their_codes_and_an_empty_flags_dict():
    """Memory per open dossier: two dossiers of one unit and procedure hold one string of each
    code (decoded separately, they are two), and states without flags one empty dict."""
    from ioc.domain.events import decode_events
    from ioc.wire import encode_batch

    raw = [{"event_id": f"M{i}", "dossier_code": f"D{i}", "status": 2, "occurred_at": "2026-10-09T08:00:00+07:00",
            "unit_code": "H44.101", "procedure_code": "1.001193"} for i in range(2)]
    one, two = decode_events(encode_batch(raw)).events
    assert one.unit_code == two.unit_code and one.unit_code is not two.unit_code  # msgspec makes two
    a, b = apply_event(None, one), apply_event(None, two)
    assert a.unit_code is b.unit_code and a.procedure_code is b.procedure_code
    assert a.flags == {} and a.flags is b.flags
    flagged = apply_event(None, decode_events(encode_batch([{**raw[0], "digitized": True}])).events[0])
    assert flagged.flag("digitized") is True and a.flags == {}  # its own dict; the shared one stays empty
