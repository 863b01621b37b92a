"""ioc/health.py over real HTTP on free ports: liveness from the beat, readiness from the
conditions, a port in use named, and the web's view of several parts (a silent one costs one
timeout, not one per part). Plus the worker's conditions from Faust's state and the services
simulator's handling of injections sent while it was not listening."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
import requests

from ioc.errors import DependencyError
from ioc.health import Health, HealthServer, check_parts, check_ready
from ioc.process import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served():
    clock = Clock()
    health = Health("worker", stale_after_s=30, clock=clock, conditions=("assigned", "recovered"))
    server = HealthServer(health, "127.0.0.1", 0).start()
    yield health, clock, server
    server.close()


def test_live_while_the_loop_beats_and_ready_when_every_condition_holds(served):
    health, clock, server = served
    live, ready = f"{server.url}/livez", f"{server.url}/readyz"
    first = requests.get(live, timeout=5)
    assert first.status_code == 503 and first.json()["beat_age_s"] is None  # not started yet
    health.beat()
    assert requests.get(live, timeout=5).status_code == 200
    body = requests.get(ready, timeout=5)
    assert body.status_code == 503
    assert body.json() == {"part": "worker", "live": True, "ready": False, "beat_age_s": 0.0,
                           "checks": {"assigned": False, "recovered": False}}
    health.set("assigned", True)
    health.set("recovered", True)
    assert requests.get(ready, timeout=5).status_code == 200
    clock.now += 31  # the loop stopped turning: neither live nor ready, whatever it said before
    assert requests.get(live, timeout=5).status_code == 503
    assert requests.get(ready, timeout=5).json()["ready"] is False
    assert requests.get(f"{server.url}/other", timeout=5).status_code == 404


def test_a_port_in_use_is_one_line_naming_it_and_the_setting():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DependencyError, match=rf"port {port} on 127.0.0.1 is already in use \(sink health, health.port"):
            HealthServer(Health("sink"), "127.0.0.1", port)


def test_the_web_asks_every_part_at_once_and_names_the_silent_one(served):
    health, _, server = served
    health.beat()
    health.set("assigned", True)
    health.set("recovered", True)
    # A listening socket that never answers: a stopped (SIGSTOP) process looks like this.
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen()
    refused = free_port()
    try:
        parts = {"worker": f"{server.url}/readyz", "cameras": f"http://127.0.0.1:{hung.getsockname()[1]}/readyz",
                 "services-sim": f"http://127.0.0.1:{refused}/readyz", "simulator": f"http://127.0.0.1:{refused}/readyz"}
        started = datetime.now(timezone.utc)
        out = check_parts(parts, timeout=1.0)
        took = (datetime.now(timezone.utc) - started).total_seconds()
    finally:
        hung.close()
    assert took < 2.5, "parts are asked together"
    assert out["worker"]["ready"] is True and out["worker"]["checks"] == {"assigned": True, "recovered": True}
    assert {name for name, part in out.items() if not part["ready"]} == {"cameras", "services-sim", "simulator"}
    assert "timed out" in out["cameras"]["error"] and "refused" in out["services-sim"]["error"].lower()
    assert check_ready(f"{server.url}/livez")[0] is True


def test_the_worker_is_ready_with_partitions_and_its_tables_recovered():
    from streams.health import worker_ready

    completed = threading.Event()
    recovery = SimpleNamespace(completed=completed, in_recovery=True)
    assignment: set = set()
    app = SimpleNamespace(tables=SimpleNamespace(recovery=recovery), rebalancing=True,
                          consumer=SimpleNamespace(assignment=lambda: assignment))
    assert worker_ready(app) == {"assigned": False, "recovered": False}
    assignment.add(("ioc.dossier.events", 0))
    completed.set()
    recovery.in_recovery = False
    app.rebalancing = False
    assert worker_ready(app) == {"assigned": True, "recovered": True}
    app.rebalancing = True  # a later rebalance: not ready until it is over
    assert worker_ready(app)["recovered"] is False


def test_an_injection_sent_while_the_simulator_was_away_runs_for_what_is_left_of_it():
    from ioc.services.catalogue import province_communes
    from ioc.services_io.sim_runner import Injection, SimulatedSystems, _inject

    systems = SimulatedSystems(1, province_communes("25"), 10.0)
    now = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    _inject(systems, Injection(system="wan", kind="link-down", seconds=60).encode(), now, age_s=45.0)
    (active,) = systems.overlay.active["wan"]
    assert (active.end - now).total_seconds() == pytest.approx(15.0)
    _inject(systems, Injection(system="wan", kind="link-down", seconds=60).encode(), now, age_s=61.0)  # over
    assert len(systems.overlay.active["wan"]) == 1
