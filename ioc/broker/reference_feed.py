"""Reference data as every process knows it: compacted topics, read whole and followed.

Why: `ioc catalogue import` (and `ioc up`, with the SAMPLE catalogue) publish one message per
(procedure, valid_from) row, keyed ``code|valid_from``, on a compacted topic; `ioc import
--national-scores/--national-report` publish the national portal's published figures the same
way. The stream worker needs the catalogue to judge dossiers (paper result, fee, certified copy)
and the web needs all of it for the index; both read the topics from their beginning and then
follow them, so a new import reaches the live figures within a tick. A message with an empty
value deletes its key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any, Awaitable, Callable

from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, EARLIEST, ConsumerLoop, Subscription
from ioc.kpi.national import NationalReport, NationalScore, rank_scores
from ioc.reference.catalogue import Catalogue, CatalogueRow

log = logging.getLogger(__name__)


class CatalogueView:
    """The newest rows seen on the topic; :attr:`version` grows with every change (thread-safe)."""

    def __init__(self) -> None:
        self._rows: dict[str, CatalogueRow] = {}
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None
        self.version = 0

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        name = (key or b"").decode()
        try:
            row = CatalogueRow.from_json(json.loads(value)) if value else None
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("catalogue: unreadable row %r: %s", name, exc)
            return
        with self._lock:
            if row is None:
                self._rows.pop(name, None)
            else:
                self._rows[name or f"{row.procedure_code}|{row.valid_from.isoformat()}"] = row
            self._catalogue = None
            self.version += 1

    def catalogue(self) -> Catalogue | None:
        """The catalogue of the rows seen (None before the first row)."""
        with self._lock:
            if self._catalogue is None and self._rows:
                self._catalogue = Catalogue(tuple(self._rows.values()))
            return self._catalogue


class NationalView:
    """The national portal's published scores and report counts (thread-safe). Keys:
    ``score|PROVINCE|PERIOD`` -> {"score"}, ``report|UNIT|PERIOD`` -> {"dossiers"}."""

    def __init__(self) -> None:
        self._values: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.version = 0

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        name = (key or b"").decode()
        try:
            data = json.loads(value) if value else None
        except ValueError as exc:
            log.warning("national reference: unreadable %r: %s", name, exc)
            return
        with self._lock:
            if data is None:
                self._values.pop(name, None)
            else:
                self._values[name] = data
            self.version += 1

    def scores(self) -> list[NationalScore]:
        with self._lock:
            items = [(k.split("|"), v) for k, v in self._values.items() if k.startswith("score|")]
        return rank_scores([(parts[1], parts[2], float(v["score"])) for parts, v in items if len(parts) == 3])

    def report(self) -> NationalReport | None:
        with self._lock:
            counts = {(p[1], p[2]): int(v["dossiers"]) for k, v in self._values.items()
                      if k.startswith("report|") and len(p := k.split("|")) == 3}
        return NationalReport(counts) if counts else None


def reference_loop(bootstrap: str, topic: str, apply: Callable[[bytes | None, bytes | None], None], *,
                   fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> ConsumerLoop:
    """A reader of ``topic`` (one partition) from its beginning into ``apply``, then following it;
    every process reads every row."""

    def handle(records: list[Any]) -> None:
        for msg in records:
            apply(msg.key, msg.value)

    # Reference topics have one partition (ioc.topics).
    return ConsumerLoop(bootstrap, [Subscription(topic, EARLIEST, (0,))], handle, name=f"reference feed {topic}",
                        poll_ms=500, fetch_max_wait_ms=fetch_max_wait_ms)


async def follow(bootstrap: str, topic: str, apply: Callable[[bytes | None, bytes | None], None],
                 stopped: Callable[[], bool], pause: Callable[[float], Awaitable[Any]] = asyncio.sleep, *,
                 fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
    """Read ``topic`` into ``apply`` until ``stopped()`` (:func:`reference_loop`, reconnecting
    after a broker failure)."""
    await reference_loop(bootstrap, topic, apply, fetch_max_wait_ms=fetch_max_wait_ms).run(stopped, pause)
