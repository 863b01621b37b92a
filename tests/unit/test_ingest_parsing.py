"""The ingest path without a network: bodies and export rows to events and per-item errors,
grouping into wire-format messages, the recent-id LRU, tokens and their settings."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ioc.config import load_settings
from ioc.errors import ConfigError, UserInputError
from ioc.ingest.parsing import BadRow, TooManyItems, UnreadableBody, file_events, parse_body, row_to_event
from ioc.ingest.publishing import RecentIds, plan_messages
from ioc.ingest.tokens import authenticate, bearer_token, hash_token
from ioc.wire import decode_batch, partition_for

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
COLUMNS = ["event_id", "dossier_code", "status", "occurred_at", "unit_code", "procedure_code", "channel",
           "due_at", "legal_duration_value", "legal_duration_unit", "fee_amount", "digitized", "rating", "note"]


def event(i: int, **fields):
    base = {"event_id": f"e{i}", "dossier_code": f"H44.07-261008-{i:04d}", "status": 2,
            "occurred_at": "2026-10-08T09:15:00+07:00", "unit_code": "H44.07", "procedure_code": "1.001612"}
    return {**base, **fields}


def body(items) -> bytes:
    return json.dumps(items).encode()


# --- request bodies ---------------------------------------------------------------------------

def test_array_bad_items_listed_by_index_and_neighbours_kept():
    parsed = parse_body(body([event(0), event(1, status=42), "text", event(3, occurred_at="2026-10-08T09:00:00")]))
    assert parsed.format == "json" and parsed.received == 4
    assert [(i, e.event_id) for i, e in parsed.accepted] == [(0, "e0")]
    reasons = dict(parsed.rejected)
    assert sorted(reasons) == [1, 2, 3]
    assert reasons[1].startswith("status: ")
    assert reasons[2] == "event: expected a JSON object, got str"
    assert reasons[3].startswith("occurred_at: must be ISO-8601 with a UTC offset")


def test_single_object_is_item_zero():
    parsed = parse_body(body(event(7)), "application/json")
    assert [(i, e.event_id) for i, e in parsed.accepted] == [(0, "e7")] and parsed.rejected == []
    parsed = parse_body(body(event(7, unit_code="")))
    assert parsed.accepted == [] and parsed.rejected[0][0] == 0 and parsed.rejected[0][1].startswith("unit_code: ")


def test_jsonl_by_content_type_or_detected_indexes_are_line_numbers():
    text = "\n".join([json.dumps(event(1)), "", json.dumps(event(2, channel=9)), "{not json", json.dumps(event(4))])
    for content_type in ("application/x-ndjson; charset=utf-8", None, "application/json"):
        parsed = parse_body(text.encode(), content_type)
        assert parsed.format == "jsonl"
        assert [(i, e.event_id) for i, e in parsed.accepted] == [(1, "e1"), (5, "e4")]
        assert [i for i, _ in parsed.rejected] == [3, 4]
        assert parsed.rejected[0][1].startswith("channel: ") and "not valid JSON" in parsed.rejected[1][1]


def test_a_jsonl_body_of_one_line_and_crlf():
    parsed = parse_body((json.dumps(event(1)) + "\r\n" + json.dumps(event(2)) + "\r\n").encode(),
                        "application/x-ndjson")
    assert [i for i, _ in parsed.accepted] == [1, 2]


def test_unknown_fields_kept_and_published_form_is_normalised():
    parsed = parse_body(body([event(1, extra={"a": 1}, dossier_code="  D-1  ")]))
    out = parsed.accepted[0][1].to_json()
    assert out["extra"] == {"a": 1} and out["dossier_code"] == "D-1"


@pytest.mark.parametrize("raw, problem", [
    (b"", "empty body"), (b"   \n", "empty body"), (b"\xff\xfe[]", "not UTF-8"), (b"not json", "not valid JSON"),
    (b"[1, 2", "not valid JSON"), (b"42", "got int"), (b'"x"', "got str"), (b"[NaN]", "not valid JSON"),
    (b"{nope\n{nope", "not JSON lines"), (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
])
def test_unreadable_bodies(raw, problem):
    with pytest.raises(UnreadableBody, match=problem):
        parse_body(raw)


def test_too_many_items_and_empty_array():
    with pytest.raises(TooManyItems) as err:
        parse_body(body([event(i) for i in range(4)]), max_items=3)
    assert err.value.count == 4 and err.value.limit == 3
    assert parse_body(body([event(i) for i in range(3)]), max_items=3).received == 3
    assert parse_body(b"[]").received == 0


def test_an_event_too_large_for_one_message_is_rejected_alone():
    parsed = parse_body(body([event(1), event(2, note="x" * 5000)]), max_event_bytes=2000)
    assert [i for i, _ in parsed.accepted] == [0]
    assert parsed.rejected[0][0] == 1 and "more than the 2000" in parsed.rejected[0][1]


# --- export rows --------------------------------------------------------------------------

def test_csv_row_to_event_converts_by_field():
    row = {"event_id": "12", "dossier_code": "D1", "status": "2", "occurred_at": "2026-10-08T09:15:00+07:00",
           "unit_code": "H44.07", "procedure_code": "1.001612", "channel": "2.0", "due_at": "",
           "legal_duration_value": "5", "legal_duration_unit": "working_day", "fee_amount": "25000.5",
           "digitized": "có", "rating": " satisfied ", "note": "kept"}
    out = row_to_event(row)
    assert out == {"event_id": "12", "dossier_code": "D1", "status": 2, "occurred_at": "2026-10-08T09:15:00+07:00",
                   "unit_code": "H44.07", "procedure_code": "1.001612", "channel": 2,
                   "legal_duration": {"value": 5, "unit": "working_day"}, "fee_amount": 25000.5,
                   "digitized": True, "rating": "satisfied", "note": "kept"}


def test_spreadsheet_cells_numbers_and_naive_dates():
    row = {"event_id": 12, "dossier_code": "D1", "status": 9.0, "occurred_at": datetime(2026, 10, 8, 9, 15),
           "unit_code": "H44.07", "procedure_code": "1.001612", "digitized": 1, "complaint": False}
    out = row_to_event(row, HCM)
    assert out["event_id"] == "12" and out["status"] == 9 and out["digitized"] is True and out["complaint"] is False
    assert out["occurred_at"] == "2026-10-08T09:15:00+07:00"
    assert row_to_event(row)["occurred_at"] == "2026-10-08T09:15:00"  # no zone given: left naive, then rejected


def write_csv(path, rows, columns=COLUMNS, sep=","):
    lines = [sep.join(columns)] + [sep.join(str(r.get(c, "")) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_csv_file_events_and_row_numbers(tmp_path):
    rows = [event(1), event(2, status=9, legal_duration_value=5, legal_duration_unit="day"), event(3, note="n")]
    path = write_csv(tmp_path / "export.csv", rows, sep=";")
    got = list(file_events(path))
    assert [(n, e.event_id) for n, e in got] == [(2, "e1"), (3, "e2"), (4, "e3")]
    assert got[1][1].legal_duration.value == 5 and got[2][1].model_extra == {"note": "n"}


def test_csv_bad_row_names_file_row_and_field(tmp_path):
    path = write_csv(tmp_path / "bad.csv", [event(1), event(2), event(3, status="done")])
    events = file_events(path)
    assert next(events)[0] == 2  # rows before the bad one are read...
    with pytest.raises(BadRow) as err:
        list(events)  # ...and the bad one stops the file
    assert str(err.value).startswith(f"{path}:4: status: ")
    assert "\n" not in str(err.value) and isinstance(err.value, UserInputError)


def test_csv_header_and_shape_problems(tmp_path):
    with pytest.raises(BadRow, match=r":1: header: missing column\(s\) status, occurred_at"):
        list(file_events(write_csv(tmp_path / "a.csv", [], ["event_id", "dossier_code", "unit_code",
                                                            "procedure_code"])))
    path = tmp_path / "b.csv"
    path.write_text(",".join(COLUMNS) + "\n" + ",".join(["x"] * (len(COLUMNS) + 2)) + "\n")
    with pytest.raises(BadRow, match=r"b\.csv:2: row: 16 values but 14 columns"):
        list(file_events(path))
    with pytest.raises(UserInputError, match="unknown file type"):
        list(file_events(write_csv(tmp_path / "c.txt", [])))
    with pytest.raises(UserInputError, match="no such file"):
        list(file_events(tmp_path / "missing.csv"))
    latin = tmp_path / "d.csv"
    latin.write_bytes(",".join(COLUMNS).encode() + "\nđ".encode("cp1258"))
    with pytest.raises(UserInputError, match="not UTF-8"):
        list(file_events(latin))


def test_jsonl_file_events(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(event(1)) + "\n\n" + json.dumps(event(2, status=0)) + "\n")
    with pytest.raises(BadRow, match=r"events\.jsonl:3: status: "):
        list(file_events(path))


def test_xlsx_file_events(tmp_path):
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl is not installed (needed only for .xlsx imports)")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    sheet.append(["e1", "D1", 2, datetime(2026, 10, 8, 9, 15), "H44.07", "1.001612", 2,
                  "2026-10-15T17:00:00+07:00", 5, "working_day", 0, True,
                  None, "ghi chú"])
    sheet.append([None] * len(COLUMNS))  # blank rows in between are skipped
    sheet.append([12345, "D2", "9", "2026-10-09T10:00:00+07:00", "H44.07", "1.001612"])
    sheet.append(["e3", "D3", 11, "2026-10-09T10:00:00+07:00", "H44.07", "1.001612"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    events = file_events(path, HCM)
    first = next(events)
    assert first[0] == 2 and first[1].occurred_at.isoformat() == "2026-10-08T09:15:00+07:00"
    assert first[1].digitized is True and first[1].legal_duration.unit == "working_day"
    assert first[1].model_extra == {"note": "ghi chú"}
    second = next(events)
    assert second[0] == 4 and second[1].event_id == "12345" and int(second[1].status) == 9
    with pytest.raises(BadRow, match=r"export\.xlsx:5: status: "):
        next(events)


# --- messages, LRU ----------------------------------------------------------------------------

def test_plan_messages_groups_by_partition_and_splits_large_groups():
    events = [event(i) for i in range(40)]
    messages = plan_messages(events, 4)
    assert len(messages) == len({m.partition for m in messages}) <= 4  # one message per partition
    seen = []
    for m in messages:
        batch = decode_batch(m.value)
        assert {partition_for(e["dossier_code"], 4) for e in batch} == {m.partition}
        assert m.key == batch[0]["dossier_code"] and list(m.event_ids) == [e["event_id"] for e in batch]
        seen += batch
    assert sorted(e["event_id"] for e in seen) == sorted(e["event_id"] for e in events)

    same = [event(i, dossier_code="D") for i in range(7)]
    assert [len(m.event_ids) for m in plan_messages(same, 4, max_events=3)] == [3, 3, 1]
    small = plan_messages(same, 4, max_bytes=500)
    assert all(len(m.value) <= 500 for m in small) and sum(len(m.event_ids) for m in small) == 7
    with pytest.raises(ValueError, match="more than a message may hold"):
        plan_messages([event(1, note="x" * 600)], 4, max_bytes=500)


def test_recent_ids_is_a_bounded_lru():
    recent = RecentIds(3)
    recent.add(["a", "b", "c"])
    assert recent.seen(["a", "x"]) == {"a"}  # "a" is now the most recently used
    recent.add(["d"])
    assert recent.seen(["a", "b", "c", "d"]) == {"a", "c", "d"} and len(recent) == 3
    off = RecentIds(0)
    off.add(["a"])
    assert off.seen(["a"]) == set()


# --- tokens and settings ----------------------------------------------------------------------

def test_tokens_are_checked_against_hashes():
    sources = {"portal": hash_token("portal-token-0123456789"), "mot-cua": hash_token("mot-cua-token-0123456789")}
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert authenticate("Bearer mot-cua-token-0123456789", sources) == "mot-cua"
    assert authenticate("bearer  portal-token-0123456789 ", sources) == "portal"
    for header in (None, "", "Bearer", "Basic portal-token-0123456789", "Bearer wrong",
                   f"Bearer {sources['portal']}"):  # the stored hash is not a token
        assert authenticate(header, sources) is None
    assert authenticate("Bearer portal-token-0123456789", {}) is None
    assert bearer_token("Bearer  t ") == "t"


def test_ingest_settings_store_hashes_only(tmp_path):
    digest = hash_token("portal-token-0123456789")
    path = tmp_path / "ioc.yaml"
    path.write_text(f"ingest:\n  sources:\n    portal: '{digest.upper()}'\n  max_items: 50\n")
    s = load_settings(path, environ={})
    assert s.ingest.sources == {"portal": digest} and s.ingest.max_items == 50
    assert s.ingest.max_body_bytes == 10_000_000
    assert load_settings(environ={"IOC_INGEST__SOURCES__PORTAL": digest}).ingest.sources == {"portal": digest}
    with pytest.raises(ConfigError, match=r"ingest\.sources\.portal.*never the token itself"):
        load_settings(environ={"IOC_INGEST__SOURCES__PORTAL": "portal-token-0123456789"})
    with pytest.raises(ConfigError, match=r"ingest\.max_items"):
        load_settings(environ={"IOC_INGEST__MAX_ITEMS": "0"})
