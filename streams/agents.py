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
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

import faust

from ioc.broker.publisher import stats_message
from ioc.config import Settings
from ioc.domain.dossier import DossierState, apply_event
from ioc.domain.events import EventRejected, parse_event
from ioc.kpi.live import figures_for
from ioc.topics import Topics
from ioc.wire import UndecodableMessage, decode_batch

log = logging.getLogger(__name__)


def deadletter_message(reason: str, raw: Any, topic: str, partition: int, offset: int) -> bytes:
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return json.dumps({
        "rejected_at": datetime.now(timezone.utc).isoformat(),
        "source_topic": topic, "source_partition": partition, "source_offset": offset,
        "reason": reason, "raw": text[:65_536],
    }, ensure_ascii=False).encode()


def snapshot_message(partition: int, computed_at: datetime, figures: dict[str, Any]) -> bytes:
    return json.dumps({
        "partition": partition,
        "computed_at": computed_at.isoformat(),
        "units": {unit: fig.to_json() for unit, fig in figures.items()},
    }).encode()


def register_dossier_agents(app: faust.App, settings: Settings) -> None:
    topics = Topics.from_settings(settings.kafka)
    partitions = settings.kafka.partitions.dossier_events
    source = app.topic(topics.dossier_events, key_serializer="raw", value_serializer="raw",
                       partitions=partitions)
    deadletter = app.topic(topics.deadletter, value_serializer="raw")
    snapshots = app.topic(topics.kpi_snapshots, value_serializer="raw")
    stats = app.topic(topics.pipeline_stats, value_serializer="raw")
    # Source of truth, recovered from its changelog; the decoded states are a cache of it.
    table = app.Table("dossiers", default=None, partitions=partitions)
    decoded: dict[str, DossierState] = {}
    counters = {"consumed": 0, "dead_lettered": 0}
    instance = f"{socket.gethostname()}-{os.getpid()}"

    async def reject(reason: str, raw: Any, message: Any) -> None:
        counters["dead_lettered"] += 1
        await deadletter.send(value=deadletter_message(reason, raw, message.topic, message.partition, message.offset))

    @app.agent(source, name="dossier-agent")
    async def dossier_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            try:
                items = decode_batch(event.value)
            except UndecodableMessage as exc:
                await reject(str(exc), (event.value or b"").decode("utf-8", "replace"), message)
                continue
            for item in items:
                try:
                    ev = parse_event(item)
                except EventRejected as exc:
                    await reject(exc.reason, item, message)
                    continue
                code = ev.dossier_code
                state = decoded.get(code)
                if state is None and table.get(code) is not None:
                    state = DossierState.from_json(table[code]["state"])
                new = apply_event(state, ev)
                counters["consumed"] += 1
                if new is state:
                    continue  # a redelivered event: nothing changes
                decoded[code] = new
                table[code] = {"partition": message.partition, "state": new.to_json()}

    @app.timer(settings.worker.snapshot_interval_s)
    async def emit_snapshots() -> None:
        assigned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == topics.dossier_events)
        by_partition: dict[int, list[DossierState]] = defaultdict(list)
        seen: set[str] = set()
        for code, value in table.items():
            if value is None:
                continue
            state = decoded.get(code)
            if state is None:
                state = decoded[code] = DossierState.from_json(value["state"])
            by_partition[value["partition"]].append(state)
            seen.add(code)
        for code in set(decoded) - seen:  # partitions moved to another worker
            decoded.pop(code, None)
        now = datetime.now(timezone.utc)
        for partition in assigned:
            figures = figures_for(by_partition.get(partition, ()), now)
            await snapshots.send(value=snapshot_message(partition, now, figures))
        await stats.send(value=stats_message("worker", instance, dict(counters)))
