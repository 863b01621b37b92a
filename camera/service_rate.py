"""The service centre's reception rate, from the dossier stream, for the cameras' queue waits.

A camera watching the queue in front of a unit's counters knows how many people wait; the
dossier stream knows how many dossiers that unit received in the last half hour. Together:
estimated wait = queue length / receptions per minute (camera.analysis.waiting_time_s).

The KPI snapshots carry each unit's ``received_today`` per Kafka partition; the unit's count is
the sum of the newest partial of each partition (ioc.kpi.snapshots.LatestSnapshots, as every
snapshot reader sums them), and the rate is its growth over a window.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ioc.kpi.snapshots import LatestSnapshots

WINDOW_S = 1800.0  # half an hour: long enough to smooth the counters' bursts
MIN_SPAN_S = 120.0  # below two minutes of history the rate says nothing yet


class ReceptionRates:
    """Per unit: (time, received today) samples and their growth per minute over the window."""

    def __init__(self, window_s: float = WINDOW_S, min_span_s: float = MIN_SPAN_S) -> None:
        self.window_s, self.min_span_s = window_s, min_span_s
        self._samples: dict[str, deque[tuple[float, int]]] = {}
        self._latest = LatestSnapshots()

    def observe_snapshot(self, message: dict[str, Any], at: float) -> None:
        """One KPI snapshot message (a part of one partition's snapshot) read at ``at`` (epoch s)."""
        snapshot = self._latest.add(message)
        if snapshot is None:
            return
        for unit, received_today in self._latest.totals("received_today", snapshot.units).items():
            self.observe(unit, received_today, at)

    def observe(self, unit: str, received_today: int, at: float) -> None:
        samples = self._samples.setdefault(unit, deque())
        if samples and received_today < samples[-1][1]:
            samples.clear()  # a new day: the counter started again
        samples.append((at, received_today))
        while samples and at - samples[0][0] > self.window_s:
            samples.popleft()

    def per_minute(self, unit: str) -> float | None:
        samples = self._samples.get(unit)
        if not samples or samples[-1][0] - samples[0][0] < self.min_span_s:
            return None
        (t0, n0), (t1, n1) = samples[0], samples[-1]
        return (n1 - n0) * 60.0 / (t1 - t0)
