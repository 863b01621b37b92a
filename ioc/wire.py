"""The wire format of the event topics.

A Kafka message value is UTF-8 JSON: either one event object (what an external producer
naturally sends) or an array of events that all belong to the same partition. Our own
producers batch, because the per-message cost of a Faust agent (two asyncio tasks per
message) and not the broker is what limits throughput; batching hundreds of events per
message multiplies events per second by about the batch size.

Partitioning uses Kafka's default murmur2 hash of the entity key (dossier code, system id,
camera id), so a single-event message keyed by a dossier code lands in the same partition
as our batches that contain that dossier.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from kafka.partitioner.default import murmur2


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (Java-compatible murmur2)."""
    return (int(murmur2(key.encode("utf-8"))) & 0x7FFFFFFF) % partitions


def encode_batch(events: Iterable[Mapping[str, Any]]) -> bytes:
    return json.dumps(list(events), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class UndecodableMessage(ValueError):
    """The whole message is unreadable (not JSON, or neither an object nor an array)."""


def decode_batch(value: bytes | None) -> list[Any]:
    """Items of one message: a list of whatever JSON values it held (validated later)."""
    if value is None:
        raise UndecodableMessage("empty message value")
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UndecodableMessage(f"not UTF-8 JSON: {exc}") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise UndecodableMessage(f"expected a JSON object or array, got {type(data).__name__}")
