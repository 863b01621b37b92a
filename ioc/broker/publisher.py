"""Batched publishing of entity events through the project's producer (ioc.broker.producer):
one Kafka message carries many events of one partition (see ioc.wire for why)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from ioc.broker.producer import AsyncProducer
from ioc.wire import encode_batch, partition_for


class BatchPublisher:
    """Buffers events per partition and sends a message when a buffer reaches
    ``max_events`` or on :meth:`flush`. Keys are the entity id (e.g. the dossier code)."""

    def __init__(self, producer: AsyncProducer, topic: str, max_events: int = 500) -> None:
        self.producer = producer
        self.topic = topic
        self.max_events = max_events
        self._partitions: int | None = None
        self._buffers: dict[int, list[dict[str, Any]]] = {}
        self._keys: dict[int, str] = {}
        self._pending: list[asyncio.Future[Any]] = []
        self.sent_events = 0
        self.acked: dict[int, int] = {}  # partition -> offset of the newest message acknowledged

    async def _partition_count(self) -> int:
        if self._partitions is None:
            self._partitions = await self.producer.partitions(self.topic)
        return self._partitions

    async def add(self, key: str, event: dict[str, Any]) -> None:
        partition = partition_for(key, await self._partition_count())
        buf = self._buffers.setdefault(partition, [])
        buf.append(event)
        self._keys.setdefault(partition, key)
        if len(buf) >= self.max_events:
            await self._send(partition)

    async def _send(self, partition: int) -> None:
        events = self._buffers.pop(partition, [])
        key = self._keys.pop(partition, None)
        if not events:
            return
        fut = await self.producer.send(
            self.topic, encode_batch(events), key=key.encode() if key else None, partition=partition
        )
        self._pending.append(fut)
        self.sent_events += len(events)

    async def flush(self) -> int:
        """Send every buffer and wait until the broker acknowledged all; returns events sent."""
        for partition in list(self._buffers):
            await self._send(partition)
        if self._pending:
            for meta in await asyncio.gather(*self._pending):
                if meta.offset > self.acked.get(meta.partition, -1):
                    self.acked[meta.partition] = meta.offset
            self._pending.clear()
        return self.sent_events


def stats_message(component: str, instance: str, counters: dict[str, int]) -> bytes:
    """A pipeline-stats heartbeat: monotonic counters of one process, read by /metrics."""
    return json.dumps(
        {"component": component, "instance": instance, "ts": time.time(), "counters": counters}
    ).encode()
