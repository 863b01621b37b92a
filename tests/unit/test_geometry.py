"""Province outlines of 2025 dissolved from the 2024 boundaries, and commune points.

The 2024 file is the shared one (../shared/data, as in CI); the shipped 2025 file must be exactly
what ``build_2025_geojson`` makes from it, so every check on the build also holds for what the
wall draws.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import combinations

import pytest
import shapely
from shapely.geometry import shape

from ioc.reference import geometry as geo
from ioc.reference import units as u


@pytest.fixture(scope="module")
def source_2024() -> dict:
    if not geo.DEFAULT_SOURCE_2024.exists():
        pytest.fail(f"the 2024 boundaries are missing at {geo.DEFAULT_SOURCE_2024} (shared/data)")
    return geo.read_2024()


@pytest.fixture(scope="module")
def shipped() -> dict:
    return geo.provinces_2025_geojson()


@pytest.fixture(scope="module")
def shapes(shipped: dict) -> dict[str, shapely.Geometry]:
    return {f["id"]: shape(f["geometry"]) for f in shipped["features"]}


@pytest.fixture(scope="module")
def old_parts(source_2024: dict) -> dict[str, list]:
    return geo.match_2024_features(source_2024)


def _raw_feature(source: dict, name: str) -> shapely.Geometry:
    """A 2024 feature straight from the file by its name (independent of the matcher)."""
    hits = [f for f in source["features"] if (f["properties"] or {}).get("name") == name]
    assert len(hits) == 1, name
    return shape(hits[0]["geometry"])


def _rounding_slack(g: shapely.Geometry) -> float:
    """Area that rounding every vertex to the shipped grid can move: perimeter x grid step."""
    return g.length * 10.0 ** -geo.COORD_DECIMALS


# --- the shipped 2025 collection -------------------------------------------------------------


def test_34_features_one_per_2025_province_code(shipped: dict) -> None:
    ids = Counter(f["id"] for f in shipped["features"])
    expected = {p.code for p in u.provinces(u.REFORM_DATE)}
    assert len(shipped["features"]) == 34
    assert set(ids) == expected
    assert all(n == 1 for n in ids.values())
    for f in shipped["features"]:
        p = u.province(f["id"])
        assert f["properties"]["code"] == f["id"]
        assert (f["properties"]["name"], f["properties"]["short_name"]) == (p.name, p.short_name)
        assert [o["code"] for o in f["properties"]["predecessors"]] == \
            [o.code for o in u.province_predecessors(f["id"])]


def test_shipped_file_is_exactly_the_build_from_the_2024_source(source_2024: dict) -> None:
    built = json.loads(geo.dumps(geo.dissolve_2025(source_2024)))
    assert geo.PROVINCES_2025_FILE.read_text(encoding="utf-8") == geo.dumps(built)


def test_every_predecessor_set_covers_all_63_old_provinces_once(shipped: dict) -> None:
    olds = Counter(o["code"] for f in shipped["features"] for o in f["properties"]["predecessors"])
    assert set(olds) == {p.code for p in u.provinces(u.LAST_OLD_DAY)}
    assert all(n == 1 for n in olds.values())


def test_geometries_are_valid_polygons_without_overlaps(shapes: dict) -> None:
    for code, g in shapes.items():
        assert g.geom_type in ("Polygon", "MultiPolygon"), code
        assert g.is_valid and not g.is_empty, code
    for (a, ga), (b, gb) in combinations(shapes.items(), 2):
        if ga.intersects(gb):
            assert ga.intersection(gb).area < 1e-5, (a, b)  # shared borders only (1e-5 deg² ≈ 0.1 km²)


def test_dissolved_area_equals_the_sum_of_its_2024_parts(shapes: dict, old_parts: dict) -> None:
    for code, g in shapes.items():
        parts = sum(p.area for o in u.province_predecessors(code) for p in old_parts[o.code])
        assert g.area == pytest.approx(parts, rel=1e-4), code
    total_2024 = sum(p.area for ps in old_parts.values() for p in ps)
    assert sum(g.area for g in shapes.values()) == pytest.approx(total_2024, rel=1e-5)


def test_phu_tho_2025_is_phu_tho_vinh_phuc_and_hoa_binh_of_2024(shipped: dict, shapes: dict,
                                                               source_2024: dict) -> None:
    phu_tho = next(f for f in shipped["features"] if f["id"] == "25")
    assert phu_tho["properties"]["name"] == "Tỉnh Phú Thọ"
    assert {o["short_name"] for o in phu_tho["properties"]["predecessors"]} == {"Phú Thọ", "Vĩnh Phúc", "Hòa Bình"}
    expected = shapely.union_all([_raw_feature(source_2024, n) for n in ("Phú Thọ", "Vĩnh Phúc", "Hòa Bình")])
    assert shapes["25"].symmetric_difference(expected).area < _rounding_slack(expected)
    assert not shapes["25"].intersects(_raw_feature(source_2024, "Ha Noi").buffer(-0.01))


def test_unchanged_province_keeps_its_2024_outline(shapes: dict, source_2024: dict) -> None:
    # Lạng Sơn was not merged (one of the 11 unchanged provinces).
    assert [p.short_name for p in u.province_predecessors("20")] == ["Lạng Sơn"]
    old = _raw_feature(source_2024, "Lạng Sơn")
    assert shapes["20"].symmetric_difference(old).area < _rounding_slack(old)


def test_labels_and_bboxes_are_inside_and_around_each_outline(shipped: dict, shapes: dict) -> None:
    for f in shipped["features"]:
        g = shapes[f["id"]]
        assert g.contains(shapely.Point(f["properties"]["label"])), f["id"]
        assert f["bbox"] == pytest.approx(list(g.bounds), abs=1e-5)


def test_size_is_reasonable_for_a_browser() -> None:
    assert geo.PROVINCES_2025_FILE.stat().st_size < 1_500_000


def test_provinces_2025_geojson_returns_a_copy() -> None:
    first = geo.provinces_2025_geojson()
    first["features"].clear()
    assert len(geo.provinces_2025_geojson()["features"]) == 34


def test_province_outline_and_unknown_code() -> None:
    f = geo.province_outline("25")
    assert f["type"] == "Feature" and f["id"] == "25"
    assert geo.polygon_rings(f) and all(r[0] == r[-1] for r in geo.polygon_rings(f))
    with pytest.raises(KeyError, match="'99'"):
        geo.province_outline("99")


# --- matching the 2024 features ----------------------------------------------------------------


def test_each_of_the_63_provinces_is_matched(old_parts: dict) -> None:
    assert set(old_parts) == {p.code for p in u.provinces(u.LAST_OLD_DAY)}


def test_features_with_a_region_name_are_identified_by_their_communes(old_parts: dict, source_2024: dict) -> None:
    # Natural Earth names three provinces after their region; the commune centres tell which.
    for name, code in (("Đông Bắc", "06"), ("Đồng Bằng Sông Hồng", "33"), ("Đông Nam Bộ", "75")):
        raw = _raw_feature(source_2024, name)
        assert any(p.equals(raw) for p in old_parts[code]), (name, u.province(code, u.LAST_OLD_DAY).short_name)


def test_minor_islands_go_to_the_province_of_the_nearest_centre(old_parts: dict) -> None:
    def owner(lon: float, lat: float) -> str:
        return next(c for c, ps in old_parts.items() if any(p.contains(shapely.Point(lon, lat)) for p in ps))

    assert owner(107.735, 20.132) == "31"  # Bạch Long Vĩ: Hải Phòng (an island district without communes)
    assert owner(104.835, 8.432) == "96"  # Hòn Khoai: Cà Mau


def test_a_missing_province_is_named(source_2024: dict) -> None:
    broken = dict(source_2024, features=[f for f in source_2024["features"]
                                         if (f["properties"] or {}).get("name") != "Bắc Ninh"])
    with pytest.raises(ValueError, match="without a boundary: 27"):
        geo.match_2024_features(broken)


def test_two_features_for_one_province_are_refused(source_2024: dict) -> None:
    extra = next(f for f in source_2024["features"] if (f["properties"] or {}).get("name") == "Tây Ninh")
    broken = dict(source_2024, features=[*source_2024["features"], extra])
    with pytest.raises(ValueError, match="both match province 72"):
        geo.match_2024_features(broken)


def test_missing_source_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere.geojson"):
        geo.read_2024(tmp_path / "nowhere.geojson")


# --- commune points ----------------------------------------------------------------------------


def test_every_2025_commune_has_a_point() -> None:
    points = geo.commune_points()
    assert len(points) == 3321
    assert len({p.code for p in points}) == 3321
    assert {p.province_code for p in points} == {p.code for p in u.provinces(u.REFORM_DATE)}
    phu_tho = geo.commune_points("25")
    assert {p.code for p in phu_tho} == {c.code for c in u.communes("25", u.REFORM_DATE)}


def test_commune_points_mostly_fall_inside_their_province(shapes: dict) -> None:
    # The boundaries are 1:10m and the centres approximate: most, not all, agree.
    points = geo.commune_points()
    inside = sum(shapes[p.province_code].contains(shapely.Point(p.lon, p.lat)) for p in points)
    assert inside / len(points) > 0.95


def test_archipelagos_are_communes_of_da_nang_and_khanh_hoa() -> None:
    special = {p.short_name: p for p in geo.commune_points() if p.type == "đặc khu"}
    assert special["Hoàng Sa"].province_code == "48" and special["Hoàng Sa"].lon > 111
    assert special["Trường Sa"].province_code == "56" and special["Trường Sa"].lon > 113


def test_commune_points_geojson_and_unknown_province() -> None:
    fc = geo.commune_points_geojson("25")
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == len(u.communes("25", u.REFORM_DATE))
    first = fc["features"][0]
    assert first["geometry"]["type"] == "Point" and first["properties"]["province_code"] == "25"
    json.dumps(fc)  # serialisable
    with pytest.raises(KeyError, match="'99'"):
        geo.commune_points("99")


def test_properties_and_bbox_without_geometry(shapes: dict) -> None:
    props = geo.province_properties()
    assert list(props) == sorted(shapes) and all("geometry" not in p for p in props.values())
    assert props["25"]["short_name"] == "Phú Thọ"
    assert geo.map_bbox() == pytest.approx(shapely.union_all(list(shapes.values())).bounds, abs=1e-5)
