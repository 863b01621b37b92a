"""Publishing keyed reference rows (catalogue versions, national figures) to a compacted topic.

Why one function: reference data is small, sent by commands, and must be acknowledged by the
broker before the command says it is done (acks=all, then every future awaited)."""

from __future__ import annotations

import json
from typing import Any, Iterable

from ioc.errors import DependencyError

PUBLISH_TIMEOUT_S = 30.0


def publish_keyed(bootstrap: str, topic: str, items: Iterable[tuple[str, dict[str, Any]]], *, client_id: str,
                  headers: list[tuple[str, bytes]] | None = None, timeout_s: float = PUBLISH_TIMEOUT_S) -> int:
    """Send each (key, JSON value); returns how many once the broker acknowledged all, else
    :class:`DependencyError` naming the broker and topic."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    ms = int(timeout_s * 1000)
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, acks="all", linger_ms=5,
                                 max_block_ms=ms, request_timeout_ms=ms, allow_auto_create_topics=False)
    except (KafkaError, OSError) as exc:
        raise DependencyError(f"Kafka at {bootstrap} is unreachable ({type(exc).__name__})") from None
    try:
        futures = [producer.send(topic, json.dumps(value, ensure_ascii=False).encode("utf-8"),
                                 key=key.encode("utf-8"), headers=headers or []) for key, value in items]
        producer.flush(timeout=timeout_s)
        for future in futures:
            future.get(timeout=timeout_s)
    except (KafkaError, OSError) as exc:
        raise DependencyError(f"Kafka at {bootstrap} did not acknowledge the rows on {topic} "
                              f"({type(exc).__name__}: {' '.join(str(exc).split())})") from None
    finally:
        producer.close(timeout=5)
    return len(futures)
