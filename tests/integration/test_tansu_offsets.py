"""The embedded broker's end offsets, which the worker's changelog writes depend on.

Tansu 0.6.0 answers ListOffsets(latest) with the base offset of a partition's last record
*batch* + 1, not its last offset + 1. Faust's table recovery reads a changelog up to that end:
the worker corrects the ends it is given (streams/faust_consumer.py), and ioc.broker.restore
sends a partition's last record in a batch of its own. If a Tansu release fixes this, the first
test fails: the workarounds can then go."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ioc.broker.admin import ensure_topics
from streams.faust_consumer import true_end_offsets

pytestmark = pytest.mark.integration


async def _write_then_end(bootstrap: str, topic: str, sizes: list[int]) -> tuple[int, int, int]:
    """Batches of the given sizes on partition 0: (records written, the broker's end offset, the
    worker's corrected one)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        written = 0
        for size in sizes:
            batch = producer.create_batch()
            for _ in range(size):
                assert batch.append(key=f"k{written}".encode(), value=b"v", timestamp=None) is not None
                written += 1
            await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        ends = await consumer.end_offsets([tp])
        return written, ends[tp], (await true_end_offsets(bootstrap, ends))[tp]
    finally:
        await consumer.stop()


def test_the_end_offset_is_the_last_batchs_base_offset_plus_one_and_the_worker_corrects_it(
        kafka_bootstrap, unique):
    topic = f"{unique}-batches"
    ensure_topics(kafka_bootstrap, {topic: {"partitions": 1, "config": {}}})
    assert asyncio.run(_write_then_end(kafka_bootstrap, topic, [5, 5, 5])) == (15, 11, 15)


def test_a_last_record_sent_alone_makes_the_end_offset_right(kafka_bootstrap, unique):
    topic = f"{unique}-ends-alone"
    ensure_topics(kafka_bootstrap, {topic: {"partitions": 1, "config": {}}})
    assert asyncio.run(_write_then_end(kafka_bootstrap, topic, [5, 4, 1])) == (10, 10, 10)
