"""`ioc import FILE` against the real broker: every row of a good export lands in the dossier
topic; a file with one bad row stops with exit 2 and "FILE:ROW: field: problem" before
anything is published."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ioc.ingest.publishing import SOURCE_HEADER
from tests.helpers import child_env, make_topics, read_topic

pytestmark = pytest.mark.integration

COLUMNS = ["event_id", "dossier_code", "status", "occurred_at", "unit_code", "procedure_code", "channel",
           "due_at", "legal_duration_value", "legal_duration_unit", "fee_amount", "digitized", "so_bien_nhan"]


def ioc(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = child_env(**env_extra)  # with this test's clock
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True, env=env, timeout=120)


def rows(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        out.append({"event_id": uuid.uuid4().hex, "dossier_code": f"H44.07-250301-{i:04d}", "status": 2 + 7 * (i % 2),
                    "occurred_at": "2025-03-01T08:30:00+07:00", "unit_code": "H44.07", "procedure_code": "1.001612",
                    "channel": 1, "due_at": "2025-03-10T17:00:00+07:00" if i % 2 == 0 else "",
                    "legal_duration_value": 5, "legal_duration_unit": "working_day", "fee_amount": "",
                    "digitized": "true", "so_bien_nhan": f"BN-{i}"})
    return out


def write_csv(path: Path, data: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(data)
    return path


def topic_contents(bootstrap: str, topic: str) -> list[Any]:
    """Every message of ``topic`` so far: a sentinel is appended to each partition and the
    topic read until all are seen (Tansu's end offsets cannot count the records)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    marks = set()
    try:
        for partition in producer.partitions_for(topic):
            mark = uuid.uuid4().hex
            marks.add(mark)
            producer.send(topic, json.dumps({"sentinel": mark}).encode(), partition=partition).get(10)
    finally:
        producer.close()

    def is_mark(v: Any) -> bool:
        return isinstance(v, dict) and "sentinel" in v

    values = read_topic(bootstrap, topic, lambda vs: marks <= {v["sentinel"] for v in vs if is_mark(v)}, timeout=30)
    return [v for v in values if not is_mark(v)]


def test_csv_import_publishes_every_row(kafka_bootstrap, unique, tmp_path):
    topics = make_topics(kafka_bootstrap, unique)
    data = rows(1200)  # more than one publish batch of a partition's message (500 events)
    path = write_csv(tmp_path / "export-2025.csv", data)
    r = ioc("import", str(path), "--source", "motcua-cu",
            env_extra={"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"rows": 1200, "published": 1200}

    messages = topic_contents(kafka_bootstrap, topics.dossier_events)
    assert all(isinstance(m, list) and 0 < len(m) <= 500 for m in messages)  # the wire format's batches
    events = [e for m in messages for e in m]
    assert Counter(e["event_id"] for e in events) == Counter(d["event_id"] for d in data)
    first = next(e for e in events if e["event_id"] == data[0]["event_id"])
    assert first["status"] == 2 and first["legal_duration"] == {"value": 5, "unit": "working_day"}
    assert first["digitized"] is True and first["so_bien_nhan"] == "BN-0" and "fee_amount" not in first

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, consumer_timeout_ms=5000)
    try:
        consumer.assign([TopicPartition(topics.dossier_events, 0)])
        consumer.seek_to_beginning()
        record = next(iter(consumer))
        assert dict(record.headers)[SOURCE_HEADER] == b"import:motcua-cu"
    finally:
        consumer.close()


def test_a_bad_row_stops_the_file_before_anything_is_published(kafka_bootstrap, unique, tmp_path):
    topics = make_topics(kafka_bootstrap, unique)
    data = rows(10)
    data[6]["status"] = "finished"  # row 8 of the file: header is row 1
    path = write_csv(tmp_path / "bad.csv", data)
    r = ioc("import", str(path), env_extra={"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"{path}:8: status: " in lines[0]
    assert r.stdout == ""
    assert topic_contents(kafka_bootstrap, topics.dossier_events) == []


def test_import_needs_no_kafka_to_reject_a_bad_file(tmp_path):
    path = write_csv(tmp_path / "bad.csv", [{**rows(1)[0], "occurred_at": "2025-03-01 08:30"}])
    r = ioc("import", str(path), env_extra={})
    assert r.returncode == 2
    assert f"{path}:2: occurred_at: must be ISO-8601 with a UTC offset" in r.stderr


def test_xlsx_import(kafka_bootstrap, unique, tmp_path):
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl is not installed (needed only for .xlsx imports)")
    topics = make_topics(kafka_bootstrap, unique)
    data = rows(20)
    book = openpyxl.Workbook()
    book.active.append(COLUMNS)
    for d in data:
        book.active.append([d[c] if d[c] != "" else None for c in COLUMNS])
    path = tmp_path / "export.xlsx"
    book.save(path)
    r = ioc("import", str(path), env_extra={"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"rows": 20, "published": 20}
    events = [e for m in topic_contents(kafka_bootstrap, topics.dossier_events) for e in m]
    assert sorted(e["event_id"] for e in events) == sorted(d["event_id"] for d in data)
