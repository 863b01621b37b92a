"""The petition (PAKN) agent: validate, keep petition state, emit live tallies, link dossiers.

Like the dossier agent (streams/agents.py), it only iterates, calls the pure core
(ioc.domain.pakn, ioc.kpi.pakn) and sends:

* every item of a message on ``{prefix}.pakn.events`` is validated; a bad one goes to the
  dead-letter topic with its reason, message offset and position, and never stops the stream;
* petition states live in a Faust table (recovered from its changelog); per partition a
  :class:`~ioc.kpi.pakn.LivePakn` keeps the month-to-date tallies per unit, re-judging only the
  petitions that changed and those whose next instant (a deadline, midnight) has come;
* each tick, the tallies of every owned partition that has petitions go out as snapshot
  partials with ``"source": "pakn"``; the snapshot readers sum them with the dossier partials
  (ioc.kpi.snapshots);
* a petition that names a dossier is forwarded to the dossier topic as a ``pakn_link`` item,
  keyed and partitioned by the dossier code (murmur2, as every dossier event), when its link
  (dossier, time of its first event) is new or changed; the dossier fold counts it once by its
  stable id ``pakn:<pakn_code>`` (5.4);
* petitions near and past their limit raise alerts, one per unit and rule (ioc.alerts.pakn_rules),
  evaluated over all partitions' snapshots by the owner of petition partition 0.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Any, cast

import faust

from ioc import clock
from ioc.broker.publisher import stats_message
from ioc.config import Settings
from ioc.domain.events import EventRejected
from ioc.domain.pakn import PaknState, apply_pakn, link_of, parse_pakn_event
from ioc.kpi.pakn import LivePakn
from ioc.kpi.snapshots import snapshot_messages
from ioc.topics import Topics
from ioc.wire import UndecodableMessage, decode_batch, encode_batch, partition_for
from streams.changelog import write_changelog

log = logging.getLogger(__name__)

SOURCE = "pakn"
EVALUATE_EVERY_S = 5.0


def link_messages(links: list[dict[str, Any]], partitions: int) -> list[tuple[int, bytes, bytes]]:
    """``(partition, key, value)`` wire messages of the dossier topic for ``links``: one per
    partition of ``partitions``, keyed by the first dossier code in it."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for link in links:
        groups.setdefault(partition_for(link["dossier_code"], partitions), []).append(link)
    return [(p, group[0]["dossier_code"].encode(), encode_batch(group)) for p, group in sorted(groups.items())]


def is_pakn_snapshot(value: bytes) -> bool:
    return b'"source":"pakn"' in value[:64]


def register_pakn_agents(app: faust.App, settings: Settings, bootstrap: str) -> None:
    from streams.agents import deadletter_message, tables_ready

    topics = Topics.from_settings(settings.kafka)
    partitions = settings.kafka.partitions.dossier_events  # the pakn topic has as many (ioc.topics)
    source = app.topic(topics.pakn_events, key_serializer="raw", value_serializer="raw", partitions=partitions)
    dossiers = app.topic(topics.dossier_events, key_serializer="raw", value_serializer="raw",
                         partitions=settings.kafka.partitions.dossier_events)
    deadletter = app.topic(topics.deadletter, value_serializer="raw")
    snapshots = app.topic(topics.kpi_snapshots, key_serializer="raw", value_serializer="raw")
    stats = app.topic(topics.pipeline_stats, value_serializer="raw")
    table = app.Table("pakn", default=None, partitions=partitions, key_type=bytes, value_type=bytes)
    live: dict[int, LivePakn] = {}
    counters = {"consumed": 0, "dead_lettered": 0, "links_sent": 0}
    last_stats = [0.0]
    instance = f"{socket.gethostname()}-{os.getpid()}"

    async def forget_revoked(_app: Any, revoked: Any, *_: Any, **__: Any) -> None:
        for partition in {tp.partition for tp in revoked if tp.topic == topics.pakn_events}:
            live.pop(partition, None)  # rebuilt from the recovered table (as streams/agents.py)

    app.on_partitions_revoked.connect(cast(Any, forget_revoked))

    def live_for(partition: int) -> LivePakn:
        figures = live.get(partition)
        if figures is None:
            figures = live[partition] = LivePakn()
            for value in table.values():
                if value is not None:
                    entry = json.loads(value)
                    if entry["partition"] == partition:
                        figures.touch(PaknState.from_json(entry["state"]))
        return figures

    async def reject(reason: str, text: str, message: Any, item: int = 0) -> None:
        counters["dead_lettered"] += 1
        await deadletter.send(value=deadletter_message(reason, text, message.topic, message.partition,
                                                       message.offset, item))

    @app.agent(source, name="pakn-agent")
    async def pakn_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            try:
                items = decode_batch(event.value)
            except UndecodableMessage as exc:
                await reject(str(exc), (event.value or b"").decode("utf-8", "replace"), message)
                continue
            figures = live_for(message.partition)
            changed: dict[str, tuple[PaknState | None, PaknState]] = {}  # code -> (before the message, now)
            for position, item in enumerate(items):
                try:
                    ev = parse_pakn_event(item)
                except EventRejected as exc:
                    await reject(exc.reason, json.dumps(item, ensure_ascii=False, default=str), message, position)
                    continue
                counters["consumed"] += 1
                state = figures.get(ev.pakn_code)
                new = apply_pakn(state, ev)
                if new is state:
                    continue  # redelivered
                figures.touch(new)
                changed[ev.pakn_code] = (changed[ev.pakn_code][0] if ev.pakn_code in changed else state, new)
            # Before the message is acknowledged: a committed offset never runs ahead of the table.
            await write_changelog(app, table.changelog_topic.get_topic_name(), message.partition, [
                (code.encode(), json.dumps({"partition": message.partition, "state": new.to_json()},
                                           separators=(",", ":")).encode())
                for code, (_, new) in changed.items()])
            links = []
            for before, new in changed.values():
                link = link_of(new)
                if link is not None and link != (link_of(before) if before is not None else None):
                    links.append(link)
            for partition, key, value in link_messages(links, settings.kafka.partitions.dossier_events):
                await dossiers.send(key=key, value=value, partition=partition)
            counters["links_sent"] += len(links)

    async def send_snapshots(partitions: list[int]) -> None:
        now = clock.now()  # the business instant the tallies are judged at (IOC_NOW)
        for partition in partitions:
            figures = live_for(partition)
            if not len(figures):
                continue  # a partition that never held a petition has nothing to add
            figures.advance(now)
            for message in snapshot_messages(partition, now, figures.figures(), source=SOURCE):
                await snapshots.send(key=f"{SOURCE}:{partition}".encode(), value=message)

    async def final_pakn_snapshots(_app: Any, *_: Any, **__: Any) -> None:
        """A clean stop: the figures with every petition consumed (as streams/agents.py)."""
        await send_snapshots(sorted(live))

    app.on_before_shutdown.connect(cast(Any, final_pakn_snapshots))  # mode's signal types want a plain callable

    @app.timer(settings.worker.snapshot_interval_s)
    async def emit_pakn_snapshots() -> None:
        if not tables_ready(app):  # live_for() would rebuild from a half-restored table
            return
        assigned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == topics.pakn_events)
        for partition in set(live) - set(assigned):
            del live[partition]
        await send_snapshots(assigned)
        if time.monotonic() - last_stats[0] >= 1.0:  # a heartbeat a second, as every process
            last_stats[0] = time.monotonic()
            await stats.send(value=stats_message(SOURCE, instance, dict(counters)))

    register_pakn_alert_rules(app, settings, bootstrap)


def register_pakn_alert_rules(app: Any, settings: Any, bootstrap: str) -> None:
    """Near-limit and overdue petitions per unit, over every partition's snapshots (as
    streams/dossier_alerts.py does for dossiers): one evaluating worker, the owner of petition
    partition 0."""
    from ioc.alerts.pakn_rules import PaknWatch
    from ioc.broker.snapshot_feed import SnapshotFeed
    from ioc.kpi.snapshots import LatestSnapshots
    from ioc.reference.agencies import agency_tree
    from ioc.services.monitor import signal_message

    topics = Topics.from_settings(settings.kafka)
    alerts = app.topic(topics.alerts, key_serializer="raw", value_serializer="raw")
    tree = agency_tree(settings.province.code, prefix=settings.province.agency_prefix)
    names = {code: a.name.replace("Ủy ban nhân dân", "UBND") for code, a in tree.by_code.items()}
    watch = PaknWatch(unit_names=names,
                      unit_level=lambda u: tree.by_code[u].serves_level if u in tree.by_code else "province")
    latest = LatestSnapshots()
    # Only the petition partials (the dossier partials are most of the topic): recognised from the
    # first bytes, which ioc.kpi.snapshots writes as {"partition":N,"source":"pakn",...
    feed = SnapshotFeed(bootstrap, topics.kpi_snapshots, latest.add, accept=is_pakn_snapshot,
                        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms)

    @app.task
    async def start_pakn_feed() -> None:
        feed.start()

    @app.timer(EVALUATE_EVERY_S)
    async def evaluate_pakn_rules() -> None:
        owns_first = any(tp.topic == topics.pakn_events and tp.partition == 0 for tp in app.consumer.assignment())
        if not owns_first or not latest.partials:
            return
        for signal in watch.observe(latest.per_unit(), clock.now()):
            key, value = signal_message(signal)
            await alerts.send(key=key, value=value)
