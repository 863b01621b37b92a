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
