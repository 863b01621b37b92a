"""`ioc kpi` on simulated weeks agrees exactly with what the live Faust agents publish for
the same events: every figure and every indicator of every unit."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from ioc import clock
from ioc.cli import main
from ioc.process import spawn, stop
from ioc.sim.runner import write_file

from tests.helpers import child_env, make_topics, produce, read_topic, working_afternoon

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMPARED_FIGURES = ("received", "finished", "in_processing", "due_today", "at_risk", "overdue", "early", "on_time",
                    "late", "not_counted", "avg_processing_working_days")


def test_replay_equals_live_agents(kafka_bootstrap, unique, tmp_path, capsys, pin_clock):
    # The worker (started below) and this process share a clock pinned to a working afternoon.
    now = pin_clock(working_afternoon())
    events_file = tmp_path / "events.jsonl"
    n = write_file(events_file, seconds=0, rate=1, seed=11, backfill_days=12, now=now)
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert n == len(events) > 1_000

    topics = make_topics(kafka_bootstrap, unique)
    env = child_env(IOC_KAFKA_BOOTSTRAP=kafka_bootstrap, IOC_KAFKA__TOPIC_PREFIX=unique, IOC_WORKER__APP_ID=unique,
                    IOC_DATA_DIR=str(tmp_path))
    worker = spawn([sys.executable, "-m", "ioc", "run", "worker"], log_path=tmp_path / "worker.log", env=env)
    try:
        produce(kafka_bootstrap, topics.dossier_events, events)
        read_topic(kafka_bootstrap, topics.pipeline_stats,
                   lambda v: any(s["component"] == "worker" and s["counters"]["consumed"] >= n for s in v),
                   timeout=180)
        consumed_at = clock.time()  # the worker stamps its snapshots with the same clock
        # A full round of snapshots (all partitions, one computed_at) taken after that.
        rounds: dict[str, dict[int, dict]] = {}

        def complete(values: list[dict]) -> bool:
            for snap in values:
                if datetime.fromisoformat(snap["computed_at"]).timestamp() > consumed_at + 0.5:
                    rounds.setdefault(snap["computed_at"], {})[snap["partition"]] = snap["units"]
            return any(len(parts) == 4 for parts in rounds.values())

        read_topic(kafka_bootstrap, topics.kpi_snapshots, complete, timeout=60)
    finally:
        stop(worker)
    computed_at, parts = next((t, p) for t, p in sorted(rounds.items()) if len(p) == 4)

    from ioc.kpi.live import merge, wall_view

    live_units = merge(parts.values())
    assert main(["kpi", "--events", str(events_file), "--at", computed_at, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    replay_units = {u["unit"]: u for u in report["units"] if u["unit"] != "PROVINCE"}

    at = datetime.fromisoformat(computed_at)
    assert set(replay_units) == set(live_units), "the same units"
    assert len(replay_units) > 20
    for code, unit in replay_units.items():
        live = wall_view(live_units[code], at)
        assert {k: live[k] for k in COMPARED_FIGURES} == {k: unit["figures"][k] for k in COMPARED_FIGURES}, code
        replayed = {k: (v["numerator"], v["denominator"], v["score"]) for k, v in unit["indicators"].items()}
        assert {k: (v["numerator"], v["denominator"], v["score"]) for k, v in live["indicators"].items()} == replayed, code
    province = next(u for u in report["units"] if u["unit"] == "PROVINCE")
    assert province["figures"]["in_processing"] == sum(t.get("in_processing", 0) for t in live_units.values())
    assert Path(events_file).exists()
