"""SLOs and multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs").

The burn rate over a window is the share of bad events in it divided by the error budget
(1 - objective): 1 spends the budget exactly over the SLO period, 14.4 spends 2 % of a 30-day
budget in one hour. A :class:`~ioc.services.settings.BurnWindow` holds when the burn rate is at
least its factor over BOTH its long and its short window: the long one proves the problem is
significant, the short one makes the alert clear soon after recovery.

Incremental and pure: :class:`BurnRateEvaluator` takes (time, good, total) per tick and keeps
cumulative counts per ``resolution_s`` bucket, so any window sum is two look-ups.

Cold start: before the first sample the evaluator knows nothing. It counts that unseen part of
a window as healthy at the observed traffic (burn = bad / total x covered / window), so a hard
outage right after start still pages in minutes, while a short incident in the first hour does
not look like a three-day trend.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping, Sequence

from ioc.alerts.model import AlertKind, Signal
from ioc.services.catalogue import SYSTEMS, Catalogue
from ioc.services.catalogue import system as system_spec
from ioc.services.model import CounterDeltas, ServiceMetric
from ioc.services.settings import DEFAULT_BURN_WINDOWS, BurnWindow, ServicesSettings, SloDefinition


class BurnRateEvaluator:
    def __init__(self, objective: float, windows: Sequence[BurnWindow] = DEFAULT_BURN_WINDOWS,
                 resolution_s: float = 10.0) -> None:
        if not 0 < objective < 1:
            raise ValueError(f"objective: must be between 0 and 1 (exclusive), got {objective}")
        self.budget = 1 - objective
        self.windows = tuple(windows)
        self.resolution_s = resolution_s
        self._horizon = max(w.long_s for w in self.windows)
        self._idx: list[int] = []  # bucket numbers with data, ascending
        self._bad: list[float] = []  # cumulative bad events up to and including that bucket
        self._total: list[float] = []
        self._first: int | None = None

    def _bucket(self, at: datetime) -> int:
        return math.floor(at.timestamp() / self.resolution_s)

    def record(self, at: datetime, good: float, total: float) -> None:
        if total < 0 or good < 0 or good > total:
            raise ValueError(f"need 0 <= good <= total, got good={good}, total={total}")
        i = self._bucket(at)
        if self._idx and i < self._idx[-1]:
            raise ValueError(f"samples must arrive in time order: {at.isoformat()} is before the last bucket")
        if self._first is None:
            self._first = i
        bad = total - good
        if self._idx and self._idx[-1] == i:
            self._bad[-1] += bad
            self._total[-1] += total
        else:
            self._idx.append(i)
            self._bad.append((self._bad[-1] if self._bad else 0.0) + bad)
            self._total.append((self._total[-1] if self._total else 0.0) + total)
        self._trim(i)

    def _trim(self, now_idx: int) -> None:
        # Keep one bucket at or before the oldest window start: it is the baseline of the sums.
        cutoff = now_idx - round(self._horizon / self.resolution_s)
        k = bisect.bisect_right(self._idx, cutoff) - 1
        if k > 64:  # trim in chunks: amortised O(1) per record
            del self._idx[:k], self._bad[:k], self._total[:k]

    def _cum_at(self, i: int) -> tuple[float, float]:
        k = bisect.bisect_right(self._idx, i) - 1
        return (self._bad[k], self._total[k]) if k >= 0 else (0.0, 0.0)

    def burn_rate(self, window_s: float, now: datetime) -> float:
        """Burn rate over the window ending now; 0 without traffic in it."""
        if self._first is None:
            return 0.0
        now_idx = self._bucket(now)
        n = round(window_s / self.resolution_s)
        bad_now, total_now = self._cum_at(now_idx)
        bad_start, total_start = self._cum_at(now_idx - n)
        total = total_now - total_start
        if total <= 0:
            return 0.0
        covered = min(n, now_idx - self._first + 1) / n
        return (bad_now - bad_start) / total * covered / self.budget

    def holding(self, now: datetime) -> list[BurnWindow]:
        """The alert conditions that hold now."""
        return [w for w in self.windows
                if self.burn_rate(w.long_s, now) >= w.factor and self.burn_rate(w.short_s, now) >= w.factor]


class SliReader:
    """Good and total events of one SLO from one tick's samples of its system."""

    def __init__(self, system: str, slo: SloDefinition, catalogue: Catalogue | None = None) -> None:
        self.system = system
        self.slo = slo
        self.kind = system_spec(system, catalogue).sli if slo.sli == "availability" else "latency"
        self._deltas = CounterDeltas()

    def read(self, samples: Iterable[ServiceMetric]) -> tuple[float, float]:
        good = total = 0.0
        buckets: dict[float, float] = {}
        for s in samples:
            if s.system != self.system:
                continue
            if self.kind == "probe" and s.metric == "up" and s.unit is None:
                total += 1
                good += s.value >= 1
            elif self.kind == "links" and s.metric == "link_up":
                total += 1
                good += s.value >= 1
            elif self.kind in ("requests", "latency") and s.metric == "requests_total" and s.unit is None:
                total += self._deltas.delta(s)
            elif self.kind == "requests" and s.metric == "errors_total" and s.unit is None:
                good -= self._deltas.delta(s)  # subtracted from the total below
            elif self.kind == "latency" and s.metric == "latency_seconds_bucket" and s.unit is None:
                le = float(s.label("le", "nan"))
                if le <= self.slo.latency_threshold_s:  # type: ignore[operator]
                    buckets[le] = self._deltas.delta(s)
                else:
                    self._deltas.delta(s)
        if self.kind == "requests":
            good = total + good
        elif self.kind == "latency":
            # Requests within the threshold: the largest bucket bound not above it.
            good = buckets[max(buckets)] if buckets else 0.0
        total = max(total, 0.0)
        return min(max(good, 0.0), total), total


@dataclass
class _Watched:
    system: str
    slo: SloDefinition
    reader: SliReader
    evaluator: BurnRateEvaluator
    severity: str | None = None  # of the raised alert, None when not raised


_SLI_VI = {"availability": "khả dụng", "latency": "thời gian phản hồi"}


def _percent_vi(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + " %"  # Vietnamese decimal comma


def _duration_vi(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{seconds / 86400:g} ngày"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} giờ"
    return f"{seconds / 60:g} phút"


class SloWatch:
    """Every system's SLOs: feed each tick's samples, get raise/clear signals on changes."""

    def __init__(self, slos: Mapping[str, Sequence[SloDefinition]],
                 windows: Sequence[BurnWindow] = DEFAULT_BURN_WINDOWS, resolution_s: float = 10.0,
                 catalogue: Catalogue | None = None) -> None:
        self._names = {sid: spec.name_vi for sid, spec in (catalogue or SYSTEMS).items()}
        self._watched = [
            _Watched(sid, slo, SliReader(sid, slo, catalogue), BurnRateEvaluator(slo.objective, windows, resolution_s))
            for sid, defs in slos.items() for slo in defs
        ]

    @classmethod
    def from_settings(cls, settings: ServicesSettings) -> "SloWatch":
        return cls(settings.slo, settings.burn_windows, settings.resolution_s, settings.catalogue())

    def observe(self, samples: Sequence[ServiceMetric], now: datetime) -> list[Signal]:
        """Record one tick (samples of any systems, possibly none) and evaluate at ``now``."""
        by_system: dict[str, list[ServiceMetric]] = {}
        for s in samples:
            by_system.setdefault(s.system, []).append(s)
        signals: list[Signal] = []
        for w in self._watched:
            mine = by_system.get(w.system)
            if mine:
                good, total = w.reader.read(mine)
                w.evaluator.record(now, good, total)
            holding = w.evaluator.holding(now)
            severity = "critical" if any(h.severity == "critical" for h in holding) else (
                "warning" if holding else None)
            if severity == w.severity:
                continue
            w.severity = severity
            if severity is None:
                name = self._names.get(w.system, w.system)
                signals.append(self._signal(w, "clear", "info", now,
                                            f"{name}: SLO {_SLI_VI[w.slo.sli]} đã ổn định trở lại"))
            else:
                worst = max(holding, key=lambda h: h.factor)
                rate = w.evaluator.burn_rate(worst.short_s, now)
                signals.append(self._signal(
                    w, "raise", severity, now,
                    f"{self._names.get(w.system, w.system)}: ngân sách lỗi SLO {_SLI_VI[w.slo.sli]} "
                    f"{_percent_vi(w.slo.objective)} đang bị tiêu hao nhanh gấp {rate:.0f} lần "
                    f"(cửa sổ {_duration_vi(worst.long_s)} và {_duration_vi(worst.short_s)})"))
        return signals

    def burn_rates(self, now: datetime) -> dict[str, dict[str, dict[str, float]]]:
        """system -> SLO name -> window ("3600s") -> burn rate, for the wall."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for w in self._watched:
            lengths = sorted({x for b in w.evaluator.windows for x in (b.long_s, b.short_s)})
            out.setdefault(w.system, {})[w.slo.name] = {f"{x:g}s": w.evaluator.burn_rate(x, now) for x in lengths}
        return out

    @staticmethod
    def _signal(w: _Watched, op: str, severity: str, now: datetime, summary: str) -> Signal:
        return Signal(op=op, source="service", system=w.system, kind=AlertKind.SLO_BURN, severity=severity,
                      at=now, summary=summary, labels={"slo": w.slo.name})
