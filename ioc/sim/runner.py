"""Drives the dossier simulator in real time to the broker, or in virtual time to a file."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ioc.broker.publisher import BatchPublisher, start_producer, stats_message
from ioc.sim.dossiers import DossierSimulator
from ioc.sim.population import DEFAULT_PROVINCE, population
from ioc.topics import Topics

# Live mode: arrivals per second for a target event rate (a dossier's reception and the
# start of its processing happen now; the rest of its life is days ahead).
EVENTS_PER_ARRIVAL_NOW = 2.5
# A mid-size merged province: 0.3-0.5 dossiers per inhabitant a year (domain.md §3.2).
PROVINCE_DOSSIERS_PER_WORKING_DAY = 3_000
# The country: about 100 million dossiers a year over ~250 working days.
NATIONAL_DOSSIERS_PER_WORKING_DAY = 400_000


def _prepare(seed: int, backfill_days: int, now: datetime, scale: str = "province",
             home: tuple[str, str | None] = DEFAULT_PROVINCE) -> DossierSimulator:
    sim = DossierSimulator(seed, population(scale, seed, home))
    per_day = NATIONAL_DOSSIERS_PER_WORKING_DAY if scale == "national" else PROVINCE_DOSSIERS_PER_WORKING_DAY
    if backfill_days:
        sim.backfill(now - timedelta(days=backfill_days), now, per_day)
    return sim


def write_file(path: Path, seconds: float, rate: float, seed: int, backfill_days: int,
               now: datetime | None = None, scale: str = "province",
               home: tuple[str, str | None] = DEFAULT_PROVINCE) -> int:
    """Backfill plus ``seconds`` of live arrivals in virtual time; returns events written."""
    now = now or datetime.now(timezone.utc)
    sim = _prepare(seed, backfill_days, now, scale, home)
    step = 1.0 / max(rate / EVENTS_PER_ARRIVAL_NOW, 1e-9)
    t = now
    end = now + timedelta(seconds=seconds)
    while t < end:
        sim.new_dossier(t)
        t += timedelta(seconds=sim.rng.expovariate(1 / step))
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for event in sim.due(end):
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
            n += 1
    return n


async def run_to_broker(bootstrap: str, topics: Topics, seconds: float | None, rate: float, seed: int,
                        backfill_days: int, stop: asyncio.Event | None = None, scale: str = "province",
                        home: tuple[str, str | None] = DEFAULT_PROVINCE) -> int:
    """Publish backfilled history at once, then live events at ``rate`` per second."""
    stop = stop or asyncio.Event()
    producer = await start_producer(bootstrap)
    counters: dict[str, Any] = {"produced": 0}
    instance = f"{socket.gethostname()}-{os.getpid()}"
    try:
        publisher = BatchPublisher(producer, topics.dossier_events)
        loop = asyncio.get_running_loop()
        started = loop.time()
        now = datetime.now(timezone.utc)
        sim = _prepare(seed, backfill_days, now, scale, home)
        next_arrival = now
        last_stats = 0.0
        while not stop.is_set() and (seconds is None or loop.time() - started < seconds):
            now = datetime.now(timezone.utc)
            while next_arrival <= now:
                sim.new_dossier(next_arrival)
                next_arrival += timedelta(seconds=sim.rng.expovariate(rate / EVENTS_PER_ARRIVAL_NOW))
            for event in sim.due(now):
                await publisher.add(event["dossier_code"], event)
            counters["produced"] = await publisher.flush()
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
        await producer.stop()
