"""The dossier agent's state per source partition: the source partition is the changelog.

A dossier's state is a pure function of the *set* of its events (ioc.domain.dossier), so nothing
is written per source message (Kafka Streams' source-topic changelog): a partition's states are
recovered by folding its source messages again. A **checkpoint** only bounds that replay: every
``worker.checkpoint_s`` the states changed since the last one go to the compacted topic
``{app id}-dossiers-changelog`` (the topic ``ioc restore`` fills from the warehouse), followed
by a marker holding the source offset they cover. Recovery reads the checkpoint partition to its
end (the last value of each dossier, the last marker's offset) and folds the source from that
offset up to the first offset the agent will handle.

Why it is exact: a checkpoint's states hold at least every event below its marker (a state may
hold later ones: folding an event twice changes nothing), and the replay covers the rest.
Measured (README, Benchmarks "pipeline"): the per-message changelog batch was about a third of
the agent's time.

While the agent is behind its source (a backlog) checkpoints wait, up to ``10 x checkpoint_s``:
the backlog is in the source, and a recovery would replay it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from typing import Any, Awaitable, Callable, Iterable

from ioc.domain.dossier import DossierState, apply_complaint, apply_event, decode_entry, encode_entry
from ioc.domain.events import Decoded, decode_events
from ioc.kpi.live import LiveFigures

log = logging.getLogger(__name__)

MARKER = b"\x00offset"  # a checkpoint's last record: {"offset": N}, no dossier code starts with NUL
ENCODE_SLICE = 2_000  # states encoded between two yields to the agent's loop


def marker_value(offset: int) -> bytes:
    return json.dumps({"offset": offset}).encode()


class CheckpointLog:
    """What a checkpoint partition says, read in order: the last value of each dossier and the
    offset of the last marker (0 with none: ``ioc restore`` writes states of an empty source)."""

    def __init__(self) -> None:
        self.values: dict[bytes, bytes] = {}
        self.offset = 0

    def add(self, records: Iterable[Any]) -> None:
        for m in records:
            if m.key == MARKER:
                self.offset = int(json.loads(m.value)["offset"])
            elif m.value is not None:
                self.values[m.key] = m.value

    def states(self, partition: int) -> Iterable[DossierState]:
        for value in self.values.values():
            p, state = decode_entry(value)
            if p == partition:
                yield state


def read_links(decoded: Decoded) -> tuple[list[tuple[str, datetime, str]], list[tuple[int, Any, str]]]:
    """A message's petition links (streams/pakn.py: a petition naming a dossier is a complaint for
    its 5.4) as (dossier code, time, link id), and those that cannot be read as (position, item,
    reason)."""
    links, bad = [], []
    for position, item in decoded.links:
        try:
            links.append((item["dossier_code"], datetime.fromisoformat(item["occurred_at"]), item["event_id"]))
        except (KeyError, TypeError, ValueError) as exc:
            bad.append((position, item, f"pakn link: {exc}"))
    return links, bad


def fold_message(figures: LiveFigures, decoded: Decoded, changed: set[str]) -> list[tuple[int, Any, str]]:
    """One decoded source message folded into its partition's figures (each changed dossier is
    judged at the next round, and its code added to ``changed``); returns the petition links
    that could not be read, as (position, item, reason)."""
    states = figures.states
    for ev in decoded.events:
        code = ev.dossier_code
        state = states.get(code)
        new = apply_event(state, ev)
        if new is not state:
            figures.touch(new)
            changed.add(code)
    links, bad = read_links(decoded)
    for code, when, link in links:
        state = figures.get(code)
        new = apply_complaint(state, code, when, link)
        if new is not state:
            figures.touch(new)
            changed.add(code)
    return bad


# read(topic, partition, handler, start, stop) -> records handed on (ioc.broker.read_to_end.read_partition)
Reader = Callable[[str, int, Callable[[list[Any]], None], int, "int | None"], Awaitable[int]]
# write(partition, records): one checkpoint's records, in order, on the checkpoint partition
Writer = Callable[[int, list[tuple[bytes, bytes]]], Awaitable[None]]


class Partitions:
    """The live figures of the source partitions this worker owns, each recovered the first time
    it is needed after an assignment, and their checkpoints."""

    def __init__(self, source_topic: str, checkpoint_topic: str, read: Reader, write: Writer,
                 new_figures: Callable[[], LiveFigures]) -> None:
        self.source_topic, self.checkpoint_topic = source_topic, checkpoint_topic
        self.read, self.write, self.new_figures = read, write, new_figures
        self.live: dict[int, LiveFigures] = {}
        self.next_offset: dict[int, int] = {}  # the source offset after the last one folded
        self.unsaved: dict[int, set[str]] = {}  # dossiers changed since the partition's last checkpoint
        self.saved: dict[int, tuple[int, float]] = {}  # (offset, monotonic time) of the last checkpoint
        self.replayed = 0  # source events folded by recoveries (stats)
        self._locks: dict[int, asyncio.Lock] = {}

    def forget(self, partition: int) -> None:
        """The partition went to another worker (or may come back changed): recovered anew if needed."""
        for d in (self.live, self.next_offset, self.unsaved, self.saved):
            d.pop(partition, None)

    async def get(self, partition: int, upto: int | None) -> LiveFigures:
        """The partition's figures, recovered first if needed: its checkpoint, then the source
        folded up to ``upto`` (the offset the agent handles next; None: the checkpoint alone, for
        a partition that has nothing committed, whose whole source the agent will fold)."""
        figures = self.live.get(partition)
        if figures is not None:
            return figures
        async with self._locks.setdefault(partition, asyncio.Lock()):
            figures = self.live.get(partition)
            if figures is None:
                figures = await self._recover(partition, upto)
        return figures

    async def _recover(self, partition: int, upto: int | None) -> LiveFigures:
        started = time.perf_counter()
        checkpoint = CheckpointLog()
        await self.read(self.checkpoint_topic, partition, checkpoint.add, 0, None)
        figures = self.new_figures()
        for state in checkpoint.states(partition):
            figures.touch(state)
        start = checkpoint.offset
        stop = start if upto is None else max(start, upto)
        replayed = [0]
        ignored: set[str] = set()

        def fold(records: list[Any]) -> None:
            for m in records:
                try:
                    decoded = decode_events(m.value)
                except Exception:
                    continue
                replayed[0] += len(decoded.events)
                fold_message(figures, decoded, ignored)

        await self.read(self.source_topic, partition, fold, start, stop)
        self.replayed += replayed[0]
        self.live[partition] = figures
        self.next_offset[partition] = stop
        self.unsaved[partition] = set(ignored)  # replayed changes go into the next checkpoint
        self.saved[partition] = (start, time.monotonic())
        log.info("partition %d recovered: %d dossiers from its checkpoint (offset %d), %d events replayed "
                 "from the source up to offset %d, in %.2f s", partition, len(checkpoint.values), start,
                 replayed[0], stop, time.perf_counter() - started)
        return figures

    def folded(self, partition: int, offset: int, changed: set[str]) -> None:
        """The agent folded the source message at ``offset``, changing ``changed`` (a partition
        recovered past it, having nothing committed, keeps its recovered offset)."""
        self.next_offset[partition] = max(self.next_offset.get(partition, 0), offset + 1)
        if changed:
            self.unsaved.setdefault(partition, set()).update(changed)

    async def checkpoint(self, backlog: bool, every_s: float) -> int:
        """A checkpoint of each live partition whose states or offset moved since its last one
        (during a backlog only when that is ``10 x every_s`` old); returns records written."""
        written = 0
        for partition, figures in list(self.live.items()):
            offset = self.next_offset.get(partition, 0)
            saved_offset, saved_at = self.saved.get(partition, (-1, float("-inf")))
            if offset == saved_offset and not self.unsaved.get(partition):
                continue
            if backlog and time.monotonic() - saved_at < 10 * every_s:
                continue
            written += await self._save(partition, figures, offset)
        return written

    async def _save(self, partition: int, figures: LiveFigures, offset: int) -> int:
        codes = self.unsaved.get(partition) or set()
        self.unsaved[partition] = set()  # what changes from here on goes into the next one
        records: list[tuple[bytes, bytes]] = []
        for i, code in enumerate(codes):
            state = figures.get(code)
            if state is not None:  # its current state: it holds at least the events below ``offset``
                records.append((code.encode(), encode_entry(partition, state)))
            if i % ENCODE_SLICE == ENCODE_SLICE - 1:
                await asyncio.sleep(0)
                if self.live.get(partition) is not figures:  # revoked meanwhile: its new owner recovers it
                    return 0
        records.append((MARKER, marker_value(offset)))
        await self.write(partition, records)
        self.saved[partition] = (offset, time.monotonic())
        return len(records)
