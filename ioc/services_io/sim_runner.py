"""Runs the service simulator against the broker, and takes incident injections from a topic.

    ServiceSimulator.tick(now) every tick_s -> IncidentOverlay -> {prefix}.service.metrics
    {prefix}.simulator.control  (``ioc simulate --incident SYSTEM:KIND --seconds N``) -> inject

Incident kinds of the command line (contracts.md §1) and what they do:

    outage     the system answers nothing (every request fails, ``up`` 0)
    latency    latency creeps up to 10x its median
    errors     half of the requests fail, the system stays up     (this module's overlay)
    link-down  one commune's WAN link is down for the whole time  (this module's overlay)
    flap       one commune's WAN link goes down and up every 30 s
    soc_burst  a burst of SOC alerts

The overlay kinds change samples after the simulator made them, so the simulator's own
numbers (and its seeded randomness) stay as they are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ioc import clock
from ioc.health import Health
from ioc.services.catalogue import SYSTEMS, Catalogue, UnknownSystem
from ioc.services.catalogue import system as system_spec
from ioc.services.model import ServiceMetric
from ioc.services.simulator import IncidentRejected, ServiceSimulator

log = logging.getLogger(__name__)

OVERLAY_KINDS = ("errors", "link-down")
ERROR_SHARE = 0.5  # of new requests failing during an ``errors`` incident
MAX_INCIDENT_S = 7 * 86400
SERVICES_SIM_CONDITIONS = ("producer", "subscribed")


def incident_kinds(system_id: str, catalogue: Catalogue | None = None) -> tuple[str, ...]:
    """Kinds ``ioc simulate --incident`` accepts for a system (built in, or declared in ``catalogue``)."""
    spec = system_spec(system_id, catalogue)
    kinds: list[str] = list(spec.incidents)
    if spec.sli == "requests":
        kinds.append("errors")
    if spec.id == "wan":
        kinds.append("link-down")
    return tuple(kinds)


class Injection(BaseModel):
    """One message of the control topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    system: str
    kind: str
    seconds: float = Field(gt=0, le=MAX_INCIDENT_S)
    unit: str | None = None

    def check(self, catalogue: Catalogue | None = None) -> "Injection":
        """Raise IncidentRejected naming the valid systems or kinds."""
        try:
            valid = incident_kinds(self.system, catalogue)
        except UnknownSystem:
            raise IncidentRejected(f"unknown system {self.system!r}; valid systems: "
                                   f"{', '.join(catalogue or SYSTEMS)}") from None
        if self.kind not in valid:
            raise IncidentRejected(f"incident kind {self.kind!r} does not apply to {self.system}; "
                                   f"valid kinds: {', '.join(valid)}")
        return self

    def encode(self) -> bytes:
        return json.dumps(self.model_dump(exclude_none=True)).encode()


def parse_incident(text: str, seconds: float, catalogue: Catalogue | None = None) -> Injection:
    """``SYSTEM:KIND`` from the command line; IncidentRejected says what is wrong."""
    system, sep, kind = text.partition(":")
    if not sep or not system or not kind:
        raise IncidentRejected(f"--incident {text!r}: expected SYSTEM:KIND, e.g. portal:outage; "
                               f"systems: {', '.join(catalogue or SYSTEMS)}")
    try:
        injection = Injection(system=system.strip(), kind=kind.strip(), seconds=seconds)
    except ValidationError:
        raise IncidentRejected(f"--seconds: must be greater than 0 and at most {MAX_INCIDENT_S}, got {seconds:g}") from None
    return injection.check(catalogue)


def decode_injection(raw: bytes | None, catalogue: Catalogue | None = None) -> Injection:
    try:
        return Injection.model_validate(json.loads(raw or b"null")).check(catalogue)
    except (ValueError, ValidationError) as exc:
        raise IncidentRejected(f"control message: {exc}") from None


@dataclass
class _Active:
    kind: str
    end: datetime
    unit: str | None = None


class IncidentOverlay:
    """The ``errors`` and ``link-down`` incidents, applied to a tick's samples."""

    def __init__(self, communes: Sequence[str]) -> None:
        self.communes = tuple(communes)
        self.active: dict[str, list[_Active]] = {}
        self._extra_errors: dict[str, float] = {}  # cumulative, so the counter stays monotonic
        self._requests: dict[str, float] = {}

    def inject(self, injection: Injection, now: datetime) -> None:
        unit = injection.unit
        if injection.kind == "link-down":
            if unit is None:
                unit = self.communes[0]
            elif unit not in self.communes:
                raise IncidentRejected(f"unit {unit!r} is not one of the province's {len(self.communes)} communes")
        self.active.setdefault(injection.system, []).append(
            _Active(injection.kind, now + timedelta(seconds=injection.seconds), unit))

    def apply(self, samples: list[ServiceMetric], now: datetime) -> list[ServiceMetric]:
        for sid in list(self.active):
            self.active[sid] = [a for a in self.active[sid] if a.end > now]
        out: list[ServiceMetric] = []
        by_system: dict[str, dict[str, ServiceMetric]] = {}
        for s in samples:
            if s.metric == "requests_total" and s.unit is None:
                by_system.setdefault(s.system, {})["requests"] = s
        for sid, found in by_system.items():
            total = found["requests"].value
            new = total - self._requests.get(sid, total)
            self._requests[sid] = total
            if any(a.kind == "errors" for a in self.active.get(sid, ())):
                self._extra_errors[sid] = self._extra_errors.get(sid, 0.0) + round(max(new, 0) * ERROR_SHARE)
        down_units = {a.unit for a in self.active.get("wan", ()) if a.kind == "link-down"}
        for s in samples:
            if s.metric == "errors_total" and s.unit is None and self._extra_errors.get(s.system):
                ceiling = by_system.get(s.system, {}).get("requests")
                value = s.value + self._extra_errors[s.system]
                s = s.model_copy(update={"value": min(value, ceiling.value) if ceiling else value})
            elif s.system == "wan" and s.metric == "link_up" and s.unit in down_units:
                s = s.model_copy(update={"value": 0.0})
            elif s.system == "wan" and s.metric == "communes_connected" and down_units:
                s = s.model_copy(update={"value": max(0.0, s.value - len(down_units))})
            out.append(s)
        return out


class SimulatedSystems:
    """The simulator plus the overlay: inject by :class:`Injection`, tick for samples."""

    def __init__(self, seed: int, communes: Sequence[str], tick_s: float, systems: Sequence[str] | None = None,
                 catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue
        self.sim = ServiceSimulator(seed=seed, systems=systems, communes=communes, tick_s=tick_s, catalogue=catalogue)
        self.overlay = IncidentOverlay(communes)

    def inject(self, injection: Injection, now: datetime) -> None:
        if injection.kind in OVERLAY_KINDS:
            self.overlay.inject(injection, now)
        else:
            self.sim.inject(injection.system, injection.kind, injection.seconds, now, injection.unit)

    def tick(self, now: datetime) -> list[ServiceMetric]:
        return self.overlay.apply(self.sim.tick(now), now)


async def run_to_broker(bootstrap: str, metrics_topic: str, control_topic: str, systems: SimulatedSystems,
                        tick_s: float, stop: asyncio.Event, seconds: float | None = None,
                        health: Health | None = None, *, fetch_max_wait_ms: int | None = None) -> int:
    """Publish every tick until ``stop`` (or ``seconds``); returns samples published.

    The control topic is read from its beginning, not its end: an injection sent before this
    process subscribed (while `ioc up` was starting, or while it restarted) is not lost, and
    one still running when it restarts goes on for what is left of it; one that has run its
    course is skipped (:func:`_inject`). Its reader is a :class:`ConsumerLoop` (it reconnects; an
    injection read again then is not applied twice). Ready (``health``) once the producer is
    connected and the control topic has been read up to where it ended when this process
    subscribed; the ticks start then."""
    from ioc.broker.consumer import DEFAULT_FETCH_MAX_WAIT_MS, EARLIEST, ConsumerLoop, Subscription
    from ioc.broker.producer import start_producer
    from ioc.broker.publisher import BatchPublisher
    from ioc.broker.read_to_end import read_to_end

    health = health or Health("services-sim", conditions=SERVICES_SIM_CONDITIONS)
    producer = await start_producer(bootstrap)
    health.set("producer", True)
    publisher = BatchPublisher(producer, metrics_topic, max_events=2000)
    applied: set[tuple[int, int, int]] = set()  # (partition, offset, timestamp) of the injections read
    subscribed, done = asyncio.Event(), asyncio.Event()

    def handle(records: list[Any]) -> None:
        now = clock.now()
        for msg in records:
            if (msg.partition, msg.offset, msg.timestamp) not in applied:
                applied.add((msg.partition, msg.offset, msg.timestamp))
                _inject(systems, msg.value, now, _age_s(msg))

    async def catch_up() -> None:
        """What the control topic holds up to its end as of now; then ``subscribed`` is ready."""
        consumer = control.consumer
        await read_to_end(consumer, consumer.assignment(), handle, stopped=stop.is_set)
        health.set("subscribed", True)
        subscribed.set()

    async def pause(seconds: float) -> None:
        try:
            await asyncio.wait_for(done.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    control = ConsumerLoop(bootstrap, [Subscription(control_topic, EARLIEST)], handle, name="services simulator control",
                           fetch_max_wait_ms=fetch_max_wait_ms or DEFAULT_FETCH_MAX_WAIT_MS, on_connect=catch_up)
    reader = asyncio.create_task(control.run(lambda: done.is_set() or stop.is_set(), pause))
    loop = asyncio.get_running_loop()
    published = 0
    try:
        while not subscribed.is_set() and not stop.is_set():  # beat while the reader connects
            health.beat()
            try:
                await asyncio.wait_for(subscribed.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
        started = loop.time()
        while not stop.is_set() and (seconds is None or loop.time() - started < seconds):
            health.beat()
            now = clock.now()
            for sample in systems.tick(now):
                await publisher.add(sample.system, sample.to_wire())
                published += 1
            await publisher.flush()
            next_at = started + tick_s * (int((loop.time() - started) / tick_s) + 1)
            while not stop.is_set() and loop.time() < next_at:  # beat while waiting: ticks may be minutes apart
                health.beat()
                try:
                    await asyncio.wait_for(stop.wait(), max(0.0, min(1.0, next_at - loop.time())))
                except asyncio.TimeoutError:
                    pass
    finally:
        done.set()
        await reader
        await producer.stop()
    return published


def _age_s(msg: Any) -> float:
    """Seconds since the message was sent, by its timestamp (real time, as the producer's clock)."""
    sent_ms = getattr(msg, "timestamp", None)
    return max(0.0, time.time() - sent_ms / 1000) if sent_ms and sent_ms > 0 else 0.0


def _inject(systems: SimulatedSystems, raw: Any, now: datetime, age_s: float = 0.0) -> None:
    try:
        injection = decode_injection(raw, systems.catalogue)
        left = injection.seconds - age_s
        if left <= 0:
            log.info("services simulator: %s:%s sent %.0f s ago has run its course; skipped",
                     injection.system, injection.kind, age_s)
            return
        if left < injection.seconds:
            injection = injection.model_copy(update={"seconds": left})  # the rest of it
        systems.inject(injection, now)
    except IncidentRejected as exc:
        log.warning("services simulator: refused an injection: %s", exc)
        return
    log.info("services simulator: %s:%s for %g s", injection.system, injection.kind, injection.seconds)


async def publish_injection(bootstrap: str, control_topic: str, injection: Injection) -> None:
    from ioc.broker.producer import start_producer

    producer = await start_producer(bootstrap)
    try:
        await producer.send_and_wait(control_topic, injection.encode(), key=injection.system.encode())
    finally:
        await producer.stop()
