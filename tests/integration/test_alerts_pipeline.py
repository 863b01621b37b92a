"""IT services and alerts on the whole running stack (`ioc up` with a real broker, the Faust
worker, a ClickHouse server and the web process), with a short-window SLO so it fits in a
minute: the simulated systems and a scrape of the stack's own /metrics flow in, `ioc simulate
--incident portal:outage` makes exactly one portal alert fire and then clear, an operator's
action goes through the alerts agent, and the alert history stored in ClickHouse replays to
the same alerts as the live book."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from ioc.alerts.book import AlertBook
from ioc.alerts.desk import decode_log_entry
from ioc.alerts.model import parse_alert_event
from ioc.config import KafkaSettings
from ioc.process import free_port
from ioc.topics import Topics
from tests.helpers import child_env, poll, read_topic
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, stop_and_check_nothing_left

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_S = 10


def config_file(path, port: int) -> str:
    path.write_text(f"""
services:
  resolution_s: 1
  burn_windows: [{{long_s: 20, short_s: 4, factor: 14.4, severity: critical}}]
  simulator: {{tick_s: 1}}
  scrape:
    - {{name: ioc-self, system: soc, url: "http://127.0.0.1:{port}/metrics", interval_s: 2, timeout_s: 2}}
""", encoding="utf-8")
    return str(path)


def ioc_cli(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = child_env(**env_extra)  # with this test's clock
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True, env=env, timeout=60)


def test_outage_alert_fires_once_clears_and_replays_from_clickhouse(kafka_bootstrap, clickhouse_url, unique, tmp_path):
    from clickhouse_driver import Client

    port = free_port()
    env = {"IOC_KAFKA__TOPIC_PREFIX": unique, "IOC_WORKER__APP_ID": unique, "IOC_CLICKHOUSE__DATABASE": unique,
           "IOC_CLICKHOUSE__BATCH_SECONDS": "0.5", "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN,
           "IOC_SIMULATOR__BACKFILL_DAYS": "0", "IOC_SIMULATOR__RATE": "1", "IOC_CAMERA__ENABLED": "false"}
    ch = clickhouse_url.rsplit("/", 1)[0] + f"/{unique}"
    args = ["--config", config_file(tmp_path / "ioc.yaml", port), "up", "--kafka", kafka_bootstrap,
            "--clickhouse", ch, "--port", str(port), "--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen([sys.executable, "-m", "ioc", *args], stdout=open(tmp_path / "up.log", "wb"),
                            stderr=subprocess.STDOUT,
                            env=child_env(**env))
    base = f"http://127.0.0.1:{port}"
    topics = Topics.from_settings(KafkaSettings(topic_prefix=unique))
    try:
        poll(lambda: requests.get(f"{base}/healthz", timeout=2).status_code, lambda s: s == 200, 90,
             f"/healthz (log: {tmp_path / 'up.log'})")
        # Live figures of every simulated system reach the web, with their age.
        services = poll(lambda: requests.get(f"{base}/api/v1/services", headers=AUTH, timeout=2).json(),
                        lambda s: {"portal", "wan", "soc"} <= set(s), 60, "service figures")
        assert services["portal"]["age_s"] < 10 and services["portal"]["figures"]["throughput_rps"] is not None
        assert requests.get(f"{base}/api/v1/alerts", timeout=2).status_code == 401  # anonymous
        bad = requests.get(f"{base}/api/v1/alerts?state=open", headers=AUTH, timeout=2)
        assert bad.status_code == 400 and "firing" in bad.json()["error"]
        assert [a for a in requests.get(f"{base}/api/v1/alerts", headers=AUTH, timeout=2).json()
                if a["system"] == "portal"] == []

        cli_env = {"IOC_KAFKA_BOOTSTRAP": kafka_bootstrap, "IOC_KAFKA__TOPIC_PREFIX": unique}
        wrong = ioc_cli(["simulate", "--incident", "portal:meltdown"], cli_env)
        assert wrong.returncode == 2 and "valid kinds: outage" in wrong.stderr and len(wrong.stderr.splitlines()) == 1
        done = ioc_cli(["simulate", "--incident", "portal:outage", "--seconds", str(OUTAGE_S)], cli_env)
        assert done.returncode == 0, done.stderr

        firing = poll(lambda: requests.get(f"{base}/api/v1/alerts?state=firing", headers=AUTH, timeout=2).json(),
                      lambda alerts: any(a["system"] == "portal" for a in alerts), 40, "a firing portal alert")
        alert = next(a for a in firing if a["system"] == "portal")
        assert set(alert) == {"id", "source", "system", "unit", "severity", "state", "summary", "started_at",
                              "updated_at"}
        assert (alert["source"], alert["state"], alert["severity"]) == ("service", "firing", "critical")

        # Recovery clears it; the outage made exactly one alert.
        poll(lambda: requests.get(f"{base}/api/v1/alerts?state=resolved", headers=AUTH, timeout=2).json(),
             lambda alerts: any(a["id"] == alert["id"] for a in alerts), OUTAGE_S + 40, "the portal alert cleared")
        everything = requests.get(f"{base}/api/v1/alerts", headers=AUTH, timeout=2).json()
        assert [a["id"] for a in everything if a["system"] == "portal"] == [alert["id"]]

        # An action by automation (bearer token) goes through the alerts agent into the log.
        note = requests.post(f"{base}/api/v1/alerts/{alert['id']}/actions", headers=AUTH, timeout=10,
                             json={"action": "comment", "comment": "Đã kiểm tra máy chủ cổng"})
        assert note.status_code == 200 and note.json()["logged"] is True, note.text
        refused = requests.post(f"{base}/api/v1/alerts/{alert['id']}/actions", headers=AUTH, timeout=10,
                                json={"action": "acknowledge"})
        assert refused.status_code == 409 and "resolved" in refused.json()["error"]

        # The log, the web's book and the ClickHouse history agree.
        live = requests.get(f"{base}/api/v1/alerts", headers=AUTH, timeout=2).json()
        entries = [decode_log_entry(v) for v in read_topic(
            kafka_bootstrap, topics.alert_log, lambda v: any(e["event"].get("action") == "comment" for e in v))]
        assert AlertBook.replay(e.event for e in entries).api_view() == live
        client = Client.from_url(ch)

        def stored() -> list[str]:
            return [r[0] for r in client.execute(f"SELECT event FROM {unique}.alert_events FINAL ORDER BY seq")]

        rows = poll(stored, lambda r: len(r) >= len(entries), 30, "alert_events in ClickHouse")
        replayed = AlertBook.replay(parse_alert_event(json.loads(r)) for r in rows)
        assert replayed.api_view() == live
        assert replayed.snapshot() == AlertBook.replay(e.event for e in entries).snapshot()

        # Scraping the stack's own /metrics (a real Prometheus endpoint) reached the warehouse.
        scraped = poll(lambda: client.execute(
            f"SELECT metric, count() FROM {unique}.service_metrics WHERE system = 'soc' GROUP BY metric"),
            lambda r: {"ioc_events_produced_total", "up"} <= {m for m, _ in r}, 30, "scraped samples stored")
        assert dict(scraped)["ioc_events_produced_total"] >= 1
        (portal_rows,), = client.execute(f"SELECT count() FROM {unique}.service_metrics WHERE system = 'portal'")
        assert portal_rows > 0
    finally:
        took = stop_and_check_nothing_left(proc)
    assert took < 10, f"stopping took {took:.1f} s"
    assert proc.returncode == 0, (tmp_path / "up.log").read_text()[-3000:]
