"""Who receives which dossiers in the simulation: real units, sample agencies, a catalogue.

Territories are the official post-July-2025 units (ioc.reference.units); agencies are the
standard tree of each province (ioc.reference.agencies, SAMPLE identifiers); procedures come
from the SAMPLE catalogue (ioc.reference.procedures). A dossier is scored under the agency that
processes it: a provincial procedure goes to the department with the procedure's role, a
commune procedure to that role's agency in one of the province's communes.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from ioc import clock
from ioc.domain.events import LegalDuration

if TYPE_CHECKING:
    from ioc.reference.catalogue import CatalogueRow

# Dossiers by level after the district level was abolished: provincial 35-45 %, commune
# 45-60 % (domain.md §3.2).
PROVINCE_LEVEL_SHARE = 0.40

# Relative demand by sector: civil status and certification dominate a commune's counter.
SECTOR_DEMAND = {"Hộ tịch": 4.0, "Chứng thực": 5.0, "Đất đai": 2.0, "Cư trú": 2.5,
                 # provincial departments: transport, tax and health insurance are busy counters,
                 # religion, science, foreign affairs and complaints see a few dossiers a week [I]
                 "Đường bộ": 1.5, "Thuế": 1.5, "Bảo hiểm y tế": 1.5, "Giáo dục": 0.6, "Khám bệnh": 0.6,
                 "An toàn thực phẩm": 0.5, "Xử lý đơn": 0.5, "Lữ hành": 0.4, "Công chứng": 0.4, "Môi trường": 0.4,
                 "Hoạt động khoa học": 0.3, "Tôn giáo": 0.3, "Ngoại vụ": 0.3, "Giải quyết khiếu nại": 0.3}

# The province the product is demonstrated on; its QCVN 102 prefix is the one the national
# portal shows for it (H44, see tests/data/portal-766-sample.json).
DEFAULT_PROVINCE = ("25", "H44")  # Tỉnh Phú Thọ (post-2025 GSO code 25)


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str  # "province" or "commune"
    province_code: str


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    duration: LegalDuration
    fee: int
    level: str
    late_prone: bool  # land and construction run late more often (domain.md §3.2)
    weight: float
    role: str


def _procedures() -> tuple[Procedure, ...]:
    from ioc.reference.procedures import procedures

    return tuple(
        Procedure(p.code, p.name, p.duration, p.fee_vnd, p.level,
                  late_prone=any(s in p.sector for s in ("Đất đai", "Xây dựng")),
                  weight=next((w for s, w in SECTOR_DEMAND.items() if s in p.sector), 1.0), role=p.agency_role)
        for p in procedures()
    )


class Population:
    """Draws (unit, procedure) pairs for new dossiers."""

    def __init__(self, provinces: list[tuple[str, str | None]], seed: int = 1) -> None:
        from ioc.reference.agencies import agency_tree
        from ioc.reference.units import province as province_by_code

        rng = random.Random(seed)
        self.procedures = _procedures()
        self.by_level = {lvl: [p for p in self.procedures if p.level in (lvl, "both")] for lvl in ("province", "commune")}
        self._proc_cum = {lvl: list(itertools.accumulate(p.weight for p in ps)) for lvl, ps in self.by_level.items()}
        self.units: dict[str, Unit] = {}
        # role -> per province: the provincial agency, or the communes' agencies with weights
        self._agencies: list[dict[str, list[Unit]]] = []
        self._commune_weights: list[dict[str, list[float]]] = []
        sizes = []
        for code, prefix in provinces:
            province = province_by_code(code)
            tree = agency_tree(province.code, prefix=prefix)
            roles: dict[str, list[Unit]] = {}
            for agency in tree.by_code.values():
                unit = Unit(agency.code, agency.name, agency.serves_level, province.code)
                roles.setdefault(agency.role, []).append(unit)
                self.units[unit.code] = unit
            # Communes differ in size: a fixed, seeded spread of demand between them.
            self._agencies.append(roles)
            self._commune_weights.append({r: list(itertools.accumulate(rng.lognormvariate(0, 0.6) for _ in us))
                                          for r, us in roles.items()})
            sizes.append(len(roles.get("ubnd_xa", ())) or 1)
        self._province_cum = list(itertools.accumulate(sizes))  # demand follows the number of communes
        # The catalogue's facts per procedure (online, fee on the national payment platform,
        # paper result, citizen subjects), as in force on a dossier's day (ioc.reference.catalogue).
        from ioc.reference.catalogue import sample_catalogue

        self.catalogue = sample_catalogue()
        self._in_force: dict[date, dict[str, CatalogueRow]] = {}

    def facts(self, procedure_code: str, day: date) -> "CatalogueRow | None":
        """The catalogue row of a procedure in force on ``day`` (None: not in the catalogue)."""
        rows = self._in_force.get(day)
        if rows is None:
            if len(self._in_force) > 400:
                self._in_force.clear()
            rows = self._in_force[day] = self.catalogue.in_force(day)
        return rows.get(procedure_code)

    def pick(self, rng: random.Random) -> tuple[Unit, Procedure]:
        i = rng.choices(range(len(self._agencies)), cum_weights=self._province_cum)[0] if len(self._agencies) > 1 else 0
        level = "province" if rng.random() < PROVINCE_LEVEL_SHARE else "commune"
        proc = rng.choices(self.by_level[level], cum_weights=self._proc_cum[level])[0]
        agencies = self._agencies[i].get(proc.role) or self._agencies[i]["ubnd_xa"]
        if len(agencies) == 1:
            return agencies[0], proc
        return rng.choices(agencies, cum_weights=self._commune_weights[i].get(proc.role))[0], proc


@lru_cache(maxsize=4)
def population(scale: str = "province", seed: int = 1, home: tuple[str, str | None] = DEFAULT_PROVINCE) -> Population:
    """The home province, or all 34 provinces (agency prefixes H+GSO code but the home one's)."""
    if scale == "province":
        return Population([home], seed)
    from ioc.reference.units import provinces

    known = dict([home])
    return Population([(p.code, known.get(p.code)) for p in provinces(clock.today())], seed)
