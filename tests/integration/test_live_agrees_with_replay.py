"""`ioc kpi` on simulated weeks agrees exactly with what the live Faust agents publish for
the same events: every figure and every indicator of every unit."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from ioc import clock
from ioc.broker.keyed import publish_keyed
from ioc.cli import main
from ioc.commands.kpi_replay import default_unit_levels
from ioc.kpi.snapshots import SnapshotAssembler, source_of
from ioc.process import spawn, stop
from ioc.reference.catalogue import sample_catalogue
from ioc.sim.runner import write_file
from tests.helpers import child_env, make_topics, produce, read_topic, working_afternoon

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMPARED_FIGURES = ("received", "finished", "in_processing", "due_today", "at_risk", "overdue", "early", "on_time",
                    "late", "not_counted", "avg_processing_working_days")


def test_replay_equals_live_agents(kafka_bootstrap, unique, tmp_path, capsys, pin_clock):
    # The worker (started below) and this process share a clock pinned to a working afternoon.
    now = pin_clock(working_afternoon())
    events_file, pakn_file, catalogue_file = tmp_path / "events.jsonl", tmp_path / "pakn.jsonl", tmp_path / "cat.jsonl"
    n = write_file(events_file, seconds=0, rate=1, seed=11, backfill_days=12, now=now, pakn_path=pakn_file)
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    petitions = [json.loads(line) for line in pakn_file.read_text().splitlines()]
    assert n == len(events) > 1_000
    assert len(petitions) > 10, "the simulator files petitions too"
    # The SAMPLE catalogue, as `ioc up` publishes it, and as a file for `ioc kpi --catalogue`.
    catalogue = sample_catalogue()
    catalogue_file.write_text("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in catalogue.rows),
                              encoding="utf-8")

    topics = make_topics(kafka_bootstrap, unique)
    env = child_env(IOC_KAFKA_BOOTSTRAP=kafka_bootstrap, IOC_KAFKA__TOPIC_PREFIX=unique, IOC_WORKER__APP_ID=unique,
                    IOC_DATA_DIR=str(tmp_path))
    worker = spawn([sys.executable, "-m", "ioc", "run", "worker"], log_path=tmp_path / "worker.log", env=env)
    try:
        publish_keyed(kafka_bootstrap, topics.catalogue, [(r.key, r.to_json()) for r in catalogue.rows],
                      client_id="test")
        produce(kafka_bootstrap, topics.dossier_events, events)
        produce(kafka_bootstrap, topics.pakn_events, petitions, key="pakn_code")

        def caught_up(values: list[dict]) -> bool:
            newest = {s["component"]: s["counters"]["consumed"] for s in values}  # one worker: one instance each
            return newest.get("worker", 0) >= n and newest.get("pakn", 0) >= len(petitions)

        read_topic(kafka_bootstrap, topics.pipeline_stats, caught_up, timeout=360)
        consumed_at = clock.time()  # the worker stamps its snapshots with the same clock
        # A full round of the dossier agent's snapshots (all partitions, one computed_at) taken
        # after that, and each partition's petition snapshot taken after that too.
        # A partition's snapshot comes in parts (ioc.kpi.snapshots, 300 units a part): assembled
        # as every reader does, one assembler per source so that each keeps its own partials.
        rounds: dict[str, dict[int, dict]] = {}
        petition_parts: dict[int, dict] = {}
        assemblers = {"dossier": SnapshotAssembler(), "pakn": SnapshotAssembler()}

        def complete(values: list[dict]) -> bool:
            for snap in values:
                if datetime.fromisoformat(snap["computed_at"]).timestamp() <= consumed_at + 0.5:
                    continue
                whole = assemblers[source_of(snap)].add(snap)
                if whole is None:
                    continue
                if source_of(snap) == "pakn":
                    petition_parts[whole.partition] = whole.units
                else:
                    rounds.setdefault(snap["computed_at"], {})[whole.partition] = whole.units
            return any(len(parts) == 4 for parts in rounds.values()) and len(petition_parts) == 4

        read_topic(kafka_bootstrap, topics.kpi_snapshots, complete, timeout=60)
    finally:
        stop(worker)
    computed_at, parts = next((t, p) for t, p in sorted(rounds.items()) if len(p) == 4)

    from ioc.kpi.indicators import Scope, Sources, carried_by, sum_tallies
    from ioc.kpi.live import merge, wall_view

    live_units = merge([*parts.values(), *petition_parts.values()])
    assert main(["kpi", "--events", str(events_file), "--catalogue", str(catalogue_file), "--pakn", str(pakn_file),
                 "--at", computed_at, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    replay_units = {u["unit"]: u for u in report["units"] if u["unit"] != "PROVINCE"}

    at = datetime.fromisoformat(computed_at)
    assert set(replay_units) == set(live_units), "the same units"
    assert len(replay_units) > 20
    sources = Sources(catalogue=catalogue, pakn=True, unit_levels=default_unit_levels())
    carried = carried_by(sum_tallies(live_units.values()))
    province = next(u for u in report["units"] if u["unit"] == "PROVINCE")
    assert province["max_score"] == 100 and province["band"], "the whole index, banded"
    assert set(province["indicators"]) >= {"1.1", "1.2", "1.3", "1.4", "2.1", "3.1", "3.2", "3.3", "3.5", "3.5b",
                                            "3.6", "4.1", "4.2", "4.3", "4.4", "4.5a", "4.5b", "4.x", "5.1", "5.2",
                                            "5.3", "5.4"}
    for code, unit in replay_units.items():
        live = wall_view(live_units[code], at, Scope(code), sources, carried)
        assert {k: live[k] for k in COMPARED_FIGURES} == {k: unit["figures"][k] for k in COMPARED_FIGURES}, code
        replayed = {k: (v["numerator"], v["denominator"], v["score"]) for k, v in unit["indicators"].items()}
        assert {k: (v["numerator"], v["denominator"], v["score"]) for k, v in live["indicators"].items()} == replayed, code
        assert (live["score"], live["max_score"], live["groups"]) == (unit["total_score"], unit["max_score"],
                                                                     unit["groups"]), code
    assert province["figures"]["in_processing"] == sum(t.get("in_processing", 0) for t in live_units.values())
    assert Path(events_file).exists()
