"""Seeded simulator of every catalogue system: daily traffic shapes and injectable incidents.

Counters are cumulative like a real exporter's, so simulated and scraped samples go through
the same readers. Traffic follows office hours in Asia/Ho_Chi_Minh (lunch dip, quiet nights
and weekends); each system draws from its own seeded generator, so adding a system or an
incident elsewhere does not change another system's numbers.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from ioc.clock import LOCAL_TZ
from ioc.services.catalogue import (
    LATENCY_BUCKETS,
    SOC_SEVERITIES,
    SYSTEMS,
    Catalogue,
    IncidentKind,
    Profile,
    SystemSpec,
    is_counter,
)
from ioc.services.catalogue import system as system_spec
from ioc.services.model import ServiceMetric

DEFAULT_TICK_S = 10.0
BASE_ERROR_RATE = 0.0002  # well inside every default budget, even 99.9 %
LATENCY_SIGMA = 0.6  # spread of log(latency)
CREEP_MAX = 10.0  # latency creep reaches this multiple of the median at the incident's end
FLAP_PERIOD_S = 30.0  # a flapping link is down, then up, for this long each
PARKING_SPACES = 1200
# The car parks of iParking (id, name, spaces): their spaces add up to PARKING_SPACES.
PARKING_LOTS = (("tru-so-tinh", "Trụ sở UBND tỉnh", 400), ("phvhc", "Trung tâm Phục vụ hành chính công", 300),
                ("quang-truong", "Quảng trường Hùng Vương", 350), ("benh-vien", "Bệnh viện Đa khoa tỉnh", 150))
AGENCIES = 86  # agencies on the document exchange (the seeds)
CERTIFICATES = 1154  # digital-signature certificates issued so far (the seeds)
LGSP_CONNECTORS = 24
SYNC_FAIL_SHARE = 0.02
PAYMENT_FAIL_SHARE = 0.03
PAYMENT_MEDIAN_VND = 150_000
SOC_PER_HOUR = {"critical": 0.2, "high": 2.0, "medium": 10.0, "low": 30.0}
SOC_BURST_PER_HOUR = {"critical": 120.0, "high": 600.0, "medium": 300.0, "low": 0.0}
# Each new critical or high SOC alert is an incident the SOC opens and closes later (minutes).
SOC_INCIDENT_OPEN_S = {"critical": (1200.0, 3600.0), "high": (600.0, 2400.0)}
SOC_CATEGORIES = ("malware", "bruteforce", "web_attack", "phishing", "exfiltration", "ddos")
SOC_ASSETS = ("portal", "motcua", "lienthong", "lgsp", "payment", "chukyso", "mail", "workstation")

# (local hour, share of the peak) key points, linearly interpolated; weekends scaled down.
_SHAPES: dict[Profile, tuple[tuple[float, float], ...]] = {
    "office": ((0, .03), (6, .04), (7, .3), (8, .9), (9, 1), (11, 1), (11.5, .8), (12, .35), (13, .35),
               (13.5, .8), (14, .95), (16.5, .9), (17, .5), (18, .15), (21, .08), (24, .03)),
    "citizen": ((0, .05), (6, .1), (8, .7), (9, 1), (11.5, .9), (12, .6), (13.5, .7), (14, .9), (17, .7),
                (19, .6), (21, .5), (23, .15), (24, .05)),
    "parking": ((0, .05), (6, .2), (8, .9), (11, 1), (12, .7), (14, .9), (17, .8), (19, .4), (22, .1), (24, .05)),
    "constant": ((0, 1), (24, 1)),
}
_WEEKEND = {"office": 0.1, "citizen": 0.4, "parking": 0.6, "constant": 1.0}


def load_factor(at: datetime, profile: Profile) -> float:
    """Share of the peak traffic at this instant (local time decides)."""
    local = at.astimezone(LOCAL_TZ)
    hour = local.hour + local.minute / 60 + local.second / 3600
    points = _SHAPES[profile]
    for (h0, f0), (h1, f1) in zip(points, points[1:]):
        if h0 <= hour <= h1:
            share = f0 + (f1 - f0) * (hour - h0) / (h1 - h0)
            break
    else:  # pragma: no cover - the key points span 0..24
        share = points[-1][1]
    return share * (_WEEKEND[profile] if local.weekday() >= 5 else 1.0)


def _poisson(rng: random.Random, mu: float) -> int:
    if mu <= 0:
        return 0
    if mu > 30:  # normal approximation is fine and fast here
        return max(0, round(rng.gauss(mu, math.sqrt(mu))))
    limit, k, p = math.exp(-mu), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _lognormal_cdf(x: float, median: float, sigma: float) -> float:
    return 0.5 * (1 + math.erf((math.log(x) - math.log(median)) / (sigma * math.sqrt(2))))


class Incident(BaseModel):
    model_config = ConfigDict(frozen=True)
    system: str
    kind: IncidentKind
    start: datetime
    end: datetime
    unit: str | None = None  # the commune of a flapping link

    def active(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def progress(self, at: datetime) -> float:
        return (at - self.start) / (self.end - self.start)


class IncidentRejected(ValueError):
    pass


class _SystemState:
    def __init__(self, spec: SystemSpec, seed: int) -> None:
        self.spec = spec
        self.rng = random.Random(f"{seed}:{spec.id}")
        self.counters: dict[tuple[str, str], float] = {}
        self.last: datetime | None = None
        self.sync_lag = 30.0
        # SOC incidents draw from a generator of their own: the counters stay what they were.
        self.incident_rng = random.Random(f"{seed}:{spec.id}:incidents")
        self.incidents: dict[str, dict[str, str | datetime]] = {}  # id -> labels + "closes"
        self.incident_seq = 0
        # The control room's figures (issue #16) draw from their own generator too.
        self.figure_rng = random.Random(f"{seed}:{spec.id}:figures")
        self.levels: dict[str, float] = {}  # slow random walks (agencies off line, failing connectors)

    def add(self, metric: str, amount: float, label: str = "") -> float:
        key = (metric, label)
        self.counters[key] = self.counters.get(key, 0.0) + amount
        return self.counters[key]


class ServiceSimulator:
    """``tick(now)`` returns the samples every simulated system exposes at ``now``."""

    def __init__(self, seed: int = 1, systems: Iterable[str] | None = None,
                 communes: Sequence[str] = (), tick_s: float = DEFAULT_TICK_S,
                 catalogue: Catalogue | None = None) -> None:
        ids = list(systems) if systems is not None else list(SYSTEMS)
        self._systems = {sid: _SystemState(system_spec(sid, catalogue), seed) for sid in ids}
        self.communes = tuple(communes)
        if "wan" in self._systems and not self.communes:
            raise ValueError("communes: the WAN simulator needs the province's commune codes "
                             "(catalogue.province_communes)")
        self.tick_s = tick_s
        self.incidents: list[Incident] = []
        self._rng = random.Random(f"{seed}:incidents")

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(self._systems)

    def inject(self, system: str, kind: str, seconds: float, now: datetime, unit: str | None = None) -> Incident:
        """Start an incident now; errors name the system or kind and list the valid ones."""
        if system not in self._systems:
            raise IncidentRejected(f"unknown system {system!r}; simulated systems: {', '.join(self._systems)}")
        valid = self._systems[system].spec.incidents
        if kind not in valid:
            raise IncidentRejected(f"incident kind {kind!r} does not apply to {system}; valid kinds: {', '.join(valid)}")
        if not seconds > 0:
            raise IncidentRejected(f"seconds: must be greater than 0, got {seconds}")
        if now.tzinfo is None:
            raise IncidentRejected("now: must be a timezone-aware datetime")
        if kind == "flap":
            if unit is None:
                unit = self._rng.choice(self.communes)
            elif unit not in self.communes:
                raise IncidentRejected(f"unit {unit!r} is not one of the province's {len(self.communes)} communes")
        incident = Incident(system=system, kind=kind, start=now, end=now + timedelta(seconds=seconds), unit=unit)
        self.incidents.append(incident)
        return incident

    def active(self, now: datetime) -> list[Incident]:
        return [i for i in self.incidents if i.active(now)]

    def tick(self, now: datetime) -> list[ServiceMetric]:
        if now.tzinfo is None:
            raise ValueError("now: must be a timezone-aware datetime")
        active = self.active(now)
        self.incidents = [i for i in self.incidents if i.end > now]
        out: list[ServiceMetric] = []
        for sid, state in self._systems.items():
            if state.last is not None and now <= state.last:
                raise ValueError(f"tick at {now.isoformat()} is not after the previous one {state.last.isoformat()}")
            dt = (now - state.last).total_seconds() if state.last else self.tick_s
            state.last = now
            mine: dict[str, Incident] = {i.kind: i for i in active if i.system == sid}
            out.extend(self._tick_system(state, now, dt, mine))
        return out

    # -- one system ---------------------------------------------------------------------
    def _tick_system(self, st: _SystemState, now: datetime, dt: float,
                     incidents: Mapping[str, Incident]) -> list[ServiceMetric]:
        spec, rng = st.spec, st.rng
        down = "outage" in incidents
        out: list[ServiceMetric] = []

        def emit(metric: str, value: float, unit: str | None = None, **labels: str) -> None:
            out.append(ServiceMetric(system=spec.id, metric=metric, unit=unit, labels=labels, value=value, time=now))

        emit("up", 0.0 if down else 1.0)
        factor = load_factor(now, spec.profile)
        n = 0
        if spec.sli == "requests":
            n = _poisson(rng, spec.peak_rps * factor * dt)
            errors = n if down else min(n, _poisson(rng, n * BASE_ERROR_RATE))
            emit("requests_total", st.add("requests_total", n))
            emit("errors_total", st.add("errors_total", errors))
            median = spec.latency_median_s * rng.lognormvariate(0, 0.05)
            if "latency" in incidents:
                median *= 1 + (CREEP_MAX - 1) * incidents["latency"].progress(now)
            for le in LATENCY_BUCKETS:
                # A hard outage times out: every request lands above the last bucket.
                below = 0 if down else round(n * _lognormal_cdf(le, median, LATENCY_SIGMA))
                emit("latency_seconds_bucket", st.add("latency_seconds_bucket", below, str(le)), le=str(le))
            emit("latency_seconds_bucket", st.add("latency_seconds_bucket", n, "+Inf"), le="+Inf")
        served = 0 if down else n
        fr = st.figure_rng
        if spec.declared:
            self._declared_figures(st, served, down, emit)
        if spec.id == "lienthong":
            docs = _poisson(rng, served * 0.3)
            signed = min(docs, round(docs * 0.92 + rng.gauss(0, 0.5)))
            emit("documents_exchanged_total", st.add("documents_exchanged_total", docs))
            emit("documents_signed_total", st.add("documents_signed_total", max(0, signed)))
            sent = sum(fr.random() < 0.45 for _ in range(docs))  # the rest came in from other agencies
            emit("documents_sent_total", st.add("documents_sent_total", sent))
            emit("documents_received_total", st.add("documents_received_total", docs - sent))
            offline = 0 if down else self._walk(st, "agencies_offline", 0, 4)
            emit("agencies_connected", 0 if down else AGENCIES - offline)
            emit("agencies_count", AGENCIES)
        elif spec.id == "chukyso":
            emit("signatures_total", st.add("signatures_total", _poisson(rng, served * 0.5)))
            certs = 0 if down else _poisson(rng, 0.002 * factor * dt)
            emit("certificates_issued_total", st.add("certificates_issued_total", certs))
            emit("certificates_active", CERTIFICATES + st.counters.get(("certificates_issued_total", ""), 0.0))
        elif spec.id == "dvcqg_sync":
            emit("records_synced_total", st.add("records_synced_total", _poisson(rng, served * 0.6)))
            st.sync_lag = st.sync_lag + dt if down else max(5.0, rng.gauss(30, 8))
            emit("sync_lag_seconds", st.sync_lag)
            failed = _poisson(fr, (n if down else served) * 0.6 * SYNC_FAIL_SHARE) if n else 0
            emit("records_sync_failed_total", st.add("records_sync_failed_total", failed))
        elif spec.id == "lgsp":
            emit("connectors_count", LGSP_CONNECTORS)
            emit("connectors_failing", LGSP_CONNECTORS if down else self._walk(st, "connectors_failing", 0, 3))
        elif spec.id == "payment":
            paid = _poisson(fr, served * 0.7)
            failed = min(paid, _poisson(fr, paid * PAYMENT_FAIL_SHARE))
            value = sum(PAYMENT_MEDIAN_VND * fr.lognormvariate(0, 0.8) for _ in range(paid - failed))
            emit("payments_total", st.add("payments_total", paid))
            emit("payments_failed_total", st.add("payments_failed_total", failed))
            emit("payments_value_vnd_total", st.add("payments_value_vnd_total", round(value / 1000) * 1000))
        elif spec.id == "parking":
            occupied = 0.1 + 0.8 * load_factor(now, "parking") + rng.gauss(0, 0.01)
            emit("spaces_occupied", round(PARKING_SPACES * min(1.0, max(0.0, occupied))))
            emit("spaces_capacity", PARKING_SPACES)
            for i, (lot, name, spaces) in enumerate(PARKING_LOTS):
                # Each car park fills at its own pace around the overall share.
                share = min(0.98, max(0.0, occupied * (0.7 + 0.08 * i) + fr.gauss(0, 0.02)))
                emit("spaces_occupied", 0 if down else round(spaces * share), lot=lot, name=name)
                emit("spaces_capacity", spaces, lot=lot, name=name)
        elif spec.id == "wan":
            flap = incidents.get("flap")
            flapping_down = flap is not None and int((now - flap.start).total_seconds() // FLAP_PERIOD_S) % 2 == 0
            connected = 0
            for commune in self.communes:
                up = not down and not (flapping_down and commune == flap.unit)  # type: ignore[union-attr]
                connected += up
                emit("link_up", 1.0 if up else 0.0, unit=commune)
            emit("communes_connected", connected)
            emit("communes_count", len(self.communes))
        elif spec.id == "soc":
            rates = dict(SOC_PER_HOUR)
            if "soc_burst" in incidents:
                rates = {k: v + SOC_BURST_PER_HOUR[k] for k, v in rates.items()}
            opened: dict[str, int] = {}
            for severity in SOC_SEVERITIES:
                new = 0 if down else _poisson(rng, rates[severity] * dt / 3600)
                opened[severity] = new
                emit("soc_alerts_total", st.add("soc_alerts_total", new, severity), severity=severity)
            if not down:  # an SOC that is down reports nothing, its incidents included
                for incident, labels in self._soc_incidents(st, now, opened):
                    out.append(ServiceMetric(system=spec.id, metric="soc_incident", labels=labels,
                                             value=1.0 if incident else 0.0, time=now))
        return out

    @staticmethod
    def _walk(st: _SystemState, name: str, low: int, high: int) -> int:
        """A small count that changes now and then (agencies off line, connectors failing)."""
        level = st.levels.get(name, float(low))
        if st.figure_rng.random() < 0.2:
            level = min(float(high), max(float(low), level + st.figure_rng.choice((-1, 1))))
        st.levels[name] = level
        return int(level)

    @staticmethod
    def _declared_figures(st: _SystemState, served: int, down: bool, emit: Any) -> None:
        """Made-up values for a declared system's figures (a demo): counters grow with its
        traffic, gauges wander around a level."""
        for figure in st.spec.figures:
            if is_counter(figure.metric):
                emit(figure.metric, st.add(figure.metric, _poisson(st.figure_rng, max(served, 1) * 0.5)))
            else:
                level = st.levels.get(figure.metric, 100.0 + st.figure_rng.uniform(0, 400))
                st.levels[figure.metric] = max(0.0, level + st.figure_rng.gauss(0, 2))
                emit(figure.metric, 0.0 if down else round(st.levels[figure.metric]))

    @staticmethod
    def _soc_incidents(st: _SystemState, now: datetime, opened: dict[str, int]) -> list[tuple[bool, dict[str, str]]]:
        """The ``soc_incident`` gauges of this tick: (open?, labels) of every incident open, and a
        last 0 for each one closed now."""
        rng = st.incident_rng
        for severity, (low, high) in SOC_INCIDENT_OPEN_S.items():
            for _ in range(opened.get(severity, 0)):
                st.incident_seq += 1
                local = now.astimezone(LOCAL_TZ)
                incident = f"SOC-{local:%y%m%d}-{st.incident_seq:04d}"
                st.incidents[incident] = {"id": incident, "severity": severity,
                                          "category": rng.choice(SOC_CATEGORIES), "asset": rng.choice(SOC_ASSETS),
                                          "closes": now + timedelta(seconds=rng.uniform(low, high))}
        out: list[tuple[bool, dict[str, str]]] = []
        for incident, info in sorted(st.incidents.items()):
            labels = {k: str(v) for k, v in info.items() if k != "closes"}
            still_open = now < info["closes"]  # type: ignore[operator]
            out.append((still_open, labels))
            if not still_open:
                del st.incidents[incident]
        return out
