"""The one "read these partitions to their end" of the project: the alerts agent rebuilding its
book from the log, the notifier and the services simulator catching up with their topics before
they act, ``ioc restore`` checking that the broker is empty.

Why whole fetches: the embedded Tansu 0.6.0 answers ListOffsets(latest) with the base offset of a
partition's last record *batch* + 1 (tests/integration/test_tansu_offsets.py), so the end it
names may fall inside the last batch. Every record a fetch brings is handed on, none is cut at
that end, and a partition is done once the consumer's position is past it: the last batch is
read whole, whatever the broker said.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from ioc.broker.consumer import Handler, Records, call_handler, new_consumer

POLL_MS = 200  # one fetch round; the stop test and the caller's heartbeat run between rounds
STALLED_MS = 30_000  # read_partition: no record this long below its stop offset is an error, not a wait


async def read_to_end(consumer: Any, partitions: Iterable[Any], handler: Handler,
                      stopped: Callable[[], bool] = lambda: False) -> None:
    """Hand ``handler`` every record of ``partitions`` (aiokafka TopicPartitions assigned to the
    started ``consumer``) from where it stands to their ends as of this call, a fetch at a time
    (an empty list too: a handler may beat a health clock). Returns early when ``stopped()``."""
    tps = list(partitions)
    ends = await consumer.end_offsets(tps) if tps else {}
    left = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
    while left and not stopped():
        batches = await consumer.getmany(*left, timeout_ms=POLL_MS)
        await call_handler(handler, [m for messages in batches.values() for m in messages])
        left = [tp for tp in left if await consumer.position(tp) < ends[tp]]


async def read_from_beginning(bootstrap: str, partitions: Sequence[tuple[str, int]], *,
                              fetch_max_wait_ms: int) -> list[Any]:
    """Every record of ``partitions`` ((topic, partition) pairs) from their beginning to their
    ends as of now, in each partition's order (a consumer of its own, closed after)."""
    from aiokafka import TopicPartition

    consumer = new_consumer(bootstrap, fetch_max_wait_ms=fetch_max_wait_ms)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for topic, p in partitions]
        consumer.assign(tps)
        if tps:
            await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        await read_to_end(consumer, tps, records.extend)
        return records
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, partitions: Sequence[tuple[str, int]], *,
                      fetch_max_wait_ms: int) -> dict[tuple[str, int], int]:
    """The broker's end offset of each (topic, partition): 0 for an empty one (Tansu's short end
    never reads 0 for a partition that holds a record, so "empty or not" is exact)."""
    from aiokafka import TopicPartition

    consumer = new_consumer(bootstrap, fetch_max_wait_ms=fetch_max_wait_ms)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for topic, p in partitions])
        return {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}
    finally:
        await consumer.stop()


async def read_partition(bootstrap: str, topic: str, partition: int, handler: Handler, *, start: int = 0,
                         stop: int | None = None, fetch_max_wait_ms: int) -> int:
    """Hand ``handler`` the records of one partition from offset ``start`` up to ``stop``
    (exclusive; None: its end as of this call), a fetch at a time, with a consumer of its own.
    ``stop`` is an offset the caller has seen (the worker's committed or next offset), so no end
    is asked of the broker for it. Returns how many records were handed on."""
    from aiokafka import TopicPartition

    if stop is not None and stop <= start:
        return 0
    # A start the log no longer holds (retention) reads from its first record, never from its end.
    consumer = new_consumer(bootstrap, fetch_max_wait_ms=fetch_max_wait_ms, max_partition_fetch_bytes=8 << 20,
                            auto_offset_reset="earliest")
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        if stop is None:
            seen = [0]

            async def count(records: Records) -> None:
                seen[0] += len(records)
                await call_handler(handler, records)

            await read_to_end(consumer, [tp], count)
            return seen[0]
        seen_n, idle = 0, 0
        while (position := await consumer.position(tp)) < stop:
            records = [m for m in (await consumer.getmany(tp, timeout_ms=POLL_MS)).get(tp, ()) if m.offset < stop]
            seen_n += len(records)
            idle = 0 if records or await consumer.position(tp) > position else idle + 1
            if idle * POLL_MS >= STALLED_MS:
                raise RuntimeError(f"{topic} partition {partition} ends at offset {position}, before {stop}")
            await call_handler(handler, records)
        return seen_n
    finally:
        await consumer.stop()
