"""`ioc kpi --events FILE`: reading JSONL/CSV, errors, and order independence (ioc/commands/kpi_replay.py).

All times are local (+07:00); 2026-10-05 is a Monday.
"""

import csv
import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ioc.cli import main
from ioc.commands.kpi_replay import replay
from ioc.domain.dossier import DossierState, apply_event
from ioc.domain.events import parse_event
from ioc.kpi.indicators import compute
from ioc.kpi.periods import parse_period

TZ = "+07:00"
BASE = {"unit_code": "U1", "procedure_code": "1.001612"}

EVENTS = [
    # A: online, fee paid on the portal, digitised, finished Wed with an e-result -> early
    {**BASE, "event_id": "a2", "dossier_code": "A", "status": 2, "occurred_at": "2026-10-05T09:00:00" + TZ,
     "due_at": "2026-10-09T17:00:00" + TZ, "channel": 2, "fee_amount": 50000, "digitized": True},
    {**BASE, "event_id": "a9", "dossier_code": "A", "status": 9, "occurred_at": "2026-10-07T10:00:00" + TZ,
     "e_result": True, "online_payment": 1, "rating": "satisfied"},
    # B: in person, legal duration 3 working days (-> Thu 8 Oct 17:00), still open -> overdue
    {**BASE, "event_id": "b2", "dossier_code": "B", "status": 2, "occurred_at": "2026-10-05T10:00:00" + TZ,
     "legal_duration": {"value": 3, "unit": "working_day"}, "channel": 1, "fee_amount": 0, "digitized": False,
     "complaint": True, "note": "kept as an unknown field"},
    # C: other unit, received online, reused data, due far away -> within time
    {**BASE, "unit_code": "U2", "event_id": "c2", "dossier_code": "C", "status": 2,
     "occurred_at": "2026-10-20T08:00:00" + TZ, "due_at": "2026-11-20T17:00:00" + TZ, "channel": 2,
     "reused_data": True, "population_db": False},
]
COLUMNS = ["event_id", "dossier_code", "status", "occurred_at", "unit_code", "procedure_code", "due_at",
           "legal_duration_value", "legal_duration_unit", "channel", "fee_amount", "online_payment",
           "digitized", "e_result", "reused_data", "population_db", "rating", "complaint", "note"]


def write_jsonl(path, events):
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def csv_row(e, json_duration=False):
    row = {k: v for k, v in e.items() if k != "legal_duration"}
    if "legal_duration" in e:
        if json_duration:
            row["legal_duration"] = json.dumps(e["legal_duration"])
        else:
            row["legal_duration_value"] = e["legal_duration"]["value"]
            row["legal_duration_unit"] = e["legal_duration"]["unit"]
    return {k: str(v).lower() if isinstance(v, bool) else v for k, v in row.items()}


def write_csv(path, events, json_duration=False):
    columns = [c for c in COLUMNS if not c.startswith("legal_duration")] + (
        ["legal_duration"] if json_duration else ["legal_duration_value", "legal_duration_unit"])
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for e in events:
            w.writerow(csv_row(e, json_duration))
    return path


def kpi(capsys, *args):
    status = main(["kpi", *args, "--format", "json"])
    captured = capsys.readouterr()
    return status, (json.loads(captured.out) if status == 0 else None), captured.err


# --- the command ----------------------------------------------------------------------------------


def test_jsonl_report_hand_checked(tmp_path, capsys):
    status, out, _ = kpi(capsys, "--events", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--period", "2026-10")
    assert status == 0
    assert out["period"] == {"from": "2026-10-01T00:00:00+07:00", "to": "2026-11-01T00:00:00+07:00",
                             "at": "2026-11-01T00:00:00+07:00"}
    assert [u["unit"] for u in out["units"]] == ["PROVINCE", "U1", "U2"]
    u1 = out["units"][1]
    # U1 2.1: A early (good), B overdue -> 1/2 = 50 % -> 20 * 0.5 = 10.00
    assert u1["indicators"]["2.1"] == {"numerator": 1, "denominator": 2, "ratio": 0.5, "score": 10.0,
                                       "max_score": 20}
    # 3.3: 1 online of 2 -> 50 % -> T 50 -> 6.00; 3.6: A is the only fee-bearing one, paid -> 6.00
    # 4.1: A finished with an e-result -> 6.00; 4.2: A digitised + e-result, B not -> 1/2 -> 4 * 0.5 = 2.00
    # 5.4: 2 - 1 overdue (B) - 1 complaint (B) = 0 -> 0.00
    got = {k: (v["numerator"], v["denominator"], v["score"]) for k, v in u1["indicators"].items()}
    assert got == {"2.1": (1, 2, 10.0), "3.3": (1, 2, 6.0), "3.6": (1, 1, 6.0), "4.1": (1, 1, 6.0),
                   "4.2": (1, 2, 2.0), "5.4": (0, 2, 0.0)}
    # total 10 + 6 + 6 + 6 + 2 + 0 = 30.00 of the 48 points computed: no band (incomplete index)
    assert (u1["total_score"], u1["max_score"], u1["band"]) == (30.0, 48, None)
    assert out["dossiers"] == [{"dossier_code": "A", "unit": "U1", "outcome": "early"},
                               {"dossier_code": "B", "unit": "U1", "outcome": "in_progress_overdue"},
                               {"dossier_code": "C", "unit": "U2", "outcome": "in_progress_on_time"}]


@pytest.mark.parametrize("json_duration", [False, True])
def test_csv_gives_the_same_report_as_jsonl(tmp_path, capsys, json_duration):
    jsonl = write_jsonl(tmp_path / "e.jsonl", EVENTS)
    table = write_csv(tmp_path / "e.csv", EVENTS, json_duration)
    _, from_jsonl, _ = kpi(capsys, "--events", str(jsonl), "--period", "2026-10")
    status, from_csv, err = kpi(capsys, "--events", str(table), "--period", "2026-10")
    assert status == 0, err
    assert from_csv == from_jsonl


def test_filters_province_and_at(tmp_path, capsys):
    path = str(write_jsonl(tmp_path / "e.jsonl", EVENTS))
    _, out, _ = kpi(capsys, "--events", path, "--period", "2026-10", "--unit", "U2")
    assert [u["unit"] for u in out["units"]] == ["U2"] and [d["dossier_code"] for d in out["dossiers"]] == ["C"]
    _, out, _ = kpi(capsys, "--events", path, "--period", "2026-10", "--unit", "H15", "--province", "H15")
    # the province row: A good, B overdue, C within time -> 2/3 = 66.67 % -> 13.33
    assert [u["unit"] for u in out["units"]] == ["H15"] and len(out["dossiers"]) == 3
    assert out["units"][0]["indicators"]["2.1"]["score"] == 13.33
    # at Tue 6 Oct 12:00: A's finish (Wed) has not happened: both of U1's dossiers are open, within time
    _, out, _ = kpi(capsys, "--events", path, "--period", "2026-10", "--at", "2026-10-06T12:00:00+07:00",
                    "--unit", "U1")
    assert out["period"]["at"] == "2026-10-06T12:00:00+07:00"
    assert out["units"][0]["figures"]["in_processing"] == 2 and "4.1" not in out["units"][0]["indicators"]
    # A's payment is only known from its (later) finish event: unknown at `at`, so 3.6 is absent
    assert "3.6" not in out["units"][0]["indicators"]
    # --procedure adds 2.2 (A: Mon 09:00 -> Wed 10:00 = 6.5 + 8 + 2.5 = 17 h = 2.125 working days)
    _, out, _ = kpi(capsys, "--events", path, "--from", "2026-10-01", "--to", "2026-11-01", "--unit", "U1",
                    "--procedure", "1.001612")
    assert out["units"][0]["indicators"]["2.2"]["numerator"] == 2.125


def test_empty_file_gives_no_units(tmp_path, capsys):
    (tmp_path / "e.jsonl").write_text("", encoding="utf-8")
    status, out, _ = kpi(capsys, "--events", str(tmp_path / "e.jsonl"), "--period", "2026")
    assert status == 0 and out["units"] == [] and out["dossiers"] == []


@pytest.mark.parametrize(
    "name, content, where",
    [
        ("e.jsonl", json.dumps(EVENTS[0]) + "\n" + json.dumps({**EVENTS[1], "status": 11}) + "\n", ":2: status:"),
        ("e.jsonl", json.dumps(EVENTS[0]) + "\n\n{not json\n", ":3: event: not JSON"),
        ("e.jsonl", json.dumps({**EVENTS[0], "occurred_at": "2026-10-05T09:00:00"}) + "\n", ":1: occurred_at:"),
        ("e.jsonl", json.dumps([1]) + "\n", ":1: event: expected a JSON object"),
        ("e.csv", "event_id,dossier_code,status,occurred_at,unit_code,procedure_code,channel\n"
                  "e1,D,2,2026-10-05T09:00:00+07:00,U1,P1,2\n"
                  "e2,D,9,2026-10-06T09:00:00+07:00,U1,P1,web\n", ":3: channel:"),
        ("e.csv", "event_id,dossier_code,status,occurred_at,unit_code\n"
                  "e1,D,2,2026-10-05T09:00:00+07:00,U1\n", ":2: procedure_code: Field required"),
        ("e.csv", "event_id,dossier_code,status,occurred_at,unit_code,procedure_code,legal_duration_value\n"
                  "e1,D,2,2026-10-05T09:00:00+07:00,U1,P1,5\n", ":2: legal_duration.unit:"),
        ("e.csv", "event_id,dossier_code,status,occurred_at,unit_code,procedure_code\n"
                  "e1,D,2,2026-10-05T09:00:00+07:00,U1,P1,extra\n", ":2: row:"),
    ],
)
def test_bad_line_exits_2_with_one_line_naming_file_line_and_field(tmp_path, capsys, name, content, where):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    status, _, err = kpi(capsys, "--events", str(path), "--period", "2026-10")
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and f"{path}{where}" in err


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--period", "2026-13"], "'2026-13'"),
        (["--period", "2026-10", "--from", "2026-10-01", "--to", "2026-11-01"], "not both"),
        (["--from", "2026-10-01"], "go together"),
        (["--period", "2026-10", "--at", "2026-09-01"], "before the period start"),
        (["--period", "2026-10", "--at", "tomorrow"], "'tomorrow'"),
        (["--period", "2026-10", "--province", " "], "--province"),
        (["--period", "2026-10", "--province", "U1"], "'U1'"),  # a unit's code cannot name the province
        (["--period", "2021-10"], "no Decision 766 scoring before 2022-06-23"),
    ],
)
def test_bad_period_or_province_exits_2(tmp_path, capsys, args, expected):
    path = write_jsonl(tmp_path / "e.jsonl", EVENTS)
    status, _, err = kpi(capsys, "--events", str(path), *args)
    assert status == 2 and expected in err and len(err.strip().splitlines()) == 1


def test_unreadable_files_exit_2_naming_the_file(tmp_path, capsys):
    missing = tmp_path / "missing.jsonl"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("event_id,unit_code\ne1,Hà Nam\n".encode("latin-1"))
    other = write_jsonl(tmp_path / "e.txt", EVENTS)
    for path, expected in ((missing, "cannot read"), (latin, "not UTF-8"), (other, "unknown file type")):
        status, _, err = kpi(capsys, "--events", str(path), "--period", "2026-10")
        assert status == 2 and str(path) in err and expected in err, err


def test_events_is_required_without_score_and_score_still_works(capsys):
    status, _, err = kpi(capsys, "--period", "2026-10")
    assert status == 2 and "--events" in err
    assert main(["kpi", "score", "--events", "x.jsonl", "--indicator", "2.1", "--numerator", "1",
                 "--denominator", "2"]) == 2
    capsys.readouterr()
    assert main(["kpi", "score", "--indicator", "2.1", "--numerator", "1", "--denominator", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 10.0


def test_csv_with_bom_quoted_newline_and_trailing_comma(tmp_path, capsys):
    # Excel-style: a byte-order mark, a quoted cell spanning two lines, a trailing empty column.
    content = ("\ufeffevent_id,dossier_code,status,occurred_at,unit_code,procedure_code,due_at,note,\n"
               "\n"
               'e1,D,2,2026-10-05T09:00:00+07:00,U1,P1,2026-10-09T17:00:00+07:00,"two\nlines",\n'
               'e2,D,9,WHEN,U1,P1,,"two\nlines",\n')
    path = tmp_path / "e.csv"
    path.write_text(content.replace("WHEN", "bad"), encoding="utf-8")
    status, _, err = kpi(capsys, "--events", str(path), "--period", "2026-10")
    # line 1 header, 2 blank, 3-4 the first record, 5-6 the bad one: its first line is reported
    assert status == 2 and f"{path}:5: occurred_at:" in err
    path.write_text(content.replace("WHEN", "2026-10-07T09:00:00+07:00"), encoding="utf-8")
    status, out, err = kpi(capsys, "--events", str(path), "--period", "2026-10")
    assert status == 0, err
    assert out["dossiers"] == [{"dossier_code": "D", "unit": "U1", "outcome": "early"}]


# --- order and duplicates do not matter -----------------------------------------------------------

OCT = parse_period("2026-10")
START = datetime(2026, 9, 20, 8, 0, tzinfo=timezone(timedelta(hours=7)))
FLAGS = {
    "channel": st.sampled_from([1, 2, 3]), "fee_amount": st.sampled_from([0, 20000]),
    "online_payment": st.sampled_from([0, 1, 2]), "digitized": st.booleans(), "e_result": st.booleans(),
    "reused_data": st.booleans(), "population_db": st.booleans(),
    "rating": st.sampled_from(["satisfied", "neutral", "dissatisfied"]), "complaint": st.booleans(),
}


@st.composite
def dossier_events(draw):
    """Events of up to 5 dossiers: consistent unit/procedure/legal duration per dossier, random
    statuses, times (in +07:00 or UTC), appointments and flags."""
    events = []
    for d in range(draw(st.integers(0, 5))):
        code, unit, proc = f"D{d}", draw(st.sampled_from(["U1", "U2"])), draw(st.sampled_from(["P1", "P2"]))
        statuses = [2] * draw(st.integers(0, 1)) + draw(st.lists(st.sampled_from([1, 4, 5, 6, 7, 8, 9, 10]),
                                                                 max_size=4))
        duration = draw(st.none() | st.sampled_from([{"value": 3, "unit": "working_day"}, {"value": 8, "unit": "hour"},
                                                     {"value": 10, "unit": "day"}]))
        for n, status in enumerate(statuses):
            when = START + timedelta(hours=draw(st.integers(0, 24 * 50)))
            utc = draw(st.booleans())
            e = {"event_id": f"{code}-{n}", "dossier_code": code, "status": status, "unit_code": unit,
                 "procedure_code": proc,
                 "occurred_at": (when.astimezone(timezone.utc) if utc else when).isoformat()}
            if status == 2 and draw(st.booleans()):
                e["due_at"] = (when + timedelta(days=draw(st.integers(0, 20)), hours=3)).isoformat()
            if status == 2 and duration:
                e["legal_duration"] = duration
            for name in draw(st.sets(st.sampled_from(sorted(FLAGS)), max_size=3)):
                e[name] = draw(FLAGS[name])
            events.append(parse_event(e))
    return events


def plain_fold(events) -> list[DossierState]:
    """The fold in the order given, without the replay's canonical sort."""
    states: dict[str, DossierState] = {}
    for e in events:
        states[e.dossier_code] = apply_event(states.get(e.dossier_code), e)
    return list(states.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dossier_events(), st.randoms(use_true_random=False), st.sampled_from([None, "P1"]),
       st.sampled_from(["2026-10-20T12:00:00+07:00", "2026-11-01T00:00:00+07:00", "2026-11-15T00:00:00+07:00"]))
def test_same_events_in_any_order_or_twice_give_identical_json(events, rnd, procedure, at_text):
    at = datetime.fromisoformat(at_text)
    expected = replay(events, OCT, at, procedure=procedure)
    shuffled = events[:]
    rnd.shuffle(shuffled)
    twice = events + events
    rnd.shuffle(twice)
    for variant in (shuffled, twice, list(reversed(events))):
        assert json.dumps(replay(variant, OCT, at, procedure=procedure)) == json.dumps(expected)
        # the engine itself, on states folded in that order (no canonical sort), agrees too
        direct = compute(plain_fold(e for e in variant if e.occurred_at <= at), OCT, at, procedure=procedure)
        assert json.dumps(direct.to_json()) == json.dumps(expected)


def test_events_that_disagree_on_the_unit_give_the_same_report_in_any_order(tmp_path, capsys):
    # The first event in time decides a dossier's unit, whatever the order of the lines.
    moved = {**EVENTS[1], "unit_code": "U9"}
    _, one, _ = kpi(capsys, "--events", str(write_jsonl(tmp_path / "a.jsonl", [EVENTS[0], moved])), "--period", "2026-10")
    _, two, _ = kpi(capsys, "--events", str(write_jsonl(tmp_path / "b.jsonl", [moved, EVENTS[0]])), "--period", "2026-10")
    assert one == two and [u["unit"] for u in one["units"]] == ["PROVINCE", "U1"]


def test_a_resent_event_id_with_other_content_is_chosen_the_same_way_in_any_order(tmp_path, capsys):
    # Two versions of event a9 (idempotency key): one of them is kept, whichever line comes first.
    other = {**EVENTS[1], "e_result": False}
    _, one, _ = kpi(capsys, "--events", str(write_jsonl(tmp_path / "a.jsonl", [EVENTS[0], EVENTS[1], other])),
                    "--period", "2026-10")
    _, two, _ = kpi(capsys, "--events", str(write_jsonl(tmp_path / "b.jsonl", [other, EVENTS[0], EVENTS[1]])),
                    "--period", "2026-10")
    assert one == two and one["units"][0]["indicators"]["4.1"]["denominator"] == 1


def test_order_independence_through_the_files(tmp_path, capsys):
    events = EVENTS + [{**EVENTS[0], "event_id": "a5", "status": 5, "occurred_at": "2026-10-06T09:00:00" + TZ}]
    shuffled = events * 2
    random.Random(7).shuffle(shuffled)
    _, one, _ = kpi(capsys, "--events", str(write_jsonl(tmp_path / "a.jsonl", events)), "--period", "2026-10")
    _, two, _ = kpi(capsys, "--events", str(write_jsonl(tmp_path / "b.jsonl", shuffled)), "--period", "2026-10")
    assert one == two


def test_catalogue_and_petitions_complete_the_index(tmp_path, capsys):
    """`ioc kpi --catalogue C --pakn P`: the petitions' indicators appear, a petition naming a
    dossier is a complaint in its 5.4, and a bad petition row is exit 2 naming file and line."""
    from ioc.commands.catalogue_import import export
    from ioc.reference.catalogue import sample_catalogue

    catalogue = tmp_path / "c.jsonl"
    export(catalogue, sample_catalogue())
    petitions = write_jsonl(tmp_path / "p.jsonl", [
        # about dossier A of U1, answered on the 2nd working day (well within 15)
        {"event_id": "k1", "pakn_code": "K1", "status": "received", "occurred_at": "2026-10-05T09:00:00+07:00",
         "unit_code": "U1", "category": "procedure", "dossier_code": "A"},
        {"event_id": "k2", "pakn_code": "K1", "status": "answered", "occurred_at": "2026-10-07T09:00:00+07:00",
         "unit_code": "U1"},
        # published the next day (within 2 working days of the answer)
        {"event_id": "k3", "pakn_code": "K1", "status": "published", "occurred_at": "2026-10-08T09:00:00+07:00",
         "unit_code": "U1", "likes": 3, "dislikes": 1},
    ])
    events = write_jsonl(tmp_path / "e.jsonl", EVENTS)
    status, out, err = kpi(capsys, "--events", str(events), "--catalogue", str(catalogue), "--pakn", str(petitions),
                           "--period", "2026-10")
    assert status == 0, err
    u1 = next(u for u in out["units"] if u["unit"] == "U1")
    assert u1["indicators"]["5.2"]["numerator"] == 1 and u1["indicators"]["5.2"]["denominator"] == 1
    # 5.4 before: 2 - 1 overdue (B) - 1 complaint (B) = 0; A now has a petition too: still 0 of 2
    assert (u1["indicators"]["5.4"]["numerator"], u1["indicators"]["5.4"]["denominator"]) == (0, 2)
    assert "5.2" not in u1["missing"] and set(u1["groups"]) == {"1", "2", "3", "4", "5"}
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"event_id": "x", "pakn_code": "K2", "status": "opened",
                                                "occurred_at": "2026-10-05T09:00:00+07:00", "unit_code": "U1"}])
    status, _, err = kpi(capsys, "--events", str(events), "--pakn", str(bad), "--period", "2026-10")
    assert status == 2 and "bad.jsonl:1" in err and "status" in err


def test_the_simulated_province_is_banded_where_its_index_is_complete(tmp_path, capsys):
    """On the simulator's output with the catalogue and petitions, the province has all 100 points
    and a band; a commune's index is complete at 98 (4.5a does not apply there) and is banded too;
    a unit whose dossiers lack a field is not banded (its max_score is below what applies)."""
    from ioc.commands.catalogue_import import export
    from ioc.reference.catalogue import sample_catalogue
    from ioc.sim.runner import write_file

    now = datetime(2026, 11, 20, 15, 0, tzinfo=timezone(timedelta(hours=7)))  # a Friday afternoon
    events, petitions, catalogue = tmp_path / "e.jsonl", tmp_path / "p.jsonl", tmp_path / "c.jsonl"
    write_file(events, seconds=0, rate=1, seed=5, backfill_days=1, now=now, pakn_path=petitions)
    export(catalogue, sample_catalogue())
    status, out, err = kpi(capsys, "--events", str(events), "--catalogue", str(catalogue), "--pakn", str(petitions),
                           "--period", "2026-11", "--at", now.isoformat())
    assert status == 0, err
    units = {u["unit"]: u for u in out["units"]}
    province = out["units"][0]
    assert (province["max_score"], province["applicable_max"]) == (100, 100) and province["band"]
    communes = [u for u in units.values() if u["missing"].get("4.5a", "").startswith("not applicable at commune")]
    assert communes, "the simulated province has communes"
    for u in units.values():
        assert (u["band"] is not None) == (u["max_score"] == u["applicable_max"]), u["unit"]
        assert u["max_score"] == sum(i["max_score"] for i in u["indicators"].values()), u["unit"]
    assert any(u["band"] for u in communes) and all(u["applicable_max"] == 98 for u in communes)
