"""Agencies as their own tree, separate from territories (domain.md §5).

Why: a dossier is received at one point (any Public Administration Service Centre in the
province, regardless of boundary — Decree 118/2025), processed by an agency and concerns an
applicant living in a commune; KPIs are reported per agency, and agencies are not territories
(a Sở serves the whole province, Công an tỉnh is not part of UBND). This module generates, for
a post-1/7/2025 province, the standard tree of agencies that handle dossiers:

* UBND tỉnh (root), its specialised agencies (Sở, Văn phòng UBND, Thanh tra tỉnh), the
  provincial Trung tâm Phục vụ hành chính công, the Văn phòng Đăng ký đất đai (a public-service
  unit under Sở Nông nghiệp và Môi trường; its branches are not modelled);
* vertical agencies, which report to central ministries, not to UBND tỉnh, and are therefore
  roots: Công an tỉnh (with one Công an xã/phường/đặc khu per commune), Thuế tỉnh, Bảo hiểm xã
  hội tỉnh;
* one UBND xã/phường/đặc khu per commune (parent: UBND tỉnh — there is no district level any
  more) and its commune-level Trung tâm Phục vụ hành chính công (parent: that UBND).

Provenance
    Territories come from ``ioc.reference.units`` (the ``vietnamadminunits`` package). The list
    of departments is the COMMON NATIONAL MODEL after the 2025 reorganisation (Decree
    45/2025/NĐ-CP on provincial specialised agencies, as amended in 2025) from working
    knowledge, not re-verified against the decree and NOT a specific province's list: Hà Nội and
    TP.HCM have extra departments, some provinces keep a Sở Ngoại vụ or a separate Sở Du lịch,
    and a Sở Dân tộc và Tôn giáo exists only where the ethnic-minority criteria are met. Pass
    your own ``departments`` to model a specific province. Names of the vertical agencies
    ("Thuế tỉnh …", "Bảo hiểm xã hội tỉnh …") follow their 2025 reorganisations as reported in
    the press; treat them as SAMPLE too.

Identifiers — SAMPLE, not official
    QCVN 102:2016/BTTTT identifiers are written lowest level first with the province last,
    e.g. ``000.00.00.H30`` (UBND tỉnh Hậu Giang) or ``2.000815.000.00.00.H55`` (a procedure at
    Thái Nguyên); portals also use short forms such as ``H55.242``. Public portal data shows
    that the 2-digit number after H is the standard's own province list (H55 Thái Nguyên, GSO
    19; H38 Lào Cai, GSO 10; H30 Hậu Giang, GSO 93), not the GSO code, and the post-merger
    numbers are not known to us. This module therefore uses a SAMPLE scheme in the short,
    highest-level-first style used in our dossier codes (domain.md §1.5):

    ==============================  =====================================================
    ``H{pp}``                       UBND tỉnh; ``pp`` = the new GSO province code
                                    (override with ``prefix=`` when the real one is known)
    ``H{pp}.01`` … ``H{pp}.19``     specialised agencies (Văn phòng UBND, Sở …, Thanh tra)
    ``H{pp}.06.01``                 Văn phòng Đăng ký đất đai (under Sở NN&MT = ``.06``)
    ``H{pp}.20``                    Trung tâm Phục vụ hành chính công tỉnh
    ``H{pp}.71`` / ``.72`` / ``.73``  Công an tỉnh / Thuế tỉnh / Bảo hiểm xã hội tỉnh
    ``H{pp}.71.{nnn}``              Công an of commune ``nnn``
    ``H{pp}.{nnn}``                 UBND of the commune ranked ``nnn - 100`` by ascending
                                    GSO commune code (101, 102, …; ≤ 999)
    ``H{pp}.{nnn}.01``              that commune's Trung tâm Phục vụ hành chính công
    ==============================  =====================================================

    Commune numbers depend on the commune list and would shift if communes were re-organised;
    like everything else here they are valid from 1/7/2025 and versioned by ``valid_from``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import cached_property, lru_cache
from typing import Literal, Mapping

from ioc.reference.units import REFORM_DATE, Commune, Province, communes, province


class AgencyKind(str, Enum):
    PROVINCIAL_COMMITTEE = "provincial_committee"  # UBND tỉnh / thành phố
    DEPARTMENT = "department"  # Sở, Văn phòng UBND, Thanh tra tỉnh (cơ quan chuyên môn)
    PUBLIC_SERVICE_UNIT = "public_service_unit"  # đơn vị sự nghiệp, e.g. Văn phòng Đăng ký đất đai
    PROVINCIAL_SERVICE_CENTRE = "provincial_service_centre"  # Trung tâm PVHCC tỉnh
    VERTICAL = "vertical"  # ngành dọc: police, tax, social security
    COMMUNE_COMMITTEE = "commune_committee"  # UBND xã / phường / đặc khu
    COMMUNE_SERVICE_CENTRE = "commune_service_centre"  # Trung tâm PVHCC xã / phường / đặc khu


@dataclass(frozen=True, slots=True)
class DepartmentSpec:
    number: int  # 1..19: the second level of the identifier
    role: str  # stable role key, used by the procedure catalogue
    name: str  # without the province, e.g. "Sở Tư pháp"


# COMMON NATIONAL MODEL after the 2025 reorganisation — not a specific province's list (see
# the module docstring). Mergers behind the names: Tài chính = Tài chính + Kế hoạch và Đầu tư;
# Nội vụ = Nội vụ + Lao động, Thương binh và Xã hội; Nông nghiệp và Môi trường = Nông nghiệp và
# PTNT + Tài nguyên và Môi trường; Xây dựng = Xây dựng + Giao thông vận tải; Khoa học và Công
# nghệ = Khoa học và Công nghệ + Thông tin và Truyền thông.
COMMON_DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec(1, "van_phong_ubnd", "Văn phòng Ủy ban nhân dân"),
    DepartmentSpec(2, "so_noi_vu", "Sở Nội vụ"),
    DepartmentSpec(3, "so_tu_phap", "Sở Tư pháp"),
    DepartmentSpec(4, "so_tai_chinh", "Sở Tài chính"),
    DepartmentSpec(5, "so_cong_thuong", "Sở Công Thương"),
    DepartmentSpec(6, "so_nong_nghiep_moi_truong", "Sở Nông nghiệp và Môi trường"),
    DepartmentSpec(7, "so_xay_dung", "Sở Xây dựng"),
    DepartmentSpec(8, "so_khoa_hoc_cong_nghe", "Sở Khoa học và Công nghệ"),
    DepartmentSpec(9, "so_van_hoa_the_thao_du_lich", "Sở Văn hóa, Thể thao và Du lịch"),
    DepartmentSpec(10, "so_giao_duc_dao_tao", "Sở Giáo dục và Đào tạo"),
    DepartmentSpec(11, "so_y_te", "Sở Y tế"),
    DepartmentSpec(12, "so_dan_toc_ton_giao", "Sở Dân tộc và Tôn giáo"),  # only where criteria are met
    DepartmentSpec(13, "thanh_tra", "Thanh tra"),
)

LAND_OFFICE_PARENT_ROLE = "so_nong_nghiep_moi_truong"

# Role keys of the agencies generated outside COMMON_DEPARTMENTS.
PROVINCIAL_COMMITTEE = "ubnd_tinh"
PROVINCIAL_SERVICE_CENTRE = "tt_pvhcc_tinh"
LAND_OFFICE = "vpdkdd"
POLICE = "cong_an"
TAX = "thue"
SOCIAL_SECURITY = "bhxh"
COMMUNE_POLICE = "cong_an_xa"
COMMUNE_COMMITTEE = "ubnd_xa"
COMMUNE_SERVICE_CENTRE = "tt_pvhcc_xa"

ROLE_KEYS: frozenset[str] = frozenset(
    {d.role for d in COMMON_DEPARTMENTS}
    | {PROVINCIAL_COMMITTEE, PROVINCIAL_SERVICE_CENTRE, LAND_OFFICE, POLICE, TAX, SOCIAL_SECURITY,
       COMMUNE_POLICE, COMMUNE_COMMITTEE, COMMUNE_SERVICE_CENTRE})
"""Every role key a generated tree can contain (the procedure catalogue refers to these)."""

_VERTICAL = ((71, POLICE, "Công an"), (72, TAX, "Thuế"), (73, SOCIAL_SECURITY, "Bảo hiểm xã hội"))
_SERVICE_CENTRE = "Trung tâm Phục vụ hành chính công"
_FIRST_COMMUNE = 101
_MAX_COMMUNE = 999


@dataclass(frozen=True, slots=True)
class Agency:
    code: str  # SAMPLE identifier, see the module docstring
    role: str  # one of ROLE_KEYS
    name: str
    kind: AgencyKind
    parent_code: str | None  # None: a root (UBND tỉnh, or a vertical agency's provincial office)
    province_code: str  # new (post-2025) GSO province code
    serves_unit: str  # GSO code of the territory served: the province or one commune
    serves_level: Literal["province", "commune"]
    valid_from: date = REFORM_DATE
    valid_to: date | None = None
    provenance: str = "SAMPLE"


@dataclass(frozen=True)
class AgencyTree:
    province: Province
    agencies: tuple[Agency, ...]

    @cached_property
    def by_code(self) -> Mapping[str, Agency]:
        return {a.code: a for a in self.agencies}

    def get(self, code: str) -> Agency:
        return self.by_code[code]

    def roots(self) -> tuple[Agency, ...]:
        return tuple(a for a in self.agencies if a.parent_code is None)

    def children(self, code: str) -> tuple[Agency, ...]:
        return tuple(a for a in self.agencies if a.parent_code == code)

    def by_role(self, role: str) -> tuple[Agency, ...]:
        return tuple(a for a in self.agencies if a.role == role)

    def serving(self, unit_code: str) -> tuple[Agency, ...]:
        """Agencies whose territory is exactly this unit (a commune's UBND, centre, police)."""
        return tuple(a for a in self.agencies if a.serves_unit == unit_code)

    def commune_committee(self, commune_code: str) -> Agency:
        for a in self.serving(commune_code):
            if a.role == COMMUNE_COMMITTEE:
                return a
        raise KeyError(f"no UBND for commune {commune_code!r} in province {self.province.code}")


def agency_prefix(province_code: str) -> str:
    """SAMPLE level-1 identifier of a province: "H" + its new GSO code (see module docstring)."""
    return f"H{province_code}"


def _lower_first(text: str) -> str:
    """"Tỉnh Quảng Trị" -> "tỉnh Quảng Trị", as inside an agency name."""
    return text[:1].lower() + text[1:]


@lru_cache(maxsize=64)
def agency_tree(province_code: str, departments: tuple[DepartmentSpec, ...] = COMMON_DEPARTMENTS,
                prefix: str | None = None) -> AgencyTree:
    """The standard agency tree of a post-1/7/2025 province (34-province GSO code)."""
    prov = province(province_code, REFORM_DATE)
    units: tuple[Commune, ...] = communes(province_code, REFORM_DATE)
    if len(units) > _MAX_COMMUNE - _FIRST_COMMUNE + 1:
        raise ValueError(f"{len(units)} communes do not fit the 3-digit commune numbering")
    if len({d.number for d in departments}) != len(departments) or not all(1 <= d.number <= 19 for d in departments):
        raise ValueError("department numbers must be unique and within 1..19")
    root = prefix or agency_prefix(province_code)
    of_province = _lower_first(prov.name)
    out: list[Agency] = []

    def add(code: str, role: str, name: str, kind: AgencyKind, parent: str | None,
            serves: str, level: Literal["province", "commune"]) -> None:
        out.append(Agency(code, role, name, kind, parent, province_code, serves, level))

    add(root, PROVINCIAL_COMMITTEE, f"Ủy ban nhân dân {of_province}", AgencyKind.PROVINCIAL_COMMITTEE,
        None, province_code, "province")
    for dept in departments:
        add(f"{root}.{dept.number:02d}", dept.role, f"{dept.name} {of_province}", AgencyKind.DEPARTMENT,
            root, province_code, "province")
    land_parent = next((d for d in departments if d.role == LAND_OFFICE_PARENT_ROLE), None)
    if land_parent is not None:
        add(f"{root}.{land_parent.number:02d}.01", LAND_OFFICE, f"Văn phòng Đăng ký đất đai {of_province}",
            AgencyKind.PUBLIC_SERVICE_UNIT, f"{root}.{land_parent.number:02d}", province_code, "province")
    add(f"{root}.20", PROVINCIAL_SERVICE_CENTRE, f"{_SERVICE_CENTRE} {of_province}",
        AgencyKind.PROVINCIAL_SERVICE_CENTRE, root, province_code, "province")
    for number, role, name in _VERTICAL:
        add(f"{root}.{number}", role, f"{name} {of_province}", AgencyKind.VERTICAL, None, province_code, "province")
    police = f"{root}.71"
    for rank, unit in enumerate(units, start=_FIRST_COMMUNE):
        committee = f"{root}.{rank}"
        of_commune = _lower_first(unit.name)
        add(committee, COMMUNE_COMMITTEE, f"Ủy ban nhân dân {of_commune}", AgencyKind.COMMUNE_COMMITTEE,
            root, unit.code, "commune")
        add(f"{committee}.01", COMMUNE_SERVICE_CENTRE, f"{_SERVICE_CENTRE} {of_commune}",
            AgencyKind.COMMUNE_SERVICE_CENTRE, committee, unit.code, "commune")
        add(f"{police}.{rank}", COMMUNE_POLICE, f"Công an {of_commune}", AgencyKind.VERTICAL, police,
            unit.code, "commune")
    return AgencyTree(prov, tuple(out))
