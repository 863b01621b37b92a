"""Faults on the path broker -> stream worker -> warehouse, each counting every event.

Every scenario streams a simulated day of dossier events through real processes (`ioc run
worker`, `ioc run sink`, a real clickhouse-server) while something breaks, and ends with:
produced = stored, no duplicate in what is counted (distinct ids and FINAL agree), the live
KPI snapshots equal to the replay of the stored events (`ioc verify`'s check), and every bad
event in the dead-letter topic with its reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ioc.broker.producer import start_producer
from ioc.broker.publisher import BatchPublisher
from ioc.commands.verify import verify
from ioc.domain.events import EventRejected, parse_event
from ioc.process import spawn, stop
from ioc.sim.runner import write_file
from ioc.warehouse.backends import NativeWarehouse
from ioc.warehouse.queries import table_counts
from tests.conftest import ClickHouseServer
from tests.helpers import child_env, make_topics, poll, read_topic, working_afternoon

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARTITIONS = 4
ROOT = Path(__file__).resolve().parents[2]


# --- the pipeline under test --------------------------------------------------------------------


class Pipeline:
    """Worker and sink as separate processes (so each can be killed), on unique topics."""

    def __init__(self, bootstrap: str, prefix: str, clickhouse_url: str, tmp: Path) -> None:
        self.bootstrap, self.tmp = bootstrap, tmp
        self.topics = make_topics(bootstrap, prefix, PARTITIONS)
        self.url = clickhouse_url.rsplit("/", 1)[0] + f"/{prefix}"
        self.env = child_env(**{  # with the test's clock (the working_day fixture)
            "IOC_KAFKA_BOOTSTRAP": bootstrap, "IOC_KAFKA__TOPIC_PREFIX": prefix, "IOC_WORKER__APP_ID": prefix,
            "IOC_KAFKA__PARTITIONS__DOSSIER_EVENTS": str(PARTITIONS), "IOC_CLICKHOUSE_URL": self.url,
            "IOC_CLICKHOUSE__BATCH_SECONDS": "0.5", "IOC_DATA_DIR": str(tmp / "data"),
        })
        self.procs: list[Any] = []
        self.starts = Counter()

    def _spawn(self, name: str, argv: list[str], extra: dict[str, str] | None = None) -> Any:
        self.starts[name] += 1
        log = self.tmp / f"{name}-{self.starts[name]}.log"
        proc = spawn(argv, log_path=log, env=self.env | (extra or {}))
        proc.log_path = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def worker(self) -> Any:
        return self._spawn("worker", [sys.executable, "-m", "ioc", "run", "worker"])

    def sink(self, die_after_batches: int | None = None) -> Any:
        if die_after_batches is None:
            return self._spawn("sink", [sys.executable, "-m", "ioc", "run", "sink"])
        return self._spawn("faulty-sink", [sys.executable, str(ROOT / "tests/integration/fault_sink.py")],
                           {"FAULT_AFTER_BATCHES": str(die_after_batches)})

    def warehouse(self) -> NativeWarehouse:
        return NativeWarehouse(self.url)

    def counts(self) -> dict[str, int]:
        wh = self.warehouse()
        try:
            return table_counts(wh)
        finally:
            wh.close()

    def stop_all(self) -> None:
        for proc in self.procs:
            stop(proc, timeout=5)


def sigkill(proc: Any) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def wait_consumed(pipe: Pipeline, worker: Any, n: int, timeout: float = 120) -> None:
    """Until the worker process reports (pipeline-stats topic) that it consumed ``n`` events."""
    def enough(values: list[Any]) -> bool:
        return any(v.get("component") == "worker" and str(v.get("instance", "")).endswith(f"-{worker.pid}")
                   and v["counters"].get("consumed", 0) >= n for v in values)

    assert worker.poll() is None, Path(worker.log_path).read_text(errors="replace")[-2000:]
    read_topic(pipe.bootstrap, pipe.topics.pipeline_stats, enough, timeout)


@pytest.fixture(autouse=True)
def working_day(pin_clock: Any) -> None:
    """"Now" is the latest working day's afternoon by the run's clock, for this process and the
    ones it starts: a simulated day is then a day of work, not a Sunday's (or Tết's) trickle."""
    pin_clock(working_afternoon())


def simulated_day(tmp: Path, seed: int) -> list[dict[str, Any]]:
    path = tmp / "day.jsonl"
    write_file(path, seconds=60, rate=2.0, seed=seed, backfill_days=1)  # up to the clock's now
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class SteadyProducer(threading.Thread):
    """Produces items at a steady pace in the wire format (batches per partition), keyed by
    dossier code (or, for an item without one, by its position)."""

    def __init__(self, bootstrap: str, topic: str, items: list[Any], seconds: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.items, self.seconds = bootstrap, topic, items, seconds
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by the test
            self.error = exc

    async def _run(self) -> None:
        producer = await start_producer(self.bootstrap)
        try:
            pub = BatchPublisher(producer, self.topic)
            step = 0.1
            per_step = max(1, int(len(self.items) * step / self.seconds))
            start = time.monotonic()
            for i in range(0, len(self.items), per_step):
                for j, item in enumerate(self.items[i:i + per_step], start=i):
                    key = item.get("dossier_code") if isinstance(item, dict) else None
                    await pub.add(key if isinstance(key, str) and key else f"item-{j}", item)
                await pub.flush()
                self.sent = min(i + per_step, len(self.items))
                await asyncio.sleep(max(0.0, start + (i // per_step + 1) * step - time.monotonic()))
        finally:
            await producer.stop()

    def finish(self, timeout: float = 300) -> None:
        self.join(timeout)
        assert not self.is_alive(), "the producer did not finish"
        if self.error:
            raise self.error


def assert_exact(pipe: Pipeline, good: list[dict[str, Any]], timeout: float = 180) -> None:
    """Produced = stored, no duplicate counted, live KPIs = the replay of what is stored."""
    ids = {e["event_id"] for e in good}
    counts = poll(pipe.counts, lambda c: c["dossier_events"] >= len(ids), timeout, "every event stored")
    assert counts["dossier_events"] == len(ids)
    wh = pipe.warehouse()
    try:
        (final,), = wh.query(f"SELECT count() FROM {wh.database}.dossier_events FINAL")
        assert final == len(ids), "a duplicate survives in what the KPIs count"
        stored = {i for (i,) in wh.query(f"SELECT DISTINCT event_id FROM {wh.database}.dossier_events")}
        assert stored == ids
        report = verify(wh, PARTITIONS, wait_s=120)
    finally:
        wh.close()
    assert report.ok, report.differences[:20]
    assert not report.notes, report.notes  # compared on a quiet stream


@pytest.fixture
def pipeline(working_day, kafka_bootstrap, clickhouse_url, unique, tmp_path):
    pipe = Pipeline(kafka_bootstrap, unique, clickhouse_url, tmp_path)
    yield pipe
    pipe.stop_all()


# --- the scenarios ------------------------------------------------------------------------------


def test_worker_killed_three_times_mid_stream(pipeline, tmp_path):
    events = simulated_day(tmp_path, seed=11)
    pipeline.sink()
    worker = pipeline.worker()
    producer = SteadyProducer(pipeline.bootstrap, pipeline.topics.dossier_events, events, seconds=45)
    producer.start()
    for _ in range(3):
        # Kill it once it has consumed part of the stream: its state then lives only in memory
        # and in the table's changelog, and its last offsets may not be committed.
        wait_consumed(pipeline, worker, 300)
        assert worker.poll() is None, f"the worker died on its own: {worker.log_path}"
        sigkill(worker)
        worker = pipeline.worker()
    producer.finish()
    assert producer.sent == len(events)
    assert_exact(pipeline, events)
    assert pipeline.starts["worker"] == 4


def test_clickhouse_down_for_30_seconds_while_events_keep_coming(kafka_bootstrap, unique, tmp_path):
    server = ClickHouseServer(tmp_path / "clickhouse").start()
    pipe = Pipeline(kafka_bootstrap, unique, server.url, tmp_path)
    try:
        events = simulated_day(tmp_path, seed=12)
        sink = pipe.sink()
        pipe.worker()
        producer = SteadyProducer(kafka_bootstrap, pipe.topics.dossier_events, events, seconds=40)
        producer.start()
        poll(pipe.counts, lambda c: c["dossier_events"] > 0, 60, "first rows stored")
        server.stop()
        down_since = time.monotonic()
        while time.monotonic() - down_since < 30:
            assert sink.poll() is None, f"the sink gave up while ClickHouse was down: {sink.log_path}"
            time.sleep(1)
        server.start()
        producer.finish()
        assert_exact(pipe, events)
        assert "retrying" in Path(sink.log_path).read_text(errors="replace")
    finally:
        pipe.stop_all()
        server.stop()


def test_sink_killed_between_insert_and_commit(pipeline, tmp_path):
    events = simulated_day(tmp_path, seed=13)
    pipeline.worker()
    producer = SteadyProducer(pipeline.bootstrap, pipeline.topics.dossier_events, events, seconds=20)
    producer.start()
    faulty = pipeline.sink(die_after_batches=3)
    assert faulty.wait(120) == 9, Path(faulty.log_path).read_text(errors="replace")[-2000:]
    rows_before_restart = pipeline.counts()["dossier_event_rows"]
    assert rows_before_restart > 0  # the batch that was inserted but never committed
    pipeline.sink()  # reads that batch again from the last committed offset
    producer.finish()
    assert_exact(pipeline, events)


# Malformed events: hypothesis draws them, 100 per example, until there are 10,000 bad ones.

REQUIRED = ("event_id", "dossier_code", "status", "occurred_at", "unit_code", "procedure_code")


def _valid(i: int) -> dict[str, Any]:
    return {"event_id": f"bad-{i}", "dossier_code": f"H44.07-BAD-{i}", "status": 2,
            "occurred_at": "2026-11-02T09:00:00+07:00", "unit_code": "H44.07", "procedure_code": "1.001612"}


junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@st.composite
def malformed(draw: Any) -> Any:
    kind = draw(st.sampled_from(["not-object", "missing", "wrong-type", "bad-time", "bad-optional", "too-long"]))
    if kind == "not-object":
        return draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40),
                              st.lists(st.integers(), max_size=3)))
    event = _valid(draw(st.integers(0, 10**9)))
    if kind == "missing":
        for name in draw(st.lists(st.sampled_from(REQUIRED), min_size=1, unique=True)):
            del event[name]
    elif kind == "wrong-type":
        name = draw(st.sampled_from(REQUIRED))
        event[name] = draw(junk.filter(lambda v: not isinstance(v, str)) if name != "status"
                           else st.one_of(st.integers().filter(lambda v: not 1 <= v <= 10), st.text(max_size=5)))
    elif kind == "bad-time":
        event[draw(st.sampled_from(["occurred_at", "due_at"]))] = draw(st.one_of(
            st.text(max_size=25), st.just("2026-11-02T09:00:00"), st.integers()))
    elif kind == "bad-optional":
        name, value = draw(st.sampled_from([
            ("channel", 7), ("rating", "great"), ("fee_amount", -1), ("online_payment", 5),
            ("legal_duration", {"value": 0, "unit": "working_day"}), ("legal_duration", {"value": 3, "unit": "week"}),
            ("digitized", "maybe"), ("complaint", [1]),
        ]))
        event[name] = value
    else:
        event[draw(st.sampled_from(["event_id", "dossier_code", "unit_code"]))] = "x" * draw(st.integers(201, 400))
    return event


def draw_bad_items(n: int) -> list[Any]:
    drawn: list[Any] = []

    @settings(max_examples=n // 100 + 40, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(malformed(), min_size=100, max_size=100))
    def collect(items: list[Any]) -> None:
        drawn.extend(items)

    collect()
    bad = []
    for item in drawn:
        try:
            parse_event(item)
        except EventRejected:
            bad.append(item)
    assert len(bad) >= n, f"hypothesis gave only {len(bad)} malformed events"
    return bad[:n]


def test_ten_thousand_malformed_events_mixed_into_good_ones(pipeline, tmp_path):
    good = simulated_day(tmp_path, seed=14)
    bad = draw_bad_items(10_000)
    expected = Counter()
    for item in bad:
        try:
            parse_event(item)
        except EventRejected as exc:
            expected[exc.reason] += 1
    mixed = good + bad
    random.Random(3).shuffle(mixed)
    # The good events of one dossier keep their order only by chance now: the state does not care.
    pipeline.sink()
    pipeline.worker()
    producer = SteadyProducer(pipeline.bootstrap, pipeline.topics.dossier_events, mixed, seconds=20)
    producer.start()
    producer.finish()
    dead = read_topic(pipeline.bootstrap, pipeline.topics.deadletter, lambda v: len(v) >= len(bad), timeout=180)
    assert len(dead) == len(bad)
    assert Counter(d["reason"] for d in dead) == expected  # every bad event, with its own reason
    assert all(d["reason"] and d["raw"] for d in dead)
    assert_exact(pipeline, good)
    counts = poll(pipeline.counts, lambda c: c["deadletter"] >= len(bad), 60, "dead letters stored")
    assert counts["deadletter"] == len(bad)
