"""The simulator is deterministic and lands inside the ranges of domain.md §3.2."""

from collections import Counter
from datetime import datetime, timedelta

import pytest

from ioc.domain.calendar import WorkingCalendar
from ioc.domain.dossier import apply_event
from ioc.domain.events import parse_event
from ioc.domain.outcome import LOCAL_TZ, Outcome, classify
from ioc.sim.dossiers import DossierSimulator

START = datetime(2026, 9, 1, tzinfo=LOCAL_TZ)
END = datetime(2026, 9, 29, tzinfo=LOCAL_TZ)
LATER = END + timedelta(days=60)


@pytest.fixture(scope="module")
def month():
    sim = DossierSimulator(seed=7)
    n = sim.backfill(START, END, 300)
    events = list(sim.due(LATER))
    states = {}
    for raw in events:
        ev = parse_event(raw)  # every simulated event is valid
        states[ev.dossier_code] = apply_event(states.get(ev.dossier_code), ev)
    return n, events, states


def test_same_seed_same_events():
    a, b = DossierSimulator(seed=3), DossierSimulator(seed=3)
    a.backfill(START, START + timedelta(days=3), 100)
    b.backfill(START, START + timedelta(days=3), 100)
    assert list(a.due(LATER)) == list(b.due(LATER))


def test_receptions_only_on_working_days_with_a_morning_peak(month):
    _, events, _ = month
    cal = WorkingCalendar()
    received = [datetime.fromisoformat(e["occurred_at"]) for e in events if e["status"] == 2]
    assert all(cal.is_working_day(t) for t in received)
    hours = Counter(t.astimezone(LOCAL_TZ).hour for t in received)
    assert hours[9] > hours[14] > hours[16]
    # 2 September (national day) is a holiday: nobody is received
    assert not [t for t in received if t.astimezone(LOCAL_TZ).date().isoformat() == "2026-09-02"]
    # Online submissions also happen outside office hours.
    submitted = [datetime.fromisoformat(e["occurred_at"]).astimezone(LOCAL_TZ) for e in events if e["status"] == 1]
    assert any(t.hour >= 18 or t.hour < 7 or not cal.is_working_day(t) for t in submitted)


def test_mixes_within_the_domain_ranges(month):
    n, events, states = month
    assert 0.8 * 300 * 19 < n < 1.3 * 300 * 19  # ~19 working days in September 2026
    channels = Counter(s.channel for s in states.values())
    assert 0.45 <= channels[2] / n <= 0.60 and 0.01 <= channels[3] / n <= 0.03
    outcomes = Counter(classify(s, LATER) for s in states.values())
    counted = sum(v for k, v in outcomes.items() if k is not Outcome.NOT_COUNTED)
    assert 0.55 <= outcomes[Outcome.EARLY] / counted <= 0.70
    assert 0.25 <= outcomes[Outcome.ON_TIME] / counted <= 0.40
    assert 0.01 <= outcomes[Outcome.LATE] / counted <= 0.06
    with_supplement = sum(1 for s in states.values() if any(f.status == 5 for f in s.facts))
    assert 0.05 <= with_supplement / n <= 0.15
    refused = sum(1 for s in states.values() if any(f.status == 3 for f in s.facts))
    assert 0.01 <= refused / n <= 0.03
    rated = [s.flag("rating") for s in states.values() if s.flag("rating")]
    finished = sum(1 for s in states.values() if any(f.status == 10 for f in s.facts))
    assert 0.2 <= len(rated) / finished <= 0.4


def test_dissatisfaction_follows_lateness(month):
    _, _, states = month
    def unhappy(group):
        rated = [s for s in group if s.flag("rating")]
        return sum(s.flag("rating") == "dissatisfied" for s in rated) / max(len(rated), 1)
    late = [s for s in states.values() if classify(s, LATER) is Outcome.LATE]
    fine = [s for s in states.values() if classify(s, LATER) in (Outcome.EARLY, Outcome.ON_TIME)]
    assert unhappy(late) > 3 * unhappy(fine)
