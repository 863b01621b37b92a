"""The procedure catalogue as data (contracts.md §2b): rows versioned by ``valid_from``.

Why: groups 1, 3 and 4 of Decision 766 are computed over the province's procedures (TTHC), not
only over dossiers: which procedures a unit receives, which are offered online, carry a fee,
issue a paper result, have citizens as subjects, and when each was decided and published
(domain.md §2.3, §2.6). This module is that list: :class:`CatalogueRow` (one procedure from one
date), :class:`Catalogue` (the rows, with the lookups the KPI engine needs), a reader of the
files a province exports (:func:`read_catalogue`) and the packaged SAMPLE
(:func:`sample_catalogue`, derived from ``procedures.yaml``: one source of procedure truth).

Pure: no I/O besides reading the file it is given.

Files (:func:`read_catalogue`), chosen by extension; UTF-8 (a byte-order mark is allowed):

* ``.csv``: a header row with the column names of contracts.md §2b, then one row per procedure
  version. The delimiter is ``,`` or ``;``, whichever the header line holds more of. ``unit_codes``
  is a list in one cell, its codes separated by ``;`` in a ``,`` file; in a ``;`` file by ``|`` or
  ``,`` (or by ``;`` inside a quoted cell). Any of ``;`` ``,`` ``|`` separates codes, since no unit
  code contains them. Rows are numbered by the line they start on (the header is line 1).
* ``.xlsx``: the first sheet, a header row on row 1; rows numbered as the sheet shows them. Date
  cells may be real dates; booleans may be TRUE/FALSE cells.
* ``.jsonl`` (``.ndjson``): one JSON object per line, the columns as keys; ``unit_codes`` a list
  of strings (or one string as in CSV); numbered by line.

Cells: empty = absent = unknown. Booleans ``true``/``false``, ``1``/``0``, ``yes``/``no``,
``có``/``không`` (any case). Dates ISO ``YYYY-MM-DD``. ``level`` is ``ministry``, ``province`` or
``commune``; ``online`` is ``full``, ``partial`` or ``none`` (also ``toàn trình``, ``một phần``).
``procedure_code`` is required; ``valid_from`` absent means "from the beginning" (``date.min``).

Validation: every row is checked before anything is returned; problems are reported as
``FILE:ROW: column: problem`` (:class:`CatalogueFileError`, a :class:`~ioc.errors.UserInputError`:
exit status 2), the first one in the message and all of them in ``problems``. Unknown columns
are rejected by name; a second row with the same ``(procedure_code, valid_from)`` is rejected.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping

from ioc.errors import UserInputError

Level = Literal["ministry", "province", "commune"]
Online = Literal["full", "partial", "none"]
LEVELS: tuple[str, ...] = ("ministry", "province", "commune")
ONLINE: tuple[str, ...] = ("full", "partial", "none")

# The province the packaged sample is resolved for by default (ioc.config.ProvinceSettings).
SAMPLE_PROVINCE = ("25", "H44")  # Tỉnh Phú Thọ, its QCVN 102 prefix on the national portal


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    """One procedure as published from ``valid_from`` on; ``None`` = unknown."""

    procedure_code: str
    valid_from: date  # absent in a file -> date.min (holds from the beginning)
    name: str | None = None
    level: Level | None = None
    unit_codes: tuple[str, ...] = ()  # empty: every unit of its level
    online: Online | None = None
    full_online_eligible: bool | None = None
    fee: bool | None = None
    fee_on_national_payment: bool | None = None
    paper_result: bool | None = None
    citizen_subject: bool | None = None
    certified_copy: bool | None = None
    legal_basis_effective: date | None = None
    decision_date: date | None = None
    published_date: date | None = None
    components_complete: bool | None = None

    @property
    def key(self) -> str:
        """The row's identity, e.g. ``1.001612|2026-07-01`` (the topic's message key)."""
        return f"{self.procedure_code}|{self.valid_from.isoformat()}"

    def to_json(self) -> dict[str, Any]:
        """Every column: dates as ISO text (``valid_from`` ``0001-01-01`` = from the beginning),
        ``unit_codes`` a list, unknown values ``null``."""
        out: dict[str, Any] = {}
        for name in COLUMNS:
            value = getattr(self, name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "CatalogueRow":
        """The inverse of :meth:`to_json`; missing or ``null`` values are unknown and keys that
        are not columns are ignored (a newer producer may add some). A bad value raises
        :class:`ValueError` naming the column."""
        if not isinstance(d, Mapping):
            raise ValueError(f"row: expected a JSON object, got {type(d).__name__}")
        values, problems = convert_columns({k: v for k, v in d.items() if k in _CONVERTERS})
        if problems:
            raise ValueError("; ".join(f"{column}: {problem}" for column, problem in problems))
        return cls(**values)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(CatalogueRow))
"""The columns of contracts.md §2b, in the order of :class:`CatalogueRow`."""
BOOL_COLUMNS = frozenset({"full_online_eligible", "fee", "fee_on_national_payment", "paper_result",
                          "citizen_subject", "certified_copy", "components_complete"})
DATE_COLUMNS = frozenset({"valid_from", "legal_basis_effective", "decision_date", "published_date"})


# --- cell conversion -----------------------------------------------------------------------------


class _Bad(ValueError):
    """One cell's problem (the caller adds the file, row and column)."""


_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False,
               "có": True, "không": False, "co": True, "khong": False}
_ONLINE_WORDS = {"full": "full", "partial": "partial", "none": "none", "toàn trình": "full", "một phần": "partial"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LIST_SEPARATORS = re.compile(r"[;,|]")


def _words(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split()).lower()


def _code(value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, float):
        raise _Bad(f"{value!r} is a number, not text (format the column as text: 1.001612 keeps its zeros)")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise _Bad(f"must be text, got {type(value).__name__}")
    text: str = value.strip()
    if any(c.isspace() for c in text):
        raise _Bad(f"{text!r} contains spaces")
    if len(text) > 100:
        raise _Bad("longer than 100 characters")
    return text


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"must be text, got {type(value).__name__}")
    return " ".join(value.split())


def _choice(words: Mapping[str, str], allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if isinstance(value, str) and _words(value) in words:
            return words[_words(value)]
        raise _Bad(f"must be one of {', '.join(allowed)}, got {value!r}")
    return convert


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and _words(value) in _BOOL_WORDS:
        return _BOOL_WORDS[_words(value)]
    raise _Bad(f"must be true/false (or 1/0, yes/no, có/không), got {value!r}")


def _date(value: Any) -> date:
    if isinstance(value, datetime):  # a spreadsheet date cell
        if value.tzinfo is not None or value.time() != time():
            raise _Bad(f"must be a date without a time, got {value.isoformat()}")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise _Bad(f"{value.strip()!r} is not a calendar date") from None
    raise _Bad(f"must be a date YYYY-MM-DD, got {value!r}")


def _unit_codes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[Any] = _LIST_SEPARATORS.split(value)
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _Bad(f"must be a list of unit codes, got {type(value).__name__}")
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        code = _code(item)
        if code not in out:
            out.append(code)
    return tuple(out)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "procedure_code": _code,
    "valid_from": _date,
    "name": _text,
    "level": _choice({v: v for v in LEVELS}, LEVELS),
    "unit_codes": _unit_codes,
    "online": _choice(_ONLINE_WORDS, ONLINE),
    **{c: _bool for c in BOOL_COLUMNS},
    **{c: _date for c in DATE_COLUMNS - {"valid_from"}},
}
assert set(_CONVERTERS) == set(COLUMNS)


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def convert_value(column: str, value: Any) -> Any:
    """One value of a known column, converted; :class:`ValueError` with the problem if bad.
    (``procedures.yaml`` validates its catalogue facts with it too.)"""
    return _CONVERTERS[column](value)


def convert_columns(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Known columns (``raw``'s keys must be columns) to :class:`CatalogueRow` arguments, and the
    problems as ``(column, problem)``; absent values are left out, ``valid_from`` defaults."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in COLUMNS:
        value = raw.get(column)
        if _absent(value):
            if column == "procedure_code":
                problems.append((column, "required"))
            continue
        try:
            values[column] = _CONVERTERS[column](value)
        except _Bad as exc:
            problems.append((column, str(exc)))
    values.setdefault("valid_from", date.min)
    return values, problems


# --- the catalogue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Rows of one or more procedures; at most one row per ``(procedure_code, valid_from)``."""

    rows: tuple[CatalogueRow, ...]

    def __post_init__(self) -> None:
        seen: set[tuple[str, date]] = set()
        for row in self.rows:
            if (row.procedure_code, row.valid_from) in seen:
                raise ValueError(f"two rows for {row.procedure_code} valid from {row.valid_from.isoformat()}")
            seen.add((row.procedure_code, row.valid_from))

    @cached_property
    def _versions(self) -> dict[str, tuple[list[date], list[CatalogueRow]]]:
        by_code: dict[str, list[CatalogueRow]] = {}
        for row in self.rows:
            by_code.setdefault(row.procedure_code, []).append(row)
        out = {}
        for code, rows in by_code.items():
            rows.sort(key=lambda r: r.valid_from)
            out[code] = ([r.valid_from for r in rows], rows)
        return out

    @cached_property
    def _naming(self) -> dict[str, frozenset[tuple[str, date]]]:
        named: dict[str, set[tuple[str, date]]] = {}
        for row in self.rows:
            for unit in row.unit_codes:
                named.setdefault(unit, set()).add((row.procedure_code, row.valid_from))
        return {unit: frozenset(keys) for unit, keys in named.items()}

    @property
    def procedure_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self._versions))

    @cached_property
    def _by_day(self) -> dict[date, dict[str, CatalogueRow]]:
        return {}  # in_force per day, memoised (the index asks for one day per unit)

    def in_force(self, day: date) -> dict[str, CatalogueRow]:
        """Per procedure code, the row with the latest ``valid_from`` on or before ``day``
        (procedures whose first row starts later are absent); sorted by code. A new dict."""
        out = self._by_day.get(day)
        if out is None:
            out = {}
            for code in sorted(self._versions):
                starts, rows = self._versions[code]
                i = bisect_right(starts, day)
                if i:
                    out[code] = rows[i - 1]
            if len(self._by_day) >= 64:
                self._by_day.clear()
            self._by_day[day] = out
        return dict(out)

    def receives(self, unit_code: str, unit_level: str | None, day: date) -> list[CatalogueRow]:
        """The rows in force on ``day`` that ``unit_code`` receives: those naming it in
        ``unit_codes``, and those with empty ``unit_codes`` whose ``level`` is ``unit_level``."""
        named = self._naming.get(unit_code, frozenset())
        in_force = self._by_day.get(day) or self.in_force(day)
        return [row for row in in_force.values()
                if (row.procedure_code, row.valid_from) in named
                or (not row.unit_codes and unit_level is not None and row.level == unit_level)]


# --- reading files -------------------------------------------------------------------------------


class CatalogueFileError(UserInputError):
    """A bad catalogue file: the first problem as ``FILE:ROW: column: problem``; all in ``problems``."""

    def __init__(self, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)
        self.problems = problems


CSV_SUFFIXES = (".csv",)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_MAX_PROBLEMS = 1000


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Reader:
    """Collects ``FILE:ROW: column: problem`` lines while the rows are read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def bad(self, row: int | None, column: str, problem: str) -> None:
        where = f"{self.path}:{row}" if row is not None else str(self.path)
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(f"{where}: {column}: {_one_line(problem)}")

    def text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CatalogueFileError([f"{self.path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"]) from None
        except OSError as exc:
            raise CatalogueFileError([f"{self.path}: cannot read ({exc.strerror or exc})"]) from None

    def header(self, cells: list[Any]) -> list[str]:
        """Column names of a CSV/XLSX header (row 1); unknown and repeated ones are problems."""
        names = ["" if c is None else _one_line(str(c)).lower() for c in cells]
        seen: set[str] = set()
        for original, name in zip(cells, names):
            if not name:
                continue
            if name in seen:
                self.bad(1, name, "column repeated in the header")
            elif name not in _CONVERTERS:
                self.bad(1, _one_line(str(original)), f"unknown column (known: {', '.join(COLUMNS)})")
            seen.add(name)
        if "procedure_code" not in seen:
            self.bad(1, "procedure_code", "missing column (it is required)")
        return names

    def cells(self, row: int, header: list[str], cells: list[Any]) -> dict[str, Any] | None:
        """A data row as column -> cell; ``None`` if the row is empty or malformed."""
        if all(_absent(c) for c in cells):
            return None
        if len(cells) > len(header) and any(not _absent(c) for c in cells[len(header):]):
            self.bad(row, "row", f"{len(cells)} values for {len(header)} columns in the header")
            return None
        out: dict[str, Any] = {}
        for i, (name, cell) in enumerate(zip(header, cells), start=1):
            if not name:
                if not _absent(cell):
                    self.bad(row, f"column {i}", "a value under an empty header")
                continue
            out[name] = cell
        return out


def _csv_rows(reader: _Reader) -> Iterator[tuple[int, dict[str, Any]]]:
    text = reader.text()
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    last = 0
    try:
        for cells in rows:
            number, last = last + 1, rows.line_num  # a quoted cell may span lines: the first one
            if header is None:
                header = reader.header(list(cells))
                continue
            raw = reader.cells(number, header, list(cells))
            if raw is not None:
                yield number, raw
    except csv.Error as exc:
        reader.bad(rows.line_num, "row", f"not valid CSV ({exc})")
    if header is None:
        reader.bad(None, "header", f"empty file (expected a header row with {', '.join(COLUMNS)})")


def _xlsx_rows(reader: _Reader) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a declared dependency
        raise CatalogueFileError([f"{reader.path}: reading .xlsx needs openpyxl (pip install 'openpyxl>=3.1')"]) from None
    try:
        book = openpyxl.load_workbook(reader.path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise CatalogueFileError([f"{reader.path}: not a readable .xlsx workbook "
                                  f"({_one_line(str(exc)) or type(exc).__name__})"]) from None
    try:
        header: list[str] | None = None
        for number, cells in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            if header is None:
                header = reader.header(list(cells))
                continue
            raw = reader.cells(number, header, list(cells))
            if raw is not None:
                yield number, raw
        if header is None:
            reader.bad(None, "header", f"empty sheet (expected a header row with {', '.join(COLUMNS)})")
    finally:
        book.close()


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _jsonl_rows(reader: _Reader) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(reader.text().split("\n"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line, parse_constant=_no_constants)
        except (ValueError, RecursionError) as exc:
            problem = f"{exc.msg}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            reader.bad(number, "row", f"not valid JSON ({problem})")
            continue
        if not isinstance(raw, dict):
            reader.bad(number, "row", f"expected a JSON object, got {type(raw).__name__}")
            continue
        unknown = [k for k in raw if k not in _CONVERTERS]
        for key in unknown:
            reader.bad(number, str(key), f"unknown column (known: {', '.join(COLUMNS)})")
        if not unknown:
            yield number, raw


def read_catalogue(path: Path) -> Catalogue:
    """Every row of a catalogue file (module docstring), all validated before anything is
    returned; a bad file raises :class:`CatalogueFileError` (exit status 2)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise CatalogueFileError([f"{path}: the old .xls format is not read; save it as .xlsx or CSV (UTF-8)"])
    if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES + JSONL_SUFFIXES:
        raise CatalogueFileError([f"{path}: unknown file type {path.suffix or '(no extension)'!r}; "
                                  "expected .csv, .xlsx or .jsonl"])
    if not path.is_file():
        raise CatalogueFileError([f"{path}: no such file"])
    reader = _Reader(path)
    source = (_csv_rows if suffix in CSV_SUFFIXES else _xlsx_rows if suffix in XLSX_SUFFIXES else _jsonl_rows)(reader)
    rows: list[CatalogueRow] = []
    first_seen: dict[tuple[str, date], int] = {}
    for number, raw in source:
        values, problems = convert_columns(raw)
        for column, problem in problems:
            reader.bad(number, column, problem)
        if problems:
            continue
        row = CatalogueRow(**values)
        key = (row.procedure_code, row.valid_from)
        if key in first_seen:
            since = "the beginning" if row.valid_from == date.min else row.valid_from.isoformat()
            reader.bad(number, "valid_from", f"a second row for {row.procedure_code} valid from {since} "
                                             f"(the first is row {first_seen[key]})")
            continue
        first_seen[key] = number
        rows.append(row)
    if reader.problems:
        raise CatalogueFileError(reader.problems)
    return Catalogue(tuple(rows))


# --- the packaged SAMPLE -------------------------------------------------------------------------


# Procedures of the vertical agencies (police, tax, social security) are published by their
# ministry, not by the province: 766 group 1 applies the ministry's limits to them.
_MINISTRY_ROLES = frozenset({"cong_an", "cong_an_xa", "thue", "bhxh"})


def sample_catalogue(province_code: str = SAMPLE_PROVINCE[0], prefix: str | None = SAMPLE_PROVINCE[1]) -> Catalogue:
    """The packaged SAMPLE catalogue (``procedures.yaml``), its ``unit_codes`` resolved to the
    agencies of the procedure's role in this province's agency tree (default: Phú Thọ, H44).

    Derived per entry of the YAML: ``name``; ``level`` = ``ministry`` for the vertical agencies'
    procedures, else the entry's level (``both``: the level of the agencies of its role);
    ``online``; ``fee`` = a fee above 0 VND; ``paper_result``; the facts of its ``catalogue``
    block, and one more row for each of its ``changes`` (cumulative, from their ``valid_from``).
    """
    return _sample(province_code, prefix)


@lru_cache(maxsize=8)
def _sample(province_code: str, prefix: str | None) -> Catalogue:
    from ioc.reference.agencies import agency_tree
    from ioc.reference.procedures import procedures

    tree = agency_tree(province_code, prefix=prefix)
    rows: list[CatalogueRow] = []
    for p in procedures():
        handlers = tree.by_role(p.agency_role)
        if p.agency_role in _MINISTRY_ROLES:
            level = "ministry"
        elif p.level in ("province", "commune"):
            level = p.level
        else:
            level = handlers[0].serves_level if handlers else "province"
        base, *changes = p.catalogue_versions or (None,)
        row = CatalogueRow(
            procedure_code=p.code, valid_from=date.min, name=p.name, level=level,  # type: ignore[arg-type]
            unit_codes=tuple(a.code for a in handlers), online=p.online, fee=p.fee_vnd > 0,
            paper_result=p.paper_result)
        if base is not None:
            row = replace(row, **dict(base.values), valid_from=base.valid_from or date.min)
        rows.append(row)
        for change in changes:
            row = replace(row, **dict(change.values), valid_from=change.valid_from or date.min)
            rows.append(row)
    return Catalogue(tuple(rows))
