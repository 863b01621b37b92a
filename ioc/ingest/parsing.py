"""From what a source sends to validated dossier events (contracts.md §2), without the network.

Two inputs:

* a request body of ``POST /api/v1/dossier-events``: a JSON array of events, one JSON
  object, or JSONL (one event a line; chosen by ``Content-Type: application/x-ndjson`` or
  detected when a body starting with ``{`` holds more than one line). :func:`parse_body`
  gives the valid events and, for every other item, its index and the reason from
  :func:`ioc.domain.events.parse_event`. The index is the 0-based position in the array
  (0 for a single object) or the 1-based line number for JSONL.
* a file of events, the one reader of ``ioc import`` and ``ioc kpi --events``: CSV (UTF-8, a
  byte-order mark allowed, header row, ``,`` ``;`` or tab separated), Excel ``.xlsx`` (first
  sheet, header row; needs openpyxl) or JSONL (``.jsonl``/``.ndjson``), with the §2 field names as
  columns and ``legal_duration`` either as ``legal_duration_value`` and ``legal_duration_unit``
  or as one ``legal_duration`` column holding its JSON (not both in a row). Empty cells are
  absent fields, columns with an empty name are ignored, unknown ones kept. :func:`file_events`
  yields ``(row, event)`` and stops at the first bad row with :class:`BadRow` ("FILE:ROW: field:
  problem", exit status 2). Rows are numbered by the file's lines (the header is 1; a record
  whose quoted cell spans lines is numbered by its first line), as a spreadsheet shows them
  when no cell spans lines. ``ioc import`` also requires the header to name the required
  columns; ``ioc kpi`` lets validation name a missing field row by row.

A whole body that cannot be read (not UTF-8, not JSON, neither an array nor an object) is
:class:`UnreadableBody` (HTTP 400); more items than allowed is :class:`TooManyItems` (413).

Petition events (contracts.md §2c) go through the same functions with ``parse`` set to
:func:`ioc.domain.pakn.parse_pakn_event` and their own required columns
(:data:`PAKN_REQUIRED_COLUMNS`; :func:`file_pakn_events`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping

import msgspec

from ioc.domain.events import DossierEvent, EventRejected, parse_event
from ioc.errors import DependencyError, UserInputError
from ioc.wire import encode_batch

JSONL_MEDIA_TYPES = frozenset({
    "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonl",
    "application/jsonlines", "application/x-jsonlines",
})
REQUIRED_COLUMNS = ("event_id", "dossier_code", "status", "occurred_at", "unit_code", "procedure_code")
PAKN_REQUIRED_COLUMNS = ("event_id", "pakn_code", "status", "occurred_at", "unit_code")
STRING_FIELDS = frozenset({*REQUIRED_COLUMNS, "agency_code", "rating", "pakn_code", "commune_code"}
                          - {"status", "occurred_at"})
INT_FIELDS = frozenset({"status", "channel", "online_payment", "likes", "dislikes"})
NUMBER_FIELDS = frozenset({"fee_amount", "legal_duration_value"})
BOOL_FIELDS = frozenset({"digitized", "e_result", "reused_data", "population_db", "complaint"})
TIME_FIELDS = frozenset({"occurred_at", "due_at"})
_BOOL_WORDS = {
    "true": True, "false": False, "1": True, "0": False, "yes": True, "no": False,
    "có": True, "không": False, "co": True, "khong": False,
}
_INT_TEXT = re.compile(r"[+-]?\d+(\.0*)?")

Format = Literal["json", "jsonl"]


class UnreadableBody(ValueError):
    """The body as a whole is not UTF-8 JSON / JSONL of events (HTTP 400)."""


class TooManyItems(ValueError):
    """More items than ``ingest.max_items`` (HTTP 413)."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} items in one request; the limit is {limit} (ingest.max_items)")
        self.count = count
        self.limit = limit


class BadRow(UserInputError):
    """A bad row of an import file: ``FILE:ROW: field: problem`` (exit status 2)."""

    def __init__(self, path: Path | str, row: int, reason: str) -> None:
        super().__init__(f"{path}:{row}: {_one_line(reason)}")
        self.path = str(path)
        self.row = row
        self.reason = reason


@dataclass
class ParsedBody:
    """Items of one request: the valid events and the rejected items, each with its index."""

    format: Format
    accepted: list[tuple[int, DossierEvent]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def received(self) -> int:
        return len(self.accepted) + len(self.rejected)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str) -> Any:
    # msgspec first (~5x faster; it refuses NaN and Infinity as JSON does); on any refusal the
    # standard library decides, and words its error (line and column).
    try:
        return _DECODE(text)
    except msgspec.DecodeError:
        return json.loads(text, parse_constant=_no_constants)


_DECODE = msgspec.json.Decoder().decode


def _json_problem(exc: BaseException, lines: bool = True) -> str:
    if isinstance(exc, json.JSONDecodeError):
        where = f"line {exc.lineno} column {exc.colno}" if lines else f"column {exc.colno}"
        return f"not valid JSON ({exc.msg} at {where})"
    if isinstance(exc, RecursionError):
        return "not valid JSON (nested too deeply)"
    return f"not valid JSON ({_one_line(str(exc))})"


Parse = Callable[[Any], Any]  # a raw JSON value -> a validated event (to_json()), or EventRejected


def validate_item(raw: Any, max_event_bytes: int | None = None, parse: Parse = parse_event) -> DossierEvent:
    """One raw JSON value as an event, or :class:`EventRejected`; also rejects an event too
    large to fit in one Kafka message."""
    event = parse(raw)
    if max_event_bytes is not None:
        size = len(encode_batch([event.to_json()]))
        if size > max_event_bytes:
            raise EventRejected(f"event: {size} bytes as JSON, more than the {max_event_bytes} one message may hold")
    return event


def _jsonl_items(text: str) -> tuple[list[tuple[int, Any]], list[tuple[int, str]]]:
    items: list[tuple[int, Any]] = []
    errors: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            items.append((number, _loads(line)))
        except (ValueError, RecursionError) as exc:
            errors.append((number, f"event: {_json_problem(exc, lines=False)}"))
    if errors and not items:
        raise UnreadableBody(f"not JSON lines: line {errors[0][0]}: {errors[0][1].removeprefix('event: ')}")
    return items, errors


def decode_body(body: bytes, content_type: str | None = None) -> tuple[Format, list[tuple[int, Any]],
                                                                         list[tuple[int, str]]]:
    """The raw items of a body with their indices, and the JSONL lines that are not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableBody(f"not UTF-8 (byte {exc.start})") from None
    text = text.lstrip("\ufeff")
    stripped = text.strip()
    if not stripped:
        raise UnreadableBody("empty body: send a JSON array of events, one event object, or JSON lines")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in JSONL_MEDIA_TYPES:
        return ("jsonl", *_jsonl_items(text))
    try:
        data = _loads(stripped)
    except (ValueError, RecursionError) as exc:
        if stripped[0] == "{" and "\n" in stripped:
            return ("jsonl", *_jsonl_items(text))
        raise UnreadableBody(_json_problem(exc)) from None
    if isinstance(data, list):
        return "json", list(enumerate(data)), []
    if isinstance(data, dict):
        return "json", [(0, data)], []
    raise UnreadableBody(f"expected a JSON array of events, an event object or JSON lines, got {type(data).__name__}")


def parse_body(body: bytes, content_type: str | None = None, max_items: int | None = None,
               max_event_bytes: int | None = None, parse: Parse = parse_event) -> ParsedBody:
    """Validate every item of a request body; a bad item never hides its neighbours."""
    fmt, items, errors = decode_body(body, content_type)
    count = len(items) + len(errors)
    if max_items is not None and count > max_items:
        raise TooManyItems(count, max_items)
    parsed = ParsedBody(fmt)
    for index, raw in items:
        try:
            parsed.accepted.append((index, validate_item(raw, max_event_bytes, parse)))
        except EventRejected as exc:
            parsed.rejected.append((index, exc.reason))
    parsed.rejected.extend(errors)
    parsed.rejected.sort()
    return parsed


# --- rows of exported files ------------------------------------------------------------------

def _cell_time(value: datetime | date, naive_tz: tzinfo | None) -> str:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None and naive_tz is not None:
        value = value.replace(tzinfo=naive_tz)
    return value.isoformat()


def _convert(name: str, value: Any, naive_tz: tzinfo | None) -> Any:
    if isinstance(value, str):
        value = value.strip()
    if isinstance(value, (datetime, date)):
        return _cell_time(value, naive_tz)
    if isinstance(value, time):
        return value.isoformat()
    if name in INT_FIELDS:
        if isinstance(value, str) and _INT_TEXT.fullmatch(value):
            return int(float(value))
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif name in NUMBER_FIELDS:
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return value  # parse_event names the field
            return int(number) if number.is_integer() else number
    elif name in BOOL_FIELDS:
        if isinstance(value, str) and value.lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.lower()]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
            return bool(value)
    elif name in STRING_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a numeric id typed as a number in a spreadsheet
    return value


def row_to_event(row: Mapping[str, Any], naive_tz: tzinfo | None = None) -> dict[str, Any]:
    """One export row (column -> cell) as a §2 event dict; empty cells are absent.
    :class:`EventRejected` for a ``legal_duration`` cell that is not JSON or given twice.

    CSV cells are text and are converted by field (status "2" -> 2, digitized "có" -> True).
    Spreadsheet date cells carry no offset: they are read in ``naive_tz`` when given (the
    province's time zone), else left naive so validation rejects them. Unknown columns are
    kept as extra fields, as the event contract keeps unknown fields.
    """
    out: dict[str, Any] = {}
    duration: dict[str, Any] = {}
    for name, value in row.items():
        if not name:
            continue
        name = name.strip()
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        value = _convert(name, value, naive_tz)
        if name == "legal_duration_value":
            duration["value"] = value
        elif name == "legal_duration_unit":
            duration["unit"] = value
        elif name == "legal_duration" and isinstance(value, str):
            try:
                out[name] = _loads(value)
            except (ValueError, RecursionError) as exc:
                raise EventRejected(f"legal_duration: {_json_problem(exc, lines=False)}") from None
        else:
            out[name] = value
    if duration:
        if "legal_duration" in out:
            raise EventRejected("legal_duration: given both as JSON and as legal_duration_value/legal_duration_unit")
        out["legal_duration"] = duration
    return out


def _header(path: Path, cells: Iterable[Any], required: tuple[str, ...] = REQUIRED_COLUMNS,
            number: int = 1) -> list[str]:
    names = ["" if c is None else str(c).strip() for c in cells]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise BadRow(path, number, f"header: column {name} appears twice")
        seen.add(name)
    missing = [c for c in required if c not in seen]
    if missing:
        raise BadRow(path, number, f"header: missing column(s) {', '.join(missing)}")
    return names


def _zip_row(path: Path, number: int, header: list[str], cells: list[Any]) -> dict[str, Any]:
    extra = [c for c in cells[len(header):] if c not in (None, "")]
    if extra:
        raise BadRow(path, number, f"row: {len(header) + len(extra)} values but {len(header)} columns in the header")
    return {name: cell for name, cell in zip(header, cells) if name}


def _read_text(path: Path, hint: str = "") -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{path}: not UTF-8 text (byte {exc.start}){hint}") from None
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _csv_rows(path: Path, required: tuple[str, ...] = REQUIRED_COLUMNS) -> Iterator[tuple[int, dict[str, Any]]]:
    text = _read_text(path, "; save the CSV as UTF-8")
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    end = 0  # the line the previous record ended on
    try:
        for cells in reader:
            number, end = end + 1, reader.line_num  # a quoted cell may span lines: its first line
            if header is None:
                header = _header(path, cells, required, number)
                continue
            if not any(c.strip() for c in cells):
                continue
            yield number, _zip_row(path, number, header, list(cells))
    except csv.Error as exc:
        raise BadRow(path, reader.line_num, f"row: not valid CSV ({exc})") from None
    if header is None and required:
        raise UserInputError(f"{path}: empty file (expected a header row with {', '.join(required)})")


def _xlsx_rows(path: Path, required: tuple[str, ...] = REQUIRED_COLUMNS) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import openpyxl
    except ImportError:
        raise DependencyError(f"{path}: reading .xlsx files needs openpyxl (pip install 'openpyxl>=3.1')") from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise UserInputError(f"{path}: not a readable .xlsx workbook ({_one_line(str(exc)) or type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        header: list[str] | None = None
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if header is None:
                header = _header(path, cells, required)
                continue
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield number, _zip_row(path, number, header, list(cells))
        if header is None and required:
            raise UserInputError(f"{path}: empty sheet (expected a header row with {', '.join(required)})")
    finally:
        book.close()


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    # split on "\n" only: str.splitlines would also split on U+2028 inside a JSON string
    for number, line in enumerate(_read_text(path).split("\n"), start=1):
        if line.strip():
            try:
                yield number, _loads(line)
            except (ValueError, RecursionError) as exc:
                problem = _json_problem(exc, lines=False).removeprefix("not valid JSON")
                raise BadRow(path, number, f"event: not JSON{problem}") from None


def file_rows(path: Path, required: tuple[str, ...] = REQUIRED_COLUMNS) -> Iterator[tuple[int, Any]]:
    """``(row number, raw event)`` of an export file; CSV/XLSX rows already as event dicts
    (spreadsheet dates left naive; see :func:`file_events`)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path, required)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path, required)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path)
    if suffix == ".xls":
        raise UserInputError(f"{path}: the old .xls format is not read; save it as .xlsx or CSV (UTF-8)")
    raise UserInputError(f"{path}: unknown file type '{suffix}' (expected .csv, .xlsx or .jsonl)")


def file_events(path: Path | str, naive_tz: tzinfo | None = None,
                max_event_bytes: int | None = None, parse: Parse = parse_event,
                required: tuple[str, ...] = REQUIRED_COLUMNS) -> Iterator[tuple[int, DossierEvent]]:
    """Every row of an export file as a validated event; :class:`BadRow` at the first bad one.
    ``required``: the columns a CSV/XLSX header must name (``()``: none; an empty file then
    holds no events)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: cannot read (no such file)")
    tabular = path.suffix.lower() not in (".jsonl", ".ndjson")
    for number, raw in file_rows(path, required):
        try:
            event = validate_item(row_to_event(raw, naive_tz) if tabular else raw, max_event_bytes, parse)
        except EventRejected as exc:
            raise BadRow(path, number, exc.reason) from None
        yield number, event


def file_pakn_events(path: Path | str, naive_tz: tzinfo | None = None,
                     max_event_bytes: int | None = None) -> Iterator[tuple[int, Any]]:
    """Every row of a petition export (contracts.md §2c columns) as a validated
    :class:`~ioc.domain.pakn.PaknEvent`; :class:`BadRow` at the first bad one."""
    from ioc.domain.pakn import parse_pakn_event

    return file_events(path, naive_tz, max_event_bytes, parse_pakn_event, PAKN_REQUIRED_COLUMNS)
