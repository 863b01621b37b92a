"""Two adjustments of Faust's group consumer (faust.transport.drivers.aiokafka), both for the
embedded Tansu broker and harmless on Apache Kafka. Faust offers no setting for either.

* **Fetch wait.** Faust builds its consumer with a fixed 1.5 s ``fetch_max_wait_ms``. Tansu does
  not answer a waiting fetch when records arrive, only when the wait is over, so that wait was
  most of an event's way to the wall; the worker uses ``kafka.fetch_max_wait_ms`` (ioc.config).
* **End offsets.** Tansu 0.6.0 answers ListOffsets(latest) with the base offset of a partition's
  last record *batch* + 1, not its last offset + 1 (tests/integration/test_tansu_offsets.py).
  Faust's table recovery reads a changelog up to that offset, so the rest of a last batch that
  held several records (streams/changelog.py writes one batch per source message) would be lost
  at a restart. The end offsets Faust asks for are checked by reading each partition's last
  batch with a consumer of their own: the end is past its last record.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from aiokafka import TopicPartition

from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, new_consumer

TRUE_END_TIMEOUT_S = 5.0  # a partition whose last batch cannot be read keeps the broker's answer


async def true_end_offsets(bootstrap: Any, ends: Mapping[TopicPartition, int],
                           fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> dict[TopicPartition, int]:
    """``ends`` as the broker answered them, each moved past the last record of the batch that
    holds offset end - 1."""
    out = dict(ends)
    wanted = {tp: end for tp, end in ends.items() if end > 0}
    if not wanted:
        return out
    reader = new_consumer(bootstrap, fetch_max_wait_ms=fetch_max_wait_ms)
    await reader.start()
    try:
        reader.assign(list(wanted))
        for tp, end in wanted.items():
            reader.seek(tp, end - 1)
        left = set(wanted)
        deadline = time.monotonic() + TRUE_END_TIMEOUT_S
        while left and time.monotonic() < deadline:
            for tp, records in (await reader.getmany(timeout_ms=200)).items():
                if records:
                    out[tp] = max(out[tp], records[-1].offset + 1)
                    left.discard(tp)
                    reader.pause(tp)
        return out
    finally:
        await reader.stop()


def adapt(fetch_max_wait_ms: int) -> None:
    """Patch Faust's consumer thread class (once per process; a later call sets the wait)."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread as Thread

    originals = getattr(Thread, "_ioc_originals", None)
    if originals is None:
        originals = Thread._ioc_originals = (Thread._create_worker_consumer, Thread._highwaters)  # type: ignore[attr-defined]
    create, highwaters = originals

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read when it starts and builds its fetcher
        return consumer

    async def true_highwaters(self: Any, partitions: Any) -> Mapping[TopicPartition, int]:
        ends = await highwaters(self, partitions)
        if self.consumer.in_transaction:
            return ends  # last stable offsets: not asked of the broker
        return await true_end_offsets(self._ensure_consumer()._client._bootstrap_servers, ends, fetch_max_wait_ms)

    Thread._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]
    Thread._highwaters = true_highwaters  # type: ignore[method-assign]


__all__ = ["adapt", "true_end_offsets"]
