"""The dossier event (contracts.md §2) and its one decoder.

One event is one status change of one dossier, as the one-stop-shop systems sync to the
national portal. Validation names the field and the problem; unknown fields are kept.

One decoder, used by the ingest API and ``ioc import`` (:func:`parse_event`, one JSON value),
the stream agent and the warehouse sink (:func:`decode_events`, one wire-format message):

* **Fast path**: msgspec decodes a whole message (or converts one value) straight into
  :class:`DossierEvent` structs, typed and constrained in C. What our producers send (compact
  JSON, RFC 3339 times with an offset, no padded strings) never leaves it.
* **Lenient path**, for an item msgspec refuses or that needs a normalisation it does not do:
  the same fields checked one by one in Python with the lax rules the API has always applied
  (``"2"`` or ``2.0`` for status 2, ``"yes"`` for true, ``"12.5"`` for a fee, padded strings
  stripped, a Unix time or ``+0700`` offset accepted), every problem named as
  ``field: problem`` with the wording earlier releases gave (they validated with pydantic;
  ``tests/unit/test_event_decoder.py`` checks the two agree on generated input). Datetime text
  that is not RFC 3339 is read by pydantic-core's own datetime parser, so the forms accepted
  and the reasons given for unreadable times stay what they were.

A bad item is judged here once: the agent dead-letters it, the sink skips it with the same
verdict, the API answers with the same reason.

One known difference from earlier releases, on purpose: a time with more than 6 digits of a
second that reaches the stream directly (not through the API) is rounded to the microsecond by
msgspec where pydantic truncated it (checking every message for such digits cost as much as
decoding it); the agent and the sink decode alike, so they agree. Through :func:`parse_event`
(the API, ``ioc import``) such a time is still truncated, as before.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any, Callable, Literal, NamedTuple

import msgspec

from ioc.wire import decode_batch

LINK_TYPE = "pakn_link"
"""The ``type`` of a petition's link item on the dossier topic (streams/pakn.py): not an event."""


class Status(IntEnum):
    SUBMITTED = 1  # submitted online, awaiting reception
    RECEIVED = 2  # received at the one-stop shop: the deadline clock starts
    REFUSED = 3  # refused at intake
    PROCESSING = 4  # in processing (after a 5: the supplement was completed)
    SUPPLEMENT_REQUESTED = 5  # clock paused
    FINANCIAL_OBLIGATION = 6
    WITHDRAWN = 7
    STOPPED = 8
    FINISHED = 9  # result ready: the end-of-processing time judged against the deadline
    RETURNED = 10


DurationUnit = Literal["working_day", "day", "hour", "month"]
_DURATION_UNITS = ("working_day", "day", "hour", "month")


class LegalDuration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    value: Annotated[float, msgspec.Meta(gt=0)]
    unit: DurationUnit

    def __post_init__(self) -> None:  # built in code (procedures.yaml) as well as decoded
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or not self.value > 0:
            raise ValueError(f"legal duration value must be a number > 0, got {self.value!r}")
        if self.unit not in _DURATION_UNITS:
            raise ValueError(f"legal duration unit must be one of {_DURATION_UNITS}, got {self.unit!r}")
        if type(self.value) is not float:
            msgspec.structs.force_setattr(self, "value", float(self.value))

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit}


_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
_Code = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
_Time = Annotated[datetime, msgspec.Meta(tz=True)]
_EXTRAS = "\u2060extras\u2060"  # DossierEvent.extras' encoded name, word joiners around it: no producer sends it


class DossierEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    event_id: _Id
    dossier_code: _Code
    status: Status
    occurred_at: _Time
    unit_code: _Code
    procedure_code: _Code

    agency_code: str | None = None
    channel: Literal[1, 2, 3] | None = None
    due_at: _Time | None = None
    legal_duration: LegalDuration | None = None
    fee_amount: Annotated[float, msgspec.Meta(ge=0)] | None = None
    online_payment: Literal[0, 1, 2] | None = None
    digitized: bool | None = None
    e_result: bool | None = None
    reused_data: bool | None = None
    population_db: bool | None = None
    rating: Literal["satisfied", "neutral", "dissatisfied"] | None = None
    complaint: bool | None = None
    # contracts.md §2d: when the national portal acknowledged the dossier (1.4), and whether a
    # component came from / the result went to the citizen's data store on the portal (4.4).
    dvcqg_synced_at: _Time | None = None
    dvcqg_store: bool | None = None
    # Unknown fields of the item, in their order (kept: the contract keeps them).
    extras: dict[str, Any] | None = msgspec.field(default=None, name=_EXTRAS)

    def to_json(self) -> dict[str, Any]:
        """The event as published and stored: its fields without the absent ones, times in
        ISO-8601 (``Z`` for UTC), then its unknown fields."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        extras = out.pop(_EXTRAS, None)
        if extras:
            for name, value in extras.items():
                if value is not None:  # an unknown float that JSON cannot hold: null, as before
                    out[name] = None if isinstance(value, float) and not math.isfinite(value) else value
        return out

    @property
    def model_extra(self) -> dict[str, Any]:
        """The unknown fields (the name earlier releases' pydantic model gave them)."""
        return dict(self.extras or {})


FIELDS: tuple[str, ...] = tuple(f for f in DossierEvent.__struct_fields__ if f != "extras")
_FIELD_SET = frozenset(FIELDS)
_STR_FIELDS = ("event_id", "dossier_code", "unit_code", "procedure_code")


class EventRejected(ValueError):
    """A malformed event; ``reason`` names the field and the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be ISO-8601 with a UTC offset, e.g. 2026-10-08T09:15:00+07:00")
    return value


# --- the fast path ----------------------------------------------------------------------------------

# Whitespace stripped from strings: Unicode White_Space, as earlier releases (Rust's trim) did;
# not str.strip()'s set, which also takes the ASCII separators \x1c-\x1f.
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
      "\u2028\u2029\u202f\u205f\u3000"
# More than 6 digits of a second: msgspec rounds them, earlier releases truncated: lenient path.
_FINE_FRACTION = re.compile(rb"\d:\d\d\.\d{7}")
_LINK_MARK = LINK_TYPE.encode()
_MESSAGE = msgspec.json.Decoder(list[DossierEvent])


class _Closed(DossierEvent, frozen=True, forbid_unknown_fields=True):
    """An event that came with no unknown field (the sink's fast path: nothing to keep)."""


_CLOSED_MESSAGE = msgspec.json.Decoder(list[_Closed])
_ONE = msgspec.json.Decoder(DossierEvent)
_ANY = msgspec.json.Decoder()


def _plain(ev: DossierEvent) -> bool:
    """True when the fast path's event is final: no string to strip, no smuggled extras
    (``str.strip`` gives back the very same object when there is nothing to strip)."""
    a = ev.agency_code
    return (ev.extras is None and ev.event_id.strip(_WS) is ev.event_id
            and ev.dossier_code.strip(_WS) is ev.dossier_code and ev.unit_code.strip(_WS) is ev.unit_code
            and ev.procedure_code.strip(_WS) is ev.procedure_code and (a is None or a.strip(_WS) is a))


def parse_event(raw: Any) -> DossierEvent:
    """Validate one raw JSON value (as :func:`json.loads` gives it) as a dossier event, or
    raise :class:`EventRejected`."""
    if not isinstance(raw, dict):
        raise EventRejected(f"event: expected a JSON object, got {type(raw).__name__}")
    try:
        ev = msgspec.convert(raw, DossierEvent)
    except (msgspec.ValidationError, TypeError, ValueError, OverflowError):
        return _lenient(raw)
    if not _plain(ev) or not _FIELD_SET.issuperset(raw) or _fine_fraction(raw):
        return _lenient(raw)
    return ev


def _fine_fraction(raw: dict[str, Any]) -> bool:
    for name in ("occurred_at", "due_at", "dvcqg_synced_at"):
        value = raw.get(name)
        if isinstance(value, str) and _FINE_FRACTION.search(value.encode()):
            return True
    return False


class Decoded(NamedTuple):
    """One wire-format message of the dossier topic, decoded."""

    events: list[DossierEvent]
    links: list[tuple[int, Any]]  # (position, item): petitions naming a dossier (streams/pakn.py)
    rejected: list[tuple[int, Any, str]]  # (position, item, reason)


def decode_events(value: bytes | None, keep_extras: bool = False) -> Decoded:
    """The items of one message (ioc.wire: one event object or an array of them). With
    ``keep_extras`` the events carry their unknown fields (the sink stores them; the agent's
    fold does not need them). Raises ``ioc.wire.UndecodableMessage`` for a message that is
    not JSON, or neither an object nor an array."""
    if value is not None and _LINK_MARK not in value:
        try:
            events = (_CLOSED_MESSAGE if keep_extras else _MESSAGE).decode(value)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass  # a bad item (or a single object): item by item below
        else:
            if all(_plain(ev) for ev in events):
                return Decoded(events, [], [])  # type: ignore[arg-type]
    items = decode_batch(value)
    out = Decoded([], [], [])
    for position, item in enumerate(items):
        if isinstance(item, dict) and item.get("type") == LINK_TYPE:
            out.links.append((position, item))
            continue
        try:
            out.events.append(parse_event(item))
        except EventRejected as exc:
            out.rejected.append((position, item, exc.reason))
    return out


# --- the lenient path: every field checked, every problem named --------------------------------

_BOOL_TEXT = {"0": False, "off": False, "f": False, "false": False, "n": False, "no": False,
              "1": True, "on": True, "t": True, "true": True, "y": True, "yes": True}


class _Bad(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _str(min_length: int | None, max_length: int | None) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad("Input should be a valid string")
        text: str = value.strip(_WS)
        if min_length is not None and len(text) < min_length:
            raise _Bad(f"String should have at least {min_length} character{'s' if min_length != 1 else ''}")
        if max_length is not None and len(text) > max_length:
            raise _Bad(f"String should have at most {max_length} character{'s' if max_length != 1 else ''}")
        return text
    return check


def _whole(value: Any) -> int | None:
    """An integer as pydantic's lax mode reads one (bool, integral float, integer text)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip(_WS)
        if re.fullmatch(r"[+-]?[0-9]+(_[0-9]+)*(\.0+)?", text):
            return int(text.split(".")[0].replace("_", ""))
    return None


def _choices(values: tuple[Any, ...]) -> str:
    shown = [repr(v) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _status(value: Any) -> Status:
    number = _whole(value)
    if number is not None and not isinstance(value, float) and not -2**63 <= number < 2**63:
        raise _Bad("Unable to parse input string as an integer, exceeded maximum size")
    if number is None or not 1 <= number <= 10:
        raise _Bad(f"Input should be {_choices(tuple(int(s) for s in Status))}")
    return Status(number)


def _int_literal(*allowed: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, int) and not -2**63 <= value < 2**63:
            raise _Bad("Unable to parse input string as an integer, exceeded maximum size")
        if isinstance(value, (bool, int)) or (isinstance(value, float) and value.is_integer()):
            if int(value) in allowed:
                return int(value)
        raise _Bad(f"Input should be {_choices(allowed)}")
    return check


def _str_literal(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, str) and value in allowed:
            return value
        raise _Bad(f"Input should be {_choices(allowed)}")
    return check


_NUMBER_TEXT = re.compile(r"[+-]?(([0-9]+(_[0-9]+)*)?\.?[0-9]+(_[0-9]+)*([eE][+-]?[0-9]+)?|[0-9]+(_[0-9]+)*\.|inf(inity)?|nan)",
                          re.IGNORECASE)


def _float(ge: float | None = None, gt: float | None = None) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, (bool, int, float)):
            number = float(value)
        elif isinstance(value, str):
            text = value.strip(_WS)
            if not _NUMBER_TEXT.fullmatch(text):
                raise _Bad("Input should be a valid number, unable to parse string as a number")
            number = float(text.replace("_", ""))
        else:
            raise _Bad("Input should be a valid number")
        if ge is not None and not number >= ge:
            raise _Bad(f"Input should be greater than or equal to {ge:g}")
        if gt is not None and not number > gt:
            raise _Bad(f"Input should be greater than {gt:g}")
        return number
    return check


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
        whole = (value.is_integer() if isinstance(value, float) else True) and -2**63 <= value < 2**63
        raise _Bad("Input should be a valid boolean" + (", unable to interpret input" if whole else ""))
    if isinstance(value, str):
        word = _BOOL_TEXT.get(value.lower())
        if word is None:
            raise _Bad("Input should be a valid boolean, unable to interpret input")
        return word
    raise _Bad("Input should be a valid boolean")


_PYDANTIC_DATETIME: Any = None


def _datetime(value: Any) -> datetime:
    """RFC 3339 through msgspec; any other form through pydantic-core's parser (its reasons)."""
    global _PYDANTIC_DATETIME
    if isinstance(value, str) and not _FINE_FRACTION.search(value.encode()):
        try:
            parsed = msgspec.convert(value, datetime)
        except msgspec.ValidationError:
            pass
        else:
            if parsed.tzinfo is None:
                raise _Bad("must be ISO-8601 with a UTC offset, e.g. 2026-10-08T09:15:00+07:00")
            return parsed
    if _PYDANTIC_DATETIME is None:
        from pydantic_core import SchemaValidator, core_schema

        _PYDANTIC_DATETIME = SchemaValidator(core_schema.datetime_schema())
    from pydantic_core import ValidationError

    try:
        parsed = _PYDANTIC_DATETIME.validate_python(value)
    except ValidationError as exc:
        raise _Bad(exc.errors(include_url=False)[0]["msg"]) from None
    try:
        return _aware(parsed)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _legal_duration(value: Any) -> tuple[LegalDuration | None, list[str]]:
    if not isinstance(value, dict):
        return None, ["legal_duration: Input should be a valid dictionary or instance of LegalDuration"]
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for name, check in (("value", _float(gt=0)), ("unit", _str_literal(*_DURATION_UNITS))):
        if name not in value:
            problems.append(f"legal_duration.{name}: Field required")
            continue
        try:
            parsed[name] = check(value[name])
        except _Bad as bad:
            problems.append(f"legal_duration.{name}: {bad.message}")
    problems.extend(f"legal_duration.{name}: Extra inputs are not permitted" for name in value
                    if name not in ("value", "unit"))
    return (None, problems) if problems else (LegalDuration(**parsed), [])


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "event_id": _str(1, 200),
    "dossier_code": _str(1, 100),
    "status": _status,
    "occurred_at": _datetime,
    "unit_code": _str(1, 100),
    "procedure_code": _str(1, 100),
    "agency_code": _str(None, None),
    "channel": _int_literal(1, 2, 3),
    "due_at": _datetime,
    "fee_amount": _float(ge=0),
    "online_payment": _int_literal(0, 1, 2),
    "digitized": _bool,
    "e_result": _bool,
    "reused_data": _bool,
    "population_db": _bool,
    "rating": _str_literal("satisfied", "neutral", "dissatisfied"),
    "complaint": _bool,
    "dvcqg_synced_at": _datetime,
    "dvcqg_store": _bool,
}
_REQUIRED = frozenset(("event_id", "dossier_code", "status", "occurred_at", "unit_code", "procedure_code"))


def _lenient(raw: dict[str, Any]) -> DossierEvent:
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for name in FIELDS:
        if name not in raw:
            if name in _REQUIRED:
                problems.append(f"{name}: Field required")
            continue
        value = raw[name]
        if value is None and name not in _REQUIRED:
            continue
        if name == "legal_duration":
            duration, bad = _legal_duration(value)
            problems.extend(bad)
            fields[name] = duration
            continue
        try:
            fields[name] = _CHECKS[name](value)
        except _Bad as bad:
            problems.append(f"{name}: {bad.message}")
    if problems:
        raise EventRejected("; ".join(problems))
    extras = {k: v for k, v in raw.items() if k not in _FIELD_SET}
    return DossierEvent(**fields, extras=extras or None)
