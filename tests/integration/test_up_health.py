"""`ioc up` prints its URLs only once every part is ready, so an incident injected right after
them takes effect (the services simulator has read its control topic; before, it subscribed at
"latest" after the URLs were out and such an incident was lost); `/healthz` names a part that
stops answering (a hung worker: SIGSTOP), and a worker that dies ends `ioc up` as its watcher
always did, leaving nothing running."""

from __future__ import annotations

import os
import signal

import psutil
import pytest
import requests

from ioc.cli import main as ioc_main
from ioc.process import free_port
from tests.helpers import poll
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, start_ioc_up

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARTS = {"web", "sink", "worker", "simulator", "services-sim", "cameras"}  # embedded: the web runs the sink


def part_process(up: psutil.Process, part: str) -> psutil.Process:
    (proc,) = [p for p in up.children(recursive=True) if p.cmdline()[-2:] == ["run", part]]
    return proc


def test_urls_come_after_readiness_an_incident_is_not_lost_and_healthz_names_a_hung_worker(
        tmp_path, monkeypatch, capsys):
    port, kafka_port = free_port(), free_port()
    log = tmp_path / "up.log"
    proc = start_ioc_up(["--port", str(port), "--data-dir", str(tmp_path / "data")],
                        {"IOC_KAFKA__EMBEDDED_PORT": str(kafka_port), "IOC_SIMULATOR__BACKFILL_DAYS": "0",
                         "IOC_SERVICES__SIMULATOR__TICK_S": "1", "IOC_OPERATOR_TOKEN": OPERATOR_TOKEN}, log)
    base = f"http://127.0.0.1:{port}"
    up = psutil.Process(proc.pid)
    try:
        poll(lambda: log.read_text(encoding="utf-8"), lambda t: "IOC running" in t or proc.poll() is not None,
             240, "ioc up printing its URLs", interval=0.05)
        assert proc.poll() is None, log.read_text(encoding="utf-8")

        # At once, through the command's own code (no interpreter start-up in between).
        for name in [k for k in os.environ if k.startswith("IOC_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("IOC_KAFKA__EMBEDDED_PORT", str(kafka_port))
        assert ioc_main(["simulate", "--incident", "portal:outage", "--seconds", "600"]) == 0
        assert '"incident"' in capsys.readouterr().out

        # Every part was ready when the URLs were printed; /healthz lists them with their own /readyz.
        health = requests.get(f"{base}/healthz", timeout=10)
        body = health.json()
        assert health.status_code == 200, body
        assert set(body["parts"]) == PARTS and body["not_ready"] == []
        services_sim = body["parts"]["services-sim"]
        assert services_sim["checks"] == {"producer": True, "subscribed": True}
        live = requests.get(services_sim["url"].replace("/readyz", "/livez"), timeout=5)
        assert live.status_code == 200 and live.json()["live"] is True

        # `up` is 0 in an outage whatever the hour's load (a night tick may carry no request at all).
        poll(lambda: requests.get(f"{base}/api/v1/services", headers=AUTH, timeout=2).json(),
             lambda s: "portal" in s and s["portal"]["figures"]["up"] == 0, 60, "the portal outage in the services figures")

        # A hung worker (stopped, its port still accepting): /healthz is 503 and names it.
        worker = part_process(up, "worker")
        descendants = up.children(recursive=True)
        worker.send_signal(signal.SIGSTOP)
        try:
            hung = poll(lambda: requests.get(f"{base}/healthz", timeout=10),
                        lambda r: r.status_code == 503 and "worker" in r.json()["not_ready"], 30,
                        "/healthz naming the hung worker")
            assert "worker" in hung.json()["error"] and hung.json()["parts"]["worker"]["ready"] is False
            assert proc.poll() is None, "a hung worker is for the probes; ioc up's watcher sees exits"
        finally:
            worker.send_signal(signal.SIGKILL)  # works on a stopped process too

        # A dead worker: ioc up's watcher, as it is, names it and stops everything.
        assert proc.wait(timeout=30) == 1
        out = log.read_text(encoding="utf-8")
        assert "ioc: worker exited with status -9" in out and "ioc: stopped" in out
        psutil.wait_procs(descendants, timeout=5)
        left = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not left, f"left running: {[p.cmdline() for p in left]}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)


def test_an_incident_sent_before_the_services_simulator_subscribed_is_applied_once_ready(kafka_bootstrap, unique):
    """Its control consumer reads from the beginning: what was sent while it started (or was
    restarting) is applied, with what is left of its duration, before it says it is ready."""
    import asyncio

    from ioc import clock
    from ioc.health import Health
    from ioc.services.catalogue import province_communes
    from ioc.services_io.sim_runner import SERVICES_SIM_CONDITIONS, Injection, SimulatedSystems, publish_injection, run_to_broker
    from tests.helpers import make_topics

    topics = make_topics(kafka_bootstrap, unique)
    sent = [Injection(system="portal", kind="outage", seconds=300),
            Injection(system="payment", kind="outage", seconds=0.001)]  # over before it is read: skipped
    for injection in sent:
        asyncio.run(publish_injection(kafka_bootstrap, topics.simulator_control, injection))
    systems = SimulatedSystems(1, province_communes("25"), 1.0)
    health = Health("services-sim", conditions=SERVICES_SIM_CONDITIONS)

    async def until_ready() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_to_broker(kafka_bootstrap, topics.service_metrics, topics.simulator_control,
                                                 systems, 1.0, stop, health=health))
        try:
            await asyncio.wait_for(_ready(health, task), 60)
        finally:
            stop.set()
            await task

    async def _ready(health: Health, task: "asyncio.Task[int]") -> None:
        while not health.ready:
            assert not task.done(), task.exception()
            await asyncio.sleep(0.05)

    asyncio.run(until_ready())
    active = {(i.system, i.kind) for i in systems.sim.active(clock.now())}
    assert active == {("portal", "outage")}
    (portal,) = systems.sim.incidents
    assert 290 < (portal.end - portal.start).total_seconds() <= 300
