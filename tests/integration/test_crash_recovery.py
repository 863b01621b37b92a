"""`ioc up` (embedded broker, chDB, simulator) killed with SIGKILL as a whole, mid-stream, and
started again on the same data directory: the live figures come back with every event the
simulator had sent counted once, the open alerts and the operators' actions on them are the
same, users and their sessions still sign in, and the stream goes on. Stopped cleanly at the
end, `ioc verify` agrees with the warehouse."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from ioc.config import KafkaSettings
from ioc.process import free_port, port_is_free
from ioc.topics import Topics
from tests.helpers import poll
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN
from tests.integration.web_login import create_user, login_session

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOW = "2026-12-08T09:30:00+07:00"  # a Tuesday morning: the simulated offices are open
SEED, RATE, BACKFILL_DAYS = 1, 5.0, 1
T = 30  # seconds an HTTP request may take: the 2-core machine is busy while the history streams in


def start_up(data: Path, port: int, kafka_port: int, log: Path, anchor: float) -> subprocess.Popen:
    """`ioc up` in a session of its own (the test kills its process groups, never its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update({"IOC_KAFKA__EMBEDDED_PORT": str(kafka_port), "IOC_SIMULATOR__RATE": str(RATE),
                "IOC_SIMULATOR__SEED": str(SEED), "IOC_SIMULATOR__BACKFILL_DAYS": str(BACKFILL_DAYS),
                "IOC_SERVICES__SIMULATOR__ENABLED": "false", "IOC_CLICKHOUSE__BATCH_SECONDS": "0.5",
                "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN,
                # One business clock across both runs: the second goes on where the first was.
                "IOC_NOW": NOW, "IOC_NOW_ANCHOR": repr(anchor)})
    return subprocess.Popen([sys.executable, "-m", "ioc", "up", "--port", str(port), "--data-dir", str(data),
                             "--no-cameras"], stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def tree(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        root = psutil.Process(proc.pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_all(procs: list[psutil.Process]) -> None:
    """SIGKILL every process group of the stack at once (the parts run in groups of their own):
    the children's first, so none is told of its parent's death and stops cleanly."""
    groups: list[int] = []
    for p in reversed(procs):
        try:
            g = os.getpgid(p.pid)
        except ProcessLookupError:
            continue
        if g not in groups and g != os.getpgid(0):
            groups.append(g)
    for g in groups:
        try:
            os.killpg(g, signal.SIGKILL)
        except ProcessLookupError:
            pass


def assert_gone(procs: list[psutil.Process], what: str) -> dict[int, int | None]:
    """Every process ended; their exit statuses (psutil reaps our own child, `ioc up`)."""
    gone, _ = psutil.wait_procs(procs, timeout=15)
    alive = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left running {what}: {[p.cmdline() for p in alive]}"
    return {p.pid: p.returncode for p in gone}


def live(base: str) -> dict[str, Any]:
    """/api/v1/live, the figures the tests compare only (a failed poll prints it)."""
    s = requests.get(f"{base}/api/v1/live", headers=AUTH, timeout=T).json()
    keep = ("received_today", "finished_today", "in_processing")
    return {"updated_at": s["updated_at"], "province": {k: s["province"][k] for k in keep},
            "units": {u: {k: v[k] for k in keep[:2]} for u, v in s["units"].items()}}


def alerts(base: str) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in requests.get(f"{base}/api/v1/alerts", headers=AUTH, timeout=T).json()}


def pipeline_counts(base: str) -> dict[str, float]:
    """Events the simulator produced and the worker consumed (their counters in /metrics, as
    last reported), and the events the warehouse holds (asked of it)."""
    text = requests.get(f"{base}/metrics", timeout=T).text
    values = {line.split()[0]: float(line.split()[-1]) for line in text.splitlines()
              if line and not line.startswith("#") and " " in line}
    counts = requests.get(f"{base}/api/v1/warehouse/counts", headers=AUTH, timeout=T).json()
    return {"produced": values.get("ioc_events_produced_total", 0.0),
            "consumed": values.get("ioc_events_consumed_total", 0.0), "stored": counts["dossier_events"]}


def received(summary: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """What only grows while the day lasts: received and finished today, per unit and in all."""
    out = {u: (v["received_today"], v["finished_today"]) for u, v in summary["units"].items()}
    out["*"] = (summary["province"]["received_today"], summary["province"]["finished_today"])
    return out


def covers(after: dict[str, tuple[int, int]], before: dict[str, tuple[int, int]]) -> bool:
    return all(after.get(u, (0, 0))[0] >= r and after.get(u, (0, 0))[1] >= f for u, (r, f) in before.items())


def raise_signal(bootstrap: str, topic: str, system: str) -> None:
    """A camera-health alert no running part raises or clears (the cameras are off)."""
    from tests.helpers import produce_raw

    signal_ = {"type": "signal", "op": "raise", "source": "camera", "system": system, "kind": "camera_health",
               "severity": "warning", "summary": f"Camera {system} mất tín hiệu", "labels": {"condition": "offline"},
               "event_id": uuid.uuid4().hex, "at": datetime.fromisoformat(NOW).isoformat()}
    produce_raw(bootstrap, topic, [json.dumps(signal_).encode()])


def log_offset(bootstrap: str, topic: str, event_id: str) -> int:
    """The offset of the alert log entry of ``event_id``."""
    from aiokafka import AIOKafkaConsumer

    async def main() -> int:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    for m in messages:
                        if json.loads(m.value)["event"]["event_id"] == event_id:
                            return m.offset
            raise AssertionError(f"{event_id} not in {topic}")
        finally:
            await consumer.stop()

    return asyncio.run(main())


def last_offset(bootstrap: str, topic: str) -> int:
    """The offset of the newest message of partition 0 of ``topic``. Read, not asked: this Tansu
    answers ListOffsets(latest) with the base offset of the last batch + 1."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def main() -> int:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            end = (await consumer.end_offsets([tp]))[tp]
            consumer.seek(tp, max(0, end - 1))
            newest, deadline = end - 1, time.monotonic() + 10
            while time.monotonic() < deadline:
                messages = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
                if not messages:
                    break
                newest = max(newest, messages[-1].offset)
            return newest
        finally:
            await consumer.stop()

    return asyncio.run(main())


def sink_committed(bootstrap: str, topic: str, group: str = "ioc-streams-sink") -> int:
    """The offset the warehouse sink has committed on partition 0 of ``topic`` (stored before it)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def main() -> int:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            return await consumer.committed(TopicPartition(topic, 0)) or -1
        finally:
            await consumer.stop()

    return asyncio.run(main())


def expected_simulator_events(t0: datetime, until: datetime) -> set[str]:
    """The ids of every event the simulator had sent by ``until`` (its run is a function of its
    seed and first start, ioc.sim.checkpoint)."""
    from ioc.sim.runner import EVENTS_PER_ARRIVAL_NOW, _prepare

    sim = _prepare(SEED, BACKFILL_DAYS, t0)
    t = t0
    while t <= until:
        sim.new_dossier(t)
        t += timedelta(seconds=sim.rng.expovariate(RATE / EVENTS_PER_ARRIVAL_NOW))
    return {e["event_id"] for e in sim.due(until)}


def test_sigkilled_stack_comes_back_with_its_figures_alerts_users_and_stream(tmp_path):
    data = tmp_path / "data"
    port, kafka_port = free_port(), free_port()
    base, bootstrap = f"http://127.0.0.1:{port}", f"127.0.0.1:{kafka_port}"
    topics = Topics.from_settings(KafkaSettings())
    leader_pw = create_user(data, "lanhdao", ["leader"])
    operator_pw = create_user(data, "vanhanh", ["operator"])
    anchor = time.time()
    log = tmp_path / "up.log"
    proc = start_up(data, port, kafka_port, log, anchor)
    procs = tree(proc)
    try:
        first = poll(lambda: live(base), lambda s: s["updated_at"] and s["province"]["in_processing"] > 0, 240,
                     f"first live figures (log {log}, parts' logs {data / 'logs'})")
        # The history digested: the worker has consumed and the sink stored all the simulator sent.
        poll(lambda: pipeline_counts(base), lambda c: 1000 < c["produced"] <= min(c["consumed"], c["stored"]), 300,
             "the simulated history consumed and stored")
        leader = login_session(base, "lanhdao", leader_pw, timeout=T)
        assert leader.get(f"{base}/api/v1/live", timeout=T).status_code == 200

        # Two alerts; an operator acknowledges one of them through the web.
        raise_signal(bootstrap, topics.alerts, "cam-test-a")
        raise_signal(bootstrap, topics.alerts, "cam-test-b")
        book = poll(lambda: alerts(base), lambda a: {"cam-test-a", "cam-test-b"} <= {x["system"] for x in a.values()},
                    120, "the two alerts in the book")
        a_id, b_id = (next(i for i, x in book.items() if x["system"] == s) for s in ("cam-test-a", "cam-test-b"))
        operator = login_session(base, "vanhanh", operator_pw, timeout=T)
        acked = requests.post(f"{base}/api/v1/alerts/{b_id}/actions", headers=AUTH, timeout=T,
                              json={"action": "acknowledge", "comment": "Đang xử lý"})
        assert acked.status_code == 200, acked.text
        # What survives a crash is what the warehouse stored (README, Crash and restart): wait for
        # the sink to commit past the logged acknowledgement, however loaded the machine is.
        at = log_offset(bootstrap, topics.alert_log, acked.json()["event_id"])
        poll(lambda: sink_committed(bootstrap, topics.alert_log), lambda c: c > at, 180,
             "the acknowledgement stored by the sink")

        # Mid-stream: the simulator has a checkpoint stored, and has sent events since.
        state_file = data / "simulator" / "state.json"
        poll(lambda: json.loads(state_file.read_text())["checkpoint"], bool, 120, "the simulator's first checkpoint")
        poll(lambda: live(base), lambda s: s["province"] != first["province"], 60, "figures moving")
        time.sleep(3)
        procs = tree(proc)  # every part is up by now
        before = live(base)
        open_before = {i: a for i, a in alerts(base).items() if a["state"] != "resolved"}
        assert open_before[a_id]["state"] == "firing" and open_before[b_id]["state"] == "acknowledged"
        killed_at = time.time()
        kill_all(procs)
    except BaseException:
        procs = tree(proc) or procs
        kill_all(procs)
        raise
    finally:
        statuses = assert_gone(procs, "after SIGKILL")
    assert statuses[proc.pid] == -signal.SIGKILL  # `ioc up` itself was killed, not stopped
    assert port_is_free("127.0.0.1", port) and port_is_free("127.0.0.1", kafka_port)

    # Started again on the same data directory.
    log2 = tmp_path / "up2.log"
    proc = start_up(data, port, kafka_port, log2, anchor)
    procs = tree(proc)
    clean = False
    try:
        back = poll(lambda: live(base), lambda s: s["updated_at"] and covers(received(s), received(before)), 240,
                    f"figures back with every event counted before the kill (log {log2})")
        assert "restored from the warehouse" in log2.read_text()

        # The open alerts, with the operator's action; nothing else open before has vanished
        # unless its history moved on (a rule cleared it since).
        book = alerts(base)
        assert book[a_id]["state"] == "firing" and book[b_id]["state"] == "acknowledged"
        for alert_id, was in open_before.items():
            now = book.get(alert_id)
            assert now is not None, f"alert {alert_id} ({was['summary']}) lost"
            if now["state"] != was["state"]:
                assert now["updated_at"] > was["updated_at"], (was, now)

        # Users: the session of before the kill still holds, and signing in works.
        assert leader.get(f"{base}/api/v1/live", timeout=T).status_code == 200
        assert login_session(base, "vanhanh", operator_pw, timeout=T).get(f"{base}/api/v1/alerts", timeout=T).status_code == 200
        assert operator.get(f"{base}/api/v1/alerts", timeout=T).status_code == 200

        # The stream goes on: newer figures, more dossiers received.
        poll(lambda: live(base), lambda s: s["updated_at"] > back["updated_at"]
             and s["province"]["received_today"] > before["province"]["received_today"], 90, "the stream going on")

        # A clean stop, once the stream is quiet: the simulator first, then everything.
        procs = tree(proc)
        simulator = next(p for p in procs if "simulate" in p.cmdline())
        simulator.send_signal(signal.SIGTERM)
        simulator.wait(15)

        def stored() -> int:
            return requests.get(f"{base}/api/v1/warehouse/counts", headers=AUTH, timeout=T).json()["dossier_events"]

        counts: list[int] = []
        poll(lambda: counts.append(stored()) or counts[-4:], lambda c: len(c) >= 4 and len(set(c)) == 1, 120,
             "every event stored", interval=1.0)
        quiet = live(base)["updated_at"]
        poll(lambda: live(base)["updated_at"], lambda u: u > quiet, 30, "a snapshot after the last event")
        # `ioc verify` compares the newest *stored* snapshots: the sink must have stored one taken
        # after the last event (it lags on that topic, the largest, while the machine is busy).
        last = last_offset(bootstrap, topics.kpi_snapshots)
        poll(lambda: sink_committed(bootstrap, topics.kpi_snapshots), lambda c: c > last, 300,
             "the snapshots stored by the sink")
        proc.send_signal(signal.SIGINT)
        proc.wait(15)
        clean = True
    finally:
        if not clean:
            procs = tree(proc) or procs
            kill_all(procs)
        statuses = assert_gone(procs, "after the stop")
    status = proc.returncode if proc.returncode is not None else statuses.get(proc.pid)
    assert status == 0, log2.read_text()[-3000:]

    # chDB admits one process per data directory: now that `ioc up` is stopped, verify.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    verified = subprocess.run([sys.executable, "-m", "ioc", "verify", "--data-dir", str(data), "--wait", "5"],
                              capture_output=True, text=True, env=env, timeout=300)
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]
    report = json.loads(verified.stdout)
    assert report["ok"] and not report["differences"]

    # Every event the simulator had sent before the kill is stored, once.
    from ioc.warehouse.backends import ChdbWarehouse
    from ioc.warehouse.schema import DOSSIER_EVENTS

    t0 = datetime.fromisoformat(json.loads((data / "simulator" / "state.json").read_text())["t0"])
    business_kill = datetime.fromisoformat(NOW) + timedelta(seconds=killed_at - anchor)
    # Sent by then: due a few seconds before the kill (the simulator publishes every 0.2 s).
    expected = expected_simulator_events(t0, business_kill - timedelta(seconds=5))
    wh = ChdbWarehouse(data / "chdb")
    try:
        ids = [i for (i,) in wh.query(f"SELECT event_id FROM ioc.{DOSSIER_EVENTS.name} GROUP BY event_id")]
    finally:
        wh.close()
    assert len(expected) > 1000
    missing = expected - set(ids)
    assert not missing, f"{len(missing)} of {len(expected)} events sent before the kill are not stored"
    assert report["events"] == len(ids)
