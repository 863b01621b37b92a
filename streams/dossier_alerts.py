"""Dossier alert rules (overdue, at risk, backlog surge) over the live figures of all partitions.

The rules need each unit's figures summed over every partition, which no single dossier agent
has, so they read the snapshot topic (all partitions, no consumer group) like the wall does.
One worker evaluates them: the owner of dossier partition 0, so there is one writer of these
signals however many workers run (a new owner may raise an open alert again: the alert book
takes a repeated raise as the same alert).
"""

from __future__ import annotations

import logging
from typing import Any

from ioc import clock
from ioc.alerts.dossier_rules import DossierWatch
from ioc.broker.snapshot_feed import SnapshotFeed
from ioc.kpi.snapshots import LatestSnapshots

log = logging.getLogger(__name__)

EVALUATE_EVERY_S = 5.0


def register_dossier_alert_rules(app: Any, settings: Any, bootstrap: str) -> None:
    from ioc.reference.agencies import agency_tree
    from ioc.services.monitor import signal_message
    from ioc.topics import Topics

    topics = Topics.from_settings(settings.kafka)
    alerts = app.topic(topics.alerts, key_serializer="raw", value_serializer="raw")
    tree = agency_tree(settings.province.code, prefix=settings.province.agency_prefix)
    names = {code: a.name.replace("Ủy ban nhân dân", "UBND") for code, a in tree.by_code.items()}
    watch = DossierWatch(unit_names=names,
                         unit_level=lambda u: tree.by_code[u].serves_level if u in tree.by_code else "province")
    latest = LatestSnapshots()
    feed = SnapshotFeed(bootstrap, topics.kpi_snapshots, latest.add, fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms)

    @app.task
    async def start_feed() -> None:
        feed.start()

    @app.timer(EVALUATE_EVERY_S)
    async def evaluate_dossier_rules() -> None:
        owns_first = any(tp.topic == topics.dossier_events and tp.partition == 0
                         for tp in app.consumer.assignment())
        if not owns_first or not latest.partials:
            return
        for signal in watch.observe(latest.per_unit(), clock.now()):
            key, value = signal_message(signal)
            await alerts.send(key=key, value=value)
