"""Dossier alert rules (overdue, at risk, backlog surge) over the live figures of all partitions.

The rules need each unit's figures summed over every partition, which no single dossier agent
has, so they read the snapshot topic (all partitions, no consumer group) like the wall does.
One worker evaluates them: the owner of dossier partition 0, so there is one writer of these
signals however many workers run (a new owner may raise an open alert again: the alert book
takes a repeated raise as the same alert).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from ioc.alerts.dossier_rules import DossierWatch
from ioc.broker.background import BackgroundLoop
from ioc.kpi.snapshots import LatestSnapshots

log = logging.getLogger(__name__)

EVALUATE_EVERY_S = 5.0


class SnapshotReader(BackgroundLoop):
    thread_name = "dossier-rules-feed"

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__()
        self.bootstrap, self.topic = bootstrap, topic
        self.latest = LatestSnapshots()

    async def _run(self) -> None:
        from aiokafka import AIOKafkaConsumer

        while not self.stopping:
            consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, group_id=None,
                                        auto_offset_reset="latest", enable_auto_commit=False)
            try:
                await consumer.start()
                while not self.stopping:
                    for messages in (await consumer.getmany(timeout_ms=500)).values():
                        for m in messages:
                            try:
                                self.latest.add(json.loads(m.value))
                            except (ValueError, KeyError, TypeError):
                                continue
            except Exception as exc:  # noqa: BLE001 - broker away: try again
                log.warning("dossier rules: snapshot feed %s; reconnecting", exc)
                await self._pause(2.0)
            finally:
                await consumer.stop()


def register_dossier_alert_rules(app: Any, settings: Any, bootstrap: str) -> None:
    from ioc.reference.agencies import agency_tree
    from ioc.topics import Topics
    from streams.services import signal_message

    topics = Topics.from_settings(settings.kafka)
    alerts = app.topic(topics.alerts, key_serializer="raw", value_serializer="raw")
    tree = agency_tree(settings.province.code, prefix=settings.province.agency_prefix)
    names = {code: a.name.replace("Ủy ban nhân dân", "UBND") for code, a in tree.by_code.items()}
    watch = DossierWatch(unit_names=names,
                         unit_level=lambda u: tree.by_code[u].serves_level if u in tree.by_code else "province")
    reader = SnapshotReader(bootstrap, topics.kpi_snapshots)

    @app.task
    async def start_reader() -> None:
        reader.start()

    @app.timer(EVALUATE_EVERY_S)
    async def evaluate_dossier_rules() -> None:
        owns_first = any(tp.topic == topics.dossier_events and tp.partition == 0
                         for tp in app.consumer.assignment())
        if not owns_first or not reader.latest.partials:
            return
        for signal in watch.observe(reader.latest.per_unit(), datetime.now(timezone.utc)):
            key, value = signal_message(signal)
            await alerts.send(key=key, value=value)
