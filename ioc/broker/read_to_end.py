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

from ioc.broker.consumer import Handler, call_handler, new_consumer

POLL_MS = 200  # one fetch round; the stop test and the caller's heartbeat run between rounds


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
