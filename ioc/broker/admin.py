"""Topic administration through kafka-python's admin client (works against Tansu)."""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ioc.backoff import Backoff
from ioc.errors import DependencyError

log = logging.getLogger(__name__)


def admin_client(bootstrap: str, timeout: float = 15.0) -> KafkaAdminClient:
    """A connected admin client; tries again (a broker just started) for ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    backoff = Backoff(0.2, 0.2)  # a broker being started answers within a second or two
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ioc-admin", request_timeout_ms=10_000)
        except (KafkaError, OSError) as exc:
            if time.monotonic() > deadline:
                raise DependencyError(f"Kafka at {bootstrap} is unreachable ({exc.__class__.__name__})") from None
            time.sleep(backoff.next())


def ensure_topics(bootstrap: str, specs: dict[str, dict[str, Any]], replication_factor: int = 1,
                  timeout: float = 15.0) -> None:
    """Create the topics that are missing; existing topics are left as they are."""
    admin = admin_client(bootstrap, timeout)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, int(spec["partitions"]), replication_factor,
                     topic_configs={k: str(v) for k, v in dict(spec["config"]).items()})
            for name, spec in specs.items()
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # created concurrently by another process
            log.info("created topics %s", ", ".join(t.name for t in missing))
        deadline = time.monotonic() + timeout
        while not set(specs) <= set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise DependencyError(f"Kafka at {bootstrap}: topics were not created in {timeout:.0f} s")
            time.sleep(0.1)
    finally:
        admin.close()
