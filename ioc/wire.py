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
from functools import lru_cache
from typing import Any, Iterable, Mapping

import msgspec
from kafka.partitioner.default import murmur2


@lru_cache(maxsize=65_536)
def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (Java-compatible murmur2). Cached:
    kafka-python's murmur2 is pure Python (~11 us a key), and a dossier's events come together."""
    return (int(murmur2(key.encode("utf-8"))) & 0x7FFFFFFF) % partitions


_JSON = msgspec.json.Encoder()


def encode_batch(events: Iterable[Mapping[str, Any]]) -> bytes:
    """Compact UTF-8 JSON: the values ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``
    gives (floats maybe written shorter: ``1e-7`` for ``1e-07``), encoded by msgspec, ~10x faster
    (`ioc import` spent a third of its time here). msgspec writes a NaN or infinite float as
    ``null``, so output holding ``null`` (rare: events leave out absent fields) or that msgspec
    refuses is encoded by the standard library, which keeps such a value what it was."""
    items = events if isinstance(events, list) else list(events)
    try:
        out: bytes = _JSON.encode(items)
    except (TypeError, ValueError, OverflowError):
        out = b"null"
    if b"null" not in out:
        return out
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
