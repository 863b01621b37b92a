"""The Decision 766 report of each period the public pages show, from the warehouse, cached.

What is computed: exactly ``ioc kpi --from-warehouse --period P --at AT`` (the same functions,
:mod:`ioc.commands.kpi_warehouse`, with the command's default sources), where AT is the end of
the period once it has ended, else the clock's now (``ioc.clock``; tests pin it with IOC_NOW).
The reports keep their units' aggregates only: the report's dossier list is dropped on arrival.

When: a report is fresh for ``public.cache_s``. Every replay runs on one background thread,
never on a request's (a replay of a busy month takes seconds): a stale report is served while
its successor is computed; a period never computed is queued and its request waits a few
seconds for it (the views then answer 503 "computing" with Retry-After, and a page reloads
itself). Periods asked together are computed in one round, folding the events once per
evaluation instant (this month, quarter and year to date share one fold).
A closed period is not replayed again while the warehouse holds the same rows for it
(:func:`ioc.warehouse.queries.inputs_fingerprint`): its report would be identical. The
current period is replayed at each refresh, since its evaluation instant moves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Callable, Iterable

from ioc.clock import LOCAL_TZ
from ioc.commands.kpi_warehouse import (
    RowsNeeded,
    StoredRows,
    WarehouseInputs,
    command_sources,
    read_inputs,
    read_rows,
    replay_in_worker,
    reports,
)
from ioc.kpi.indicators import DEFAULT_PROVINCE, Sources
from ioc.kpi.periods import Period
from ioc.warehouse.backends import Warehouse
from ioc.warehouse.queries import inputs_fingerprint

log = logging.getLogger(__name__)

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=LOCAL_TZ)  # "every row": the inputs' own fingerprint
MAX_KEEP_FACTOR = 30  # a closed period is replayed at least every 30 cache periods, fingerprint or not


class Unavailable(RuntimeError):
    """No warehouse to read (the web process has none, or it refused)."""


class Computing(RuntimeError):
    """A period's first report is being computed and was not ready in time."""


@dataclass(frozen=True)
class PeriodReport:
    period: Period
    at: datetime  # the evaluation instant (``ioc kpi --at``)
    computed_at: datetime  # by the clock, when this replay ran
    report: dict[str, Any]  # contracts.md §3, without "dossiers"
    version: int  # a new number for every replay (rendered pages are cached per version)
    took_s: float = 0.0
    province: str = DEFAULT_PROVINCE
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)  # views derived from it

    @cached_property
    def rows(self) -> dict[str, dict[str, Any]]:
        """Unit code (the province's row under ``province``) -> its row of the report."""
        return {row["unit"]: row for row in self.report.get("units", [])}

    def row(self, unit: str | None) -> dict[str, Any] | None:
        return self.rows.get(unit or self.province)

    @property
    def closed(self) -> bool:
        return self.at >= self.period.end


@dataclass
class _Entry:
    report: PeriodReport
    fresh_until: float  # monotonic
    replay_by: float  # monotonic: a closed period is replayed by then whatever its fingerprint
    fingerprint: tuple[str, ...] | None  # closed periods: the rows it was computed from


class ReplayWorker:
    """One worker process (spawned, not forked: this process holds chDB and threads) that parses
    the stored rows and replays periods (:func:`ioc.commands.kpi_warehouse.replay_in_worker`).

    Why a process: a replay is seconds of pure Python; in a thread of the web process it held
    the interpreter long enough to stall every request (`ioc bench public`: p95 5.3 s while the
    current periods were replayed). The rows are sent once per change of the warehouse."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._sent: Any = None  # the key of the rows the worker holds

    def _start(self) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._sent = None
        return self._pool

    def run(self, key: Any, rows: Callable[[], StoredRows], periods: list[Period], at: datetime,
            province: str) -> list[dict[str, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        for attempt in range(3):
            pool = self._pool or self._start()
            send = rows() if self._sent != key else None
            try:
                out = pool.submit(replay_in_worker, key, send, periods, at, province).result()
                self._sent = key
                return out
            except RowsNeeded:
                self._sent = None
            except BrokenProcessPool:  # the worker died (killed, out of memory): a new one
                self._pool = None
                if attempt == 2:
                    raise
        raise RuntimeError("the replay worker keeps losing its rows")

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


@dataclass
class ReportStore:
    warehouse: Callable[[], Warehouse | None]
    ttl_s: float
    clock: Callable[[], datetime]
    province: str = DEFAULT_PROVINCE
    sources: Callable[[], Sources] = command_sources
    max_entries: int = 96
    monotonic: Callable[[], float] = time.monotonic
    processes: bool = True  # replay in a worker process (False: in the background thread itself)
    _entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)  # the entries
    _cond: threading.Condition = field(init=False)  # on _lock: a round of computations ended
    _failed: dict[str, str] = field(default_factory=dict, init=False)  # never computed: why the last try failed
    _compute: threading.Lock = field(default_factory=threading.Lock, init=False)  # one replay at a time
    _inputs: tuple[tuple[str, ...], float, WarehouseInputs] | None = field(default=None, init=False)
    _pending: dict[str, Period] = field(default_factory=dict, init=False)
    _wake: threading.Event = field(default_factory=threading.Event, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _version: int = field(default=0, init=False)
    computations: int = field(default=0, init=False)  # replays run (tests and the bench read it)
    last_error: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._cond = threading.Condition(self._lock)
        self._worker = ReplayWorker() if self.processes else None

    # -- reading ------------------------------------------------------------------------------

    def get(self, period: Period, wait_s: float | None = None) -> PeriodReport:
        return self.get_many([period], wait_s)[0]

    def get_many(self, periods: Iterable[Period], wait_s: float | None = None) -> list[PeriodReport]:
        """The report of each period, fresh or stale (a stale one is refreshed in the background).
        One never computed is computed by the background thread, all of them in one round, while
        this waits for them up to ``wait_s`` (None: as long as it takes). Raises
        :class:`Computing` when they are not ready by then, :class:`Unavailable` when their
        computation failed (no warehouse, or it refused)."""
        periods = list(periods)
        deadline = None if wait_s is None else time.monotonic() + wait_s  # real time, whatever the cache's clock
        with self._cond:
            for p in periods:
                if p.label not in self._entries:
                    self._failed.pop(p.label, None)  # a new attempt
            while True:
                found: dict[str, PeriodReport] = {}
                missing: list[Period] = []
                now = self.monotonic()
                for p in periods:
                    entry = self._entries.get(p.label)
                    if entry is None:
                        missing.append(p)
                        self._pending[p.label] = p
                        continue
                    self._entries.move_to_end(p.label)
                    found[p.label] = entry.report
                    if now >= entry.fresh_until:
                        self._pending[p.label] = p
                if self._pending:
                    self._start()
                    self._wake.set()
                if not missing:
                    return [found[p.label] for p in periods]
                failed = [self._failed[p.label] for p in missing if p.label in self._failed]
                if failed:
                    raise Unavailable(failed[0])
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise Computing(", ".join(p.label for p in missing))
                self._cond.wait(1.0 if left is None else min(1.0, left))

    def peek(self, period: Period) -> PeriodReport | None:
        with self._lock:
            entry = self._entries.get(period.label)
            return entry.report if entry else None

    # -- computing ----------------------------------------------------------------------------

    def _evaluation_instant(self, period: Period, now: datetime) -> datetime:
        return period.end if now >= period.end else now.astimezone(LOCAL_TZ)

    def _read_inputs(self, wh: Warehouse) -> WarehouseInputs:
        """The stored rows, read again only when they changed since the last read."""
        fingerprint = inputs_fingerprint(wh, FAR_FUTURE)
        cached = self._inputs
        if cached is not None and cached[0] == fingerprint:
            return cached[2]
        inputs = read_inputs(wh, self.sources())
        self._inputs = (fingerprint, self.monotonic(), inputs)
        return inputs

    def _replayer(self, wh: Warehouse) -> Callable[[list[Period], datetime], list[dict[str, Any]]]:
        """How this round replays: in the worker process (the rows sent when they changed), or here."""
        if self._worker is not None:
            worker = self._worker
            key = inputs_fingerprint(wh, FAR_FUTURE)
            return lambda group, at: worker.run(key, lambda: read_rows(wh, self.sources()), group, at, self.province)
        inputs = self._read_inputs(wh)
        return lambda group, at: reports(inputs, group, at, province=self.province)

    def _refresh(self, periods: list[Period]) -> list[PeriodReport]:
        """Compute (or confirm) the reports of ``periods``; the caller holds ``_compute``. Only
        this background thread calls it."""
        wh = self.warehouse()
        if wh is None:
            raise Unavailable("no warehouse")
        now = self.clock()
        started = self.monotonic()
        out: list[PeriodReport] = []
        by_instant: dict[datetime, list[Period]] = {}
        fingerprints: dict[datetime, tuple[str, ...]] = {}
        for p in periods:
            at = self._evaluation_instant(p, now)
            if at >= p.end:  # closed: unchanged rows, unchanged report
                fingerprints.setdefault(at, inputs_fingerprint(wh, at))
                with self._lock:
                    entry = self._entries.get(p.label)
                    if (entry is not None and entry.fingerprint == fingerprints[at] and entry.report.at == at
                            and started < entry.replay_by):
                        entry.fresh_until = started + self.ttl_s
                        out.append(entry.report)
                        continue
            by_instant.setdefault(at, []).append(p)
        current_at = now.astimezone(LOCAL_TZ)
        if current_at in by_instant:  # the other cached current periods share this round's fold
            with self._lock:
                others = [e.report.period for e in self._entries.values()
                          if not e.report.closed and e.report.period.end > current_at]
            group = by_instant[current_at]
            group += [p for p in others if p.label not in {g.label for g in group}]
        if by_instant:
            replay = self._replayer(wh)
            for at, group in sorted(by_instant.items()):
                t0 = time.perf_counter()
                jsons = replay(group, at)
                took = time.perf_counter() - t0
                for p, report in zip(group, jsons):
                    report.pop("dossiers", None)  # aggregates only, from here on
                    with self._lock:
                        self._version += 1
                        result = PeriodReport(p, at, now, report, self._version, took, self.province)
                        fresh = self.monotonic()
                        self._entries[p.label] = _Entry(result, fresh + self.ttl_s,
                                                        fresh + self.ttl_s * MAX_KEEP_FACTOR, fingerprints.get(at))
                        self._entries.move_to_end(p.label)
                        while len(self._entries) > self.max_entries:
                            self._entries.popitem(last=False)
                    self.computations += 1
                    out.append(result)
                log.info("public 766: %s at %s replayed in %.2f s", ",".join(p.label for p in group),
                         at.isoformat(), took)
        return out

    # -- the background refresher -----------------------------------------------------------

    def _start(self) -> None:
        """Start the background thread (the caller holds ``_lock``)."""
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="public-766-reports", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            with self._lock:
                pending, self._pending = list(self._pending.values()), {}
                now = self.monotonic()  # asked again while the last round ran, and fresh since: done
                pending = [p for p in pending if p.label not in self._entries
                           or self._entries[p.label].fresh_until <= now]
            if not pending or self._stop.is_set():
                with self._cond:
                    self._cond.notify_all()
                continue
            try:
                with self._compute:
                    self._refresh(pending)
                self.last_error = None
            except Exception as exc:  # keep serving the previous reports, say why
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("public 766: computing %s failed (%s); the previous reports stay",
                            ",".join(p.label for p in pending), self.last_error)
                with self._lock:  # stale ones: try again after another cache period, not in a loop
                    for p in pending:
                        entry = self._entries.get(p.label)
                        if entry is not None:
                            entry.fresh_until = self.monotonic() + self.ttl_s
                        else:
                            self._failed[p.label] = self.last_error
            with self._cond:
                self._cond.notify_all()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._worker is not None:
            self._worker.stop()


__all__ = ["Computing", "PeriodReport", "ReportStore", "Unavailable"]
