"""`ioc kpi score`: the portal's scoring rule for one indicator or a JSONL file of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ioc.errors import UserInputError
from ioc.kpi.scoring import score_indicator


def _number(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserInputError(f"{where}: {name}: expected a number, got {json.dumps(value)}")
    return value


def score_one(indicator: str, numerator: float, denominator: float, where: str = "ioc kpi score") -> str:
    try:
        result = score_indicator(indicator, numerator, denominator)
    except ValueError as exc:
        raise UserInputError(f"{where}: {exc}") from None
    return json.dumps(result.to_json(), ensure_ascii=False)


def score_file(path: Path) -> Iterator[str]:
    """One output line per input line; the first bad line stops with its file:line and field."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{path}: not UTF-8 text") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserInputError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise UserInputError(f"{where}: expected an object with indicator, numerator, denominator")
        for name in ("indicator", "numerator", "denominator"):
            if name not in item:
                raise UserInputError(f"{where}: {name}: missing")
        out.append(score_one(str(item["indicator"]), _number(item["numerator"], where, "numerator"),
                             _number(item["denominator"], where, "denominator"), where))
    return iter(out)
