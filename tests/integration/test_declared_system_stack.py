"""A system added by settings alone, on a running `ioc up` (real broker, the Faust worker, the
web): `email` is declared in the settings file with a push source, pushes its figures through
`POST /api/v1/metrics` (bearer token, per-item errors), they reach the worker's figures and the
web (its wall card reads /api/v1/services' figures), and pushed `up` = 0 raises its hard-down
alert like a built-in system's; `ioc simulate --incident` knows it too."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from ioc.ingest.tokens import hash_token
from ioc.process import free_port
from tests.helpers import child_env, poll
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, stop_and_check_nothing_left

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "mail-server-token-" + "y" * 24


def config(path) -> str:
    path.write_text(f"""
services:
  down_for_s: 2
  simulator: {{tick_s: 5, systems: [portal]}}
  systems:
    email:
      name_vi: Thư điện tử công vụ
      name_en: Government e-mail
      figures:
        - {{metric: mails_sent_total, name_vi: Thư gửi hôm nay, name_en: Mails sent today}}
  push:
    mail-server: {{token_sha256: "{hash_token(TOKEN)}", systems: [email]}}
""", encoding="utf-8")
    return str(path)


def test_a_declared_system_pushes_its_figures_and_raises_its_down_alert(kafka_bootstrap, unique, tmp_path):
    port = free_port()
    env = child_env(IOC_KAFKA__TOPIC_PREFIX=unique, IOC_WORKER__APP_ID=unique, IOC_OPERATOR_TOKEN=OPERATOR_TOKEN,
                    IOC_SIMULATOR__BACKFILL_DAYS="0", IOC_SIMULATOR__RATE="0.2", IOC_CAMERA__ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "ioc", "--config", config(tmp_path / "ioc.yaml"), "up",
                             "--kafka", kafka_bootstrap, "--port", str(port), "--data-dir", str(tmp_path / "data")],
                            stdout=open(tmp_path / "up.log", "wb"), stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/api/v1/metrics"
    mail = {"Authorization": f"Bearer {TOKEN}"}
    sent = [0]

    def push(up: int) -> requests.Response:
        sent[0] += 7
        return requests.post(url, headers=mail, timeout=10, json=[
            {"system": "email", "metric": "up", "value": up},
            {"system": "email", "metric": "requests_total", "value": 100 + sent[0]},
            {"system": "email", "metric": "errors_total", "value": 0 if up else sent[0]},
            {"system": "email", "metric": "mails_sent_total", "value": sent[0]}])

    try:
        poll(lambda: requests.get(f"{base}/healthz", timeout=2).status_code, lambda s: s == 200, 90,
             f"/healthz (log: {tmp_path / 'up.log'})")
        assert requests.post(url, json=[], timeout=5).status_code == 401
        wrong = requests.post(url, headers={"Authorization": "Bearer nope-" + "z" * 20}, json=[], timeout=5)
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
        mixed = requests.post(url, headers=mail, timeout=10, json=[
            {"system": "email", "metric": "up", "value": 1}, {"system": "portal", "metric": "up", "value": 0},
            {"system": "email", "metric": "up", "value": "yes"}])
        assert mixed.status_code == 202, mixed.text
        body = mixed.json()
        assert (body["accepted"], body["rejected"], [e["index"] for e in body["errors"]]) == (1, 2, [1, 2])
        assert "may report for email only" in body["errors"][0]["reason"]

        # Pushed figures -> topic -> worker -> figures topic -> the web (its wall card's source).
        def email_figures() -> dict:
            assert push(1).status_code == 202
            return requests.get(f"{base}/api/v1/services", headers=AUTH, timeout=2).json().get("email") or {}

        figures = poll(email_figures, lambda e: (e.get("figures", {}).get("custom") or [{}])[0].get("value"),
                       40, "email's figures on the web", interval=1)["figures"]
        assert figures["name_vi"] == "Thư điện tử công vụ" and figures["up"] == 1
        assert figures["custom"][0]["metric"] == "mails_sent_total" and figures["custom"][0]["value"] > 0

        # Down: pushed up = 0 (every request failing) held 2 s -> one critical system_down alert.
        def firing() -> list:
            assert push(0).status_code == 202
            return [a for a in requests.get(f"{base}/api/v1/alerts?state=firing", headers=AUTH, timeout=2).json()
                    if a["system"] == "email"]

        alerts = poll(firing, lambda a: len(a) > 0, 40, "the email alert", interval=1)
        assert (alerts[0]["source"], alerts[0]["severity"]) == ("service", "critical")
        assert "Thư điện tử công vụ" in alerts[0]["summary"]

        # The command line knows the declared system (its kinds) from the same settings.
        done = subprocess.run([sys.executable, "-m", "ioc", "--config", str(tmp_path / "ioc.yaml"), "simulate",
                               "--incident", "email:meltdown"], env=child_env(IOC_KAFKA_BOOTSTRAP=kafka_bootstrap),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "valid kinds: outage, latency, errors" in done.stderr, done.stderr
    finally:
        if proc.poll() is None:
            stop_and_check_nothing_left(proc)
