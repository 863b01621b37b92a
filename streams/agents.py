"""The dossier agent: validate, keep dossier state, emit live figures each second.

The agent only iterates, calls the pure core (``ioc.domain``, ``ioc.kpi``) and sends.
Figures are emitted per source partition: a worker knows only the partitions it owns, and
the readers sum the partials of all partitions.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from datetime import datetime
from typing import Any

import faust

from ioc import clock
from ioc.broker.publisher import stats_message
from ioc.broker.restore import DOSSIER_TABLE  # its changelog is what `ioc up` restores from the warehouse
from ioc.config import Settings
from ioc.broker.reference_feed import CatalogueView, follow
from ioc.domain.dossier import DossierState, apply_complaint, apply_event
from ioc.domain.events import EventRejected, parse_event
from ioc.domain.pakn import LINK_TYPE
from ioc.kpi.live import LiveFigures
from ioc.kpi.snapshots import snapshot_messages
from ioc.topics import Topics
from ioc.wire import UndecodableMessage, decode_batch

log = logging.getLogger(__name__)


def deadletter_message(reason: str, text: str, topic: str, partition: int, offset: int, item: int = 0) -> bytes:
    """One rejected item: where it came from (message offset and its position in the batch),
    why, and its text (the item's JSON, or an undecodable message as received; cut at 64 KiB)."""
    return json.dumps({
        "rejected_at": clock.now().isoformat(),
        "source_topic": topic, "source_partition": partition, "source_offset": offset, "source_item": item,
        "reason": reason, "raw": text[:65_536],
    }, ensure_ascii=False).encode()


def register_dossier_agents(app: faust.App, settings: Settings, bootstrap: str) -> None:
    topics = Topics.from_settings(settings.kafka)
    partitions = settings.kafka.partitions.dossier_events
    source = app.topic(topics.dossier_events, key_serializer="raw", value_serializer="raw",
                       partitions=partitions)
    deadletter = app.topic(topics.deadletter, value_serializer="raw")
    snapshots = app.topic(topics.kpi_snapshots, key_serializer="raw", value_serializer="raw")
    stats = app.topic(topics.pipeline_stats, value_serializer="raw")
    # Source of truth, recovered from its changelog; LiveFigures (one per partition this
    # worker owns) holds the decoded states and their running figures.
    # Values are compact JSON bytes written once per dossier per source message (raw codec:
    # Faust's own per-set serialisation is part of the per-event cost that limits the agent).
    table = app.Table(DOSSIER_TABLE, default=None, partitions=partitions, key_type=bytes, value_type=bytes)
    live: dict[int, LiveFigures] = {}
    counters = {"consumed": 0, "dead_lettered": 0, "lag_ms": 0}
    instance = f"{socket.gethostname()}-{os.getpid()}"
    # The procedure catalogue (paper result, fee, certified copy judge a dossier), followed on
    # its compacted topic; a new version re-judges every dossier at the next tick.
    catalogue = CatalogueView()
    judged_version = {"catalogue": 0}

    @app.task
    async def follow_catalogue() -> None:
        await follow(bootstrap, topics.catalogue, catalogue.apply, lambda: app.should_stop)

    def live_for(partition: int) -> LiveFigures:
        """The partition's figures, rebuilt from the (recovered) table the first time."""
        figures = live.get(partition)
        if figures is None:
            figures = live[partition] = LiveFigures()
            figures.set_catalogue(catalogue.catalogue())
            for value in table.values():
                if value is not None:
                    entry = json.loads(value)
                    if entry["partition"] == partition:
                        figures.touch(DossierState.from_json(entry["state"]))
        return figures

    async def reject(reason: str, text: str, message: Any, item: int = 0) -> None:
        counters["dead_lettered"] += 1
        await deadletter.send(value=deadletter_message(reason, text, message.topic, message.partition, message.offset,
                                                       item))

    @app.agent(source, name="dossier-agent")
    async def dossier_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            # Event time lag of the stream (producer timestamp -> now), reported with the stats:
            # Kafka stamps with the real clock, so the real clock measures it.
            if message.timestamp:
                counters["lag_ms"] = max(counters["lag_ms"], int((time.time() - message.timestamp) * 1000))
            try:
                items = decode_batch(event.value)
            except UndecodableMessage as exc:
                await reject(str(exc), (event.value or b"").decode("utf-8", "replace"), message)
                continue
            figures = live_for(message.partition)
            changed: dict[str, DossierState] = {}
            for position, item in enumerate(items):
                if isinstance(item, dict) and item.get("type") == LINK_TYPE:
                    # A petition names this dossier (streams/pakn.py): a complaint for its 5.4.
                    try:
                        code, when, link = item["dossier_code"], datetime.fromisoformat(item["occurred_at"]), \
                            item["event_id"]
                    except (KeyError, TypeError, ValueError) as exc:
                        await reject(f"pakn link: {exc}", json.dumps(item, ensure_ascii=False, default=str), message,
                                     position)
                        continue
                    state = figures.get(code)
                    new = apply_complaint(state, code, when, link)
                    if new is not state:
                        figures.touch(new)
                        changed[code] = new
                    continue
                try:
                    ev = parse_event(item)
                except EventRejected as exc:
                    await reject(exc.reason, json.dumps(item, ensure_ascii=False, default=str), message, position)
                    continue
                counters["consumed"] += 1
                state = figures.get(ev.dossier_code)
                new = apply_event(state, ev)
                if new is state:
                    continue  # a redelivered event: nothing changes
                figures.touch(new)  # judged once, at the next snapshot
                changed[ev.dossier_code] = new
            # Before the message is acknowledged (the loop moves on), so a committed offset
            # never runs ahead of the state the changelog can restore.
            for code, new in changed.items():
                table[code.encode()] = json.dumps({"partition": message.partition, "state": new.to_json()},
                                                  separators=(",", ":")).encode()

    @app.timer(settings.worker.snapshot_interval_s)
    async def emit_snapshots() -> None:
        assigned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == topics.dossier_events)
        for partition in set(live) - set(assigned):  # moved to another worker
            del live[partition]
        now = clock.now()  # the instant the figures are judged at (due today, overdue, ...)
        if catalogue.version != judged_version["catalogue"]:
            judged_version["catalogue"] = catalogue.version
            for figures in live.values():
                figures.set_catalogue(catalogue.catalogue())
        for partition in assigned:
            figures = live_for(partition)
            figures.advance(now)
            # In parts (ioc.kpi.snapshots): a national partition's units outgrow one message.
            # Keyed by partition, so one partition's parts stay in order on one topic partition.
            for message in snapshot_messages(partition, now, figures.figures()):
                await snapshots.send(key=str(partition).encode(), value=message)
        await stats.send(value=stats_message("worker", instance, dict(counters)))
        counters["lag_ms"] = 0  # the largest lag seen since the previous report
