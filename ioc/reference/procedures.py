"""The procedure (TTHC) catalogue: a SAMPLE catalogue, not the national database.

Why: the simulator, the KPI engine and the wall need, per procedure, the national code sent as
``MaTTHC`` (domain.md §1.5), the legal time limit from which the appointment date is computed
(§1.4, §3.3), the fee, whether the result is on paper and whether the procedure is offered fully
online ("toàn trình", which feeds the online indicators of Decision 766). The catalogue is data
(``procedures.yaml``, packaged with ``ioc``), validated on load; durations reuse the project's
``LegalDuration`` so entries plug straight into the deadline rules.

Provenance: every entry has a ``provenance`` (``code`` and ``name``, each ``verified`` or
``SAMPLE``) and a ``source``. ``verified`` means seen with this meaning in at least two public
sources derived from the national portal (procedure pages, announced procedure lists, portal
URLs), not checked against the live National Database; SAMPLE codes use the prefix ``9.`` that
no real code has. Durations and fees carry a note with their basis (domain.md §3.3 or
[M] working knowledge). No licence issue: the entries are facts re-stated by us.

One source of procedure truth: each entry may carry a ``catalogue`` block with the facts the
province publishes (contracts.md §2b) and their later ``changes``; the catalogue rows of
:func:`ioc.reference.catalogue.sample_catalogue` are derived from this file, never kept apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, Mapping

import yaml

from ioc.domain.events import LegalDuration
from ioc.reference.agencies import COMMUNE_COMMITTEE, COMMUNE_POLICE, COMMUNE_SERVICE_CENTRE, ROLE_KEYS

NATIONAL_CODE = re.compile(r"^\d\.\d{6}$")
"""Shape of a national procedure code (MaTTHC), e.g. 1.001612, 2.000815."""
REAL_CODE = re.compile(r"^[1-3]\.\d{6}$")
SAMPLE_CODE = re.compile(r"^9\.\d{6}$")

Level = Literal["province", "commune", "both"]
Online = Literal["full", "partial", "none"]
Verification = Literal["verified", "SAMPLE"]
_LEVELS = ("province", "commune", "both")
_ONLINE = ("full", "partial", "none")
_VERIFICATION = ("verified", "SAMPLE")
_COMMUNE_ROLES = frozenset({COMMUNE_COMMITTEE, COMMUNE_POLICE, COMMUNE_SERVICE_CENTRE})
_FIELDS = {"code", "name", "sector", "level", "duration", "duration_note", "fee_vnd", "fee_note",
           "paper_result", "agency_role", "provenance", "source"}
_OPTIONAL = {"online", "fully_online", "catalogue"}  # one of online / fully_online is required
# Facts of contracts.md §2b that an entry's ``catalogue`` block (and its ``changes``) state.
_FACTS = ("full_online_eligible", "fee_on_national_payment", "citizen_subject", "certified_copy",
          "legal_basis_effective", "decision_date", "published_date", "components_complete")


class CatalogueError(ValueError):
    """The catalogue is malformed; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class Provenance:
    code: Verification
    name: Verification


@dataclass(frozen=True, slots=True)
class CatalogueVersion:
    """Catalogue facts (contracts.md §2b) of an entry from ``valid_from`` (``None``: from the
    beginning); a later version states only what changes, and why (``note``)."""

    valid_from: date | None
    values: tuple[tuple[str, Any], ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    name: str
    sector: str
    level: Level
    duration: LegalDuration
    duration_note: str
    fee_vnd: int
    fee_note: str
    paper_result: bool
    fully_online: bool  # online == "full"
    agency_role: str  # a role key of ioc.reference.agencies (the processing agency)
    provenance: Provenance
    source: str
    online: Online | None = None  # None: only "not toàn trình" is known (an entry with fully_online: false)
    catalogue_versions: tuple[CatalogueVersion, ...] = ()  # the entry's catalogue block, then its changes

    @property
    def is_sample(self) -> bool:
        return self.provenance.code == "SAMPLE"


def _fail(where: str, message: str) -> CatalogueError:
    return CatalogueError(f"{where}: {message}")


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{key} must be a non-empty string, got {value!r}")
    return value


def _flag(entry: Mapping[str, Any], key: str, where: str) -> bool:
    value = entry.get(key)
    if not isinstance(value, bool):
        raise _fail(where, f"{key} must be true or false, got {value!r}")
    return value


def _facts(block: Any, where: str, allowed: frozenset[str]) -> tuple[tuple[str, Any], ...]:
    from ioc.reference.catalogue import convert_value

    if not isinstance(block, dict):
        raise _fail(where, "must be a mapping")
    if unknown := block.keys() - allowed:
        raise _fail(where, f"unknown {sorted(unknown)}")
    out = []
    for key in [k for k in (*_FACTS, "online") if k in block]:
        if block[key] is None:
            raise _fail(where, f"{key}: leave it out when unknown")
        try:
            out.append((key, convert_value(key, block[key])))
        except ValueError as exc:
            raise _fail(where, f"{key}: {exc}") from None
    return tuple(out)


def _valid_from(value: Any, where: str) -> date:
    from ioc.reference.catalogue import convert_value

    try:
        day: date = convert_value("valid_from", value)
        return day
    except ValueError as exc:
        raise _fail(where, f"valid_from: {exc}") from None


def _catalogue(block: Any, where: str, fee_vnd: int) -> tuple[CatalogueVersion, ...]:
    """An entry's ``catalogue`` block: its facts, then each of its ``changes``."""
    where = f"{where} catalogue"
    base_keys = frozenset({*_FACTS, "valid_from", "changes"})
    versions = [CatalogueVersion(
        _valid_from(block["valid_from"], where) if isinstance(block, dict) and "valid_from" in block else None,
        _facts({k: v for k, v in block.items() if k not in ("valid_from", "changes")} if isinstance(block, dict)
               else block, where, base_keys))]
    changes = block.get("changes", [])
    if not isinstance(changes, list):
        raise _fail(where, "changes must be a list")
    for i, change in enumerate(changes):
        at = f"{where} changes[{i}]"
        if not isinstance(change, dict) or "valid_from" not in change or not isinstance(change.get("note"), str):
            raise _fail(at, "needs valid_from and a note (why it changes)")
        start = _valid_from(change["valid_from"], at)
        previous = versions[-1].valid_from
        if previous is not None and start <= previous:
            raise _fail(at, f"valid_from {start} must come after {previous}")
        values = _facts({k: v for k, v in change.items() if k not in ("valid_from", "note")}, at,
                        frozenset({*_FACTS, "online"}))
        if not values:
            raise _fail(at, "changes nothing")
        versions.append(CatalogueVersion(start, values, change["note"]))
    for version in versions:
        if fee_vnd == 0 and "fee_on_national_payment" in dict(version.values):
            raise _fail(where, "fee_on_national_payment: only for a procedure with a fee (fee_vnd > 0)")
    return tuple(versions)


def _procedure(entry: Any, index: int) -> Procedure:
    where = f"procedures[{index}]"
    if not isinstance(entry, dict):
        raise _fail(where, "must be a mapping")
    code = entry.get("code")
    if not isinstance(code, str):  # an unquoted 1.001612 is read by YAML as a float
        raise _fail(where, f"code must be a quoted string, got {code!r}")
    where = f"procedures[{index}] ({code})"
    if missing := _FIELDS - entry.keys():
        raise _fail(where, f"missing {sorted(missing)}")
    if unknown := entry.keys() - _FIELDS - _OPTIONAL:
        raise _fail(where, f"unknown {sorted(unknown)}")
    online = entry.get("online")
    if online is not None and online not in _ONLINE:
        raise _fail(where, f"online must be one of {_ONLINE}, got {online!r}")
    if "fully_online" in entry:
        fully = _flag(entry, "fully_online", where)
        if online is not None and fully != (online == "full"):
            raise _fail(where, f"fully_online {fully} contradicts online {online!r}")
    elif online is None:
        raise _fail(where, "missing ['online'] (full, partial or none)")
    else:
        fully = online == "full"
    if online is None and fully:
        online = "full"
    if not NATIONAL_CODE.match(code):
        raise _fail(where, "code must look like 1.001612")
    level = entry["level"]
    if level not in _LEVELS:
        raise _fail(where, f"level must be one of {_LEVELS}, got {level!r}")
    try:
        duration = LegalDuration(**entry["duration"]) if isinstance(entry["duration"], dict) else None
    except (TypeError, ValueError) as exc:  # ValueError: LegalDuration refuses the value or unit
        raise _fail(where, f"duration invalid: {exc}") from None
    if duration is None:
        raise _fail(where, "duration must be a mapping {value, unit}")
    fee = entry["fee_vnd"]
    if isinstance(fee, bool) or not isinstance(fee, int) or fee < 0:
        raise _fail(where, f"fee_vnd must be a non-negative integer, got {fee!r}")
    prov = entry["provenance"]
    if (not isinstance(prov, dict) or set(prov) != {"code", "name"}
            or not all(v in _VERIFICATION for v in prov.values())):
        raise _fail(where, f"provenance must be {{code, name}} each in {_VERIFICATION}, got {prov!r}")
    provenance = Provenance(prov["code"], prov["name"])
    if provenance.code == "verified" and not REAL_CODE.match(code):
        raise _fail(where, "a verified code must start with 1, 2 or 3")
    if provenance.code == "SAMPLE" and not SAMPLE_CODE.match(code):
        raise _fail(where, "a SAMPLE code must use the prefix 9. so it cannot collide with a real one")
    role = _text(entry, "agency_role", where)
    if role not in ROLE_KEYS:
        raise _fail(where, f"agency_role {role!r} is not a role of ioc.reference.agencies")
    if level == "commune" and role not in _COMMUNE_ROLES:
        raise _fail(where, f"a commune-level procedure needs a commune agency, got {role!r}")
    if level == "province" and role in _COMMUNE_ROLES:
        raise _fail(where, f"a province-level procedure needs a provincial agency, got {role!r}")
    return Procedure(
        code=code, name=_text(entry, "name", where), sector=_text(entry, "sector", where), level=level,
        duration=duration, duration_note=_text(entry, "duration_note", where), fee_vnd=fee,
        fee_note=_text(entry, "fee_note", where), paper_result=_flag(entry, "paper_result", where),
        fully_online=fully, agency_role=role, provenance=provenance,
        source=_text(entry, "source", where), online=online,
        catalogue_versions=_catalogue(entry["catalogue"], where, fee) if "catalogue" in entry else ())


def parse_catalogue(text: str) -> tuple[Procedure, ...]:
    """Parse and validate a catalogue in the ``procedures.yaml`` format."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("procedures"), list):
        raise CatalogueError("the catalogue must be a mapping with a 'procedures' list")
    out = tuple(_procedure(entry, i) for i, entry in enumerate(doc["procedures"]))
    seen: set[str] = set()
    for p in out:
        if p.code in seen:
            raise CatalogueError(f"duplicate code {p.code}")
        seen.add(p.code)
    return out


@lru_cache(maxsize=1)
def procedures() -> tuple[Procedure, ...]:
    """The packaged SAMPLE catalogue, in file order."""
    text = resources.files("ioc.reference").joinpath("procedures.yaml").read_text(encoding="utf-8")
    return parse_catalogue(text)


def procedure(code: str) -> Procedure:
    """One procedure of the packaged catalogue by national code."""
    for p in procedures():
        if p.code == code:
            return p
    raise KeyError(f"no procedure {code!r} in the SAMPLE catalogue")


def procedures_at_level(level: Literal["province", "commune"]) -> tuple[Procedure, ...]:
    """Procedures handled at this level (including those handled at both)."""
    return tuple(p for p in procedures() if p.level in (level, "both"))
