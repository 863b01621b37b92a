"""The dossier simulator across restarts (`ioc simulate --state FILE`; `ioc up` keeps
``DATA_DIR/simulator/state.json``).

Started again, the simulator must neither simulate its history anew (a new week of history
under the same dossier codes, with other event ids, would be counted a second time) nor drop
the rest of the lifecycles it had scheduled (dossiers received before a crash still finish).
So the file holds:

* its identity (seed, rate, history days, scale, province) and ``t0``, the instant it first
  started, written before anything is published: the whole run is a deterministic function of
  them (the arrivals, like the history, come from the seeded generator in time order, however
  the real-time loop slices them);
* a checkpoint, once there is one: the simulator's state (:meth:`DossierSimulator.state`) just
  after everything due by then was published.

A checkpoint is written only once the warehouse sink has committed offsets past the last message
published before it, i.e. once every event it covers is *stored*, not just acknowledged by the
broker: the embedded broker keeps its topics in memory, and `ioc up` rebuilds the stream from
the warehouse (ioc.broker.restore). Started again, the simulator goes on from the checkpoint and
publishes everything due after it, the events it had sent after the checkpoint included: a
resent event has the same id, so the dossier states and the warehouse take it once. With no
checkpoint yet, it replays the run from ``t0`` and resends all of it (same ids again).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from ioc.sim.dossiers import DossierSimulator

log = logging.getLogger(__name__)

VERSION = 1
EVERY_S = 30.0  # a candidate checkpoint this often (a week's schedule is ~10 MB of JSON)
CHECK_S = 2.0  # the sink's committed offsets read this often while candidates wait
MAX_PENDING = 60  # candidates kept while the sink lags (the oldest go first)


@dataclass
class Resume:
    sim: DossierSimulator
    next_arrival: datetime
    t0: datetime
    how: str  # fresh | checkpoint | replay


def identity(seed: int, rate: float, backfill_days: int, scale: str, home: tuple[str, str | None]) -> dict[str, Any]:
    return {"seed": seed, "rate": rate, "backfill_days": backfill_days, "scale": scale, "home": list(home)}


def write_atomic(path: Path, data: dict[str, Any] | str) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        print(f"simulator: {path} is unreadable ({exc}); starting afresh", file=sys.stderr, flush=True)
        return None
    return data if isinstance(data, dict) and data.get("version") == VERSION else None


def resume(path: Path, ident: dict[str, Any], now: datetime, seed: int,
           prepare: Callable[[datetime], DossierSimulator], people: Callable[[], Any]) -> Resume:
    """The simulator to run: from the checkpoint in ``path``, or replayed from its ``t0``, or
    (no file, or one of other settings) a fresh one whose identity is written first.
    ``prepare(t0)``: a new simulator with its history up to ``t0`` scheduled."""
    saved = load(path)
    if saved is not None and saved.get("identity") == ident:
        t0 = datetime.fromisoformat(saved["t0"])
        checkpoint = saved.get("checkpoint")
        if checkpoint:
            sim = DossierSimulator.from_state(checkpoint["sim"], seed, people())
            return Resume(sim, datetime.fromisoformat(checkpoint["next_arrival"]), t0, "checkpoint")
        return Resume(prepare(t0), t0, t0, "replay")
    if saved is not None:
        print(f"simulator: {path} was written with other settings ({saved.get('identity')}); starting afresh",
              file=sys.stderr, flush=True)
    write_atomic(path, {"version": VERSION, "identity": ident, "t0": now.isoformat(), "checkpoint": None})
    return Resume(prepare(now), now, now, "fresh")


class Checkpointer:
    """Takes a candidate checkpoint every :data:`EVERY_S` after a publish, and writes the newest
    candidate all of whose messages the sink has committed (see the module)."""

    def __init__(self, path: Path, ident: dict[str, Any], t0: datetime, bootstrap: str, topic: str,
                 sink_group: str, every_s: float = EVERY_S, fetch_max_wait_ms: int | None = None) -> None:
        self.path = path
        self.ident = ident
        self.t0 = t0
        self.bootstrap = bootstrap
        self.topic = topic
        self.sink_group = sink_group
        self.every_s = every_s
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.pending: list[tuple[dict[int, int], str, str]] = []  # (offsets to be committed, instant, file text)
        self.written_at: str | None = None  # the newest checkpoint written (its instant)
        self._last_candidate = float("-inf")
        self._last_check = float("-inf")
        self._consumer: Any = None

    async def start(self) -> "Checkpointer":
        from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, new_consumer

        # Never subscribes (so never fetches): only reads the sink group's committed offsets.
        self._consumer = new_consumer(self.bootstrap, group_id=self.sink_group,
                                      fetch_max_wait_ms=self.fetch_max_wait_ms or DEFAULT_FETCH_MAX_WAIT_MS)
        await self._consumer.start()
        return self

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def candidate(self, sim: DossierSimulator, next_arrival: datetime, at: datetime,
                        acked: dict[int, int]) -> None:
        """The state now, everything due by ``at`` published and acknowledged at ``acked``
        (the newest offset per partition of the messages sent so far)."""
        doc = {"version": VERSION, "identity": self.ident, "t0": self.t0.isoformat(),
               "checkpoint": {"at": at.isoformat(), "next_arrival": next_arrival.isoformat(), "sim": sim.state()}}
        # The state is a copy (its events are never changed): encoded off the publishing loop.
        text = await asyncio.to_thread(json.dumps, doc, ensure_ascii=False)
        self.pending.append(({p: off + 1 for p, off in acked.items()}, at.isoformat(), text))
        del self.pending[:-MAX_PENDING]

    async def committed(self) -> dict[int, int]:
        from aiokafka import TopicPartition

        partitions = sorted({p for needed, _, _ in self.pending for p in needed})
        out = {}
        for p in partitions:
            offset = await self._consumer.committed(TopicPartition(self.topic, p))
            out[p] = -1 if offset is None else int(offset)
        return out

    async def after_publish(self, sim: DossierSimulator, next_arrival: datetime, at: datetime,
                            acked: dict[int, int]) -> None:
        now = time.monotonic()
        if now - self._last_candidate >= self.every_s:
            self._last_candidate = now
            await self.candidate(sim, next_arrival, at, acked)
        if self.pending and now - self._last_check >= CHECK_S:
            self._last_check = now
            try:
                committed = await self.committed()
            except Exception as exc:  # the broker is busy or gone: try again later
                log.warning("simulator: the sink's offsets are unreadable (%s)", exc)
                return
            stored = [i for i, (needed, _, _) in enumerate(self.pending)
                      if all(committed.get(p, -1) >= off for p, off in needed.items())]
            if stored:
                newest = stored[-1]
                _, at_text, text = self.pending[newest]
                await asyncio.to_thread(write_atomic, self.path, text)  # megabytes, fsynced: off the loop
                self.written_at = at_text
                del self.pending[:newest + 1]
