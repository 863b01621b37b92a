"""`ioc catalogue import FILE` against the real broker and warehouses: the rows land in
``procedure_catalogue`` (chDB, and the ClickHouse 18.16 server) and on the compacted catalogue
topic; a bad file exits 2 with "FILE:ROW: column: problem" and nothing lands anywhere."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from ioc.commands.catalogue_import import publish_sample_if_empty, topic_is_empty
from ioc.config import KafkaSettings, Settings
from ioc.reference.catalogue import CatalogueRow, sample_catalogue
from tests.helpers import make_topics

pytestmark = pytest.mark.integration

HEADER = ["procedure_code", "valid_from", "name", "level", "unit_codes", "online", "fee", "fee_on_national_payment",
          "paper_result", "citizen_subject", "legal_basis_effective", "decision_date", "published_date"]
ROWS = [
    ["1.001612", "", "Đăng ký thành lập hộ kinh doanh", "commune", "", "full", "true", "true", "true", "true",
     "2025-07-01", "2025-06-20", "2025-06-25"],
    ["1.001612", "2026-07-15", "Đăng ký thành lập hộ kinh doanh", "commune", "", "partial", "true", "false", "true",
     "true", "2026-07-15", "2026-07-10", "2026-07-14"],
    ["9.000021", "", "Cấp mới giấy phép hành nghề khám bệnh, chữa bệnh", "province", "H44.11;H44.20", "partial",
     "true", "true", "true", "true", "2024-01-01", "2023-12-15", "2023-12-21"],
]


def ioc(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True, env=env, timeout=180)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def topic_records(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """The records of the one-partition catalogue topic, read from the start until ``expected``
    of them arrived (and briefly after, to see any extra)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=1500)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            records.extend(consumer)  # until 1.5 s without a record
            if len(records) >= expected:
                return records
        raise AssertionError(f"{topic}: {len(records)} of {expected} records after {timeout:.0f} s")
    finally:
        consumer.close()


def stored_in_chdb(data_dir: Path) -> list[dict[str, Any]]:
    """The stored catalogue of an embedded warehouse, read by a process of its own (chDB admits
    one directory per process)."""
    code = ("import json, sys\n"
            "from ioc.warehouse.backends import open_warehouse\n"
            "from ioc.warehouse.catalogue_rows import stored_catalogue\n"
            "wh = open_warehouse(None, sys.argv[1])\n"
            "print(json.dumps([r.to_json() for r in stored_catalogue(wh).rows]))\n"
            "wh.close()\n")
    r = subprocess.run([sys.executable, "-c", code, str(data_dir)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_import_stores_and_publishes_every_row(kafka_bootstrap, unique, tmp_path):
    topics = make_topics(kafka_bootstrap, unique)
    path = write_csv(tmp_path / "danh-muc.csv", ROWS)
    data = tmp_path / "data"
    r = ioc("catalogue", "import", str(path), "--format", "json", "--data-dir", str(data),
            env_extra={"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report == {"file": str(path), "rows": 3, "procedures": 2, "versions": 2,
                      "table": "ioc.procedure_catalogue", "stored": 3, "stored_by": "import",
                      "topic": topics.catalogue, "published": 3}

    expected = {f"{row[0]}|{row[1] or '0001-01-01'}" for row in ROWS}
    records = topic_records(kafka_bootstrap, topics.catalogue, 3)
    assert len(records) == 3 and {m.key.decode() for m in records} == expected
    rows = [CatalogueRow.from_json(json.loads(m.value)) for m in records]
    by_key = {row.key: row for row in rows}
    assert by_key["9.000021|0001-01-01"].unit_codes == ("H44.11", "H44.20")
    assert by_key["1.001612|2026-07-15"].fee_on_national_payment is False
    assert all(dict(m.headers)["ioc-source"] == b"import:danh-muc.csv" for m in records)

    stored = stored_in_chdb(data)
    assert sorted(stored, key=lambda d: (d["procedure_code"], d["valid_from"])) == \
        sorted((row.to_json() for row in rows), key=lambda d: (d["procedure_code"], d["valid_from"]))

    # The text summary, and a second import of the same rows replaces them (compaction, ReplacingMergeTree).
    r = ioc("catalogue", "import", str(path), "--data-dir", str(data), "--kafka", kafka_bootstrap,
            env_extra={"IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (f"ioc catalogue import: 3 rows, 2 procedures, 2 versions (valid_from dates); "
                                f"stored in ioc.procedure_catalogue; 3 published to {topics.catalogue}")
    assert len(stored_in_chdb(data)) == 3


def test_a_bad_file_exits_2_and_nothing_lands(kafka_bootstrap, unique, tmp_path):
    topics = make_topics(kafka_bootstrap, unique)
    rows = [list(r) for r in ROWS]
    rows[2][HEADER.index("level")] = "district"  # line 4 of the file
    path = write_csv(tmp_path / "bad.csv", rows)
    data = tmp_path / "data"
    r = ioc("catalogue", "import", str(path), "--data-dir", str(data),
            env_extra={"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0] == f"ioc: {path}:4: level: must be one of ministry, province, commune, got 'district'"
    assert r.stdout == ""
    assert topic_is_empty(kafka_bootstrap, topics.catalogue)
    assert not data.exists()  # the warehouse was not even opened


def test_a_bad_file_needs_no_servers(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"procedure_code": "1.001612", "fee": "maybe"}\n', encoding="utf-8")
    r = ioc("catalogue", "import", str(path), env_extra={"IOC_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert r.returncode == 2
    assert r.stderr.strip() == f"ioc: {path}:1: fee: must be true/false (or 1/0, yes/no, có/không), got 'maybe'"


def test_import_into_the_clickhouse_18_server(kafka_bootstrap, clickhouse_url, unique, tmp_path):
    from ioc.warehouse.backends import NativeWarehouse
    from ioc.warehouse.catalogue_rows import SAMPLE_VERSION, catalogue_table_row, stored_catalogue
    from ioc.warehouse.schema import LEGACY, PROCEDURE_CATALOGUE

    make_topics(kafka_bootstrap, unique)
    path = write_csv(tmp_path / "cat.csv", ROWS)
    url = clickhouse_url.rsplit("/", 1)[0] + f"/{unique}"
    r = ioc("catalogue", "import", str(path), "--format", "json", "--clickhouse", url, "--kafka", kafka_bootstrap,
            env_extra={"IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["table"] == f"{unique}.procedure_catalogue"
    wh = NativeWarehouse(url)
    try:
        assert wh.dialect is LEGACY
        stored = stored_catalogue(wh)
        assert {row.key for row in stored.rows} == {f"{row[0]}|{row[1] or '0001-01-01'}" for row in ROWS}
        assert stored.in_force(date(2026, 7, 15))["1.001612"].online == "partial"
        # The SAMPLE stored by the sink never hides an imported row (its version is the lowest).
        sample = sample_catalogue().in_force(date(2026, 1, 1))["1.001612"]
        wh.insert(PROCEDURE_CATALOGUE, [catalogue_table_row(sample, SAMPLE_VERSION)])
        again = stored_catalogue(wh).in_force(date(2026, 1, 1))["1.001612"]
        assert again.legal_basis_effective == date(2025, 7, 1) and again.unit_codes == ()
        assert len(stored_catalogue(wh, imported_only=True).rows) == 3
    finally:
        wh.execute(f"DROP DATABASE IF EXISTS {unique}")
        wh.close()


def test_an_embedded_warehouse_held_by_the_stack_is_left_to_its_sink(kafka_bootstrap, unique, tmp_path):
    topics = make_topics(kafka_bootstrap, unique)
    data = tmp_path / "data"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom ioc.warehouse.backends import open_warehouse\n"
        "wh = open_warehouse(None, sys.argv[1])\nprint('open', flush=True)\ntime.sleep(120)\n"), str(data)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        path = write_csv(tmp_path / "cat.csv", ROWS[:1])
        r = ioc("catalogue", "import", str(path), "--format", "json", "--data-dir", str(data),
                env_extra={"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": unique})
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert report["stored"] == 0 and report["stored_by"] == "the running stack's sink"
        assert report["published"] == 1
        assert len(topic_records(kafka_bootstrap, topics.catalogue, 1)) == 1
    finally:
        holder.kill()
        holder.wait(10)


def test_up_publishes_the_sample_once(kafka_bootstrap, unique):
    topics = make_topics(kafka_bootstrap, unique)
    settings = Settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=unique))
    assert topic_is_empty(kafka_bootstrap, topics.catalogue)
    n = publish_sample_if_empty(kafka_bootstrap, settings)
    assert n == len(sample_catalogue().rows)
    assert publish_sample_if_empty(kafka_bootstrap, settings) == 0
    records = topic_records(kafka_bootstrap, topics.catalogue, n)
    assert len(records) == n and all(dict(m.headers)["ioc-source"] == b"sample" for m in records)
    assert {CatalogueRow.from_json(json.loads(m.value)) for m in records} == set(sample_catalogue().rows)


def test_restore_puts_the_imported_catalogue_back_on_an_empty_broker(kafka_bootstrap, unique, tmp_path):
    """After a crash of the embedded broker (topics lost, warehouse kept), `ioc restore` puts the
    imported rows back on the catalogue topic, with the source they came from."""
    path = write_csv(tmp_path / "danh-muc.csv", ROWS)
    data = tmp_path / "data"
    r = ioc("catalogue", "import", str(path), "--data-dir", str(data),
            env_extra={"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 0, r.stderr
    fresh = unique + "r"  # the same warehouse, a broker whose topics are empty
    topics = make_topics(kafka_bootstrap, fresh)
    r = ioc("restore", "--data-dir", str(data),
            env_extra={"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": fresh,
                       "IOC_WORKER__APP_ID": fresh})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["restore"]["catalogue_rows"] == 3
    records = topic_records(kafka_bootstrap, topics.catalogue, 3)
    assert {m.key.decode() for m in records} == {f"{row[0]}|{row[1] or '0001-01-01'}" for row in ROWS}
    assert all(dict(m.headers)["ioc-source"] == b"restore" for m in records)
