"""`ioc verify` after a simulated day: live snapshots, the warehouse's events and `ioc kpi` on
the simulator's file agree; a tampered warehouse makes it fail with the difference named."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
import requests

from ioc import clock
from ioc.process import free_port
from ioc.warehouse.backends import NativeWarehouse
from ioc.warehouse.schema import DOSSIER_EVENTS
from tests.helpers import child_env, poll, working_afternoon
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, start_ioc_up, stop_and_check_nothing_left

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def ioc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = child_env(**env)  # this test's clock: every command judges the same "now"
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True, env=full, timeout=300)


def test_verify_passes_after_a_simulated_day_and_fails_on_a_tampered_warehouse(
        kafka_bootstrap, clickhouse_url, unique, tmp_path, pin_clock):
    # "Now" is the latest working day's afternoon by the run's clock: its last 24 hours hold a
    # day of work, not a Sunday's (or Tết's) trickle.
    pin_clock(working_afternoon())
    day = tmp_path / "day.jsonl"
    made = ioc("simulate", "--out", str(day), "--backfill-days", "1", "--seconds", "60", "--seed", "7", env={})
    assert made.returncode == 0, made.stderr
    n_events = json.loads(made.stdout)["events"]
    assert n_events > 1000  # a working day of a province

    url = clickhouse_url.rsplit("/", 1)[0] + f"/{unique}"
    env = {"IOC_KAFKA__TOPIC_PREFIX": unique, "IOC_WORKER__APP_ID": unique, "IOC_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "IOC_CLICKHOUSE_URL": url, "IOC_CLICKHOUSE__BATCH_SECONDS": "0.5", "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN}
    port = free_port()
    proc = start_ioc_up(["--port", str(port), "--data-dir", str(tmp_path / "data"), "--no-simulator"], env,
                        tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: requests.get(f"{base}/healthz", timeout=2).status_code, lambda s: s == 200, 90,
             f"/healthz (log {tmp_path / 'up.log'})")
        published = ioc("import", str(day), env=env)
        assert published.returncode == 0, published.stderr
        poll(lambda: requests.get(f"{base}/api/v1/warehouse/counts", headers=AUTH, timeout=5).json(),
             lambda c: c["dossier_events"] == n_events, 120, "every simulated event stored")

        ok = ioc("verify", "--events", str(day), "--wait", "30", env=env)
        assert ok.returncode == 0, ok.stdout[:1500] + ok.stderr[:3000]
        report = json.loads(ok.stdout)
        assert report["ok"] and report["events"] == n_events and report["dossiers"] > 200
        assert len(report["snapshots"]) == 4 and not report["differences"]

        # The replay over the warehouse (for any period: late events land there) = over the file.
        month = report["period"]
        # The warehouse holds the SAMPLE catalogue `ioc up` published and the petitions it got
        # (none here); the file replay is given the same.
        catalogue, petitions = tmp_path / "catalogue.jsonl", tmp_path / "pakn.jsonl"
        assert ioc("catalogue", "export", str(catalogue), env={}).returncode == 0
        petitions.write_text("", encoding="utf-8")
        from_wh = ioc("kpi", "--from-warehouse", "--period", month, env=env)
        from_file = ioc("kpi", "--events", str(day), "--catalogue", str(catalogue), "--pakn", str(petitions),
                        "--period", month, env=env)
        assert from_wh.returncode == 0 and from_file.returncode == 0, from_wh.stderr + from_file.stderr
        assert json.loads(from_wh.stdout) == json.loads(from_file.stdout)

        # Tamper: one more dossier received, in the warehouse only.
        wh = NativeWarehouse(url)
        try:
            # An hour ago: before the snapshots' instant, so the live figures should have counted it.
            now = clock.now() - timedelta(hours=1)
            wh.insert(DOSSIER_EVENTS, [{
                "event_id": "tampered-1", "dossier_code": "H44.101-TAMPERED", "status": 2, "occurred_at": now,
                "unit_code": "H44.101", "procedure_code": "1.001193", "agency_code": "", "channel": 2,
                "due_at": None, "ingested_at": now,
                "payload": json.dumps({"event_id": "tampered-1", "dossier_code": "H44.101-TAMPERED", "status": 2,
                                       "occurred_at": now.isoformat(), "unit_code": "H44.101",
                                       "procedure_code": "1.001193", "channel": 2}),
            }])
        finally:
            wh.close()
        bad = ioc("verify", "--events", str(day), "--wait", "0", env=env)
        assert bad.returncode == 1
        assert "unit H44.101 " in bad.stderr, bad.stdout[-2000:] + bad.stderr[-2000:]
        assert "ioc kpi" in bad.stderr  # the file's replay no longer matches the warehouse's
    finally:
        took = stop_and_check_nothing_left(proc)
    assert took < 10
