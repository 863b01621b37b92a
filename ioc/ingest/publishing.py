"""Publishing validated dossier events to the dossier topic, synchronously and thread-safely.

The ingest API runs in the web process's waitress threads and ``ioc import`` is a plain
command, so neither has an event loop: this uses the thread-safe face of the project's producer,
:class:`ioc.broker.producer.Producer` (one per publisher, shared by the threads).

Messages follow the project's wire format (ioc.wire): the events of one call are grouped by
partition (``partition_for(dossier_code, n)``, Kafka's default murmur2), one message per
partition, split only when it would exceed :data:`MAX_EVENTS_PER_MESSAGE` events or
:data:`MAX_MESSAGE_BYTES` (under Kafka's default 1 MB message limit). Each message is keyed
by a dossier code of its batch and sent to an explicit partition. :meth:`publish` returns
only after the broker acknowledged every message (``acks=all``): what it returns is durable.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from ioc.broker.producer import DeliveryError, Producer, Record, describe
from ioc.errors import DependencyError
from ioc.wire import encode_batch, partition_for

log = logging.getLogger(__name__)

MAX_EVENTS_PER_MESSAGE = 500  # as the simulator's BatchPublisher: a Faust agent's cost is per message
MAX_MESSAGE_BYTES = 900_000  # Kafka's default message.max.bytes is 1 MiB; keep room for the record overhead
SOURCE_HEADER = "ioc-source"  # Kafka record header naming who sent the events (api:NAME, import:NAME)


def source_headers(source: str | None) -> list[tuple[str, bytes]] | None:
    """The record headers naming who sent a message (none when unknown)."""
    return [(SOURCE_HEADER, source.encode("utf-8"))] if source else None


class PublishError(DependencyError):
    """Kafka did not acknowledge every message; ``acknowledged`` lists the event ids that it did."""

    def __init__(self, message: str, acknowledged: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.acknowledged = list(acknowledged)


class EventPublisher(Protocol):
    """What the API and the import need: publish durably, or raise :class:`PublishError`."""

    max_message_bytes: int

    def publish(self, events: Sequence[Mapping[str, Any]], source: str | None = None) -> int: ...


@dataclass(frozen=True)
class Message:
    partition: int
    key: str
    value: bytes
    event_ids: tuple[str, ...]  # what PublishError reports as acknowledged when the message landed


def plan_messages(events: Sequence[Mapping[str, Any]], partitions: int,
                  max_events: int = MAX_EVENTS_PER_MESSAGE, max_bytes: int = MAX_MESSAGE_BYTES,
                  key_field: str = "dossier_code") -> list[Message]:
    """The messages for ``events``: grouped by partition (of their ``key_field``: the dossier
    code, or a petition's ``pakn_code``) in their order, one message per partition unless it
    would exceed ``max_events`` or ``max_bytes``."""
    groups: dict[int, list[Mapping[str, Any]]] = {}
    for event in events:
        groups.setdefault(partition_for(str(event[key_field]), partitions), []).append(event)
    messages = []
    for partition in sorted(groups):
        chunk: list[Mapping[str, Any]] = []
        size = 2  # "[" and "]"
        for event in groups[partition]:
            event_size = len(encode_batch([event])) - 2 + 1  # its JSON and a comma
            if event_size + 1 > max_bytes:
                raise ValueError(f"event {event.get('event_id')}: {event_size - 1} bytes, more than a message may hold")
            if chunk and (len(chunk) >= max_events or size + event_size > max_bytes):
                messages.append(_message(partition, chunk, key_field))
                chunk, size = [], 2
            chunk.append(event)
            size += event_size
        messages.append(_message(partition, chunk, key_field))
    return messages


def _message(partition: int, events: list[Mapping[str, Any]], key_field: str = "dossier_code") -> Message:
    return Message(partition, str(events[0][key_field]), encode_batch(events),
                   tuple(str(e["event_id"]) for e in events))


class RecentIds:
    """A bounded, thread-safe LRU of event ids this process published (its memory only)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, ids: Iterable[str]) -> set[str]:
        """The ids among ``ids`` that were published recently (each marked as used again)."""
        found = set()
        with self._lock:
            for event_id in ids:
                if event_id in self._ids:
                    self._ids.move_to_end(event_id)
                    found.add(event_id)
        return found

    def add(self, ids: Iterable[str]) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            for event_id in ids:
                self._ids[event_id] = None
                self._ids.move_to_end(event_id)
            while len(self._ids) > self.capacity:
                self._ids.popitem(last=False)

    def __len__(self) -> int:
        return len(self._ids)


class KafkaEventPublisher:
    """Publishes dossier events to ``topic`` and waits for the acknowledgements.

    Through the shared :class:`~ioc.broker.producer.Producer`, created on the first
    :meth:`publish` (so a web process starts before Kafka answers) and again on the next call if
    creating it failed. Every wait is bounded by ``timeout_s``; past it, or when the broker
    refuses, :class:`PublishError`.
    """

    def __init__(self, bootstrap: str, topic: str, *, timeout_s: float = 10.0, client_id: str = "ioc-ingest",
                 max_events: int = MAX_EVENTS_PER_MESSAGE, max_message_bytes: int = MAX_MESSAGE_BYTES,
                 key_field: str = "dossier_code") -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.key_field = key_field  # the entity id messages are keyed and partitioned by
        self.timeout_s = timeout_s
        self.client_id = client_id
        self.max_events = max_events
        self.max_message_bytes = max_message_bytes
        self._kafka = Producer(bootstrap, client_id=client_id, acks="all", linger_ms=0, timeout_s=timeout_s,
                               max_request_size=max(1_048_576, max_message_bytes + 65_536))
        self._closed = False

    @property
    def _producer(self) -> Any:
        """The client once created: None until the first publish (tests check it is lazy)."""
        return self._kafka.created

    def publish(self, events: Sequence[Mapping[str, Any]], source: str | None = None) -> int:
        """Send ``events`` (validated §2 dicts) and wait until Kafka acknowledged all of them;
        returns how many. On failure :class:`PublishError`, whose ``acknowledged`` lists the
        event ids of the messages that did land (a retry of those is a harmless duplicate)."""
        if not events:
            return 0
        self.send_planned(lambda partitions: plan_messages(events, partitions, self.max_events,
                                                           self.max_message_bytes, self.key_field), source)
        return len(events)

    def send_planned(self, plan: Callable[[int], list[Message]], source: str | None = None,
                     what: str = "events") -> None:
        """Send the messages ``plan(partition count)`` makes and wait until Kafka acknowledged all;
        :class:`PublishError` when closed, unreachable or not acknowledged (naming ``what``)."""
        if self._closed:
            raise PublishError("the publisher is closed (the process is stopping)")
        try:
            partitions = self._kafka.partitions(self.topic)  # connects on first use
        except DependencyError as exc:
            raise PublishError(str(exc)) from None
        messages = plan(partitions)
        headers = source_headers(source)
        try:
            self._kafka.send_all([Record(self.topic, m.value, m.key.encode("utf-8"), m.partition, headers)
                                  for m in messages])
        except DeliveryError as exc:
            raise PublishError(f"Kafka at {self.bootstrap} did not acknowledge the {what} for {self.topic} "
                               f"({describe(exc.cause)})",
                               [i for n in exc.acknowledged for i in messages[n].event_ids]) from None

    def close(self, timeout: float = 5.0) -> None:
        self._closed = True
        try:
            self._kafka.close(timeout)
        except Exception:  # stopping anyway
            log.warning("closing the ingest producer failed", exc_info=True)


def publish_batches(publisher: EventPublisher, events: Iterable[Mapping[str, Any]], batch_size: int = 5_000,
                    source: str | None = None) -> int:
    """Publish a long stream of events ``batch_size`` at a time (bounded memory); returns how many."""
    total = 0
    batch: list[Mapping[str, Any]] = []
    for event in events:
        batch.append(event)
        if len(batch) >= batch_size:
            total += publisher.publish(batch, source)
            batch = []
    if batch:
        total += publisher.publish(batch, source)
    return total
