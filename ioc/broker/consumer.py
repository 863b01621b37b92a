"""The one Kafka reader: topics, where to start reading, a handler, and reconnecting with backoff.

Every process that follows a topic (the web's live figures, alerts, cameras and reference data,
the worker's and the camera process's snapshot readers, the warehouse sink) runs a
:class:`ConsumerLoop`. It connects, positions every partition by its subscription's
:class:`Seek`, hands each poll's records to the handler (an empty list too, so a handler can act
on time), and when anything fails (broker gone, topic not created yet, a handler error) closes
the consumer, waits the :class:`~ioc.backoff.Backoff` delay and starts again from the seek policy.

Followers assign partitions and seek (no consumer group): every process reads every partition,
and a group consumer is not needed for that (kafka-python's does not even work against the
embedded Tansu broker; aiokafka's assign + seek does). Only :data:`COMMITTED` reads as a group
member, for the sink, which resumes from the offsets it committed after each insert.

Every aiokafka consumer of the project is made by :func:`new_consumer`, with the fetch wait of the
settings (``kafka.fetch_max_wait_ms``): Tansu answers a waiting fetch only when the wait is over,
so aiokafka's 500 ms default would delay every record that much.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from ioc.backoff import Backoff
from ioc.config import KafkaSettings

log = logging.getLogger(__name__)

# For the adapters a test builds without settings; processes pass ``kafka.fetch_max_wait_ms``.
DEFAULT_FETCH_MAX_WAIT_MS: int = KafkaSettings.model_fields["fetch_max_wait_ms"].default


def new_consumer(bootstrap: str, *topics: str, fetch_max_wait_ms: int, group_id: str | None = None,
                 **options: Any) -> Any:
    """An aiokafka consumer (not started; subscribed to ``topics`` if any) that never commits by itself."""
    from aiokafka import AIOKafkaConsumer

    return AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                            fetch_max_wait_ms=fetch_max_wait_ms, **options)


@dataclass(frozen=True)
class Seek:
    """Where a (re)connected reader starts in each partition."""

    policy: str  # "latest", "earliest", "backlog" (the newest ``count`` messages), "committed"
    count: int = 0


LATEST = Seek("latest")  # from now on: live figures, heartbeats
EARLIEST = Seek("earliest")  # the whole topic: logs and compacted tables that are folds
COMMITTED = Seek("committed")  # the group's committed offsets (earliest when none): the sink


def backlog(count: int) -> Seek:
    """The newest ``count`` messages of each partition, then on (each camera's newest record)."""
    return Seek("backlog", count)


@dataclass(frozen=True)
class Subscription:
    topic: str
    seek: Seek = LATEST
    partitions: tuple[int, ...] | None = None  # None: every partition the broker lists


Records = list[Any]  # aiokafka ConsumerRecords (topic, partition, offset, key, value, headers, timestamp)
Handler = Callable[[Records], Awaitable[None] | None]
Hook = Callable[[], Awaitable[None] | None]


async def call_handler(fn: Callable[..., Any], *args: Any) -> None:
    result = fn(*args)
    if inspect.isawaitable(result):
        await result


class ConsumerLoop:
    """Reads ``subscriptions`` into ``handler`` until ``stopped()``; see the module docstring.

    ``on_connect`` runs once the partitions are positioned, ``on_disconnect`` whenever the
    consumer is closed (failure or stop). While connected, :attr:`consumer` is the aiokafka
    consumer (the sink commits through it) and :attr:`connected` is True.
    """

    def __init__(self, bootstrap: str, subscriptions: Sequence[Subscription], handler: Handler, *, name: str,
                 fetch_max_wait_ms: int, group_id: str | None = None, backoff: Backoff | None = None, poll_ms: int = 250,
                 max_records: int | None = None, on_connect: Hook | None = None, on_disconnect: Hook | None = None,
                 **options: Any) -> None:
        committed = {s.seek == COMMITTED for s in subscriptions}
        if committed == {True} and not group_id:
            raise ValueError(f"{name}: reading from committed offsets needs a group_id")
        if len(committed) > 1:
            raise ValueError(f"{name}: a group member reads committed offsets on every topic")
        self.bootstrap = bootstrap
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.subscriptions = tuple(subscriptions)
        self.handler = handler
        self.name = name
        self.group_id = group_id if committed == {True} else None
        self.backoff = backoff or Backoff(1.0, 4.0)
        self.poll_ms = poll_ms
        self.max_records = max_records
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.options = options  # passed to AIOKafkaConsumer (session timeouts, max_poll_records...)
        self.consumer: Any = None
        self.connected = False

    async def run(self, stopped: Callable[[], bool],
                  pause: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        """Read until ``stopped()``; ``pause(seconds)`` waits between attempts (and may end
        early when a stop is asked)."""
        while not stopped():
            consumer = new_consumer(self.bootstrap, fetch_max_wait_ms=self.fetch_max_wait_ms, group_id=self.group_id,
                                    **self._defaults(), **self.options)
            failed = False
            try:
                await consumer.start()
                await self._position(consumer)
                self.consumer, self.connected = consumer, True
                self.backoff.reset()
                if self.on_connect is not None:
                    await call_handler(self.on_connect)
                while not stopped():
                    batches = await consumer.getmany(timeout_ms=self.poll_ms, max_records=self.max_records)
                    await call_handler(self.handler, [m for messages in batches.values() for m in messages])
            except Exception as exc:  # broker away, topic missing, bad handler: start again
                failed = True
                delay = self.backoff.next()
                log.warning("%s: %s; reconnecting in %.1f s", self.name, exc or type(exc).__name__, delay)
            finally:
                self.consumer, self.connected = None, False
                try:
                    if self.on_disconnect is not None:
                        await call_handler(self.on_disconnect)
                finally:
                    await consumer.stop()
            if failed:
                await pause(delay)

    def _defaults(self) -> dict[str, Any]:
        return {"auto_offset_reset": "earliest"} if self.group_id else {}

    async def _position(self, consumer: Any) -> None:
        from aiokafka import TopicPartition

        if self.group_id:
            consumer.subscribe([s.topic for s in self.subscriptions])
            return
        await consumer.topics()  # the cluster's metadata: each topic's partitions
        assigned: list[tuple[Subscription, list[Any]]] = []
        for sub in self.subscriptions:
            numbers = sub.partitions if sub.partitions is not None else sorted(consumer.partitions_for_topic(sub.topic) or ())
            if not numbers:
                raise LookupError(f"topic {sub.topic} not created yet")
            assigned.append((sub, [TopicPartition(sub.topic, p) for p in numbers]))
        consumer.assign([tp for _, tps in assigned for tp in tps])
        for sub, tps in assigned:
            if sub.seek == EARLIEST:
                await consumer.seek_to_beginning(*tps)
            elif sub.seek == LATEST:
                await consumer.seek_to_end(*tps)
            else:  # backlog
                begins, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
                for tp in tps:
                    consumer.seek(tp, max(begins[tp], ends[tp] - sub.seek.count))
