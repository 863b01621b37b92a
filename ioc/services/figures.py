"""Live figures per system over a sliding window and for the local day, JSON-ready for the wall.

Counters become increments per tick (:class:`~ioc.services.model.CounterDeltas`); the window
sums them, and so does the day ("today" figures: the increase seen since local midnight, or
since this process started, whichever is later: counters restart with their exporter).
Latency percentiles are interpolated within histogram buckets like Prometheus'
``histogram_quantile`` (a quantile in the ``+Inf`` bucket reports the highest finite bound).
"""

from __future__ import annotations

import math
from collections import deque
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from ioc.clock import LOCAL_TZ
from ioc.services.catalogue import SOC_SEVERITIES, SYSTEMS, Catalogue, SystemSpec, is_counter
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


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _key(s: ServiceMetric) -> str:
    """A counter's key in the sums: metric, or metric{label} for a histogram bucket or a severity."""
    label = s.labels.get("le") or s.labels.get("severity")
    return f"{s.metric}{{{label}}}" if label else s.metric


class FigureBoard:
    """Feed samples as they come; ask for the figures of the last ``window_s`` seconds and of today."""

    def __init__(self, window_s: float = 300.0, systems: Catalogue | None = None) -> None:
        self.window_s = window_s
        self.systems = SYSTEMS if systems is None else systems
        self._deltas = CounterDeltas()
        # system -> [(time, {key: increment})]; key = metric or metric{label}
        self._ticks: dict[str, deque[tuple[datetime, dict[str, float]]]] = {}
        self._gauges: dict[str, dict[tuple[str, str | None], float]] = {}  # latest value per (metric, unit)
        self._lots: dict[str, dict[str, dict[str, Any]]] = {}  # system -> car park -> its gauges
        self._incidents: dict[str, dict[str, str]] = {}  # system -> open SOC incident id -> severity
        self._today: dict[str, tuple[date, dict[str, float]]] = {}  # system -> (local day, {key: increase})
        self._first: dict[str, datetime] = {}

    def observe(self, samples: Iterable[ServiceMetric]) -> None:
        for s in samples:
            self._first.setdefault(s.system, s.time)
            ticks = self._ticks.setdefault(s.system, deque())
            if not ticks or ticks[-1][0] != s.time:
                ticks.append((s.time, {}))
            inc = ticks[-1][1]
            if is_counter(s.metric):
                key = _key(s)
                delta = self._deltas.delta(s)
                inc[key] = inc.get(key, 0.0) + delta
                if s.unit is None and "le" not in s.labels:
                    day = s.time.astimezone(LOCAL_TZ).date()
                    known, today = self._today.get(s.system, (day, {}))
                    if known != day:  # midnight: today's figures start again
                        today = {}
                    today[key] = today.get(key, 0.0) + delta
                    self._today[s.system] = (day, today)
            elif s.metric == "soc_incident":
                open_ = self._incidents.setdefault(s.system, {})
                if s.value >= 1:
                    open_[s.label("id")] = s.label("severity")
                else:
                    open_.pop(s.label("id"), None)
            elif "lot" in s.labels:
                lot = self._lots.setdefault(s.system, {}).setdefault(s.labels["lot"], {})
                lot["name"] = s.labels.get("name") or s.labels["lot"]
                lot[s.metric] = s.value
            else:
                self._gauges.setdefault(s.system, {})[(s.metric, s.unit)] = s.value
                if s.metric == "up" and s.unit is None:
                    inc["probes"] = inc.get("probes", 0.0) + 1
                    inc["probes_up"] = inc.get("probes_up", 0.0) + (s.value >= 1)

    def figures(self, now: datetime) -> dict[str, Any]:
        start = now - timedelta(seconds=self.window_s)
        day = now.astimezone(LOCAL_TZ).date()
        out: dict[str, Any] = {}
        for sid, ticks in self._ticks.items():
            while ticks and ticks[0][0] <= start:
                ticks.popleft()
            sums: dict[str, float] = {}
            for _, inc in ticks:
                for k, v in inc.items():
                    sums[k] = sums.get(k, 0.0) + v
            span = max(1.0, min(self.window_s, (now - self._first[sid]).total_seconds()))
            known, today = self._today.get(sid, (day, {}))
            fig = self._system(self.systems.get(sid), sid, sums, self._gauges.get(sid, {}), span,
                               today if known == day else {})
            if sid in self._incidents:
                fig["soc_open"] = {sev: sum(1 for v in self._incidents[sid].values() if v == sev)
                                   for sev in SOC_SEVERITIES}
            if sid in self._lots:  # in the order the source lists them
                fig["lots"] = [{"lot": lot, "name": g["name"], "occupied": g.get("spaces_occupied"),
                                "capacity": g.get("spaces_capacity")} for lot, g in self._lots[sid].items()]
            out[sid] = fig
        return {"at": now.isoformat(), "window_s": self.window_s, "systems": out}

    @staticmethod
    def _system(spec: SystemSpec | None, sid: str, sums: dict[str, float],
                gauges: dict[tuple[str, str | None], float], span: float, today: dict[str, float]) -> dict[str, Any]:
        fig: dict[str, Any] = {"name_vi": spec.name_vi if spec else sid, "name_en": spec.name_en if spec else sid,
                               "up": gauges.get(("up", None))}

        def gauge(metric: str) -> float | None:
            return gauges.get((metric, None))

        requests, errors = sums.get("requests_total", 0.0), sums.get("errors_total", 0.0)
        probes = _ratio(sums.get("probes_up", 0.0), sums.get("probes", 0.0))
        if "requests_total" in sums or (spec is not None and spec.sli == "requests"):
            fig["throughput_rps"] = requests / span
            fig["error_rate"] = _ratio(errors, requests)
            fig["availability"] = _ratio(requests - errors, requests)
            fig["requests_today"] = today.get("requests_total", 0.0)
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
            fig["documents_sent_today"] = today.get("documents_sent_total")
            fig["documents_received_today"] = today.get("documents_received_total")
            fig["agencies_connected"] = gauge("agencies_connected")
            fig["agencies_total"] = gauge("agencies_count")
        if "signatures_total" in sums:
            fig["signatures"] = sums["signatures_total"]
            fig["certificates_issued"] = sums.get("certificates_issued_total", 0.0)
            fig["signatures_today"] = today.get("signatures_total", 0.0)
            fig["certificates_issued_today"] = today.get("certificates_issued_total", 0.0)
            fig["certificates_active"] = gauge("certificates_active")
        if "records_synced_total" in sums:
            fig["records_synced"] = sums["records_synced_total"]
            fig["sync_lag_s"] = gauge("sync_lag_seconds")
            synced, failed = today.get("records_synced_total", 0.0), today.get("records_sync_failed_total", 0.0)
            fig["records_synced_today"] = synced
            fig["synced_ratio"] = _ratio(synced, synced + failed)
        if ("connectors_count", None) in gauges:
            fig["connectors_total"] = gauge("connectors_count")
            fig["connectors_failing"] = gauge("connectors_failing")
        if "payments_total" in sums:
            paid = today.get("payments_total", 0.0)
            fig["payments_today"] = paid
            fig["payment_success_rate"] = _ratio(paid - today.get("payments_failed_total", 0.0), paid)
            fig["payments_value_today"] = today.get("payments_value_vnd_total", 0.0)
        if ("communes_count", None) in gauges:
            links = {unit: v for (metric, unit), v in gauges.items() if metric == "link_up" and unit}
            fig["communes_connected"] = gauge("communes_connected")
            fig["communes_total"] = gauges[("communes_count", None)]
            fig["communes_down"] = sorted(u for u, v in links.items() if v < 1)
            fig["availability"] = _ratio(sum(v >= 1 for v in links.values()), len(links)) if links else probes
        if any(k.startswith("soc_alerts_total") for k in sums):
            fig["soc_alerts"] = {sev: sums.get(f"soc_alerts_total{{{sev}}}", 0.0) for sev in SOC_SEVERITIES}
        if ("spaces_capacity", None) in gauges:
            fig["spaces_occupied"] = gauge("spaces_occupied")
            fig["spaces_total"] = gauges[("spaces_capacity", None)]
        if spec is not None and spec.figures:  # a declared system's own figures, in its order
            fig["custom"] = [{"metric": f.metric, "name_vi": f.name_vi, "name_en": f.name_en, "today": f.counter,
                              "value": today.get(f.metric) if f.counter else gauge(f.metric)} for f in spec.figures]
        return fig
