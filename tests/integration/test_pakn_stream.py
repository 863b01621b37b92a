"""The petition (PAKN) agent on the real broker: its live tallies in the snapshots equal the
replay (``pakn_tally`` summed over ``fold_pakn`` of the same events at the snapshot's instant),
bad items land in the dead-letter topic with reason and position, and petitions that name a
dossier are forwarded to the dossier topic, in the dossier's partition.

Every instant is pinned: the simulated petitions end at NOW and the worker's clock starts
there (IOC_NOW), so the test sees the same month, holidays and deadlines on any day."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ioc.domain.pakn import parse_pakn_event
from ioc.kpi.pakn import complaint_links, fold_pakn, pakn_figures_for
from ioc.process import spawn, stop
from ioc.sim.runner import write_file
from ioc.wire import partition_for
from tests.helpers import child_env, make_topics, produce, produce_raw, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOW = "2026-11-25T10:00:00+07:00"  # Wednesday, the day after the 24 Nov holiday
PARTITIONS = 4


def records(bootstrap: str, topic: str, want, timeout_ms: int = 60_000) -> list:
    """kafka-python records of every partition of ``topic`` from the start until ``want(records)``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=timeout_ms)
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        out = []
        for record in consumer:
            out.append(record)
            if want(out):
                return out
        raise AssertionError(f"{topic}: condition not met ({len(out)} records)")
    finally:
        consumer.close()


def test_live_pakn_tallies_equal_the_replay_and_bad_items_are_dead_lettered(kafka_bootstrap, unique, tmp_path):
    now = datetime.fromisoformat(NOW)
    write_file(tmp_path / "dossiers.jsonl", seconds=0, rate=1, seed=7, backfill_days=14, now=now,
               pakn_path=tmp_path / "pakn.jsonl")
    raw = [json.loads(line) for line in (tmp_path / "pakn.jsonl").read_text().splitlines()]
    events = [parse_pakn_event(e) for e in raw]
    codes = {e.pakn_code for e in events}
    assert len(codes) > 40 and all(e.occurred_at <= now for e in events)
    expected_links = complaint_links(events, now)
    assert len(expected_links) > 5

    topics = make_topics(kafka_bootstrap, unique, PARTITIONS)
    anchor = time.time()  # the worker's clock reads NOW at this real instant (ioc.clock)
    env = child_env(IOC_KAFKA_BOOTSTRAP=kafka_bootstrap, IOC_KAFKA__TOPIC_PREFIX=unique, IOC_WORKER__APP_ID=unique,
                    IOC_DATA_DIR=str(tmp_path), IOC_NOW=NOW, IOC_NOW_ANCHOR=repr(anchor))
    worker = spawn([sys.executable, "-m", "ioc", "run", "worker"], log_path=tmp_path / "worker.log", env=env)
    try:
        produce(kafka_bootstrap, topics.pakn_events, raw, key="pakn_code")
        # One batch whose second item is bad (in its petition's partition, as producers key them:
        # the first item is a redelivery), and a message that is not JSON at all.
        bad_item = {**raw[0], "event_id": "bad-1", "status": "closed"}
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        try:
            producer.send(topics.pakn_events, json.dumps([raw[0], bad_item]).encode(), key=raw[0]["pakn_code"].encode(),
                          partition=partition_for(raw[0]["pakn_code"], PARTITIONS)).get(10)
        finally:
            producer.close()
        produce_raw(kafka_bootstrap, topics.pakn_events, [b"\xff not json"])
        stats = read_topic(kafka_bootstrap, topics.pipeline_stats,
                           lambda v: any(s["component"] == "pakn" and s["counters"]["consumed"] >= len(raw) + 1
                                         and s["counters"]["dead_lettered"] >= 2 for s in v), timeout=180)
        # In the worker's (pinned) clock: NOW plus the real time since the anchor.
        consumed_at = now.timestamp() + max(s["ts"] for s in stats if s["component"] == "pakn") - anchor
        # A full round of petition partials (every partition holding petitions, one computed_at) after that.
        holding = {partition_for(code, PARTITIONS) for code in codes}
        rounds: dict[str, dict[int, dict]] = {}

        def complete(values: list[dict]) -> bool:
            for snap in values:
                if snap.get("source") != "pakn" or snap.get("parts", 1) != 1:
                    continue
                if datetime.fromisoformat(snap["computed_at"]).timestamp() > consumed_at + 0.5:
                    rounds.setdefault(snap["computed_at"], {})[snap["partition"]] = snap["units"]
            return any(set(parts) == holding for parts in rounds.values())

        read_topic(kafka_bootstrap, topics.kpi_snapshots, complete, timeout=60)
        dead = read_topic(kafka_bootstrap, topics.deadletter,
                          lambda v: len([d for d in v if d["source_topic"] == topics.pakn_events]) >= 2, timeout=30)
        links = records(kafka_bootstrap, topics.dossier_events,
                        lambda rs: len({i["event_id"] for r in rs for i in json.loads(r.value)}) >= len(expected_links))
    finally:
        stop(worker)

    computed_at, parts = next((t, p) for t, p in sorted(rounds.items()) if set(p) == holding)
    at = datetime.fromisoformat(computed_at)
    live: dict[str, dict[str, int]] = {}
    for units in parts.values():
        for unit, tally in units.items():
            into = live.setdefault(unit, {})
            for key, value in tally.items():
                into[key] = into.get(key, 0) + value
    replayed = pakn_figures_for(fold_pakn(events, at), at)
    assert live == replayed
    assert len(live) > 5 and sum(t.get("pakn:counted", 0) for t in live.values()) > 30
    assert all(key.startswith("pakn:") for t in live.values() for key in t)

    rejected = sorted((d["reason"].split(":")[0], d["source_item"]) for d in dead
                      if d["source_topic"] == topics.pakn_events)
    assert rejected == [("not UTF-8 JSON", 0), ("status", 1)]

    items = [(r.partition, item) for r in links for item in json.loads(r.value)]
    assert all(item["type"] == "pakn_link" for _, item in items)
    assert all(p == partition_for(item["dossier_code"], PARTITIONS) for p, item in items)
    got = {(item["dossier_code"], datetime.fromisoformat(item["occurred_at"]), item["event_id"]) for _, item in items}
    assert got == set(expected_links)
