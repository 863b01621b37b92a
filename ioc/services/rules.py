"""Alert rules on service samples besides SLOs: a system hard down, a commune's WAN link down,
a burst of SOC alerts and each security incident the SOC opens.

:class:`DownWatch` is Prometheus' "target down for 1m": burn rates need the outage to spend a
share of the monthly budget before they page (a 2-minute outage of a 99.5 % SLO burns 7.7x
over the hour, under the 14.4x page), but a system that answers nothing is worth a page at once.

Link rules are debounced like Prometheus' ``for`` and Grafana's keep-firing-for: a link raises when it stays
down ``down_for_s``, or when it went down ``flaps`` times within ``flap_window_s`` (short drops
that never last ``down_for_s``); it clears after staying up ``up_for_s``. A flapping link is
ONE alert for the whole flapping instead of one per flap.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from ioc.alerts.model import AlertKind, Signal
from ioc.clock import LOCAL_TZ
from ioc.services.model import CounterDeltas, ServiceMetric


@dataclass
class _Down:
    since: datetime | None = None  # first sample of the current hard down, None while up
    raised: bool = False


class DownWatch:
    """ONE critical alert per system that is hard down for ``down_for_s``: its ``up`` sample is 0
    (the simulator's outage, a failed scrape), or every request of a sample failed (a system up
    but answering only errors). A sample with ``up`` 1 and no failing-every-request evidence is
    the recovery and clears it at once; a sample without evidence either way (no ``up`` and no
    requests) changes nothing. Evaluated on each sample and on ticks without samples, so the
    alert rises ``down_for_s`` after the first down sample however sparse the samples are."""

    def __init__(self, down_for_s: float = 60.0, names: Mapping[str, str] | None = None) -> None:
        self.down_for_s = down_for_s
        self.names = dict(names or {})
        self._state: dict[str, _Down] = {}
        self._deltas = CounterDeltas()

    def observe(self, samples: Sequence[ServiceMetric], now: datetime) -> list[Signal]:
        by_system: dict[str, list[ServiceMetric]] = {}
        for s in samples:
            if s.unit is None and s.metric in ("up", "requests_total", "errors_total"):
                by_system.setdefault(s.system, []).append(s)
        out: list[Signal] = []
        for system, mine in sorted(by_system.items()):
            up: float | None = None
            requests = errors = 0.0
            for s in mine:
                if s.metric == "up":
                    up = s.value
                elif s.metric == "requests_total":
                    requests += self._deltas.delta(s)
                else:
                    errors += self._deltas.delta(s)
            failing = requests > 0 and errors >= requests
            state = self._state.setdefault(system, _Down())
            if (up is not None and up < 1) or failing:
                if state.since is None:
                    state.since = min(s.time for s in mine)
            elif up is not None or requests > 0:
                if state.raised:
                    out.append(self._signal("clear", system, now, state.since or now))
                state.since, state.raised = None, False
        for system, state in sorted(self._state.items()):
            if state.since is not None and not state.raised and (now - state.since).total_seconds() >= self.down_for_s:
                state.raised = True
                out.append(self._signal("raise", system, now, state.since))
        return out

    def _signal(self, op: str, system: str, now: datetime, since: datetime) -> Signal:
        name = self.names.get(system, system)
        if op == "raise":
            summary = (f"{name}: ngừng hoạt động (không phản hồi hoặc mọi yêu cầu đều lỗi) "
                       f"từ {since.astimezone(LOCAL_TZ):%H:%M:%S}")
        else:
            minutes = max(0.0, (now - since).total_seconds()) / 60
            summary = f"{name}: đã hoạt động trở lại sau {minutes:.0f} phút gián đoạn"
        return Signal(op=op, source="service", system=system, kind=AlertKind.SYSTEM_DOWN, level="province",
                      severity="critical", at=now, summary=summary)


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


SOC_INCIDENT_SEVERITY = {"critical": "critical", "high": "warning"}  # the SOC's severity -> ours
SOC_CATEGORY_VI = {
    "malware": "phát hiện mã độc", "bruteforce": "dò quét, tấn công dò mật khẩu",
    "web_attack": "tấn công ứng dụng web (SQLi/XSS)", "phishing": "thư điện tử lừa đảo (phishing)",
    "exfiltration": "nghi vấn rò rỉ dữ liệu", "ddos": "tấn công từ chối dịch vụ (DDoS)",
}


class SocIncidentWatch:
    """One alert per security incident the SOC opens (critical or high), identified by its id.

    The SOC reports each open incident as a gauge ``soc_incident`` with labels ``id``,
    ``severity`` (critical, high), ``category`` and ``asset`` (the system or host attacked):
    1 while open, 0 once it closes it. The first 1 raises, a 0 clears; an incident the SOC
    stopped reporting for ``forget_after_s`` while it reports others (its tool restarted, the
    incident purged) clears too. Medium and low incidents stay in the SOC's own tools; the
    burst rule (:class:`SocWatch`) still counts every severity."""

    def __init__(self, forget_after_s: float = 900.0, asset_names: Mapping[str, str] | None = None) -> None:
        self.forget_after_s = forget_after_s
        self.asset_names = dict(asset_names or {})
        self._open: dict[str, tuple[datetime, dict[str, str], str | None]] = {}  # id -> (last seen, labels, unit)
        self._last_report: datetime | None = None

    def observe(self, samples: Sequence[ServiceMetric], now: datetime) -> list[Signal]:
        out: list[Signal] = []
        for s in samples:
            if s.system != "soc" or s.metric != "soc_incident":
                continue
            incident = s.labels.get("id", "")
            severity = SOC_INCIDENT_SEVERITY.get(s.labels.get("severity", ""))
            if not incident or severity is None:
                continue
            self._last_report = s.time if self._last_report is None else max(self._last_report, s.time)
            if s.value >= 1:
                if incident not in self._open:
                    out.append(self._signal("raise", incident, s.labels, s.unit, now))
                self._open[incident] = (s.time, dict(s.labels), s.unit)
            elif incident in self._open:
                _, labels, unit = self._open.pop(incident)
                out.append(self._signal("clear", incident, labels, unit, now))
        if self._last_report is not None:
            for incident, (seen, labels, unit) in sorted(self._open.items()):
                if (self._last_report - seen).total_seconds() > self.forget_after_s:
                    del self._open[incident]
                    out.append(self._signal("clear", incident, labels, unit, now))
        return out

    def _signal(self, op: str, incident: str, labels: Mapping[str, str], unit: str | None, now: datetime) -> Signal:
        category = labels.get("category", "")
        what = SOC_CATEGORY_VI.get(category, category or "sự cố an toàn thông tin")
        asset = labels.get("asset", "")
        target = f" — {self.asset_names.get(asset, asset)}" if asset else ""
        if op == "raise":
            summary = f"SOC {incident}: {what}{target}"
        else:
            summary = f"SOC {incident}: đã đóng sự cố ({what}{target})"
        return Signal(op=op, source="service", system="soc", kind=AlertKind.SOC_INCIDENT, unit=unit,
                      level="province", severity=SOC_INCIDENT_SEVERITY[labels.get("severity", "high")],
                      at=now, summary=summary, labels={"incident": incident})
