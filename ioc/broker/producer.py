"""The one Kafka producer of the project: aiokafka's ``AIOKafkaProducer`` behind two faces.

* :class:`AsyncProducer`, for asyncio code (the simulators, the sink's and the worker-side stats,
  ``ioc restore``, the notifier, the services' scraper and simulator, the web's operator actions).
* :class:`Producer`, for threads without an event loop (the ingest API in the web's request
  threads, ``ioc import``, reference rows, the cameras): the same :class:`AsyncProducer` run on a
  :class:`~ioc.broker.background.BackgroundLoop` thread of its own, thread-safe.

Both offer the delivery semantics their callers need:

* **acknowledged** (``send_all``): return once the broker acknowledged every record; on failure
  :class:`DeliveryError` says which records did land (the ingest API answers with them);
* **fire and forget** (:meth:`Producer.send` with callbacks): a camera never waits for the broker;
  a failure reaches the errback and the record is dropped; at most ``max_in_flight`` records wait
  for the broker, the next ones are dropped at once (a broker gone must not grow memory).

Every wait is bounded by ``timeout_s``. One client library for producing: Faust's agents keep
their own producer (Faust's internal one, on purpose).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, Sequence, TypeVar

from ioc.broker.background import BackgroundLoop
from ioc.errors import DependencyError

T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    topic: str
    value: bytes
    key: bytes | None = None
    partition: int | None = None  # None: the producer's partitioner (murmur2 of the key, as Kafka's default)
    headers: list[tuple[str, bytes]] | None = None


class DeliveryError(DependencyError):
    """Not every record was acknowledged: ``acknowledged`` holds the indices of those that were;
    ``cause`` is the client's error."""

    def __init__(self, message: str, cause: BaseException, acknowledged: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.cause = cause
        self.acknowledged = list(acknowledged)


class Overloaded(DependencyError):
    """A fire-and-forget record refused: ``max_in_flight`` records already wait for the broker."""


def describe(exc: BaseException) -> str:
    """An exception on one line, with its type unless the text already names it."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text and type(exc).__name__ not in text else (text or type(exc).__name__)


class AsyncProducer:
    """An aiokafka producer, started by :meth:`start` (:class:`DependencyError` when Kafka does not
    answer). ``timeout_s`` bounds :meth:`send_all` and is the client's request timeout unless
    ``request_timeout_ms`` is given; other ``options`` go to ``AIOKafkaProducer``."""

    def __init__(self, bootstrap: str, *, client_id: str = "ioc", acks: int | str = 1, linger_ms: int = 5,
                 timeout_s: float = 10.0, max_request_size: int = 1_048_576, **options: Any) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap, "client_id": client_id, "acks": acks, "linger_ms": linger_ms,
            "request_timeout_ms": max(1000, int(timeout_s * 1000)), "max_request_size": max_request_size,
            **options,
        }
        self._client: Any = None

    @property
    def started(self) -> bool:
        return self._client is not None

    async def start(self) -> AsyncProducer:
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        client = AIOKafkaProducer(**self._config)
        try:
            await client.start()
        except (KafkaError, OSError) as exc:
            await client.stop()
            raise DependencyError(f"Kafka at {self.bootstrap} is unreachable ({describe(exc)})") from None
        self._client = client
        return self

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.stop()

    def _connected(self) -> Any:
        if self._client is None:
            raise DependencyError(f"Kafka at {self.bootstrap}: the producer is not started")
        return self._client

    async def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has; :class:`DependencyError` if it does not exist."""
        from aiokafka.errors import KafkaError

        try:
            parts = await self._connected().partitions_for(topic)
        except (KafkaError, OSError) as exc:
            raise DependencyError(f"Kafka at {self.bootstrap}: no metadata for topic {topic} "
                                  f"({describe(exc)}); does the topic exist?") from None
        if not parts:
            raise DependencyError(f"Kafka at {self.bootstrap}: topic {topic} does not exist")
        return len(parts)

    async def send(self, topic: str, value: bytes, *, key: bytes | None = None, partition: int | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future[Any]:
        """Queue a record (waits only while the client's buffer is full); the future of its
        acknowledgement (the record's metadata: partition, offset)."""
        return await self._connected().send(topic, value, key=key, partition=partition, headers=headers)

    async def send_and_wait(self, topic: str, value: bytes, *, key: bytes | None = None,
                            partition: int | None = None, headers: list[tuple[str, bytes]] | None = None) -> Any:
        """Send one record and wait for its acknowledgement; its metadata."""
        return await (await self.send(topic, value, key=key, partition=partition, headers=headers))

    async def send_all(self, records: Sequence[Record]) -> list[Any]:
        """Send ``records`` and wait until the broker acknowledged all of them (within
        ``timeout_s``); their metadata, else :class:`DeliveryError`."""
        futures: list[asyncio.Future[Any]] = []
        failure: BaseException | None = None
        try:
            async with asyncio.timeout(self.timeout_s):
                for r in records:
                    futures.append(await self.send(r.topic, r.value, key=r.key, partition=r.partition,
                                                   headers=r.headers))
                await asyncio.wait(futures)
        except Exception as exc:  # KafkaError, timeout, not started: reported with what landed
            failure = exc
        acknowledged, results = [], []
        for i, future in enumerate(futures):
            if future.done() and not future.cancelled() and future.exception() is None:
                acknowledged.append(i)
                results.append(future.result())
            elif future.done() and not future.cancelled():
                failure = failure or future.exception()
        if failure is not None or len(acknowledged) < len(records):
            cause = failure or TimeoutError(f"not acknowledged within {self.timeout_s:g} s")
            if isinstance(cause, TimeoutError) and not str(cause):
                cause = TimeoutError(f"not acknowledged within {self.timeout_s:g} s")
            raise DeliveryError(f"Kafka at {self.bootstrap} did not acknowledge every record ({describe(cause)})",
                                cause, acknowledged)
        return results

    async def flush(self) -> None:
        if self._client is not None:
            await self._client.flush()


async def start_producer(bootstrap: str, **options: Any) -> AsyncProducer:
    """A started :class:`AsyncProducer` (acks=1, 5 ms linger unless ``options`` say otherwise)."""
    return await AsyncProducer(bootstrap, **options).start()


class _LoopThread(BackgroundLoop):
    """The event loop a :class:`Producer` runs its client on."""

    thread_name = "kafka-producer"

    def __init__(self) -> None:
        super().__init__()
        self.ready = threading.Event()

    async def _run(self) -> None:
        self.ready.set()
        assert self._stop is not None
        await self._stop.wait()

    def call(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)


class Producer:
    """The thread-safe face (see the module docstring). The client is connected on first use (a web
    process starts before Kafka answers) and again on the next use when connecting failed."""

    def __init__(self, bootstrap: str, *, client_id: str, acks: int | str = "all", linger_ms: int = 0,
                 timeout_s: float = 10.0, max_request_size: int = 1_048_576, max_in_flight: int = 10_000,
                 **options: Any) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self.max_in_flight = max_in_flight
        self._async = AsyncProducer(bootstrap, client_id=client_id, acks=acks, linger_ms=linger_ms,
                                    timeout_s=timeout_s, max_request_size=max_request_size, **options)
        self._thread: _LoopThread | None = None
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def created(self) -> AsyncProducer | None:
        """The client if it is connected (and not closed), else None; never connects."""
        return self._async if self._async.started else None

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        assert self._thread is not None
        future = self._thread.call(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DependencyError(f"Kafka at {self.bootstrap} did not answer within {timeout:g} s") from None

    def client(self) -> AsyncProducer:
        """The connected client; :class:`DependencyError` when Kafka does not answer."""
        with self._lock:
            if self._thread is None:
                self._thread = _LoopThread().start()
                self._thread.ready.wait()
            if not self._async.started:
                self._run(self._async.start(), self.timeout_s + 5)  # the client's own timeouts answer first
            return self._async

    def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has; :class:`DependencyError` if it does not exist."""
        client = self.client()
        return self._run(client.partitions(topic), self.timeout_s + 5)

    def send(self, record: Record, on_ok: Callable[[Any], Any] | None = None,
             on_error: Callable[[BaseException], Any] | None = None) -> concurrent.futures.Future[Any]:
        """Queue ``record`` without waiting; the future of its metadata. ``on_ok(metadata)`` or
        ``on_error(exc)`` run on the producer's thread. Not connected: :class:`DependencyError`;
        too many records waiting: :class:`Overloaded` (both raised here)."""
        client = self.client()
        with self._lock:
            if self._in_flight >= self.max_in_flight:
                raise Overloaded(f"Kafka at {self.bootstrap}: {self._in_flight} records wait for the broker")
            self._in_flight += 1
        assert self._thread is not None
        future = self._thread.call(client.send_and_wait(record.topic, record.value, key=record.key,
                                                        partition=record.partition, headers=record.headers))

        def done(f: concurrent.futures.Future[Any]) -> None:
            with self._lock:
                self._in_flight -= 1
            exc = None if f.cancelled() else f.exception()
            if f.cancelled() or exc is not None:
                if on_error is not None:
                    on_error(exc or concurrent.futures.CancelledError())
            elif on_ok is not None:
                on_ok(f.result())

        future.add_done_callback(done)
        return future

    def send_all(self, records: Sequence[Record]) -> list[Any]:
        """Send ``records`` and wait until the broker acknowledged all of them (within
        ``timeout_s``); their metadata, else :class:`DeliveryError`."""
        try:
            client = self.client()
        except DependencyError as exc:
            raise DeliveryError(str(exc), exc) from None
        return self._run(client.send_all(records), self.timeout_s + 5)

    def flush(self, timeout_s: float | None = None) -> None:
        if self.created is not None:
            self._run(self._async.flush(), timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            if self._async.started:
                future = thread.call(self._async.stop())
                try:
                    future.result(timeout_s)
                except concurrent.futures.TimeoutError:
                    future.cancel()
        finally:
            thread.stop(timeout_s)
