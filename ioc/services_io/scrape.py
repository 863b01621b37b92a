"""Scrapes the configured Prometheus endpoints and publishes their samples.

One task per source, every ``interval_s``: GET the URL, parse the text exposition, publish
the samples plus ``up`` (1 when it answered with valid text, 0 otherwise, as Prometheus does)
to ``{prefix}.service.metrics``, keyed by system id.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request
from datetime import datetime
from typing import Awaitable, Callable, Sequence

from ioc import clock
from ioc.health import Health, beat_until
from ioc.services.model import ServiceMetric
from ioc.services.prometheus import ExpositionRejected, parse_exposition, up_sample
from ioc.services.settings import ScrapeSource

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 20_000_000
SCRAPER_CONDITIONS = ("producer",)
Publish = Callable[[list[ServiceMetric]], Awaitable[None]]


class ScrapeFailed(Exception):
    pass


def _fetch(url: str, timeout: float) -> str:
    request = urllib.request.Request(url, headers={"Accept": "text/plain; version=0.0.4"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # configured http(s) URL
            body = response.read(MAX_BODY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ScrapeFailed(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ScrapeFailed(str(getattr(exc, "reason", exc))) from None
    if len(body) > MAX_BODY_BYTES:
        raise ScrapeFailed(f"larger than {MAX_BODY_BYTES} bytes")
    return body.decode("utf-8", "replace")


async def scrape_once(source: ScrapeSource, now: datetime | None = None) -> list[ServiceMetric]:
    """The samples of one scrape of ``source``, with its ``up``; never raises for the target's faults."""
    now = now or clock.now()
    try:
        text = await asyncio.to_thread(_fetch, source.url, source.timeout_s)
        samples = parse_exposition(text, source.system, now, source.mapping())
    except (ScrapeFailed, ExpositionRejected) as exc:
        log.warning("scrape %s (%s): %s", source.name, source.url, exc)
        return [up_sample(source.system, False, now)]
    return samples + [up_sample(source.system, True, now)]


async def scrape_forever(source: ScrapeSource, publish: Publish, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while not stop.is_set():
        await publish(await scrape_once(source))
        next_at += source.interval_s
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, next_at - loop.time()))
        except asyncio.TimeoutError:
            pass


async def run_to_broker(bootstrap: str, metrics_topic: str, sources: Sequence[ScrapeSource],
                        stop: asyncio.Event, health: Health | None = None) -> None:
    """Scrape every source until ``stop``, publishing to the service-metrics topic. Ready (``health``)
    once the producer is connected; live while the event loop turns."""
    from ioc.broker.producer import start_producer
    from ioc.broker.publisher import BatchPublisher

    health = health or Health("scraper", conditions=SCRAPER_CONDITIONS)
    producer = await start_producer(bootstrap)
    health.set("producer", True)
    publisher = BatchPublisher(producer, metrics_topic, max_events=2000)
    lock = asyncio.Lock()  # one publisher shared by the sources' tasks

    async def publish(samples: list[ServiceMetric]) -> None:
        async with lock:
            for s in samples:
                await publisher.add(s.system, s.to_wire())
            await publisher.flush()

    try:
        await asyncio.gather(beat_until(health, stop), *(scrape_forever(s, publish, stop) for s in sources))
    finally:
        await producer.stop()
