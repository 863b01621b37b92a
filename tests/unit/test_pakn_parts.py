"""The petition stream's pure parts: snapshot partials by source, dossier links, alert rules,
ingest parsing and publishing plans, the warehouse rows, the simulator and `ioc import --pakn`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ioc.alerts.model import AlertKind
from ioc.alerts.pakn_rules import PaknRuleSettings, PaknWatch
from ioc.cli import main
from ioc.domain.pakn import parse_pakn_event
from ioc.ingest.parsing import BadRow, file_pakn_events, parse_body
from ioc.ingest.publishing import plan_messages
from ioc.kpi.snapshots import LatestSnapshots, SnapshotAssembler, snapshot_messages
from ioc.sim.pakn import PaknSimulator
from ioc.warehouse.sink import pakn_rows, snapshot_rows
from ioc.wire import decode_batch, partition_for
from streams.pakn import link_messages

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def petition(n: int, **fields):
    return {"event_id": f"e{n}", "pakn_code": f"PAKN-{n}", "status": "received",
            "occurred_at": "2026-11-23T09:00:00+07:00", "unit_code": "H44.07", **fields}


# --- snapshots: partials of several sources ------------------------------------------------------------


def test_dossier_and_pakn_partials_of_a_partition_are_summed_per_unit():
    assembler = SnapshotAssembler()
    dossier = json.loads(next(snapshot_messages(2, T0, {"H44.07": {"received": 3}, "H44.08": {"received": 1}})))
    assert "source" not in dossier  # the dossier payload is unchanged
    snap = assembler.add(dossier)
    assert snap is not None and snap.units == {"H44.07": {"received": 3}, "H44.08": {"received": 1}}
    pakn = json.loads(next(snapshot_messages(2, T0 + timedelta(seconds=1), {"H44.07": {"pakn:counted": 2}},
                                             source="pakn")))
    assert pakn["source"] == "pakn"
    snap = assembler.add(pakn)
    assert snap is not None and snap.partition == 2
    assert snap.units == {"H44.07": {"received": 3, "pakn:counted": 2}, "H44.08": {"received": 1}}
    assert snap.computed_at == T0  # as fresh as its stalest source
    # A newer dossier snapshot replaces the dossier part only.
    snap = assembler.add(json.loads(next(snapshot_messages(2, T0 + timedelta(seconds=2), {"H44.07": {"received": 4}}))))
    assert snap.units == {"H44.07": {"received": 4, "pakn:counted": 2}}
    assert snap.computed_at == T0 + timedelta(seconds=1)
    # An older pakn part is dropped, whatever the dossier source did meanwhile.
    assert assembler.add(json.loads(next(snapshot_messages(2, T0, {"H44.07": {"pakn:counted": 9}},
                                                           source="pakn")))) is None


def test_latest_snapshots_give_every_reader_the_pakn_keys_summed_over_partitions():
    latest = LatestSnapshots()
    for p in range(2):
        for m in snapshot_messages(p, T0, {"H44.07": {"overdue": 1}}):
            latest.add(json.loads(m))
        for m in snapshot_messages(p, T0, {"H44.07": {"pakn:overdue": p + 1}}, source="pakn", per_part=1):
            latest.add(json.loads(m))
    assert latest.per_unit() == {"H44.07": {"overdue": 2, "pakn:overdue": 3}}


def test_the_sink_stores_dossier_snapshots_only_and_petition_events_once_each():
    dossier = next(snapshot_messages(0, T0, {"H44.07": {"received": 1}}))
    pakn = next(snapshot_messages(0, T0, {"H44.07": {"pakn:counted": 1}}, source="pakn"))
    assert len(snapshot_rows(dossier)) == 1 and snapshot_rows(pakn) == []
    value = json.dumps([petition(1, category="conduct", likes=2), {"bad": True}, petition(2)]).encode()
    rows = pakn_rows(value, T0)
    assert [(r["event_id"], r["category"], r["likes"], r["dislikes"]) for r in rows] == [
        ("e1", "conduct", 2, None), ("e2", "", None, None)]
    assert pakn_rows(b"not json", T0) == []


# --- links to dossiers -----------------------------------------------------------------------------------


def test_links_go_to_the_dossiers_partition_keyed_by_a_dossier_code_of_the_message():
    links = [{"type": "pakn_link", "event_id": f"pakn:P{i}", "dossier_code": f"H44.07-261123-{i:04d}",
              "occurred_at": "2026-11-23T09:00:00+07:00"} for i in range(20)]
    messages = link_messages(links, 4)
    assert sum(len(decode_batch(v)) for _, _, v in messages) == 20
    for partition, key, value in messages:
        batch = decode_batch(value)
        assert {partition_for(link["dossier_code"], 4) for link in batch} == {partition}
        assert key.decode() == batch[0]["dossier_code"]


# --- alerts ------------------------------------------------------------------------------------------------


def ops(signals):
    # Grouped (issue #16): one alert per rule, the unit among its listed units.
    return [(s.op, s.units[0] if len(s.units) == 1 else s.units, s.kind.value, s.severity) for s in signals]


def test_pakn_alerts_are_one_per_unit_and_rule_with_hysteresis():
    watch = PaknWatch(PaknRuleSettings(overdue_raise=1, overdue_critical=5, near_limit_raise=2),
                      {"H44.07": "Sở Xây dựng"})
    assert watch.observe({"H44.07": {"pakn:near_limit": 1, "overdue": 50}}, T0) == []  # dossier keys are not petitions
    raised = watch.observe({"H44.07": {"pakn:overdue": 3, "pakn:near_limit": 2}}, T0)
    assert ops(raised) == [("raise", "H44.07", "pakn_overdue", "warning"), ("raise", "H44.07", "pakn_near_limit", "warning")]
    assert "3 phản ánh, kiến nghị quá hạn xử lý tại 1 đơn vị: Sở Xây dựng (3)" in raised[0].summary
    assert raised[0].source == "dossier" and raised[0].system == "pakn"
    assert ops(watch.observe({"H44.07": {"pakn:overdue": 6, "pakn:near_limit": 1}}, T0)) == [
        ("raise", "H44.07", "pakn_overdue", "critical")]  # near 1: not below half of 2 yet, no clear
    assert ops(watch.observe({}, T0 + timedelta(minutes=1))) == [
        ("clear", "H44.07", "pakn_overdue", "critical"), ("clear", "H44.07", "pakn_near_limit", "warning")]
    assert AlertKind.PAKN_OVERDUE.value == "pakn_overdue"


# --- ingest ------------------------------------------------------------------------------------------------


def test_a_body_of_petitions_is_checked_item_by_item():
    body = json.dumps([petition(1), petition(2, status="closed"), "x", petition(3, likes=-1)]).encode()
    parsed = parse_body(body, "application/json", parse=parse_pakn_event)
    assert [i for i, _ in parsed.accepted] == [0]
    assert [(i, r.split(":")[0]) for i, r in parsed.rejected] == [(1, "status"), (2, "event"), (3, "likes")]


def test_petitions_are_partitioned_by_their_code():
    events = [parse_pakn_event(petition(i)).to_json() for i in range(30)]
    for m in plan_messages(events, 4, key_field="pakn_code"):
        assert {partition_for(e["pakn_code"], 4) for e in json.loads(m.value)} == {m.partition}


def test_petition_export_files(tmp_path):
    good = tmp_path / "pakn.csv"
    good.write_text("event_id,pakn_code,status,occurred_at,unit_code,likes,commune_code\n"
                    "e1,P1,received,2026-11-23T09:00:00+07:00,H44.07,,08866\n"
                    "e2,P1,published,2026-11-24T09:00:00+07:00,H44.07,3,08866\n", encoding="utf-8")
    got = list(file_pakn_events(good))
    assert [(n, e.status, e.likes, e.commune_code) for n, e in got] == [(2, "received", None, "08866"),
                                                                        (3, "published", 3, "08866")]
    bad = tmp_path / "bad.csv"
    bad.write_text("event_id,pakn_code,status,occurred_at,unit_code\n"
                   "e1,P1,received,2026-11-23T09:00:00+07:00,H44.07\n"
                   "e2,P1,answerd,2026-11-24T09:00:00+07:00,H44.07\n", encoding="utf-8")
    with pytest.raises(BadRow, match=r"bad\.csv:3: status: "):
        list(file_pakn_events(bad))
    with pytest.raises(BadRow, match=r":1: header: missing column\(s\) pakn_code"):
        list(file_pakn_events(_write(tmp_path / "h.csv", "event_id,status,occurred_at,unit_code\n")))
    jsonl = _write(tmp_path / "p.jsonl", json.dumps(petition(1)) + "\n" + json.dumps(petition(2, dislikes=True)) + "\n")
    with pytest.raises(BadRow, match=r"p\.jsonl:2: dislikes: "):
        list(file_pakn_events(jsonl))


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_ioc_import_pakn_rejects_a_bad_file_with_exit_2_before_any_kafka(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("IOC_KAFKA_BOOTSTRAP", raising=False)
    bad = _write(tmp_path / "bad.jsonl", json.dumps(petition(1)) + "\n" + json.dumps(petition(2, unit_code="")) + "\n")
    assert main(["import", "--pakn", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: unit_code: " in err and len(err.strip().splitlines()) == 1
    assert main(["import"]) == 2
    assert "--pakn FILE" in capsys.readouterr().err


# --- simulator ---------------------------------------------------------------------------------------------


def _dossier_events(n: int, start: datetime, late_every: int = 10) -> list[dict]:
    out = []
    for i in range(n):
        at = start + timedelta(minutes=5 * i)
        due = at + timedelta(days=5)
        end = due + timedelta(days=1) if i % late_every == 0 else at + timedelta(days=2)
        base = {"dossier_code": f"H44.101.01-261102-{i:05d}", "unit_code": "H44.101.01", "procedure_code": "1.001612"}
        out.append({**base, "event_id": f"d{i}/2", "status": 2, "occurred_at": at.isoformat(), "due_at": due.isoformat()})
        out.append({**base, "event_id": f"d{i}/9", "status": 9, "occurred_at": end.isoformat()})
    return sorted(out, key=lambda e: e["occurred_at"])


def test_the_simulator_is_deterministic_valid_and_at_a_believable_rate():
    start = datetime(2026, 11, 2, 8, 0, tzinfo=timezone(timedelta(hours=7)))
    events = _dossier_events(8_000, start)
    end = start + timedelta(days=400)

    def run(seed: int) -> list[dict]:
        sim = PaknSimulator(seed)
        sim.observe_all(events)
        return list(sim.due(end))

    first = run(5)
    assert first == run(5) and first != run(6)
    parsed = [parse_pakn_event(e) for e in first]
    codes = {e.pakn_code for e in parsed}
    # ~1 per 200 dossiers, more with 10 % late dossiers: between 1 per 100 and 1 per 300 here.
    assert 8_000 / 300 < len(codes) < 8_000 / 100
    linked = {e.pakn_code for e in parsed if e.dossier_code}
    assert 0.15 < len(linked) / len(codes) < 0.6
    from ioc.reference.units import communes
    real = {c.code for c in communes("25", datetime(2026, 1, 1).date())}
    assert {e.commune_code for e in parsed if e.commune_code} <= real
    statuses = {e.status for e in parsed}
    assert {"received", "answered", "published"} <= statuses
    assert all(e.unit_code == "H44.101.01" for e in parsed)


def test_the_alert_feed_recognises_petition_partials_from_their_first_bytes():
    from streams.pakn import is_pakn_snapshot

    big = {f"H44.{i:04d}": {"pakn:counted": 1} for i in range(500)}
    assert all(is_pakn_snapshot(m) for m in snapshot_messages(3, T0, big, source="pakn"))
    assert not any(is_pakn_snapshot(m) for m in snapshot_messages(3, T0, {"H44.07": {"received": 1}}))
