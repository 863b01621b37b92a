"""POST /api/v1/pakn-events against the real broker: the dossier route's machinery (tokens,
per-item errors, idempotency, 202 shape) for petition events (contracts.md §2c), published to
the petition topic partitioned by pakn_code; the web process serves it."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import flask
import pytest

from dashboards.server import WebProcess
from ioc.ingest.api import PAKN_INGEST_PATH, register_ingest_routes
from ioc.ingest.publishing import SOURCE_HEADER, KafkaEventPublisher
from ioc.wire import partition_for
from tests.helpers import make_topics
from tests.integration.test_ingest_api import OTHER_TOKEN, TOKEN, auth, drain, published_events, settings_for

pytestmark = pytest.mark.integration


def petition(n: int, **fields: Any) -> dict[str, Any]:
    base = {"event_id": uuid.uuid4().hex, "pakn_code": f"PAKN-261123-{n:05d}", "status": "received",
            "occurred_at": "2026-11-23T09:15:00+07:00", "unit_code": "H44.07", "category": "procedure",
            "channel": "portal"}
    return {**base, **fields}


def post(client, payload: Any, headers: dict[str, str] | None = None, content_type: str = "application/json"):
    data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(PAKN_INGEST_PATH, data=data, content_type=content_type,
                       headers=auth() if headers is None else headers)


@pytest.fixture
def stack(kafka_bootstrap, unique):
    topics = make_topics(kafka_bootstrap, unique)
    dossiers = KafkaEventPublisher(kafka_bootstrap, topics.dossier_events, timeout_s=10)
    pakn = KafkaEventPublisher(kafka_bootstrap, topics.pakn_events, timeout_s=10, key_field="pakn_code")
    app = flask.Flask("ingest-pakn-test")
    register_ingest_routes(app, settings_for(unique), dossiers, pakn)
    yield app.test_client(), topics
    dossiers.close()
    pakn.close()


def test_petitions_land_once_in_their_topic_bad_items_listed(stack, kafka_bootstrap):
    client, topics = stack
    items: list[Any] = [petition(i) for i in range(20)]
    items[2] = petition(2, status="closed")
    items[5] = petition(5, likes=-3)
    items[9] = {k: v for k, v in petition(9).items() if k != "pakn_code"}
    items[11] = ["not", "an", "event"]
    r = post(client, items)
    assert r.status_code == 202, r.get_data(as_text=True)
    out = r.get_json()
    assert (out["format"], out["received"], out["accepted"], out["rejected"], out["published"], out["duplicates"]) == \
        ("json", 20, 16, 4, 16, 0)
    errors = {e["index"]: e["reason"] for e in out["errors"]}
    assert sorted(errors) == [2, 5, 9, 11]
    assert errors[2].startswith("status: ") and errors[5].startswith("likes: ")
    assert errors[9] == "pakn_code: Field required" and errors[11].startswith("event: expected a JSON object")

    valid = [e for i, e in enumerate(items) if i not in (2, 5, 9, 11)]
    got = published_events(kafka_bootstrap, topics.pakn_events)
    assert Counter(e["event_id"] for e in got) == Counter(e["event_id"] for e in valid)
    assert published_events(kafka_bootstrap, topics.dossier_events) == []  # not the dossier topic
    for record in drain(kafka_bootstrap, topics.pakn_events, records=True):
        batch = json.loads(record.value)
        assert {partition_for(e["pakn_code"], 4) for e in batch} == {record.partition}
        assert record.key.decode() in {e["pakn_code"] for e in batch}
        assert dict(record.headers)[SOURCE_HEADER] == b"api:portal"


def test_resent_petitions_are_not_published_again_and_jsonl_errors_name_lines(stack, kafka_bootstrap):
    client, topics = stack
    first = [petition(i) for i in range(4)]
    assert post(client, first).get_json()["published"] == 4
    r = post(client, first, headers=auth(OTHER_TOKEN))
    assert {k: r.get_json()[k] for k in ("accepted", "published", "duplicates")} == \
        {"accepted": 4, "published": 0, "duplicates": 4}
    lines = [json.dumps(petition(10)), json.dumps(petition(11, occurred_at="2026-11-23T09:15:00")), "{oops"]
    r = post(client, "\n".join(lines), content_type="application/x-ndjson")
    out = r.get_json()
    assert r.status_code == 202 and out["format"] == "jsonl" and out["accepted"] == 1
    assert [(e["index"], e["reason"].split(":")[0]) for e in out["errors"]] == [(2, "occurred_at"), (3, "event")]
    got = published_events(kafka_bootstrap, topics.pakn_events)
    assert len(got) == 5 and len({e["event_id"] for e in got}) == 5


def test_tokens_and_unreadable_bodies(stack, kafka_bootstrap):
    client, topics = stack
    r = post(client, [petition(1)], headers={})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer") and TOKEN not in r.get_data(True)
    r = post(client, b"not json")
    assert r.status_code == 400 and r.get_json()["error"].startswith("unreadable body: ")
    assert drain(kafka_bootstrap, topics.pakn_events) == []


def test_the_web_process_serves_the_pakn_route(kafka_bootstrap, unique):
    topics = make_topics(kafka_bootstrap, unique)
    web = WebProcess(settings_for(unique), kafka_bootstrap, warehouse=None, with_sink=False)  # type: ignore[arg-type]
    client = web.build().test_client()
    ev = petition(1)
    r = post(client, [ev])
    assert r.status_code == 202 and r.get_json()["accepted"] == 1
    assert [e["event_id"] for e in published_events(kafka_bootstrap, topics.pakn_events)] == [ev["event_id"]]
    assert post(client, [petition(2)], headers={}).status_code == 401
    web.stop_background()
    assert post(client, [petition(3)]).status_code == 503


def test_ioc_import_pakn_publishes_every_row_to_the_petition_topic(kafka_bootstrap, unique, tmp_path):
    import subprocess
    import sys

    from tests.helpers import child_env

    topics = make_topics(kafka_bootstrap, unique)
    data = [petition(i, likes=i % 3) for i in range(40)]
    path = tmp_path / "pakn-2026.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in data), encoding="utf-8")
    env = child_env(IOC_KAFKA_BOOTSTRAP=kafka_bootstrap, IOC_KAFKA__TOPIC_PREFIX=unique)
    r = subprocess.run([sys.executable, "-m", "ioc", "import", "--pakn", str(path)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"pakn_rows": 40, "pakn_published": 40}
    got = published_events(kafka_bootstrap, topics.pakn_events)
    assert Counter(e["event_id"] for e in got) == Counter(e["event_id"] for e in data)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(petition(1)) + "\n" + json.dumps(petition(2, channel="fax")) + "\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "ioc", "import", "--pakn", str(bad)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 2 and f"{bad}:2: channel: " in r.stderr
