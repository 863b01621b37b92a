"""Dossier state: the fold of a dossier's events.

The state keeps the few facts of each event (status, time, id) rather than a running
"current status", so that it is a function of the *set* of events: the same events in any
order, or delivered twice, give the same state. Everything else is derived when judged.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from sys import intern
from typing import Any, Callable, Iterable

import msgspec

from ioc.domain.events import DossierEvent, LegalDuration, Status


class StatusFact(msgspec.Struct, frozen=True, array_like=True):
    """One event's fact; stored as ``[status, at, event_id]``."""

    status: int
    at: datetime
    event_id: str


class DossierState(msgspec.Struct, frozen=True, dict=True):
    """A msgspec struct, not a dataclass: the stream builds one per event and keeps one per open
    dossier (built in ~0.2 us against ~1.8 us for a frozen dataclass, encoded and decoded in C);
    ``dict=True`` keeps a ``__dict__`` for the judging caches (``_times``, :meth:`memo`)."""

    dossier_code: str
    unit_code: str
    procedure_code: str
    facts: tuple[StatusFact, ...] = ()
    due_at: datetime | None = None
    legal_duration: LegalDuration | None = None
    channel: int | None = None
    # Attributes any event may carry (digitised, e-result, rating, ...):
    # name -> [occurred_at ISO, event_id, value] of the latest event that set it.
    flags: dict[str, list[Any]] = msgspec.field(default_factory=dict)

    def flag(self, name: str) -> Any:
        entry = self.flags.get(name)
        return entry[2] if entry else None

    @property
    def event_ids(self) -> frozenset[str]:
        return frozenset(f.event_id for f in self.facts)

    def memo(self, name: str, compute: Callable[["DossierState"], Any]) -> Any:
        """``compute(self)``, once per state: states are immutable and judged field by field."""
        cache = self.__dict__.setdefault("_memo", {})
        if name not in cache:
            cache[name] = compute(self)
        return cache[name]

    @cached_property
    def _times(self) -> dict[int, list[datetime]]:
        """Each status's times, sorted: judging asks for them many times per dossier."""
        out: dict[int, list[datetime]] = {}
        for f in self.facts:
            out.setdefault(f.status, []).append(f.at)
        for times in out.values():
            times.sort()
        return out

    def first(self, *statuses: int) -> datetime | None:
        if len(statuses) == 1:
            times = self._times.get(statuses[0])
            return times[0] if times else None
        firsts = [t[0] for s in statuses if (t := self._times.get(s))]
        return min(firsts) if firsts else None

    def times_of(self, status: int) -> list[datetime]:
        return list(self._times.get(status, ()))

    @property
    def received_at(self) -> datetime | None:
        return self.first(Status.RECEIVED)

    def to_json(self) -> dict[str, Any]:
        return {
            "dossier_code": self.dossier_code,
            "unit_code": self.unit_code,
            "procedure_code": self.procedure_code,
            "facts": [[f.status, f.at.isoformat(), f.event_id] for f in self.facts],
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "legal_duration": self.legal_duration.to_json() if self.legal_duration else None,
            "channel": self.channel,
            "flags": self.flags,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DossierState":
        return cls(
            dossier_code=data["dossier_code"],
            unit_code=data["unit_code"],
            procedure_code=data["procedure_code"],
            facts=tuple(
                StatusFact(s, datetime.fromisoformat(at), eid) for s, at, eid in data["facts"]
            ),
            due_at=datetime.fromisoformat(data["due_at"]) if data.get("due_at") else None,
            legal_duration=LegalDuration(**data["legal_duration"]) if data.get("legal_duration") else None,
            channel=data.get("channel"),
            flags=dict(data.get("flags") or {}),
        )


_FLAG_FIELDS = (
    "agency_code", "fee_amount", "online_payment", "digitized", "e_result",
    "reused_data", "population_db", "rating", "complaint", "dvcqg_store",
)
# Flags whose earliest value stands: a dossier is synced to the national portal from the first
# acknowledgement on (contracts.md §2d), whatever later events carry.
_EARLIEST_FIELDS = ("dvcqg_synced_at",)
PAKN_COMPLAINT = "pakn_complaint"
"""Flag set by a petition (PAKN) naming the dossier: a complaint about it for 5.4 (domain.md §2.6)."""


def _stamp_key(stamp: list[str]) -> tuple[datetime, str]:
    return (datetime.fromisoformat(stamp[0]), stamp[1])


def _fact_key(f: StatusFact) -> tuple[datetime, int, str]:
    return (f.at, f.status, f.event_id)


_FLAG_VALUES = attrgetter(*_FLAG_FIELDS)  # one C call for the ten attributes (most events carry none)


_NO_FLAGS: dict[str, list[Any]] = {}  # shared by the states without flags: no code changes a state's dict


def _new_state(event: DossierEvent) -> DossierState:
    """The state of a dossier's first event (the common case of the stream), built at once.
    Memory per open dossier (`ioc bench pipeline --rss-dossiers`): its unit and procedure codes are
    interned (a few thousand distinct codes, each otherwise held by every dossier: ~120 B), and a
    state without flags shares one empty dict (64 B)."""
    flags: dict[str, list[Any]] = _NO_FLAGS
    values = _FLAG_VALUES(event)
    if values.count(None) != len(values):
        flags = {}
        stamp = [event.occurred_at.isoformat(), event.event_id]
        for name, value in zip(_FLAG_FIELDS, values):
            if value is not None:
                flags[name] = [*stamp, value]
    synced = event.dvcqg_synced_at
    if synced is not None:
        flags = flags if flags is not _NO_FLAGS else {}
        flags["dvcqg_synced_at"] = [event.occurred_at.isoformat(), event.event_id, synced.isoformat()]
    return DossierState(event.dossier_code, intern(event.unit_code), intern(event.procedure_code),
                        (StatusFact(int(event.status), event.occurred_at, event.event_id),),
                        event.due_at, event.legal_duration, event.channel, flags)


def apply_event(state: DossierState | None, event: DossierEvent) -> DossierState:
    """The state after ``event``; an event already applied (same ``event_id``) changes nothing."""
    if state is None:
        return _new_state(event)
    if any(f.event_id == event.event_id for f in state.facts):
        return state
    if not state.unit_code:  # a petition named the dossier before its first event arrived
        state = msgspec.structs.replace(state, unit_code=event.unit_code, procedure_code=event.procedure_code)
    facts = tuple(sorted(state.facts + (StatusFact(int(event.status), event.occurred_at, event.event_id),), key=_fact_key))
    # Attributes: the value carried by the latest event (by event time, then id) wins, so
    # the result does not depend on arrival order.
    stamp = [event.occurred_at.isoformat(), event.event_id]
    flags = dict(state.flags)
    for name in _FLAG_FIELDS:
        value = getattr(event, name, None)
        if value is not None and (name not in flags or _stamp_key(stamp) > _stamp_key(flags[name][:2])):
            flags[name] = [*stamp, value]
    for name in _EARLIEST_FIELDS:
        value = getattr(event, name, None)
        if value is not None:
            value = value.isoformat() if isinstance(value, datetime) else str(value)
            if name not in flags or datetime.fromisoformat(value) < datetime.fromisoformat(flags[name][2]):
                flags[name] = [*stamp, value]
    # The appointment is fixed at reception; a later re-appointment does not move the
    # deadline the dossier is judged against, so the earliest one given stands.
    due_at = event.due_at if state.due_at is None else min(state.due_at, event.due_at or state.due_at)
    channel = state.channel if event.channel is None \
        else event.channel if state.channel is None else min(state.channel, event.channel)
    return DossierState(state.dossier_code, state.unit_code, state.procedure_code, facts, due_at,
                        state.legal_duration or event.legal_duration, channel, flags)


_ENTRY = msgspec.json.Encoder()


class _Entry(msgspec.Struct):
    partition: int
    state: DossierState


_ENTRY_DECODER = msgspec.json.Decoder(_Entry)


def encode_entry(partition: int, state: DossierState) -> bytes:
    """A dossier table value: ``{"partition", "state"}`` with the state's JSON (:meth:`DossierState.to_json`'s
    shape), encoded in one C call (streams/agents.py writes one per changed dossier)."""
    return _ENTRY.encode({"partition": partition, "state": state})


def decode_entry(value: bytes) -> tuple[int, DossierState]:
    """A table value back: (partition, state)."""
    entry = _ENTRY_DECODER.decode(value)
    return entry.partition, entry.state


def apply_complaint(state: DossierState | None, dossier_code: str, at: datetime, link_id: str) -> DossierState:
    """The state after a petition (PAKN) about the dossier, received at ``at``: it counts as a
    complaint in 5.4. Idempotent and order-independent (the earliest link stands); a petition
    that arrives before the dossier's first event keeps a placeholder without unit."""
    if state is None:
        state = DossierState(dossier_code, "", "")
    stamp = [at.isoformat(), link_id]
    current = state.flags.get(PAKN_COMPLAINT)
    if current is not None and _stamp_key(current[:2]) <= _stamp_key(stamp):
        return state
    return msgspec.structs.replace(state, flags={**state.flags, PAKN_COMPLAINT: [*stamp, True]})


def _canonical(event: DossierEvent) -> str:
    return json.dumps(event.to_json(), sort_keys=True, ensure_ascii=False)


def fold(events: Iterable[DossierEvent], at: datetime | None = None,
         complaints: Iterable[tuple[str, datetime, str]] = ()) -> list[DossierState]:
    """Dossier states from the events that occurred by ``at`` (None: all), sorted by code, independent
    of the events' order: the one fold of `ioc kpi`, `ioc verify`, `ioc restore`, the console and
    the public lookup (the live agent applies the same :func:`apply_event` as events come).

    One event per ``event_id`` (the idempotency key); should two differ, the smaller canonical
    JSON wins, so that even then the choice does not depend on the order of the lines.
    ``complaints`` are petitions naming a dossier (ioc.kpi.pakn.complaint_links): each marks
    its dossier as complained about (5.4), as the live dossier agent does."""
    unique: dict[str, DossierEvent] = {}
    for event in events:
        if at is not None and event.occurred_at > at:
            continue
        seen = unique.get(event.event_id)
        if seen is None or (seen != event and _canonical(event) < _canonical(seen)):
            unique[event.event_id] = event
    states: dict[str, DossierState] = {}
    for event in sorted(unique.values(), key=lambda e: (e.occurred_at, e.event_id)):
        states[event.dossier_code] = apply_event(states.get(event.dossier_code), event)
    for code, when, link_id in complaints:
        if at is None or when <= at:
            states[code] = apply_complaint(states.get(code), code, when, link_id)
    return [states[code] for code in sorted(states)]
