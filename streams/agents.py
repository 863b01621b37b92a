"""The dossier agent: decode, keep dossier state, emit live figures twice a second.

The agent only iterates, calls the pure core (``ioc.domain``, ``ioc.kpi``) and sends.
Figures are emitted per source partition: a worker knows only the partitions it owns, and
the readers sum the partials of all partitions.

What each event costs, and why (README, Benchmarks "pipeline"):

* **Decoded once**: a message is decoded by msgspec straight into typed events
  (:func:`ioc.domain.events.decode_events`); a bad item is dead-lettered here with its reason,
  and the sink, using the same decoder, skips it.
* **No state written per message**: the source partition is the changelog (streams/checkpoint.py);
  the states changed since the last checkpoint go to a compacted topic every
  ``worker.checkpoint_s`` with the source offset they cover, so a recovery replays only the
  source after it.
* **Judged only when something can have changed**: a dossier is judged after a new event, or
  when its next instant (deadline, midnight, a fact dated later) comes, from the heap of
  next-change instants in :class:`ioc.kpi.live.LiveFigures`; never a pass over every open
  dossier. A round is cut into slices of ``worker.judging_slice_s`` so the loop keeps consuming,
  and a partition's snapshot is sent when its round is complete (figures at one instant).
* **Change-only snapshots**: between whole snapshots (``worker.full_snapshot_s``, and when the
  stream goes quiet) only the units whose figures changed are sent (ioc.kpi.snapshots).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from datetime import datetime
from typing import Any, cast

import faust

from ioc import clock
from ioc.broker.publisher import stats_message
from ioc.broker.read_to_end import read_partition
from ioc.broker.reference_feed import CatalogueView, follow
from ioc.broker.restore import checkpoint_topic  # what `ioc up` restores from the warehouse
from ioc.config import Settings
from ioc.domain.events import decode_events
from ioc.kpi.indicators import Tally
from ioc.kpi.live import LiveFigures
from ioc.kpi.snapshots import snapshot_messages
from ioc.topics import Topics
from ioc.wire import UndecodableMessage
from streams.changelog import write_changelog
from streams.checkpoint import Partitions, fold_message, read_links

log = logging.getLogger(__name__)

BEHIND_S = 1.0  # an agent further behind its source than this has a backlog: judging yields to it
# An assigned partition with no message this long is recovered by the snapshot timer. Not sooner:
# during a backlog Faust's buffer can hold a partition's messages for seconds, and recovering it then
# reads again what the agent is about to fold (py-spy: 15 % of the worker at a 1 s wait).
IDLE_RECOVERY_S = 10.0


class SnapshotSender:
    """One partition's snapshots: whole every ``full_every_s`` and when its figures stop changing,
    else the units changed since the previous message (ioc.kpi.snapshots)."""

    def __init__(self, full_every_s: float) -> None:
        self.full_every_s = full_every_s
        self.sent: dict[str, Tally] = {}
        self.last_at: datetime | None = None
        self.last_full = float("-inf")
        self.moved = False  # the previous message carried changes

    def messages(self, partition: int, at: datetime, figures: LiveFigures, whole: bool = False) -> list[bytes]:
        changed = {u: dict(figures.totals.get(u) or {}) for u in figures.take_changed_units()}
        changed = {u: t for u, t in changed.items() if t != self.sent.get(u, {})}
        now = time.monotonic()
        full = (whole or self.last_at is None or now - self.last_full >= self.full_every_s
                or (not changed and self.moved))
        self.moved = bool(changed)
        for unit, t in changed.items():
            if t:
                self.sent[unit] = t
            else:
                self.sent.pop(unit, None)
        base = None if full else self.last_at
        if full:
            self.last_full = now
            self.moved = False
        self.last_at = at
        return list(snapshot_messages(partition, at, self.sent if full else changed, base=base))


def tables_ready(app: faust.App) -> bool:
    """Faust has recovered the tables of this worker's current partitions: ``rebalancing`` lasts
    until recovery ends ("Worker ready"), ``in_recovery`` and the table manager's own
    ``actives_ready`` say the same from the recovery's side; all three are checked, as a figure
    built from a table still being recovered would miss dossiers for good."""
    return not app.rebalancing and not app.in_recovery and bool(app.tables.actives_ready)


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
    # The procedure catalogue (paper result, fee, certified copy judge a dossier), followed on
    # its compacted topic; a new version re-judges every dossier (in slices) at the next tick.
    catalogue = CatalogueView()

    def new_figures() -> LiveFigures:
        figures = LiveFigures()
        figures.set_catalogue(catalogue.catalogue())
        return figures

    async def read(topic: str, partition: int, handler: Any, start: int, stop: int | None) -> int:
        return await read_partition(bootstrap, topic, partition, handler, start=start, stop=stop,
                                    fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms)

    async def write(partition: int, records: list[tuple[bytes, bytes]]) -> None:
        await write_changelog(app, checkpoint, partition, records)

    # The source of truth is the source partition; a partition's figures (LiveFigures: the decoded
    # states and their running tallies) are recovered from its checkpoint and the source after it.
    checkpoint = checkpoint_topic(settings.worker.app_id)
    parts = Partitions(topics.dossier_events, checkpoint, read, write, new_figures)
    app.dossier_partitions = parts  # type: ignore[attr-defined]  # read by tests
    live = parts.live
    senders: dict[int, SnapshotSender] = {}
    open_rounds: dict[int, int] = {}  # partition -> judged count when its round began
    unassigned_since: dict[int, float] = {}  # assigned partitions not recovered yet: since when
    counters = {"consumed": 0, "dead_lettered": 0, "lag_ms": 0, "judged": 0, "judging_pending": 0,
                "replayed": 0, "checkpointed": 0}
    instance = f"{socket.gethostname()}-{os.getpid()}"
    judged_version = {"catalogue": 0}
    worker = settings.worker
    # How far behind its source the agent is: its last message's age when it came, and when that
    # was. A lag seen more than a tick ago no longer says there is a backlog (the agent may have
    # caught up and be waiting): judging then takes whole ticks again.
    behind = [0.0, 0.0]
    turn = [0]  # judging ticks so far: each starts its round robin at the next partition

    def in_backlog() -> bool:
        return behind[0] > BEHIND_S and time.monotonic() - behind[1] < 2 * worker.snapshot_interval_s

    @app.task
    async def follow_catalogue() -> None:
        await follow(bootstrap, topics.catalogue, catalogue.apply, lambda: app.should_stop,
                     fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms)

    async def forget_revoked(_app: Any, revoked: Any, *_: Any, **__: Any) -> None:
        """A revoked partition's figures are dropped: if it comes back (a rebalance can move it
        away and back between two ticks), another worker may have changed its dossiers, and they
        are recovered again from its checkpoint and source."""
        for partition in {tp.partition for tp in revoked if tp.topic == topics.dossier_events}:
            parts.forget(partition)
            unassigned_since.pop(partition, None)
            senders.pop(partition, None)
            open_rounds.pop(partition, None)

    app.on_partitions_revoked.connect(cast(Any, forget_revoked))  # mode's signal types want a plain callable

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
                behind[:] = [time.time() - message.timestamp, time.monotonic()]  # Faust gives seconds
                counters["lag_ms"] = max(counters["lag_ms"], int(behind[0] * 1000))
            else:
                behind[0] = 0.0
            try:
                decoded = decode_events(event.value)
            except UndecodableMessage as exc:
                await reject(str(exc), (event.value or b"").decode("utf-8", "replace"), message)
                continue
            figures = await parts.get(message.partition, message.offset)
            changed: set[str] = set()
            if message.offset < parts.next_offset.get(message.partition, 0):
                # Folded already: the snapshot timer recovered its partition up to the consumer's
                # position (an idle partition) while the message waited in Faust's buffer. Folding it
                # again would change nothing; only its verdicts are left to give.
                _, bad_links = read_links(decoded)
            else:
                bad_links = fold_message(figures, decoded, changed)
            counters["consumed"] += len(decoded.events)
            for position, item, reason in sorted(bad_links + decoded.rejected, key=lambda r: r[0]):
                await reject(reason, json.dumps(item, ensure_ascii=False, default=str), message, position)
            parts.folded(message.partition, message.offset, changed)

    async def final_snapshots(_app: Any, *_: Any, **__: Any) -> None:
        """A clean stop leaves each partition's whole figures, with every event consumed, on the
        snapshot topic: the sink stores whole snapshots only, and `ioc verify` compares the newest
        with the warehouse (Faust has stopped consuming and flushes the producer after this)."""
        now = clock.now()
        for partition, figures in sorted(live.items()):
            figures.start_round(now)  # an unfinished round is finished first, at its own instant
            figures.work(None)
            open_rounds.pop(partition, None)
            sender = senders.setdefault(partition, SnapshotSender(worker.full_snapshot_s))
            for message in sender.messages(partition, now, figures, whole=True):
                await snapshots.send(key=str(partition).encode(), value=message)
        await parts.checkpoint(backlog=False, every_s=worker.checkpoint_s)  # a restart replays nothing

    app.on_before_shutdown.connect(cast(Any, final_snapshots))  # mode's signal types want a plain callable

    @app.timer(settings.worker.snapshot_interval_s)
    async def emit_snapshots() -> None:
        # Not during a rebalance: the assignment and the committed offsets are not settled.
        if not tables_ready(app):
            return
        owned = {tp.partition: tp for tp in app.consumer.assignment() if tp.topic == topics.dossier_events}
        assigned = sorted(owned)
        for partition in (set(live) | set(unassigned_since)) - set(assigned):  # moved to another worker
            parts.forget(partition)
            unassigned_since.pop(partition, None)
            senders.pop(partition, None)
            open_rounds.pop(partition, None)
        now = clock.now()  # the instant the figures are judged at (due today, overdue, ...)
        if catalogue.version != judged_version["catalogue"]:
            judged_version["catalogue"] = catalogue.version
            for held in live.values():
                held.set_catalogue(catalogue.catalogue())
        for partition in assigned:
            if partition not in live:
                # No message of it since it was assigned (the agent recovers a partition at its first
                # message, up to that message): after IDLE_RECOVERY_S, recovered up to the consumer's position.
                # Faust has sought it (to the group's commit; Tansu answered those inconsistently in the
                # two-worker test: one partition rewound to an early commit, one read as never committed), the
                # agent's next message of it is at most there, and what it folds twice changes nothing.
                idle_since = unassigned_since.setdefault(partition, time.monotonic())
                if time.monotonic() - idle_since < IDLE_RECOVERY_S:
                    continue
                position = await app.consumer.position(owned[partition])
                if position is None:
                    continue
                await parts.get(partition, position)
            unassigned_since.pop(partition, None)
            ready = live.get(partition)  # None: revoked while it was recovered
            if ready is not None and partition not in open_rounds:  # else its round goes on, at its own instant
                open_rounds[partition] = ready.recomputed
                ready.start_round(now)
        # In slices, round robin, yielding to the agent between them; while the agent is behind its
        # source, at most a share of the tick, counted after every slice (counted per pass of all
        # partitions, four 10 ms slices, a share of 0.2 took a third of each tick: py-spy). A backlog (a
        # catalogue change, midnight, a burst of new dossiers) is then judged over several ticks while
        # the agent keeps consuming; each tick starts at the next partition, so none waits on the
        # others. A partition's snapshot goes out when its round is complete: its figures are then
        # those at the round's instant.
        budget = worker.judging_share * worker.snapshot_interval_s
        started = time.perf_counter()

        def over_budget() -> bool:
            # Asked after each slice: the agent runs between slices, and a message of a backlog it
            # takes then (its lag) ends a round that began when the flag had aged out.
            return in_backlog() and time.perf_counter() - started >= budget

        turn[0] += 1
        while open_rounds and not over_budget():
            order = sorted(open_rounds)
            k = turn[0] % len(order)
            for partition in order[k:] + order[:k]:
                figures = live.get(partition)
                if figures is None:  # revoked while a snapshot was sent
                    open_rounds.pop(partition, None)
                    continue
                if figures.work(worker.judging_slice_s):
                    counters["judged"] += figures.recomputed - open_rounds.pop(partition)
                    sender = senders.setdefault(partition, SnapshotSender(worker.full_snapshot_s))
                    # In parts (ioc.kpi.snapshots): a national partition's units outgrow one message.
                    # Keyed by partition, so one partition's parts stay in order on one topic partition.
                    assert figures.round_at is not None
                    for message in sender.messages(partition, figures.round_at, figures):
                        await snapshots.send(key=str(partition).encode(), value=message)
                if over_budget():
                    break
            await asyncio.sleep(0)
        counters["judging_pending"] = sum(live[p].round_pending for p in open_rounds if p in live)
        counters["replayed"] = parts.replayed
        await stats.send(value=stats_message("worker", instance, dict(counters)))
        counters["lag_ms"] = 0  # the largest lag seen since the previous report

    @app.timer(settings.worker.checkpoint_s)
    async def save_checkpoints() -> None:
        if not tables_ready(app):
            return
        counters["checkpointed"] += await parts.checkpoint(in_backlog(), worker.checkpoint_s)
