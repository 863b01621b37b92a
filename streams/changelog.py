"""A table's changelog written by the agent itself: the records one source message changed (the
petition agent) or one checkpoint (the dossier agent, streams/checkpoint.py), as produce batches on
the changelog partition of the source partition.

Faust's per-key table writes cost a produce call each; one batch per message costs one. Not
awaited to delivery: Faust flushes its producer before it commits the source offset, so a
committed offset never runs ahead of the state the changelog restores. The tables themselves are
only read when a partition is recovered.

Tansu's end offsets then fall short of a multi-record last batch: streams/faust_consumer.py
reads past it at recovery (a batch of its own for the last record, as ioc.broker.restore sends,
made every write wait for the previous one's round trip: p99 1.1 s -> 17 s in the bench).
"""

from __future__ import annotations

from typing import Any, cast

import faust


async def write_changelog(app: faust.App, topic: str, partition: int, records: list[tuple[bytes, bytes]]) -> None:
    if not records:
        return
    # aiokafka's producer inside Faust's (a private accessor): the one Faust flushes before committing.
    producer = cast(Any, app.producer)._ensure_producer()
    batch = producer.create_batch()
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:  # full: send it, start another
            await producer.send_batch(batch, topic, partition=partition)
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
    await producer.send_batch(batch, topic, partition=partition)
