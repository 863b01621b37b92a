"""Drives the dossier simulator in real time to the broker, or in virtual time to a file."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ioc import clock
from ioc.broker.producer import start_producer
from ioc.broker.publisher import BatchPublisher, stats_message
from ioc.health import Health, beat_until
from ioc.sim import checkpoint
from ioc.sim.dossiers import DossierSimulator
from ioc.sim.pakn import PaknSimulator
from ioc.sim.population import DEFAULT_PROVINCE, population
from ioc.topics import Topics

# Live mode: arrivals per second for a target event rate (a dossier's reception and the
# start of its processing happen now; the rest of its life is days ahead).
EVENTS_PER_ARRIVAL_NOW = 2.5
# A mid-size merged province: 0.3-0.5 dossiers per inhabitant a year (domain.md §3.2).
PROVINCE_DOSSIERS_PER_WORKING_DAY = 3_000
# The country: about 100 million dossiers a year over ~250 working days.
NATIONAL_DOSSIERS_PER_WORKING_DAY = 400_000
SIMULATOR_CONDITIONS = ("producer",)


def _prepare(seed: int, backfill_days: int, now: datetime, scale: str = "province",
             home: tuple[str, str | None] = DEFAULT_PROVINCE) -> DossierSimulator:
    sim = DossierSimulator(seed, population(scale, seed, home))
    per_day = NATIONAL_DOSSIERS_PER_WORKING_DAY if scale == "national" else PROVINCE_DOSSIERS_PER_WORKING_DAY
    if backfill_days:
        sim.backfill(now - timedelta(days=backfill_days), now, per_day)
    return sim


def _resume(state_path: Path, seed: int, rate: float, backfill_days: int, now: datetime, scale: str,
            home: tuple[str, str | None]) -> checkpoint.Resume:
    """The simulator as a restart finds it in ``state_path`` (ioc.sim.checkpoint)."""
    import sys

    resumed = checkpoint.resume(state_path, checkpoint.identity(seed, rate, backfill_days, scale, home), now, seed,
                                lambda t0: _prepare(seed, backfill_days, t0, scale, home),
                                lambda: population(scale, seed, home))
    print(f"simulator: {resumed.how} (first started {resumed.t0.isoformat()}; {state_path})", file=sys.stderr,
          flush=True)
    return resumed


def write_file(path: Path, seconds: float, rate: float, seed: int, backfill_days: int,
               now: datetime | None = None, scale: str = "province",
               home: tuple[str, str | None] = DEFAULT_PROVINCE, pakn_path: Path | None = None) -> int:
    """Backfill plus ``seconds`` of live arrivals in virtual time; returns events written.
    With ``pakn_path``, the petitions that follow those dossiers (ioc.sim.pakn) go there."""
    now = now or clock.now()
    sim = _prepare(seed, backfill_days, now, scale, home)
    step = 1.0 / max(rate / EVENTS_PER_ARRIVAL_NOW, 1e-9)
    t = now
    end = now + timedelta(seconds=seconds)
    while t < end:
        sim.new_dossier(t)
        t += timedelta(seconds=sim.rng.expovariate(1 / step))
    n = 0
    pakn = PaknSimulator(seed, home) if pakn_path is not None else None
    with open(path, "w", encoding="utf-8") as out:
        for event in sim.due(end):
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
            n += 1
            if pakn is not None:
                pakn.observe(event)
    if pakn is not None and pakn_path is not None:
        with open(pakn_path, "w", encoding="utf-8") as out:
            for event in pakn.due(end):
                out.write(json.dumps(event, ensure_ascii=False) + "\n")
    return n


async def run_to_broker(bootstrap: str, topics: Topics, seconds: float | None, rate: float, seed: int,
                        backfill_days: int, stop: asyncio.Event | None = None, scale: str = "province",
                        home: tuple[str, str | None] = DEFAULT_PROVINCE, health: Health | None = None,
                        state_path: Path | None = None, sink_group: str | None = None,
                        fetch_max_wait_ms: int | None = None) -> int:
    """Publish backfilled history at once, then live events at ``rate`` per second. Ready
    (``health``) once connected to the broker; live while the history is simulated (in a
    thread) and while the publishing loop turns. With ``state_path``, a restart goes on from
    the last checkpoint the sink (group ``sink_group``) has stored (ioc.sim.checkpoint)."""
    stop = stop or asyncio.Event()
    health = health or Health("simulator", conditions=SIMULATOR_CONDITIONS)
    producer = await start_producer(bootstrap)
    health.set("producer", True)
    counters: dict[str, Any] = {"produced": 0}
    instance = f"{socket.gethostname()}-{os.getpid()}"
    checkpoints: checkpoint.Checkpointer | None = None
    try:
        publisher = BatchPublisher(producer, topics.dossier_events)
        loop = asyncio.get_running_loop()
        started = loop.time()
        now = clock.now()
        prepared = asyncio.Event()
        beating = asyncio.create_task(beat_until(health, prepared))
        try:  # a week of history takes seconds of CPU: the loop stays free to say it is alive
            if state_path is None:
                sim, next_arrival = await asyncio.to_thread(_prepare, seed, backfill_days, now, scale, home), now
            else:
                resumed = await asyncio.to_thread(_resume, state_path, seed, rate, backfill_days, now, scale, home)
                sim, next_arrival = resumed.sim, resumed.next_arrival
        finally:
            prepared.set()
            await beating
        if state_path is not None and sink_group:
            checkpoints = await checkpoint.Checkpointer(state_path, checkpoint.identity(seed, rate, backfill_days, scale,
                                                                                       home),
                                                        resumed.t0, bootstrap, topics.dossier_events,
                                                        sink_group, fetch_max_wait_ms=fetch_max_wait_ms).start()
        last_stats = 0.0
        # Petitions follow the dossiers (ioc.sim.pakn), to their own topic.
        pakn = PaknSimulator(seed, home)
        pakn_publisher = BatchPublisher(producer, topics.pakn_events) if topics.pakn_events else None
        while not stop.is_set() and (seconds is None or loop.time() - started < seconds):
            health.beat()
            now = clock.now()
            while next_arrival <= now:
                sim.new_dossier(next_arrival)
                next_arrival += timedelta(seconds=sim.rng.expovariate(rate / EVENTS_PER_ARRIVAL_NOW))
            for event in sim.due(now):
                await publisher.add(event["dossier_code"], event)
                pakn.observe(event)
            counters["produced"] = await publisher.flush()
            if pakn_publisher is not None:
                for petition in pakn.due(now):
                    await pakn_publisher.add(petition["pakn_code"], petition)
                counters["pakn_produced"] = await pakn_publisher.flush()
            if checkpoints is not None:
                await checkpoints.after_publish(sim, next_arrival, now, publisher.acked)
            if loop.time() - last_stats >= 1.0:
                await producer.send_and_wait(topics.pipeline_stats, stats_message("simulator", instance, counters))
                last_stats = loop.time()
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.2)
            except asyncio.TimeoutError:
                pass
        counters["produced"] = await publisher.flush()
        await producer.send_and_wait(topics.pipeline_stats, stats_message("simulator", instance, counters))
        return int(counters["produced"])
    finally:
        if checkpoints is not None:
            await checkpoints.stop()
        await producer.stop()
