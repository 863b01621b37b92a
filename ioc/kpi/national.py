"""What the national portal publishes that we set beside our own figures.

* **National report counts** (contracts.md §2d): dossiers per unit and period as reported to
  the national portal — the denominator of 1.4 is max(national report, dossiers synced). Where the
  period has no report the portal falls back to last year's total / 12 (a month) or / 4 (a
  quarter) and flags TEMP_NATIONAL_REPORT_DENOMINATOR; with no report at all we use the dossiers
  the unit received in the period (our own one-stop system's count) and flag
  NO_NATIONAL_REPORT_DATA, as the portal flags it (domain.md §2.2).
* **National scores**: the portal's published 34-province table (province, period, score), so
  the wall can show our live projected score next to the last published score and rank.

Files are CSV (header row; ``,`` or ``;``) or JSONL, UTF-8; a bad row raises UserInputError
naming file, line and column, before anything is used.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ioc.errors import UserInputError
from ioc.kpi.periods import Period, parse_period

TEMP_DENOMINATOR = "TEMP_NATIONAL_REPORT_DENOMINATOR"
NO_REPORT = "NO_NATIONAL_REPORT_DATA"


def read_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """(``FILE:LINE``, row) for every non-blank row; exactly ``columns`` are allowed and required."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserInputError(f"{where}: row: not JSON ({exc.msg})") from None
            if not isinstance(raw, dict):
                raise UserInputError(f"{where}: row: expected a JSON object")
            yield where, _check({k: "" if v is None else str(v) for k, v in raw.items()}, columns, where)
    elif suffix == ".csv":
        dialect = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect)
        header: list[str] | None = None
        for cells in reader:
            if header is None:
                header = [c.strip() for c in cells]
                continue
            if not any(c.strip() for c in cells):
                continue
            where = f"{path}:{reader.line_num}"
            if len(cells) > len(header):
                raise UserInputError(f"{where}: row: {len(cells)} values for {len(header)} columns")
            yield where, _check(dict(zip(header, (c.strip() for c in cells))), columns, where)
    else:
        raise UserInputError(f"{path}: unknown file type {path.suffix or '(no extension)'!r}; expected .csv or .jsonl")


def _check(row: dict[str, str], columns: tuple[str, ...], where: str) -> dict[str, str]:
    unknown = sorted(set(row) - set(columns) - {""})
    if unknown:
        raise UserInputError(f"{where}: {unknown[0]}: unknown column (expected {', '.join(columns)})")
    for name in columns:
        if not row.get(name, "").strip():
            raise UserInputError(f"{where}: {name}: required")
    return row


def _period(text: str, where: str) -> Period:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise UserInputError(f"{where}: period: {exc}") from None


def _number(text: str, where: str, name: str, whole: bool) -> float:
    try:
        value = float(text.replace(",", ".")) if not whole else int(text)
    except ValueError:
        raise UserInputError(f"{where}: {name}: expected {'a whole number' if whole else 'a number'}, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise UserInputError(f"{where}: {name}: must be a number >= 0, got {text!r}")
    return value


@dataclass(frozen=True)
class NationalReport:
    """Dossiers reported to the national portal, per (unit code, period label)."""

    counts: dict[tuple[str, str], int]

    @classmethod
    def read(cls, path: Path) -> "NationalReport":
        counts: dict[tuple[str, str], int] = {}
        for where, row in read_rows(path, ("unit_code", "period", "dossiers")):
            key = (row["unit_code"].strip(), _period(row["period"], where).label)
            if key in counts:
                raise UserInputError(f"{where}: period: {key[0]} {key[1]} given twice")
            counts[key] = int(_number(row["dossiers"], where, "dossiers", whole=True))
        return cls(counts)

    def total(self, units: set[str], label: str) -> int | None:
        values = [self.counts[(u, label)] for u in units if (u, label) in self.counts]
        return sum(values) if values else None

    def base(self, units: set[str], period: Period) -> tuple[int | None, str | None]:
        """(the report's count for these units and period, or its fallback; the quality flag)."""
        if period.kind in ("month", "quarter", "year"):
            if (value := self.total(units, period.label)) is not None:
                return value, None
            last_year = f"{int(period.label[:4]) - 1:04d}"
            if (value := self.total(units, last_year)) is not None:
                divisor = {"month": 12, "quarter": 4, "year": 1}[period.kind]
                return int(round(value / divisor)), TEMP_DENOMINATOR
        return None, NO_REPORT


def sync_denominator(report: NationalReport | None, units: set[str], period: Period, received: int,
                     synced: int) -> tuple[int, str | None]:
    """1.4's denominator: max(national report or its fallback, synced); else our own count."""
    base, flag = report.base(units, period) if report is not None else (None, NO_REPORT)
    if base is None:
        base = received
    return max(base, synced), flag


@dataclass(frozen=True)
class NationalScore:
    province: str
    period: str
    score: float
    rank: int  # among the provinces published for that period (1 = best; ties share a rank)


def read_national_scores(path: Path) -> list[NationalScore]:
    """The portal's published table; ranks computed per period, ties sharing the better rank."""
    rows: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()
    for where, row in read_rows(path, ("province", "period", "score")):
        label = _period(row["period"], where).label
        score = _number(row["score"], where, "score", whole=False)
        if score > 100:
            raise UserInputError(f"{where}: score: must be at most 100, got {row['score']!r}")
        key = (row["province"].strip(), label)
        if key in seen:
            raise UserInputError(f"{where}: province: {key[0]} {label} given twice")
        seen.add(key)
        rows.append((key[0], label, score))
    return rank_scores(rows)


def rank_scores(rows: list[tuple[str, str, float]]) -> list[NationalScore]:
    """(province, period, score) with each period's rank (1 = best; ties share the better rank)."""
    out = []
    for province, label, score in rows:
        better = sum(1 for _, lb, s in rows if lb == label and s > score)
        out.append(NationalScore(province, label, score, better + 1))
    return sorted(out, key=lambda s: (s.period, s.rank, s.province))


def latest_for(scores: list[NationalScore], province_names: set[str]) -> NationalScore | None:
    """The most recent published score of the province (matched by any of its names/codes)."""
    mine = [s for s in scores if s.province in province_names]
    return max(mine, key=lambda s: parse_period(s.period).end, default=None)


def scores_json(scores: list[NationalScore]) -> list[dict[str, Any]]:
    return [s.__dict__ for s in scores]
