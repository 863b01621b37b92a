"""Alert rules on service samples besides SLOs: a commune's WAN link down.

Debounced like Prometheus' ``for`` and Grafana's keep-firing-for: a link raises when it stays
down ``down_for_s``, or when it went down ``flaps`` times within ``flap_window_s`` (short drops
that never last ``down_for_s``); it clears after staying up ``up_for_s``. A flapping link is
ONE alert for the whole flapping instead of one per flap.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Mapping, Sequence

from ioc.alerts.model import AlertKind, Signal
from ioc.services.model import ServiceMetric


class LinkWatch:
    def __init__(self, down_for_s: float = 60.0, up_for_s: float = 300.0, flaps: int = 3,
                 flap_window_s: float = 600.0, commune_names: Mapping[str, str] | None = None) -> None:
        self.down_for_s = down_for_s
        self.up_for_s = up_for_s
        self.flaps = flaps
        self.flap_window_s = flap_window_s
        self._drops: dict[str, deque[datetime]] = {}
        self.names = dict(commune_names or {})
        self._since: dict[str, tuple[bool, datetime]] = {}  # commune -> (up?, since when)
        self._raised: set[str] = set()

    def observe(self, samples: Sequence[ServiceMetric], now: datetime) -> list[Signal]:
        for s in samples:
            if s.system == "wan" and s.metric == "link_up" and s.unit:
                up = s.value >= 1
                state = self._since.get(s.unit)
                if state is None or state[0] != up:
                    self._since[s.unit] = (up, s.time)
                    if not up:
                        self._drops.setdefault(s.unit, deque()).append(s.time)
        out: list[Signal] = []
        for commune, (up, since) in sorted(self._since.items()):
            held = (now - since).total_seconds()
            name = self.names.get(commune, commune)
            drops = self._drops.get(commune, deque())
            while drops and (now - drops[0]).total_seconds() > self.flap_window_s:
                drops.popleft()
            if not up and commune not in self._raised and (held >= self.down_for_s or len(drops) >= self.flaps):
                self._raised.add(commune)
                what = "Mất kết nối" if held >= self.down_for_s else "Kết nối chập chờn"
                out.append(self._signal("raise", commune, now, f"{what} mạng WAN đến {name}"))
            elif up and held >= self.up_for_s and commune in self._raised:
                self._raised.discard(commune)
                out.append(self._signal("clear", commune, now, f"Kết nối mạng WAN đến {name} đã ổn định"))
        return out

    @staticmethod
    def _signal(op: str, commune: str, now: datetime, summary: str) -> Signal:
        return Signal(op=op, source="service", system="wan", kind=AlertKind.LINK_DOWN, unit=commune,
                      level="commune", severity="warning", at=now, summary=summary)


class SocWatch:
    """A burst of security alerts from the SOC: one alert while the weighted count of new
    critical and high SOC alerts in the last ``window_s`` stays high (critical counts
    ``critical_weight`` times), cleared once it falls below ``clear_below`` (hysteresis, so a
    burst that thins out slowly does not flap). The SOC's own alerts stay in the SOC's tools:
    the wall needs to know that something is happening, not every event."""

    def __init__(self, window_s: float = 600.0, raise_at: float = 10.0, clear_below: float = 3.0,
                 critical_weight: float = 5.0) -> None:
        self.window_s, self.raise_at, self.clear_below = window_s, raise_at, clear_below
        self.weights = {"critical": critical_weight, "high": 1.0}
        self._last: dict[str, float] = {}  # severity -> last cumulative counter value
        self._new: deque[tuple[datetime, float]] = deque()  # (time, weighted new alerts)
        self.raised = False

    def observe(self, samples: Sequence[ServiceMetric], now: datetime) -> list[Signal]:
        for s in samples:
            if s.system != "soc" or s.metric != "soc_alerts_total":
                continue
            severity = s.labels.get("severity", "")
            before = self._last.get(severity)
            self._last[severity] = s.value
            if before is None or severity not in self.weights:
                continue  # the first value of a counter is its baseline, not news
            new = s.value - before if s.value >= before else s.value  # a reset counts from zero
            if new > 0:
                self._new.append((s.time, new * self.weights[severity]))
        while self._new and (now - self._new[0][0]).total_seconds() > self.window_s:
            self._new.popleft()
        weighted = sum(w for _, w in self._new)
        if not self.raised and weighted >= self.raise_at:
            self.raised = True
            return [self._signal("raise", now, f"Đột biến cảnh báo an toàn thông tin (SOC): {weighted:g} "
                                               f"điểm nghiêm trọng trong {self.window_s / 60:g} phút")]
        if self.raised and weighted < self.clear_below:
            self.raised = False
            return [self._signal("clear", now, "Cảnh báo an toàn thông tin (SOC) đã trở lại bình thường")]
        return []

    @staticmethod
    def _signal(op: str, now: datetime, summary: str) -> Signal:
        return Signal(op=op, source="service", system="soc", kind=AlertKind.SOC_ALERT, unit=None,
                      level="province", severity="critical", at=now, summary=summary)
