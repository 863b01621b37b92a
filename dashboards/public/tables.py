"""The tables of the public Decision 766 pages, from a period's report: what the page shows and
what ``/public/766.csv`` and ``.json`` serve are the same rows (pure: report in, rows out).

Numbers are the report's own (contracts.md §3: ``numerator``, ``denominator``, ``ratio`` in
[0, 1], ``score``, ``max_score``), never recomputed or rounded here; the page formats them, the
open data keeps them as the engine wrote them (CSV: Python's shortest repr, as JSON would).

Tables: ``indicators`` and ``groups`` of one scope (the province or a unit), ``units`` (every
unit's total and its rank within its kind: departments, communes), ``unit-indicators`` (every
indicator of every row, the province's included: the whole report in long form) and ``trend``
(the scope's indicators and total over the twelve months up to the period's last one).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterable, Mapping

from dashboards.public.reports import PeriodReport
from ioc.clock import LOCAL_TZ
from ioc.kpi.indicators import PORTAL_GROUP
from ioc.kpi.periods import Period
from ioc.kpi.scoring import Registry, registry_named

LEVELS = ("departments", "communes", "other")
PERIOD_COLUMNS = ("period", "period_from", "period_to", "at", "computed_at")
COLUMNS: dict[str, tuple[str, ...]] = {
    "indicators": ("unit", "indicator", "group", "numerator", "denominator", "ratio", "score", "max_score",
                   "scored", "missing", "quality"),
    "groups": ("unit", "group", "score", "max_score", "points"),
    "units": ("unit", "name", "kind", "rank", "of", "total_score", "max_score", "band", "group_1", "group_2",
              "group_3", "group_4", "group_5", "ontime_ratio", "received"),
    "unit-indicators": ("unit", "indicator", "group", "numerator", "denominator", "ratio", "score", "max_score",
                        "scored", "missing", "quality"),
    "trend": ("unit", "month", "month_at", "indicator", "numerator", "denominator", "ratio", "score", "max_score"),
}
TOTAL = "total"


def registry_of(period: Period, profile: str | None = None) -> Registry:
    """The scoring profile in force on the period's last day (the engine's, ioc.kpi.indicators.Sources)."""
    return registry_named(profile, period.end - timedelta(microseconds=1))


def level_of(code: str, levels: Mapping[str, str]) -> str:
    level = levels.get(code)
    return "departments" if level == "province" else "communes" if level == "commune" else "other"


@dataclass(frozen=True)
class Ranked:
    rank: int
    of: int
    code: str
    row: dict[str, Any]


def rankings(report: PeriodReport, levels: Mapping[str, str]) -> dict[str, list[Ranked]]:
    """Every unit of the report ranked within its kind by total score (highest first; equal
    scores share a rank, the next rank skips: 1, 2, 2, 4), ties listed by code. Kept with
    the report (a unit page asks for its rank among ~450 units)."""
    kept = report.memo.get("rankings")
    if kept is None or kept[0] is not levels:
        kept = report.memo["rankings"] = (levels, _rankings(report, levels))
    return kept[1]


def _rankings(report: PeriodReport, levels: Mapping[str, str]) -> dict[str, list[Ranked]]:
    by_level: dict[str, list[dict[str, Any]]] = {lv: [] for lv in LEVELS}
    for code, row in report.rows.items():
        if code != report.province:
            by_level[level_of(code, levels)].append(row)
    out: dict[str, list[Ranked]] = {}
    for lv, rows in by_level.items():
        rows.sort(key=lambda r: (-r["total_score"], r["unit"]))
        ranked: list[Ranked] = []
        for i, row in enumerate(rows):
            rank = ranked[-1].rank if ranked and ranked[-1].row["total_score"] == row["total_score"] else i + 1
            ranked.append(Ranked(rank, len(rows), row["unit"], row))
        out[lv] = ranked
    return out


def rank_of(report: PeriodReport, levels: Mapping[str, str], unit: str) -> Ranked | None:
    for ranked in rankings(report, levels)[level_of(unit, levels)]:
        if ranked.code == unit:
            return ranked
    return None


def indicator_rows(row: dict[str, Any] | None, registry: Registry, unit: str) -> list[dict[str, Any]]:
    """Every indicator of the registry for one row of the report, in the portal's order: its
    numbers when computed, else ``missing`` with the engine's reason."""
    out = []
    indicators = (row or {}).get("indicators", {})
    missing = (row or {}).get("missing", {})
    quality = (row or {}).get("quality", {})
    for rule in registry.rules:
        ind = indicators.get(rule.id)
        reason = None if ind is not None else missing.get(rule.id, "no dossier in the period" if row is None else None)
        out.append({
            "unit": unit, "indicator": rule.id, "group": PORTAL_GROUP[rule.group],
            "numerator": ind["numerator"] if ind else None, "denominator": ind["denominator"] if ind else None,
            "ratio": ind["ratio"] if ind else None, "score": ind["score"] if ind else None,
            "max_score": ind["max_score"] if ind else rule.max_points, "scored": rule.scored,
            "missing": reason, "quality": quality.get(rule.id),
        })
    return out


def group_rows(row: dict[str, Any] | None, registry: Registry, unit: str) -> list[dict[str, Any]]:
    groups = (row or {}).get("groups", {})
    points: dict[str, int] = {}
    for g in registry.groups:
        key = PORTAL_GROUP[g.key]
        points[key] = points.get(key, 0) + g.max_points
    return [{"unit": unit, "group": key, "score": groups.get(key, {}).get("score"),
             "max_score": groups.get(key, {}).get("max_score"), "points": full} for key, full in points.items()]


def unit_rows(report: PeriodReport, names: Mapping[str, str], levels: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    for lv, ranked in rankings(report, levels).items():
        for r in ranked:
            groups = r.row.get("groups", {})
            ontime = r.row.get("indicators", {}).get("2.1")
            out.append({
                "unit": r.code, "name": names.get(r.code, r.code), "kind": lv, "rank": r.rank, "of": r.of,
                "total_score": r.row["total_score"], "max_score": r.row["max_score"], "band": r.row.get("band"),
                **{f"group_{g}": groups.get(g, {}).get("score") for g in "12345"},
                "ontime_ratio": ontime["ratio"] if ontime else None,
                "received": r.row.get("figures", {}).get("received"),
            })
    return out


def unit_indicator_rows(report: PeriodReport, registry: Registry) -> list[dict[str, Any]]:
    return [line for code, row in report.rows.items() for line in indicator_rows(row, registry, code)]


def trend_rows(months: Iterable[PeriodReport], unit: str | None, province: str) -> list[dict[str, Any]]:
    """Per month (oldest first): the scope's computed indicators, then its total (``total``)."""
    out = []
    code = unit or province
    for month in months:
        row = month.row(unit)
        base = {"unit": code, "month": month.period.label, "month_at": month.at.isoformat()}
        if row is None:
            continue
        for ind, v in row.get("indicators", {}).items():
            out.append({**base, "indicator": ind, "numerator": v["numerator"], "denominator": v["denominator"],
                        "ratio": v["ratio"], "score": v["score"], "max_score": v["max_score"]})
        out.append({**base, "indicator": TOTAL, "numerator": None, "denominator": None, "ratio": None,
                    "score": row["total_score"], "max_score": row["max_score"]})
    return out


def period_fields(report: PeriodReport) -> dict[str, str]:
    p = report.period
    return {"period": p.label, "period_from": p.start.isoformat(), "period_to": p.end.isoformat(),
            "at": report.at.astimezone(LOCAL_TZ).isoformat(),
            "computed_at": report.computed_at.astimezone(LOCAL_TZ).isoformat()}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def to_csv(table: str, rows: list[dict[str, Any]], report: PeriodReport) -> str:
    """RFC 4180 CSV (CRLF), a header row, the period and computation time in every row."""
    columns = (*PERIOD_COLUMNS, *COLUMNS[table])
    fields = period_fields(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(fields.get(c, row.get(c))) for c in columns])
    return buffer.getvalue()


def to_json(table: str, rows: list[dict[str, Any]], report: PeriodReport, unit: str | None) -> str:
    fields = period_fields(report)
    document = {
        "table": table,
        "period": {"label": fields["period"], "from": fields["period_from"], "to": fields["period_to"],
                   "at": fields["at"]},
        "computed_at": fields["computed_at"],
        "scoring": report.report.get("scoring"),
        "unit": unit or report.province,
        "columns": list(COLUMNS[table]),
        "rows": rows,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


__all__ = ["COLUMNS", "LEVELS", "Ranked", "TOTAL", "group_rows", "indicator_rows", "level_of", "period_fields",
           "rank_of", "rankings", "registry_of", "to_csv", "to_json", "trend_rows", "unit_indicator_rows",
           "unit_rows"]
