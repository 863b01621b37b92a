"""The whole path on real parts: events produced with a Kafka client are validated and
counted by the Faust agent, land in ClickHouse (both engines), and move the figures that
the running Dash app serves; Ctrl-C then stops everything within 10 s."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import timedelta

import psutil
import pytest
import requests

from ioc import clock
from ioc.config import KafkaSettings
from ioc.process import free_port
from ioc.topics import Topics
from tests.helpers import child_env, dossier_events, poll, produce, produce_raw, read_topic
from tests.integration.web_login import create_user, login_session

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def start_ioc_up(args: list[str], env_extra: dict[str, str], log_path) -> subprocess.Popen:
    env = child_env(**env_extra)  # with this test's clock
    return subprocess.Popen([sys.executable, "-m", "ioc", "up", *args], stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT, env=env)


def stop_and_check_nothing_left(proc: subprocess.Popen) -> float:
    descendants = psutil.Process(proc.pid).children(recursive=True)
    assert descendants, "ioc up started no child process"
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    took = time.monotonic() - started
    psutil.wait_procs(descendants, timeout=1)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left running after Ctrl-C: {[p.cmdline() for p in alive]}"
    return took


def dash_refresh(session: requests.Session, base: str) -> dict[str, str]:
    """Call the wall's refresh callback over HTTP as a signed-in browser does on its first tick,
    by its declared spec (a browser holding no version yet gets every tile)."""
    deps = session.get(f"{base}/_dash-dependencies", timeout=5).json()
    spec = next(d for d in deps if any(i["id"] == "wall-tick" for i in d["inputs"]))
    outputs = [{"id": part.split(".")[0], "property": part.split(".")[1]}
               for part in spec["output"].strip(".").split("...")]
    first_tick = {"n_intervals": 1, "search": ""}  # any other input: not set yet (None)
    inputs = [{**i, "value": first_tick.get(i["property"])} for i in spec["inputs"]]
    body = {"output": spec["output"], "outputs": outputs, "inputs": inputs,
            "changedPropIds": ["wall-tick.n_intervals"], "state": spec.get("state", [])}
    r = session.post(f"{base}/_dash-update-component", json=body, timeout=10)
    r.raise_for_status()
    resp = r.json()["response"]
    return {k: v["children"] for k, v in resp.items() if isinstance(v.get("children"), (str, int))}


OPERATOR_TOKEN = "test-operator-token-" + "x" * 24  # automation's bearer token (IOC_OPERATOR_TOKEN)
AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}

BAD_MESSAGES = [
    b"this is not json",
    json.dumps({"event_id": "bad-1", "dossier_code": "X", "status": 42, "occurred_at": "2026-10-08T09:00:00+07:00",
                "unit_code": "H44.07", "procedure_code": "1.001612"}).encode(),
    json.dumps([{"event_id": "bad-2", "dossier_code": "Y", "status": 2, "occurred_at": "2026-10-08T09:00:00",
                 "unit_code": "H44.07", "procedure_code": "1.001612"}]).encode(),
]
BAD_REASONS = ("not UTF-8 JSON", "status: Input should be", "occurred_at: must be ISO-8601 with a UTC offset")


@pytest.mark.parametrize("engine", ["chdb", "native"])
def test_event_to_agent_to_warehouse_to_wall(engine, request, kafka_bootstrap, unique, tmp_path):
    port = free_port()
    password = create_user(tmp_path / "data", "lanhdao", ["leader"])
    env = {"IOC_KAFKA__TOPIC_PREFIX": unique, "IOC_WORKER__APP_ID": unique,
           "IOC_CLICKHOUSE__DATABASE": unique, "IOC_CLICKHOUSE__BATCH_SECONDS": "0.5",
           "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN}
    args = ["--kafka", kafka_bootstrap, "--port", str(port), "--data-dir", str(tmp_path / "data"), "--no-simulator"]
    if engine == "native":
        args += ["--clickhouse", request.getfixturevalue("clickhouse_url").rsplit("/", 1)[0] + f"/{unique}"]
    proc = start_ioc_up(args, env, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: requests.get(f"{base}/healthz", timeout=2).status_code, lambda s: s == 200, 90,
             f"/healthz (log: {tmp_path / 'up.log'})")
        topics = Topics.from_settings(KafkaSettings(topic_prefix=unique))

        events = dossier_events(60, finished_every=3)  # 60 received, 20 of them finished
        assert produce(kafka_bootstrap, topics.dossier_events, events) == 80
        produce_raw(kafka_bootstrap, topics.dossier_events, BAD_MESSAGES)

        assert requests.get(f"{base}/api/v1/live", timeout=2).status_code == 401  # no token, no session
        live = poll(lambda: requests.get(f"{base}/api/v1/live", headers=AUTH, timeout=2).json(),
                    lambda s: s["province"]["in_processing"] == 40, 60, "live figures")
        on_time = live["province"]["indicators"]["2.1"]
        assert (on_time["numerator"], on_time["denominator"], on_time["score"]) == (60, 60, 20)
        assert live["units"]["H44.07"]["in_processing"] == 40

        counts = poll(lambda: requests.get(f"{base}/api/v1/warehouse/counts", headers=AUTH, timeout=5).json(),
                      lambda c: c["dossier_events"] == 80 and c["deadletter"] == 3 and c["kpi_snapshots"] > 0,
                      60, "warehouse rows")
        assert counts["dossier_event_rows"] == 80

        dead = read_topic(kafka_bootstrap, topics.deadletter, lambda v: len(v) >= 3)
        for reason in BAD_REASONS:
            assert any(reason in d["reason"] for d in dead), (reason, [d["reason"] for d in dead])

        def metric(text: str, name: str) -> float:
            return next(float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(name + " "))

        # Each process reports its counters every second: wait for both reports, not one.
        text = poll(lambda: requests.get(f"{base}/metrics", timeout=2).text,
                    lambda t: metric(t, "ioc_events_stored_total") == 80
                    and metric(t, "ioc_events_consumed_total") >= 80, 30, "/metrics stored and consumed")
        assert metric(text, "ioc_events_consumed_total") >= 80
        assert metric(text, "ioc_events_dead_lettered_total") == 3
        tiles = dash_refresh(login_session(base, "lanhdao", password), base)
        assert tiles["tile-in_processing"] == "40"
        assert tiles["tile-ontime_rate"] == "100,00 %"

        # Six dossiers of another unit, received ten days ago and due five days ago: the dossier
        # rules (threshold 5) raise one overdue alert listing that unit, visible to automation
        # (grouped per rule since issue #16: the unit is in "units", the alert's "unit" is null).
        late = dossier_events(6, unit="H44.08", now=clock.now_local() - timedelta(days=10), finished_every=0)
        produce(kafka_bootstrap, topics.dossier_events, late)
        alerts = poll(lambda: requests.get(f"{base}/api/v1/alerts?state=firing", headers=AUTH, timeout=5).json(),
                      lambda a: any(x["source"] == "dossier" and "H44.08" in x.get("units", []) for x in a), 60,
                      "overdue alert for H44.08")
        overdue = [x for x in alerts if x["source"] == "dossier" and "H44.08" in x.get("units", [])]
        assert len(overdue) == 1 and "6 hồ sơ quá hạn" in overdue[0]["summary"]
    finally:
        took = stop_and_check_nothing_left(proc)
    assert took < 10, f"stopping took {took:.1f} s"
    assert proc.returncode == 0, (tmp_path / "up.log").read_text()[-2000:]
