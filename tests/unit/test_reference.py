"""Reference data: units before/after 1/7/2025, lineage, agency trees, procedure catalogue.

Counts are checked against domain.md §5 (34 provinces = 28 + 6 cities; 3,321 communes =
2,621 xã + 687 phường + 13 đặc khu; before: 63 provinces, 696 districts, 10,035 communes).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import date
from importlib import resources

import pytest

from ioc.reference import agencies as ag
from ioc.reference import procedures as pr
from ioc.reference import units as u

OLD = date(2025, 6, 30)
NEW = date(2025, 7, 1)


def all_communes(at: date) -> list[u.Commune]:
    return [c for p in u.provinces(at) for c in u.communes(p.code, at)]


# --- units: counts ----------------------------------------------------------------------------


def test_post_reform_counts_match_domain() -> None:
    provinces = u.provinces(NEW)
    assert len(provinces) == 34
    assert Counter(p.type for p in provinces) == {u.ProvinceType.TINH: 28, u.ProvinceType.THANH_PHO: 6}
    cities = {p.short_name for p in provinces if p.type is u.ProvinceType.THANH_PHO}
    assert cities == {"Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Huế"}
    communes = all_communes(NEW)
    assert len(communes) == 3321
    assert Counter(c.type for c in communes) == {
        u.CommuneType.XA: 2621, u.CommuneType.PHUONG: 687, u.CommuneType.DAC_KHU: 13}
    assert len({c.code for c in communes}) == 3321
    assert all(c.district_code is None for c in communes)
    assert all(u.districts(p.code, NEW) == () for p in provinces)


def test_commune_counts_per_province_match_domain() -> None:
    sizes = {p.short_name: len(u.communes(p.code, NEW)) for p in u.provinces(NEW)}
    assert sizes["Hồ Chí Minh"] == 168 == max(sizes.values())
    assert sizes["Lai Châu"] == 38 == min(sizes.values())
    assert sizes["Hà Nội"] == 126


def test_pre_reform_counts_match_domain() -> None:
    provinces = u.provinces(OLD)
    assert len(provinces) == 63
    # Huế became a centrally-run city on 1/1/2025: 57 provinces + 6 cities.
    assert Counter(p.type for p in provinces) == {u.ProvinceType.TINH: 57, u.ProvinceType.THANH_PHO: 6}
    assert sum(len(u.districts(p.code, OLD)) for p in provinces) == 696
    communes = all_communes(OLD)
    assert len(communes) == 10035
    assert u.CommuneType.DAC_KHU not in {c.type for c in communes}
    assert {c.type for c in communes} == {u.CommuneType.XA, u.CommuneType.PHUONG, u.CommuneType.THI_TRAN}
    district_codes = {d.code for p in provinces for d in u.districts(p.code, OLD)}
    assert all(c.district_code in district_codes for c in communes)


def test_effective_dates_switch_on_1_july_2025() -> None:
    assert len(u.provinces(date(2025, 6, 30))) == 63
    assert len(u.provinces(date(2025, 7, 1))) == 34
    old, new = u.province("01", OLD), u.province("01", NEW)
    assert old.valid_at(OLD) and not old.valid_at(NEW)
    assert new.valid_at(NEW) and not new.valid_at(OLD)
    assert (old.valid_to, new.valid_from) == (u.REFORM_DATE, u.REFORM_DATE)


def test_codes_are_reused_so_lookups_need_a_date() -> None:
    assert u.commune("00004", OLD).name == "Phường Trúc Bạch"
    assert u.commune("00004", NEW).name == "Phường Ba Đình"
    assert u.commune("00004").name == "Phường Ba Đình"  # default: the current structure
    assert u.province("44", OLD).short_name == "Quảng Bình"
    assert u.province("44", NEW).short_name == "Quảng Trị"
    with pytest.raises(KeyError):
        u.province("02", NEW)  # Hà Giang no longer exists
    with pytest.raises(KeyError):
        u.communes("02", NEW)


def test_new_communes_have_centres_inside_vietnam() -> None:
    for c in all_communes(NEW):
        assert c.lat is not None and c.lon is not None, c
        assert 8.0 <= c.lat <= 23.5 and 102.0 <= c.lon <= 117.5, c  # incl. Hoàng Sa, Trường Sa
        assert c.area_km2 is None or c.area_km2 > 0


# --- units: names -----------------------------------------------------------------------------


def test_fold_removes_diacritics_case_and_punctuation() -> None:
    assert u.fold("Thành phố Hồ Chí Minh") == "thanhphohochiminh"
    assert u.fold("Đắk Lắk") == "daklak"
    assert u.fold("Bà Rịa - Vũng Tàu") == "bariavungtau"


@pytest.mark.parametrize("query", ["Hà Nội", "ha noi", "HA NOI", "Thành phố Hà Nội", "tp ha noi", "hn"])
def test_find_province_with_and_without_diacritics(query: str) -> None:
    assert [p.code for p in u.find_provinces(query)] == ["01"]


def test_find_province_by_city_abbreviation_and_era() -> None:
    assert [p.code for p in u.find_provinces("TP.HCM")] == ["79"]
    assert [p.code for p in u.find_provinces("Quang Binh", OLD)] == ["44"]
    assert u.find_provinces("Quang Binh", NEW) == []


def test_diacritics_distinguish_communes_when_given() -> None:
    # Thái Nguyên has both Xã Văn Lang and Xã Văn Lăng.
    both = u.find_communes("Van Lang", "19")
    assert sorted(c.name for c in both) == ["Xã Văn Lang", "Xã Văn Lăng"]
    assert [c.name for c in u.find_communes("Văn Lăng", "19")] == ["Xã Văn Lăng"]
    assert [c.name for c in u.find_communes("xã văn lang", "19")] == ["Xã Văn Lang"]


def test_find_commune_across_provinces_and_with_filter() -> None:
    hits = {(c.province_code, c.name) for c in u.find_communes("ba dinh")}
    assert {("01", "Phường Ba Đình"), ("51", "Xã Ba Dinh")} <= hits
    assert [c.code for c in u.find_communes("Phuong Ba Dinh", "01")] == ["00004"]
    assert [c.name for c in u.find_communes("Sa Pả", at=OLD)] == ["Phường Sa Pả"]
    assert u.find_communes("no such place") == []


# --- units: lineage ---------------------------------------------------------------------------


def test_province_lineage_merges_63_into_34() -> None:
    links = u.province_lineage()
    assert len(links) == 63 and {link.old_code for link in links} == {p.code for p in u.provinces(OLD)}
    sizes = Counter(link.new_code for link in links)
    assert set(sizes) == {p.code for p in u.provinces(NEW)}
    assert sum(1 for n in sizes.values() if n > 1) == 23 and sum(1 for n in sizes.values() if n == 1) == 11


def test_known_province_mergers() -> None:
    # NQ 202/2025/QH15: Hà Giang -> Tuyên Quang; Quảng Bình + Quảng Trị -> Quảng Trị (code 44).
    assert u.province_successor("02").short_name == "Tuyên Quang"
    assert u.province_successor("44").short_name == "Quảng Trị"
    assert u.province_successor("45").code == "44"
    assert {p.short_name for p in u.province_predecessors("44")} == {"Quảng Bình", "Quảng Trị"}
    assert [p.short_name for p in u.province_predecessors("01")] == ["Hà Nội"]


def test_known_commune_lineage() -> None:
    (link,) = u.commune_successors("00004")  # old Phường Trúc Bạch, Ba Đình district
    assert (link.new_code, link.split, link.primary) == ("00004", False, True)
    assert u.commune(link.new_code).name == "Phường Ba Đình"
    assert "00004" in {link.old_code for link in u.commune_predecessors("00004")}
    # Côn Đảo district (Bà Rịa - Vũng Tàu, no communes) -> Đặc khu Côn Đảo (TP.HCM).
    (island,) = u.commune_successors("755")
    assert island.old_level == "district"
    assert (island.new_code, island.new_province_code) == ("26732", "79")
    assert u.commune(island.new_code).type is u.CommuneType.DAC_KHU


def test_commune_lineage_covers_both_structures_consistently() -> None:
    links = u.commune_lineage()
    by_old: dict[str, list[u.CommuneLineage]] = {}
    for link in links:
        by_old.setdefault(link.old_code, []).append(link)
    old_communes = {c.code for c in all_communes(OLD)}
    assert old_communes <= set(by_old)
    assert {k for k, v in by_old.items() if v[0].old_level == "district"} == {"318", "471", "498", "536", "755"}
    assert {link.new_code for link in links} == {c.code for c in all_communes(NEW)}
    for old_code, group in by_old.items():
        assert sum(link.primary for link in group) == 1, old_code
        assert all(link.split == (len(group) > 1) for link in group), old_code
        for link in group:
            assert link.new_province_code == u.province_successor(link.old_province_code).code, link
    assert sum(1 for g in by_old.values() if len(g) > 1) > 0  # some old communes were split


# --- lazy loading -----------------------------------------------------------------------------


def test_import_is_cheap_and_data_is_read_without_the_package_import() -> None:
    script = (
        "import sys\n"
        "import ioc.reference.units as u, ioc.reference.agencies, ioc.reference.procedures\n"
        "assert u._dataset.cache_info().currsize == 0, 'loaded at import'\n"
        "assert len(u.provinces(u.REFORM_DATE)) == 34\n"
        "bad = [m for m in ('vietnamadminunits', 'geopy', 'shapely') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_source_records_package_and_licence() -> None:
    info = u.source_info()
    assert info["package"] == "vietnamadminunits" and info["version"].startswith("1.")
    assert "MIT" in info["licence"]


# --- agencies ---------------------------------------------------------------------------------

AGENCY_CODE = re.compile(r"^H\d{2}(\.\d{2,3})*$")


@pytest.fixture(scope="module")
def trees() -> dict[str, ag.AgencyTree]:
    return {p.code: ag.agency_tree(p.code) for p in u.provinces(NEW)}


def test_every_commune_has_its_committee_centre_and_police(trees: dict[str, ag.AgencyTree]) -> None:
    for code, tree in trees.items():
        for commune in u.communes(code, NEW):
            roles = Counter(a.role for a in tree.serving(commune.code))
            assert roles == {ag.COMMUNE_COMMITTEE: 1, ag.COMMUNE_SERVICE_CENTRE: 1, ag.COMMUNE_POLICE: 1}, commune
            committee = tree.commune_committee(commune.code)
            assert committee.name.endswith(commune.name[1:])  # "Ủy ban nhân dân phường Ba Đình"


def test_agency_identifiers_unique_and_parents_exist(trees: dict[str, ag.AgencyTree]) -> None:
    seen: set[str] = set()
    for code, tree in trees.items():
        for a in tree.agencies:
            assert AGENCY_CODE.match(a.code), a.code
            assert a.code.startswith(f"H{code}") and a.province_code == code
            assert a.code not in seen, a.code
            seen.add(a.code)
            assert a.role in ag.ROLE_KEYS and a.provenance == "SAMPLE"
            depth, node = 0, a
            while node.parent_code is not None:  # parents exist, no cycles
                node = tree.get(node.parent_code)
                depth += 1
                assert depth < 5, a
            assert node.kind in (ag.AgencyKind.PROVINCIAL_COMMITTEE, ag.AgencyKind.VERTICAL), a
        roots = {a.role for a in tree.roots()}
        assert roots == {ag.PROVINCIAL_COMMITTEE, ag.POLICE, ag.TAX, ag.SOCIAL_SECURITY}


def test_agency_tree_shape_for_quang_tri(trees: dict[str, ag.AgencyTree]) -> None:
    tree = trees["44"]
    assert tree.get("H44").name == "Ủy ban nhân dân tỉnh Quảng Trị"
    assert tree.get("H44.07").kind is ag.AgencyKind.DEPARTMENT
    assert tree.get("H44.06.01").parent_code == "H44.06" and tree.get("H44.06.01").role == ag.LAND_OFFICE
    assert tree.get("H44.20").name == "Trung tâm Phục vụ hành chính công tỉnh Quảng Trị"
    assert tree.get("H44.71").name == "Công an tỉnh Quảng Trị" and tree.get("H44.71").parent_code is None
    first = u.communes("44", NEW)[0]
    assert tree.get("H44.101").serves_unit == first.code
    assert tree.get("H44.101.01").parent_code == "H44.101"
    assert len(tree.by_role(ag.COMMUNE_COMMITTEE)) == len(u.communes("44", NEW)) == 78
    assert {a.serves_unit for a in tree.agencies if a.serves_level == "province"} == {"44"}


def test_agency_tree_options_are_validated() -> None:
    custom = ag.agency_tree("46", departments=ag.COMMON_DEPARTMENTS[:3], prefix="H57")
    assert custom.get("H57").name == "Ủy ban nhân dân thành phố Huế"
    assert not custom.by_role(ag.LAND_OFFICE)  # no Sở NN&MT given, so no land office
    duplicate = (ag.DepartmentSpec(1, "a", "Sở A"), ag.DepartmentSpec(1, "b", "Sở B"))
    with pytest.raises(ValueError):
        ag.agency_tree("46", departments=duplicate)
    with pytest.raises(KeyError):
        ag.agency_tree("02")  # not a post-2025 province


# --- procedures -------------------------------------------------------------------------------


def test_catalogue_file_is_marked_sample() -> None:
    text = resources.files("ioc.reference").joinpath("procedures.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# SAMPLE catalogue — not the national database."


def test_catalogue_loads_and_validates() -> None:
    procs = pr.procedures()
    assert 20 <= len(procs) <= 80  # a SAMPLE: every agency of the tree processes some (issue #12)
    assert len({p.code for p in procs}) == len(procs)
    for p in procs:
        assert pr.NATIONAL_CODE.match(p.code), p.code
        assert (pr.SAMPLE_CODE if p.is_sample else pr.REAL_CODE).match(p.code), p.code
        assert p.duration.value > 0 and p.duration.unit in ("working_day", "day", "hour", "month")
        assert p.fee_vnd >= 0 and p.source and p.provenance.name in ("verified", "SAMPLE")
    assert {"2.000815", "1.012756", "1.001612"} <= {p.code for p in procs if not p.is_sample}


def test_statutory_times_follow_domain_3_3() -> None:
    by_name = {p.name: p for p in pr.procedures()}

    def limit(name: str) -> tuple[float, str]:
        d = by_name[name].duration
        return d.value, d.unit

    assert limit("Đăng ký thường trú") == (7, "working_day")
    assert limit("Đăng ký tạm trú") == (3, "working_day")
    assert limit("Đăng ký thành lập hộ kinh doanh") == (3, "working_day")
    assert limit("Đăng ký khai sinh") == (1, "working_day")  # same day
    assert limit("Đổi giấy phép lái xe") == (5, "working_day")
    assert pr.procedure("1.012756").duration.value == 17
    assert pr.procedure("1.001193").name == "Đăng ký khai sinh"
    assert pr.procedure("1.001612").name == "Đăng ký thành lập hộ kinh doanh"


def test_procedure_agencies_exist_in_a_generated_tree(trees: dict[str, ag.AgencyTree]) -> None:
    tree = trees["44"]
    for p in pr.procedures():
        handlers = tree.by_role(p.agency_role)
        assert handlers, p.code
        if p.level == "commune":
            assert all(a.serves_level == "commune" for a in handlers), p.code
        if p.level == "province":
            assert all(a.serves_level == "province" for a in handlers), p.code
    assert {p.level for p in pr.procedures_at_level("commune")} <= {"commune", "both"}


VALID_ENTRY = """
procedures:
  - code: "1.001193"
    name: Đăng ký khai sinh
    sector: Hộ tịch
    level: commune
    duration: {value: 1, unit: working_day}
    duration_note: same day
    fee_vnd: 0
    fee_note: free
    paper_result: true
    fully_online: true
    agency_role: ubnd_xa
    provenance: {code: verified, name: verified}
    source: test
"""


def test_valid_entry_parses() -> None:
    (p,) = pr.parse_catalogue(VALID_ENTRY)
    assert p.code == "1.001193" and not p.is_sample


@pytest.mark.parametrize(("old", "new", "message"), [
    ('code: "1.001193"', "code: 1.001193", "quoted string"),
    ('code: "1.001193"', 'code: "1.1193"', "look like"),
    ("value: 1,", "value: 0,", "duration"),
    ("unit: working_day", "unit: week", "duration"),
    ("agency_role: ubnd_xa", "agency_role: so_tu_phap", "commune agency"),
    ("agency_role: ubnd_xa", "agency_role: nobody", "not a role"),
    ("provenance: {code: verified", "provenance: {code: SAMPLE", "prefix 9"),
    ("fee_vnd: 0", "fee_vnd: -5", "fee_vnd"),
    ("paper_result: true", "paper_result: yes please", "paper_result"),
    ("    source: test\n", "", "missing"),
])
def test_invalid_entries_are_rejected_with_the_field_named(old: str, new: str, message: str) -> None:
    assert old in VALID_ENTRY
    with pytest.raises(pr.CatalogueError, match=message):
        pr.parse_catalogue(VALID_ENTRY.replace(old, new))


def test_duplicate_codes_are_rejected() -> None:
    doubled = VALID_ENTRY + VALID_ENTRY.split("procedures:\n", 1)[1]
    with pytest.raises(pr.CatalogueError, match="duplicate"):
        pr.parse_catalogue(doubled)
