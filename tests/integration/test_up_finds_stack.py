"""Commands run by hand beside a running `ioc up` find its embedded broker (ioc/stack.py):
`ioc import FILE`, with no Kafka configured, publishes to it and the worker counts the events."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from ioc.process import free_port
from tests.helpers import child_env, dossier_events, poll
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, start_ioc_up, stop_and_check_nothing_left

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = 12


def test_ioc_import_reaches_the_running_stack(tmp_path):
    port, kafka_port = free_port(), free_port()
    log = tmp_path / "up.log"
    # Quiet: no simulator, no cameras, so the live figures are the import's alone.
    proc = start_ioc_up(["--port", str(port), "--data-dir", str(tmp_path / "data"), "--no-simulator", "--no-cameras"],
                        {"IOC_KAFKA__EMBEDDED_PORT": str(kafka_port), "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN}, log)
    try:
        poll(lambda: log.read_text(encoding="utf-8"), lambda t: "IOC running" in t or proc.poll() is not None,
             120, "ioc up printing its URLs", interval=0.1)
        assert proc.poll() is None, log.read_text(encoding="utf-8")

        events = tmp_path / "events.jsonl"
        events.write_text("".join(json.dumps(e) + "\n" for e in dossier_events(EVENTS, finished_every=0)),
                          encoding="utf-8")
        # Only the embedded port, as a shell beside `ioc up` with its settings would have: no bootstrap.
        done = subprocess.run([sys.executable, "-m", "ioc", "import", str(events)], capture_output=True, text=True,
                              env=child_env(IOC_KAFKA__EMBEDDED_PORT=str(kafka_port)), timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"rows": EVENTS, "published": EVENTS}

        live = poll(lambda: requests.get(f"http://127.0.0.1:{port}/api/v1/live", headers=AUTH, timeout=2).json(),
                    lambda s: s["province"]["in_processing"] >= EVENTS, 45, "the imported dossiers in the live figures")
        assert live["province"]["in_processing"] == EVENTS
    finally:
        stop_and_check_nothing_left(proc)
