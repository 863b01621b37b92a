"""POST /api/v1/dossier-events against the real broker: what a 202 counts as accepted is in
the topic exactly once, in the wire format; bad items are listed while their neighbours go
through; tokens, unreadable and oversized bodies and a dead Kafka are refused."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from typing import Any

import flask
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from dashboards.server import WebProcess
from ioc.broker.embedded import EmbeddedBroker
from ioc.config import Settings
from ioc.ingest.api import INGEST_PATH, register_ingest_routes
from ioc.ingest.publishing import SOURCE_HEADER, KafkaEventPublisher
from ioc.ingest.tokens import hash_token
from ioc.process import free_port
from ioc.wire import partition_for
from tests.helpers import make_topics, read_topic

pytestmark = pytest.mark.integration

TOKEN = "portal-" + uuid.uuid4().hex
OTHER_TOKEN = "mot-cua-" + uuid.uuid4().hex


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def event(n: int, **fields: Any) -> dict[str, Any]:
    base = {"event_id": uuid.uuid4().hex, "dossier_code": f"H44.07-261008-{n:04d}", "status": 2,
            "occurred_at": "2026-10-08T09:15:00+07:00", "due_at": "2026-10-15T17:00:00+07:00",
            "unit_code": "H44.07", "procedure_code": "1.001612", "channel": 2}
    return {**base, **fields}


def settings_for(prefix: str, **ingest: Any) -> Settings:
    return Settings.model_validate({
        "kafka": {"topic_prefix": prefix},
        "ingest": {"sources": {"portal": hash_token(TOKEN), "mot-cua": hash_token(OTHER_TOKEN)},
                   "max_body_bytes": 200_000, "max_items": 100, **ingest},
    })


def drain(bootstrap: str, topic: str, records: bool = False) -> list[Any]:
    """Every message of ``topic`` so far (JSON values, or kafka-python records).

    A sentinel is appended to each partition and the topic read until all sentinels are
    seen: everything produced before is then read, so "exactly once" is checked, not hoped
    (Tansu's end offsets count record batches, not records, so they cannot be used)."""
    marks = {}
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for partition in sorted(producer.partitions_for(topic)):
            mark = uuid.uuid4().hex
            marks[mark] = partition
            producer.send(topic, json.dumps({"sentinel": mark}).encode(), partition=partition).get(10)
    finally:
        producer.close()

    def is_mark(value: Any) -> bool:
        return isinstance(value, dict) and "sentinel" in value

    if not records:
        values = read_topic(bootstrap, topic, lambda v: set(marks) <= {x["sentinel"] for x in v if is_mark(x)},
                            timeout=30)
        return [v for v in values if not is_mark(v)]
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10_000)
    try:
        parts = [TopicPartition(topic, p) for p in marks.values()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        out, seen = [], set()
        for record in consumer:
            value = json.loads(record.value)
            if is_mark(value):
                seen.add(value["sentinel"])
                if seen >= set(marks):
                    return out
            else:
                out.append(record)
        raise AssertionError(f"{topic}: sentinels not all read")
    finally:
        consumer.close()


def published_events(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every event in the topic (messages are arrays of events, see ioc.wire)."""
    return [e for v in drain(bootstrap, topic) for e in (v if isinstance(v, list) else [v])]


@pytest.fixture
def stack(kafka_bootstrap, unique):
    topics = make_topics(kafka_bootstrap, unique)
    publisher = KafkaEventPublisher(kafka_bootstrap, topics.dossier_events, timeout_s=10)
    app = flask.Flask("ingest-test")
    register_ingest_routes(app, settings_for(unique), publisher)
    yield app.test_client(), topics.dossier_events
    publisher.close()


def post(client, payload: Any, headers: dict[str, str] | None = None, content_type: str = "application/json"):
    data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(INGEST_PATH, data=data, content_type=content_type, headers=auth() if headers is None else headers)


def test_accepted_events_land_once_bad_items_listed_with_neighbours_kept(stack, kafka_bootstrap):
    client, topic = stack
    items: list[Any] = [event(i) for i in range(30)]
    items[3] = event(3, status=42)
    items[17] = "not an event"
    items[20] = {k: v for k, v in event(20).items() if k != "unit_code"}
    r = post(client, items)
    assert r.status_code == 202, r.get_data(as_text=True)
    out = r.get_json()
    assert (out["accepted"], out["rejected"], out["published"], out["duplicates"]) == (27, 3, 27, 0)
    assert out["format"] == "json" and out["received"] == 30
    errors = {e["index"]: e["reason"] for e in out["errors"]}
    assert sorted(errors) == [3, 17, 20]
    assert errors[3].startswith("status: ") and errors[17].startswith("event: expected a JSON object")
    assert errors[20] == "unit_code: Field required"
    assert TOKEN not in r.get_data(as_text=True)

    valid_ids = {e["event_id"] for i, e in enumerate(items) if i not in (3, 17, 20)}
    got = published_events(kafka_bootstrap, topic)
    assert Counter(e["event_id"] for e in got) == Counter(valid_ids)  # each exactly once, nothing else

    records = drain(kafka_bootstrap, topic, records=True)
    assert len(records) == len({r.partition for r in records}) <= 4  # one message per partition
    for record in records:
        batch = json.loads(record.value)
        assert {partition_for(e["dossier_code"], 4) for e in batch} == {record.partition}
        assert record.key.decode() in {e["dossier_code"] for e in batch}
        assert dict(record.headers)[SOURCE_HEADER] == b"api:portal"


def test_resent_events_are_not_published_again(stack, kafka_bootstrap):
    client, topic = stack
    first = [event(i) for i in range(5)]
    assert post(client, first).get_json()["published"] == 5
    before = len(drain(kafka_bootstrap, topic))

    r = post(client, first, headers=auth(OTHER_TOKEN))  # the same events again, even from another source
    assert r.status_code == 202
    assert {k: r.get_json()[k] for k in ("accepted", "published", "duplicates")} == \
        {"accepted": 5, "published": 0, "duplicates": 5}
    assert len(drain(kafka_bootstrap, topic)) == before

    new = event(99)
    r = post(client, [first[0], new, new])  # a neighbour already sent, one new event twice in the request
    assert {k: r.get_json()[k] for k in ("accepted", "published", "duplicates")} == \
        {"accepted": 3, "published": 1, "duplicates": 2}
    got = published_events(kafka_bootstrap, topic)
    assert Counter(e["event_id"] for e in got) == Counter({e["event_id"] for e in [*first, new]})


def test_jsonl_single_object_and_errors_by_line(stack, kafka_bootstrap):
    client, topic = stack
    good = [event(i) for i in range(3)]
    lines = [json.dumps(good[0]), json.dumps(event(7, occurred_at="yesterday")), "", "{oops",
             json.dumps(good[1])]
    r = post(client, "\n".join(lines) + "\n", content_type="application/x-ndjson")
    assert r.status_code == 202
    out = r.get_json()
    assert out["format"] == "jsonl" and out["accepted"] == 2
    assert [(e["index"], e["reason"].split(":")[0]) for e in out["errors"]] == [(2, "occurred_at"), (4, "event")]
    r = post(client, good[2])  # one object
    assert r.status_code == 202 and r.get_json()["accepted"] == 1 and r.get_json()["errors"] == []
    got = published_events(kafka_bootstrap, topic)
    assert sorted(e["event_id"] for e in got) == sorted(e["event_id"] for e in good)


@pytest.mark.parametrize("headers", [
    {}, auth("wrong-" + TOKEN), auth(hash_token(TOKEN)), {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN},
], ids=["none", "wrong", "the-hash", "basic", "no-scheme"])
def test_401_without_a_valid_token(stack, kafka_bootstrap, headers):
    client, topic = stack
    r = post(client, [event(1)], headers=headers)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in r.get_json() and TOKEN not in r.get_data(as_text=True)
    assert drain(kafka_bootstrap, topic) == []


@pytest.mark.parametrize("body", [b"", b"not json at all", b"[{\"event_id\": ", b"\xff\xfe\x00", b"42"])
def test_400_for_an_unreadable_body(stack, kafka_bootstrap, body):
    client, topic = stack
    r = post(client, body)
    assert r.status_code == 400 and r.get_json()["error"].startswith("unreadable body: ")
    assert drain(kafka_bootstrap, topic) == []


def test_413_beyond_the_body_size_or_item_count(stack, kafka_bootstrap):
    client, topic = stack
    big = [event(i, note="x" * 5000) for i in range(60)]  # ~300 kB > 200 kB
    r = post(client, big)
    assert r.status_code == 413 and "ingest.max_body_bytes" in r.get_json()["error"]
    many = [event(i) for i in range(101)]
    r = post(client, many)
    assert r.status_code == 413 and "ingest.max_items" in r.get_json()["error"]
    assert post(client, many[:100]).status_code == 202  # at the limit: fine
    assert len(published_events(kafka_bootstrap, topic)) == 100


def test_503_and_nothing_accepted_when_kafka_is_down(unique):
    publisher = KafkaEventPublisher(f"127.0.0.1:{free_port()}", f"{unique}.dossier.events", timeout_s=1.5)
    app = flask.Flask("ingest-down")
    register_ingest_routes(app, settings_for(unique), publisher)
    try:
        r = post(app.test_client(), [event(1)])
    finally:
        publisher.close()
    assert r.status_code == 503, r.get_data(as_text=True)
    assert r.get_json()["accepted"] == 0 and "unreachable" in r.get_json()["error"]
    assert r.headers["Retry-After"]


def test_503_when_kafka_stops_after_the_producer_connected(unique, tmp_path):
    broker = EmbeddedBroker(port=0, log_path=tmp_path / "broker.log").start()
    try:
        topics = make_topics(broker.bootstrap, unique)
        publisher = KafkaEventPublisher(broker.bootstrap, topics.dossier_events, timeout_s=1.5)
        app = flask.Flask("ingest-stops")
        register_ingest_routes(app, settings_for(unique), publisher)
        client = app.test_client()
        assert post(client, [event(1)]).status_code == 202
    finally:
        broker.stop(timeout=0.5)  # a killed broker is as down as a stopped one
    try:
        r = post(client, [event(2)])  # "accepted" needs the broker's acknowledgement
    finally:
        publisher.close(timeout=1)
    assert r.status_code == 503 and r.get_json()["accepted"] == 0, r.get_data(as_text=True)


def test_concurrent_requests_from_web_threads(stack, kafka_bootstrap):
    client, topic = stack
    app = client.application
    batches = [[event(t * 100 + i) for i in range(20)] for t in range(8)]
    statuses: list[int] = []

    def send(batch: list[dict[str, Any]]) -> None:
        statuses.append(post(app.test_client(), batch).status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [202] * 8
    got = published_events(kafka_bootstrap, topic)
    assert Counter(e["event_id"] for e in got) == Counter(e["event_id"] for b in batches for e in b)


def test_the_web_process_serves_the_route(kafka_bootstrap, unique):
    topics = make_topics(kafka_bootstrap, unique)
    web = WebProcess(settings_for(unique), kafka_bootstrap, warehouse=None, with_sink=False)  # type: ignore[arg-type]
    client = web.build().test_client()
    assert web.ingest_publisher is not None and web.ingest_publisher._producer is None  # lazy: no Kafka at build
    ev = event(1)
    r = post(client, [ev])
    assert r.status_code == 202 and r.get_json()["accepted"] == 1
    assert [e["event_id"] for e in published_events(kafka_bootstrap, topics.dossier_events)] == [ev["event_id"]]
    assert post(client, [event(2)], headers={}).status_code == 401
    web.stop_background()
    assert post(client, [event(3)]).status_code == 503  # stopping: the producer is closed
