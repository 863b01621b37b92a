"""Helpers for integration tests: events, producing and reading topics with real clients."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from datetime import time as day_time
from typing import Any, Callable, Iterable, Iterator

from aiokafka import AIOKafkaConsumer

from ioc import clock
from ioc.broker.admin import ensure_topics
from ioc.broker.producer import start_producer
from ioc.broker.publisher import BatchPublisher
from ioc.config import KafkaSettings
from ioc.domain.calendar import WorkingCalendar
from ioc.topics import Topics, topic_specs

LOCAL = timezone(timedelta(hours=7))


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child `ioc` process of a test: none of our IOC_* settings, but this
    process's clock (IOC_NOW + IOC_NOW_ANCHOR when pinned), its health server on any free port
    (parts and test runs side by side never share one), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    return env | clock.env() | {"IOC_HEALTH__PORT": "0"} | extra


@contextmanager
def env_clock(now: str) -> Iterator[None]:
    """The project's clock pinned at ``now`` (IOC_NOW, running on from here) for this process
    and the processes it starts, for a module's whole life (pin_clock is per test)."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(clock.ENV, now)
        mp.setenv(clock.ANCHOR_ENV, repr(time.time()))
        clock.reset()
        yield
    clock.reset()


def working_afternoon(before: datetime | None = None, at: day_time = day_time(16, 0)) -> datetime:
    """The latest working day's ``at`` (Vietnam time) not after ``before`` (default: the clock's
    now): an instant whose last 24 hours hold a whole working day of receptions, whatever
    day (Sunday, Tết, New Year's Eve) the suite runs on."""
    before = (before or clock.now()).astimezone(LOCAL)
    calendar, day = WorkingCalendar(), before.date()
    while True:
        candidate = datetime.combine(day, at, tzinfo=LOCAL)
        if candidate <= before and calendar.is_working_day(day):
            return candidate
        day -= timedelta(days=1)


def make_topics(bootstrap: str, prefix: str, dossier_partitions: int = 4) -> Topics:
    kafka = KafkaSettings(topic_prefix=prefix, partitions={"dossier_events": dossier_partitions})
    ensure_topics(bootstrap, topic_specs(kafka))
    return Topics.from_settings(kafka)


def dossier_events(n_dossiers: int, unit: str = "H44.07", now: datetime | None = None,
                   finished_every: int = 3) -> list[dict[str, Any]]:
    """Received now (due in 5 days); every ``finished_every``-th one also finished early."""
    now = now or clock.now().astimezone(LOCAL)
    out = []
    for i in range(n_dossiers):
        code = f"{unit}-{now:%y%m%d}-{uuid.uuid4().hex[:6]}"
        base = {"dossier_code": code, "unit_code": unit, "procedure_code": "1.001612"}
        out.append({**base, "event_id": uuid.uuid4().hex, "status": 2, "occurred_at": now.isoformat(),
                    "due_at": (now + timedelta(days=5)).isoformat(), "channel": 2})
        if finished_every and i % finished_every == 0:
            out.append({**base, "event_id": uuid.uuid4().hex, "status": 9,
                        "occurred_at": (now + timedelta(seconds=1)).isoformat()})
    return out


def produce(bootstrap: str, topic: str, events: Iterable[dict[str, Any]], key: str = "dossier_code") -> int:
    async def main() -> int:
        producer = await start_producer(bootstrap)
        try:
            pub = BatchPublisher(producer, topic, max_events=100)
            for e in events:
                await pub.add(str(e.get(key, "x")), e)
            return await pub.flush()
        finally:
            await producer.stop()

    return asyncio.run(main())


def produce_raw(bootstrap: str, topic: str, values: Iterable[bytes]) -> None:
    async def main() -> None:
        producer = await start_producer(bootstrap)
        try:
            for v in values:
                await producer.send_and_wait(topic, v)
        finally:
            await producer.stop()

    asyncio.run(main())


def read_topic(bootstrap: str, topic: str, until: Callable[[list[Any]], bool], timeout: float = 60.0) -> list[Any]:
    """JSON values of ``topic`` from the beginning until ``until(values)`` holds."""

    async def main() -> list[Any]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        values: list[Any] = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=250)
                for msgs in batches.values():
                    values.extend(json.loads(m.value) for m in msgs)
                if until(values):
                    return values
        finally:
            await consumer.stop()
        raise AssertionError(f"{topic}: condition not met after {timeout:.0f} s ({len(values)} messages read)")

    return asyncio.run(main())


def poll(fn: Callable[[], Any], ok: Callable[[Any], bool], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if ok(last):
                return last
        except Exception as exc:  # not ready yet
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached in {timeout:.0f} s; last value {last!r}")
