"""The one Kafka producer of the commands, the web's ingest and the cameras: kafka-python's
``KafkaProducer`` (thread-safe, needs no event loop, works against the embedded Tansu broker)
behind a small interface with the two delivery semantics its callers need:

* **acknowledged** (:meth:`Producer.send_all`): the ingest API, ``ioc import`` and reference
  rows return only once the broker acknowledged every message (``acks="all"``); on failure
  :class:`DeliveryError` says which messages did land.
* **fire and forget** (:meth:`Producer.send` with callbacks): a camera never waits for the
  broker (``acks=1``); a failure reaches the errback and the record is dropped.

The client is created on first use (a web process starts before Kafka answers) and again on the
next use when creating it failed. Faust's agents keep their own producer, and the simulator's
asyncio code its aiokafka one (ioc.broker.publisher).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ioc.errors import DependencyError


@dataclass(frozen=True)
class Record:
    topic: str
    value: bytes
    key: bytes | None = None
    partition: int | None = None  # None: the producer's partitioner (murmur2 of the key)
    headers: list[tuple[str, bytes]] | None = None


class DeliveryError(DependencyError):
    """Not every record was acknowledged: ``acknowledged`` holds the indices of those that were;
    ``cause`` is the client's error."""

    def __init__(self, message: str, cause: BaseException, acknowledged: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.cause = cause
        self.acknowledged = list(acknowledged)


def describe(exc: BaseException) -> str:
    """An exception on one line, with its type unless the text already names it."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text and type(exc).__name__ not in text else (text or type(exc).__name__)


class Producer:
    """See the module docstring. ``timeout_s`` bounds every wait (connecting, metadata, a send
    blocked on a full buffer, an acknowledgement)."""

    def __init__(self, bootstrap: str, *, client_id: str, acks: int | str = "all", linger_ms: int = 0,
                 timeout_s: float = 10.0, max_request_size: int = 1_048_576, **options: Any) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        ms = max(1000, int(timeout_s * 1000))
        self._config = {
            "bootstrap_servers": bootstrap, "client_id": client_id, "acks": acks, "linger_ms": linger_ms,
            "max_block_ms": ms, "request_timeout_ms": ms, "max_request_size": max_request_size,
            "allow_auto_create_topics": False, **options,
        }
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def created(self) -> Any:
        """The client if it was created (and not closed), else None; never connects."""
        return self._client

    def client(self) -> Any:
        """The connected ``KafkaProducer``; :class:`DependencyError` when Kafka does not answer."""
        with self._lock:
            if self._client is None:
                from kafka import KafkaProducer
                from kafka.errors import KafkaError

                try:
                    self._client = KafkaProducer(**self._config)
                except (KafkaError, OSError) as exc:
                    raise DependencyError(f"Kafka at {self.bootstrap} is unreachable ({describe(exc)})") from None
            return self._client

    def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has; :class:`DependencyError` if it does not exist."""
        from kafka.errors import KafkaError

        try:
            parts = self.client().partitions_for(topic)
        except (KafkaError, OSError) as exc:
            raise DependencyError(f"Kafka at {self.bootstrap}: no metadata for topic {topic} "
                                  f"({describe(exc)}); does the topic exist?") from None
        if not parts:
            raise DependencyError(f"Kafka at {self.bootstrap}: topic {topic} does not exist")
        return len(parts)

    def send(self, record: Record, on_ok: Callable[[Any], Any] | None = None,
             on_error: Callable[[BaseException], Any] | None = None) -> Any:
        """Queue ``record`` without waiting; the client's future (callbacks: ``on_ok(metadata)``,
        ``on_error(exc)``). A failure to queue raises (KafkaError, or DependencyError)."""
        future = self.client().send(record.topic, record.value, key=record.key, partition=record.partition,
                                    headers=record.headers or [])
        if on_ok is not None:
            future.add_callback(on_ok)
        if on_error is not None:
            future.add_errback(on_error)
        return future

    def send_all(self, records: Sequence[Record]) -> list[Any]:
        """Send ``records`` and wait until the broker acknowledged all of them (within
        ``timeout_s``); their metadata (partition, offset), else :class:`DeliveryError`."""
        from kafka.errors import KafkaError

        deadline = time.monotonic() + self.timeout_s
        futures: list[Any] = []
        failure: BaseException | None = None
        for record in records:
            try:
                futures.append(self.send(record))
            except (KafkaError, OSError) as exc:
                failure = exc
                break
        acknowledged, results = [], []
        for i, future in enumerate(futures):
            try:
                results.append(future.get(timeout=max(0.1, deadline - time.monotonic())))
                acknowledged.append(i)
            except (KafkaError, OSError) as exc:
                failure = failure or exc
        if failure is not None:
            raise DeliveryError(f"Kafka at {self.bootstrap} did not acknowledge every record ({describe(failure)})",
                                failure, acknowledged)
        return results

    def flush(self, timeout_s: float | None = None) -> None:
        if self._client is not None:
            self._client.flush(timeout=timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close(timeout=timeout_s)
