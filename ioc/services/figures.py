"""Live figures per system over a sliding window, JSON-ready for the wall.

Counters become increments per tick (:class:`~ioc.services.model.CounterDeltas`); the window
sums them. Latency percentiles are interpolated within histogram buckets like Prometheus'
``histogram_quantile`` (a quantile in the ``+Inf`` bucket reports the highest finite bound).
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta
from typing import Any, Iterable

from ioc.services.catalogue import METRICS, SOC_SEVERITIES, SYSTEMS
from ioc.services.model import CounterDeltas, ServiceMetric


def histogram_quantile(q: float, buckets: dict[float, float]) -> float | None:
    """``q`` quantile from cumulative bucket counts {upper bound: count}; None without data."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within 0..1, got {q}")
    bounds = sorted(buckets)
    if not bounds or bounds[-1] != math.inf or buckets[math.inf] <= 0:
        return None
    rank = q * buckets[math.inf]
    lower, below = 0.0, 0.0
    for upper in bounds:
        count = buckets[upper]
        if count >= rank and count > below:
            if upper == math.inf:
                return lower
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


def _is_counter(metric: str) -> bool:
    spec = METRICS.get(metric)
    return spec.kind == "counter" if spec else metric.endswith(("_total", "_bucket"))


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


class FigureBoard:
    """Feed samples as they come; ask for the figures of the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 300.0) -> None:
        self.window_s = window_s
        self._deltas = CounterDeltas()
        # system -> [(time, {key: increment})]; key = metric or metric{label}
        self._ticks: dict[str, deque[tuple[datetime, dict[str, float]]]] = {}
        self._gauges: dict[str, dict[tuple[str, str | None], float]] = {}  # latest value per (metric, unit)
        self._first: dict[str, datetime] = {}

    def observe(self, samples: Iterable[ServiceMetric]) -> None:
        for s in samples:
            self._first.setdefault(s.system, s.time)
            ticks = self._ticks.setdefault(s.system, deque())
            if not ticks or ticks[-1][0] != s.time:
                ticks.append((s.time, {}))
            inc = ticks[-1][1]
            if _is_counter(s.metric):
                label = s.labels.get("le") or s.labels.get("severity")
                key = f"{s.metric}{{{label}}}" if label else s.metric
                inc[key] = inc.get(key, 0.0) + self._deltas.delta(s)
            else:
                self._gauges.setdefault(s.system, {})[(s.metric, s.unit)] = s.value
                if s.metric == "up" and s.unit is None:
                    inc["probes"] = inc.get("probes", 0.0) + 1
                    inc["probes_up"] = inc.get("probes_up", 0.0) + (s.value >= 1)

    def figures(self, now: datetime) -> dict[str, Any]:
        start = now - timedelta(seconds=self.window_s)
        out: dict[str, Any] = {}
        for sid, ticks in self._ticks.items():
            while ticks and ticks[0][0] <= start:
                ticks.popleft()
            sums: dict[str, float] = {}
            for _, inc in ticks:
                for k, v in inc.items():
                    sums[k] = sums.get(k, 0.0) + v
            span = max(1.0, min(self.window_s, (now - self._first[sid]).total_seconds()))
            out[sid] = self._system(sid, sums, self._gauges.get(sid, {}), span)
        return {"at": now.isoformat(), "window_s": self.window_s, "systems": out}

    @staticmethod
    def _system(sid: str, sums: dict[str, float], gauges: dict[tuple[str, str | None], float],
                span: float) -> dict[str, Any]:
        spec = SYSTEMS.get(sid)
        fig: dict[str, Any] = {"name_vi": spec.name_vi if spec else sid, "name_en": spec.name_en if spec else sid,
                               "up": gauges.get(("up", None))}
        requests, errors = sums.get("requests_total", 0.0), sums.get("errors_total", 0.0)
        probes = _ratio(sums.get("probes_up", 0.0), sums.get("probes", 0.0))
        if "requests_total" in sums or (spec is not None and spec.sli == "requests"):
            fig["throughput_rps"] = requests / span
            fig["error_rate"] = _ratio(errors, requests)
            fig["availability"] = _ratio(requests - errors, requests)
            buckets = {float(k[len("latency_seconds_bucket{"):-1]): v
                       for k, v in sums.items() if k.startswith("latency_seconds_bucket{")}
            for q, name in ((0.5, "latency_p50_s"), (0.95, "latency_p95_s"), (0.99, "latency_p99_s")):
                fig[name] = histogram_quantile(q, buckets) if buckets else None
        else:
            fig["availability"] = probes
        if sid == "lienthong" or "documents_exchanged_total" in sums:
            exchanged = sums.get("documents_exchanged_total", 0.0)
            fig["documents_exchanged"] = exchanged
            fig["signed_share"] = _ratio(sums.get("documents_signed_total", 0.0), exchanged)
        if "signatures_total" in sums:
            fig["signatures"] = sums["signatures_total"]
            fig["certificates_issued"] = sums.get("certificates_issued_total", 0.0)
        if "records_synced_total" in sums:
            fig["records_synced"] = sums["records_synced_total"]
            fig["sync_lag_s"] = gauges.get(("sync_lag_seconds", None))
        if ("communes_count", None) in gauges:
            links = {unit: v for (metric, unit), v in gauges.items() if metric == "link_up" and unit}
            fig["communes_connected"] = gauges.get(("communes_connected", None))
            fig["communes_total"] = gauges[("communes_count", None)]
            fig["communes_down"] = sorted(u for u, v in links.items() if v < 1)
            fig["availability"] = _ratio(sum(v >= 1 for v in links.values()), len(links)) if links else probes
        if any(k.startswith("soc_alerts_total") for k in sums):
            fig["soc_alerts"] = {sev: sums.get(f"soc_alerts_total{{{sev}}}", 0.0) for sev in SOC_SEVERITIES}
        if ("spaces_capacity", None) in gauges:
            fig["spaces_occupied"] = gauges.get(("spaces_occupied", None))
            fig["spaces_total"] = gauges[("spaces_capacity", None)]
        return fig
