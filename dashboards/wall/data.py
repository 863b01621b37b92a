"""What every scene reads: the live tallies summed per unit, per commune and for the province,
with the units placed in the agency tree, and the other sources' latest figures. Pure: built from
plain values, so scene builders can be tested without a broker."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Literal

from ioc.clock import LOCAL_TZ
from ioc.kpi.indicators import Scope, Sources, Tally, carried_by, sum_tallies
from ioc.kpi.live import wall_view
from ioc.kpi.national import NationalScore

Level = Literal["province", "commune"]


@dataclass(frozen=True)
class UnitInfo:
    code: str
    name: str
    level: Level  # what the agency serves: the whole province, or one commune
    commune: str | None  # 2025 GSO code of the commune it serves


@dataclass(frozen=True)
class UnitDirectory:
    """Agency code -> where it sits; communes' display names. Units not in the tree are shown by
    code at province level (they cannot be placed on the map)."""

    province_code: str
    units: dict[str, UnitInfo]
    commune_names: dict[str, str]

    def info(self, code: str) -> UnitInfo:
        return self.units.get(code) or UnitInfo(code, code, "province", None)


@lru_cache(maxsize=8)
def unit_directory(province_code: str, prefix: str | None = None,
                   names: tuple[tuple[str, str], ...] = ()) -> UnitDirectory:
    """The directory of a province from its standard agency tree (ioc.reference.agencies);
    ``names`` overrides display names (the web process shortens "Ủy ban nhân dân" to "UBND")."""
    from ioc.reference.agencies import agency_tree
    from ioc.reference.units import REFORM_DATE, communes

    tree = agency_tree(province_code, prefix=prefix)
    override = dict(names)
    units = {a.code: UnitInfo(a.code, override.get(a.code, a.name), a.serves_level,
                              a.serves_unit if a.serves_level == "commune" else None)
             for a in tree.agencies}
    return UnitDirectory(province_code, units, {c.code: c.name for c in communes(province_code, REFORM_DATE)})


@dataclass
class WallData:
    now: datetime
    stale_after_s: float
    age_s: float | None  # of the KPI figures: their oldest partition
    province: dict[str, Any]  # wall_view of the whole province
    units: dict[str, dict[str, Any]]  # agency code -> wall_view
    communes: dict[str, dict[str, Any]]  # commune code -> wall_view of the agencies serving it
    tallies: dict[str, Tally]  # agency code -> tally (what-if questions need the raw counts)
    directory: UnitDirectory
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    cameras: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alerts_age_s: float | None = None
    trend: list[tuple[str, int]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # source -> why it gave nothing
    national: list[NationalScore] = field(default_factory=list)  # the portal's published table
    index_sources: Sources = field(default_factory=Sources)  # catalogue etc. behind the views
    # Quarter and year to date, replayed from the warehouse in the background
    # (dashboards/wall/period_reports.py): kind -> PeriodResult; absent until the first result.
    period_reports: dict[str, Any] = field(default_factory=dict)
    # The IT systems the services scene shows (ioc.services.catalogue.SystemSpec), in order.
    systems: tuple[Any, ...] = ()

    @property
    def has_kpi(self) -> bool:
        return self.age_s is not None

    def name(self, code: str) -> str:
        return self.directory.info(code).name


_VIEWS: "OrderedDict[tuple[Any, ...], dict[str, Any]]" = OrderedDict()
_VIEWS_LOCK = threading.Lock()
_VIEWS_MAX = 8192


def cached_view(t: Tally, at: datetime, scope: Scope | None = None, sources: Sources = Sources(),
                carried: frozenset[str] | None = None) -> dict[str, Any]:
    """``wall_view`` remembered by content: most units' tallies do not change from one second to
    the next, and scoring a tally (exact fractions) is the costly part of a frame. The view
    depends on ``at`` only through the period and profile of its local day, and on the scope
    and sources through the catalogue rows the unit receives."""
    key = (at.astimezone(LOCAL_TZ).date(), scope, sources, carried, tuple(sorted(t.items())))
    with _VIEWS_LOCK:
        view = _VIEWS.get(key)
        if view is not None:
            _VIEWS.move_to_end(key)
            return view
    view = wall_view(t, at, scope, sources, carried)
    with _VIEWS_LOCK:
        _VIEWS[key] = view
        while len(_VIEWS) > _VIEWS_MAX:
            _VIEWS.popitem(last=False)
    return view


def build_wall_data(per_unit: dict[str, Tally], updated: datetime | None, now: datetime, stale_after_s: float,
                    directory: UnitDirectory, index_sources: Sources = Sources(), **extra: Any) -> WallData:
    """Sum the tallies per commune and for the province, and derive each view once."""
    at = updated or now
    by_commune: dict[str, list[Tally]] = {}
    for code, tally in per_unit.items():
        commune = directory.info(code).commune
        if commune is not None:
            by_commune.setdefault(commune, []).append(tally)
    whole = sum_tallies(per_unit.values())
    sync = carried_by(whole)
    src = index_sources
    return WallData(
        now=now, stale_after_s=stale_after_s,
        age_s=(now - updated).total_seconds() if updated else None,
        province=cached_view(whole, at, Scope(directory.province_code, frozenset(per_unit)), src, sync),
        units={u: cached_view(t, at, Scope(u), src, sync) for u, t in sorted(per_unit.items())},
        communes={c: cached_view(sum_tallies(ts), at, Scope(f"commune:{c}", frozenset(
            u for u in per_unit if directory.info(u).commune == c)), src, sync) for c, ts in sorted(by_commune.items())},
        tallies=per_unit, directory=directory, index_sources=src, **extra,
    )


def safe_call(fn: Callable[[], Any] | None, default: Any, problems: dict[str, str], what: str) -> Any:
    """A source the wall does not own (services, cameras, alerts): a failure shows as "no data"
    with the reason logged on the wall's problems, never as a broken page."""
    if fn is None:
        return default
    try:
        value = fn()
    except Exception as exc:  # another team's source; the wall must keep running
        problems[what] = f"{type(exc).__name__}: {exc}"
        return default
    return default if value is None else value
