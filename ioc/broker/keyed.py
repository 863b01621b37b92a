"""Publishing keyed reference rows (catalogue versions, national figures) to a compacted topic.

Why one function: reference data is small, sent by commands, and must be acknowledged by the
broker before the command says it is done (acks=all, then every future awaited)."""

from __future__ import annotations

import json
from typing import Any, Iterable

from ioc.broker.producer import DeliveryError, Producer, Record, describe
from ioc.errors import DependencyError

PUBLISH_TIMEOUT_S = 30.0


def publish_keyed(bootstrap: str, topic: str, items: Iterable[tuple[str, dict[str, Any]]], *, client_id: str,
                  headers: list[tuple[str, bytes]] | None = None, timeout_s: float = PUBLISH_TIMEOUT_S) -> int:
    """Send each (key, JSON value); returns how many once the broker acknowledged all, else
    :class:`DependencyError` naming the broker and topic."""
    producer = Producer(bootstrap, client_id=client_id, acks="all", linger_ms=5, timeout_s=timeout_s)
    try:
        records = [Record(topic, json.dumps(value, ensure_ascii=False).encode("utf-8"), key.encode("utf-8"),
                          headers=headers) for key, value in items]
        producer.send_all(records)
    except DeliveryError as exc:
        raise DependencyError(f"Kafka at {bootstrap} did not acknowledge the rows on {topic} "
                              f"({describe(exc.cause)})") from None
    finally:
        producer.close(timeout_s=5)
    return len(records)
