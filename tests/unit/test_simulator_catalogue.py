"""The simulator draws its procedures from the catalogue: every agency of the province receives
dossiers, and the facts of contracts.md §2d follow the catalogue row in force (dates pinned)."""

from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest

from ioc.domain.events import parse_event
from ioc.domain.outcome import LOCAL_TZ
from ioc.reference.agencies import AgencyKind, agency_tree
from ioc.sim.dossiers import DossierSimulator
from ioc.sim.population import population

START = datetime(2026, 10, 5, tzinfo=LOCAL_TZ)  # Monday
END = START + timedelta(days=7)
LATER = END + timedelta(days=90)


@pytest.fixture(scope="module")
def week():
    sim = DossierSimulator(seed=11)
    n = sim.backfill(START, END, 400)
    events = list(sim.due(LATER))
    by_dossier = defaultdict(list)
    for e in events:
        by_dossier[e["dossier_code"]].append(e)
    return sim, n, events, by_dossier


def test_every_agency_of_the_province_receives_dossiers_in_a_week(week):
    _, _, events, _ = week
    tree = agency_tree("25", prefix="H44")
    received = {e["unit_code"] for e in events if e["status"] == 2}
    departments = [a.code for a in tree.agencies if a.kind is AgencyKind.DEPARTMENT]
    assert len(departments) == 13
    assert set(departments) <= received, sorted(set(departments) - received)
    others = [a.code for a in tree.agencies if a.role in ("ubnd_tinh", "vpdkdd", "cong_an", "thue", "bhxh")]
    assert set(others) <= received
    roles = {tree.get(code).role for code in received}
    assert {"ubnd_xa", "cong_an_xa"} <= roles
    provincial = {code for code in received if tree.get(code).serves_level == "province"}
    assert len(provincial) == 18  # 13 departments, the land office, UBND tỉnh, police, tax, social insurance


def test_most_dossiers_are_synced_minutes_to_hours_after_reception(week):
    _, n, _, by_dossier = week
    synced = 0
    for events in by_dossier.values():
        stamps = [e for e in events if "dvcqg_synced_at" in e]
        assert len(stamps) <= 1
        if not stamps:
            continue
        synced += 1
        ev = parse_event(stamps[0])
        assert ev.dvcqg_synced_at <= ev.occurred_at
        received = [datetime.fromisoformat(e["occurred_at"]) for e in events if e["status"] == 2]
        if received:  # (a dossier refused at intake has no reception event)
            assert timedelta(minutes=1) <= ev.dvcqg_synced_at - received[0] <= timedelta(hours=5)
    assert 0.95 <= synced / len(by_dossier) <= 0.99


def test_facts_follow_the_catalogue(week):
    sim, _, events, by_dossier = week
    catalogue = sim.population.catalogue.in_force(START.date())
    stores = [e["dvcqg_store"] for e in events if "dvcqg_store" in e]
    assert 0.25 < sum(stores) / len(stores) < 0.55
    for events_ in by_dossier.values():
        row = catalogue[events_[0]["procedure_code"]]
        for e in events_:
            if row.online == "none":
                assert e.get("channel") != 2
            if row.paper_result is False:
                assert "e_result" not in e
            if not row.fee:
                assert "online_payment" not in e
            if row.fee_on_national_payment is False:
                assert e.get("online_payment") != 1
            if row.citizen_subject is False:
                assert "population_db" not in e
    with_e_result = [e for e in events if "e_result" in e]
    assert with_e_result and any(e["e_result"] for e in with_e_result)


def test_the_facts_in_force_change_with_the_day():
    people = population("province", 1)
    assert people.facts("9.000003", date(2026, 6, 30)).online == "partial"
    assert people.facts("9.000003", date(2026, 7, 1)).online == "full"
    assert people.facts("no-such-code", date(2026, 7, 1)) is None
