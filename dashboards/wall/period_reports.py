"""Quarter and year to date for the wall's scorecard, replayed from the warehouse in the background.

Why: the live figures (ioc.kpi.live) are month-to-date tallies; the portal also publishes the
quarter and the year. The web process owns the warehouse connection (dashboards/server.py), so a
small job here reads the stored events every few minutes and replays them with the very code
`ioc kpi --from-warehouse` runs (:func:`ioc.commands.kpi_replay.replay`, with the live sources:
catalogue, national report, unit levels, petitions). It runs on its own thread, never on a Dash
callback's: a year of events takes seconds to fold. Until its first result the scene says it is
computing; a failed round keeps the previous result and names the failure.

What is read: every event of the dossiers that still look open or have an event since the start
of the year (a superset of what the quarter and the year count: a dossier that ended before the
period is not counted, rule A of ioc.kpi.indicators; the same rows as ioc.warehouse.queries
.stored_events minus the dossiers closed before the year), and every stored petition event
(queries.stored_petitions).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from ioc import clock as ioc_clock
from ioc.domain.events import DossierEvent, EventRejected, parse_event
from ioc.kpi.indicators import Sources
from ioc.kpi.periods import period_to_date
from ioc.warehouse.queries import stored_petitions

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("quarter", "year")
EVERY_S = 180.0  # a new replay this often (the wall's month stays live meanwhile)


@dataclass(frozen=True)
class PeriodResult:
    """One replay of a period to date: the province's and every unit's figures, as the wall's
    views (``wall_view``'s keys: indicators, groups, missing, score, max_score, band, ...)."""

    kind: str  # quarter | year
    label: str  # the period's label, e.g. 2026-Q4, 2026
    at: datetime  # the evaluation instant (when the events were read)
    province: dict[str, Any] | None  # None: no dossier in the period
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    took_s: float = 0.0
    error: str | None = None  # the last round failed (the figures are the previous round's)


def report_view(row: dict[str, Any], profile: str | None) -> dict[str, Any]:
    """A unit row of the replay's report (contracts.md §3) in the shape of ``wall_view``."""
    indicators = {k: {"indicator": k, **v} for k, v in row.get("indicators", {}).items()}
    ontime = indicators.get("2.1")
    return {
        **row.get("figures", {}),
        "ontime_rate": ontime["ratio"] if ontime else None,
        "indicators": indicators,
        "groups": row.get("groups", {}),
        "missing": row.get("missing", {}),
        "quality": row.get("quality", {}),
        "score": row.get("total_score", 0.0),
        "max_score": row.get("max_score", row.get("max_total", 0)),
        "band": row.get("band"),
        "profile": profile,
    }


def events_since(wh: Any, since: datetime) -> list[DossierEvent]:
    """Every stored event (once per id) of the dossiers with an event at or after ``since`` or no
    stored end (status 7-10): what a replay of a period starting at ``since`` needs."""
    rows = wh.query(
        f"""
        SELECT any(payload)
        FROM {wh.database}.dossier_events
        WHERE dossier_code IN (
            SELECT dossier_code FROM {wh.database}.dossier_events
            GROUP BY dossier_code
            HAVING max(occurred_at) >= toDateTime({{since:UInt32}}) OR countIf(status >= 7 AND status <= 10) = 0
        )
        GROUP BY event_id
        """,
        {"since": int(since.timestamp())},
    )
    out = []
    for (payload,) in rows:
        try:
            out.append(parse_event(json.loads(payload)))
        except (ValueError, EventRejected) as exc:
            raise ValueError(f"a stored event does not parse ({exc}): {payload[:200]}") from None
    return out


def compute(events: list[DossierEvent], petitions: list[Any], kind: str, now: datetime, sources: Sources,
            province: str) -> PeriodResult:
    """Replay ``kind`` (quarter or year) to date at ``now``: the same call as `ioc kpi`."""
    from ioc.commands.kpi_replay import replay

    started = time.monotonic()
    period = period_to_date(now, kind)  # type: ignore[arg-type]
    report = replay(events, period, now, province=province, sources=sources, petitions=petitions)
    profile = report.get("scoring", {}).get("profile")
    rows = {row["unit"]: report_view(row, profile) for row in report.get("units", [])}
    whole = rows.pop(province, None)
    return PeriodResult(kind, period.label, now, whole, rows, time.monotonic() - started)


class PeriodReports:
    """The background job: :meth:`latest` is what the wall reads (cheap, any thread)."""

    def __init__(self, warehouse: Callable[[], Any], sources: Callable[[], Sources], province: str,
                 clock: Callable[[], datetime] = ioc_clock.now, every_s: float = EVERY_S,
                 kinds: tuple[str, ...] = KINDS) -> None:
        self.warehouse, self.sources, self.province = warehouse, sources, province
        self.clock, self.every_s, self.kinds = clock, every_s, kinds
        self._results: dict[str, PeriodResult] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.rounds = 0

    def latest(self) -> dict[str, PeriodResult]:
        """The newest result of each kind (none before the first round); the first reader starts
        the job if :meth:`start` was not called."""
        self.start()
        with self._lock:
            return dict(self._results)

    def start(self) -> "PeriodReports":
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="wall-period-reports", daemon=True)
                    self._thread.start()
        return self

    def refresh(self) -> None:
        """Start a round now (e.g. after an import) instead of at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def run_once(self) -> dict[str, PeriodResult]:
        """One round: read the warehouse once, replay every kind."""
        now = self.clock()
        wh = self.warehouse()
        if wh is None:
            raise RuntimeError("no warehouse connection")
        since = min(period_to_date(now, k).start for k in self.kinds)  # type: ignore[arg-type]
        events = events_since(wh, since)
        petitions = stored_petitions(wh)  # all of them: few, and a petition's period is judged in the replay
        sources = self.sources()
        out = {kind: compute(events, petitions, kind, now, sources, self.province) for kind in self.kinds}
        with self._lock:
            self._results.update(out)
        self.rounds += 1
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # keep the previous figures, name the failure, retry
                log.warning("wall: quarter/year replay failed: %s", exc)
                why = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self._results = {k: _failed(self._results.get(k), k, why, self.clock()) for k in self.kinds}
            self._wake.wait(self.every_s)
            self._wake.clear()


def _failed(previous: PeriodResult | None, kind: str, why: str, now: datetime) -> PeriodResult:
    if previous is None:
        return PeriodResult(kind, period_to_date(now, kind).label, now, None, {}, 0.0, why)  # type: ignore[arg-type]
    return PeriodResult(previous.kind, previous.label, previous.at, previous.province, previous.units,
                        previous.took_s, why)


__all__ = ["EVERY_S", "KINDS", "PeriodReports", "PeriodResult", "compute", "events_since", "report_view"]
