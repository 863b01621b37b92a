"""The procedure catalogue (contracts.md §2b): the file reader, the lookups, the packaged SAMPLE."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ioc.errors import UserInputError
from ioc.reference import procedures as pr
from ioc.reference.agencies import AgencyKind, agency_tree
from ioc.reference.catalogue import (
    COLUMNS,
    Catalogue,
    CatalogueFileError,
    CatalogueRow,
    read_catalogue,
    sample_catalogue,
)

HEADER = ["procedure_code", "valid_from", "name", "level", "unit_codes", "online", "full_online_eligible", "fee",
          "fee_on_national_payment", "paper_result", "citizen_subject", "certified_copy", "legal_basis_effective",
          "decision_date", "published_date", "components_complete"]
GOOD = [
    ["1.001612", "", "Đăng ký thành lập hộ kinh doanh", "commune", "", "full", "true", "yes", "1", "TRUE", "có",
     "false", "2025-07-01", "2025-06-20", "2025-06-25", "true"],
    ["1.001612", "2026-07-15", "Đăng ký thành lập hộ kinh doanh", "commune", "", "partial", "false", "no", "0",
     "False", "Không", "no", "2026-07-15", "2026-07-10", "2026-07-14", "false"],
    ["9.000021", "", "Cấp mới giấy phép hành nghề", "province", "H44.11;H44.20", "none", "", "", "", "", "", "",
     "", "", "", ""],
]


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def expected_rows() -> tuple[CatalogueRow, ...]:
    return (
        CatalogueRow("1.001612", date.min, "Đăng ký thành lập hộ kinh doanh", "commune", (), "full", True, True, True,
                     True, True, False, date(2025, 7, 1), date(2025, 6, 20), date(2025, 6, 25), True),
        CatalogueRow("1.001612", date(2026, 7, 15), "Đăng ký thành lập hộ kinh doanh", "commune", (), "partial",
                     False, False, False, False, False, False, date(2026, 7, 15), date(2026, 7, 10),
                     date(2026, 7, 14), False),
        CatalogueRow("9.000021", date.min, "Cấp mới giấy phép hành nghề", "province", ("H44.11", "H44.20"), "none"),
    )


# --- reading ---------------------------------------------------------------------------------------


def test_csv_with_commas(tmp_path: Path) -> None:
    catalogue = read_catalogue(write_csv(tmp_path / "cat.csv", GOOD))
    assert catalogue.rows == expected_rows()


def test_csv_with_semicolons_takes_other_list_separators(tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD]
    rows[2][4] = "H44.11|H44.20"
    path = write_csv(tmp_path / "cat.csv", rows, delimiter=";")
    assert read_catalogue(path).rows == expected_rows()
    rows[2][4] = "H44.11, H44.20"
    assert read_catalogue(write_csv(tmp_path / "cat2.csv", rows, delimiter=";")).rows == expected_rows()


def test_csv_columns_may_be_few_and_in_any_order(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    path.write_text("\ufeffOnline,procedure_code\nfull,1.001193\n\n,2.000815\n", encoding="utf-8")
    assert read_catalogue(path).rows == (CatalogueRow("1.001193", date.min, online="full"),
                                         CatalogueRow("2.000815", date.min))


def test_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    typed = [
        ["1.001612", None, "Đăng ký thành lập hộ kinh doanh", "commune", None, "full", True, 1, "yes", True, "có",
         False, datetime(2025, 7, 1), date(2025, 6, 20), "2025-06-25", True],
        ["1.001612", datetime(2026, 7, 15), "Đăng ký thành lập hộ kinh doanh", "commune", None, "partial", False, 0,
         "no", False, False, "no", date(2026, 7, 15), "2026-07-10", date(2026, 7, 14), 0],
        [None] * len(HEADER),  # an empty row is skipped
        ["9.000021", None, "Cấp mới giấy phép hành nghề", "province", "H44.11;H44.20", "none"],
    ]
    for row in typed:
        book.active.append(row)
    path = tmp_path / "cat.xlsx"
    book.save(path)
    assert read_catalogue(path).rows == expected_rows()


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "cat.jsonl"
    lines = [json.dumps(r.to_json(), ensure_ascii=False) for r in expected_rows()]
    lines[2] = json.dumps({"procedure_code": "9.000021", "name": "Cấp mới giấy phép hành nghề", "level": "province",
                           "unit_codes": ["H44.11", "H44.20"], "online": "none", "fee": None}, ensure_ascii=False)
    path.write_text("\n".join(lines[:2]) + "\n\n" + lines[2] + "\n", encoding="utf-8")
    assert read_catalogue(path).rows == expected_rows()


def test_a_header_alone_is_an_empty_catalogue(tmp_path: Path) -> None:
    assert read_catalogue(write_csv(tmp_path / "empty.csv", [])).rows == ()


def _bad_csv(tmp_path: Path, row: int, column: str, value: str) -> Path:
    rows = [list(r) for r in GOOD]
    rows[row][HEADER.index(column)] = value
    return write_csv(tmp_path / "bad.csv", rows)


@pytest.mark.parametrize(("column", "value", "problem"), [
    ("level", "district", "must be one of ministry, province, commune, got 'district'"),
    ("online", "sometimes", "must be one of full, partial, none"),
    ("fee", "maybe", "must be true/false"),
    ("decision_date", "2026/07/01", "must be a date YYYY-MM-DD"),
    ("published_date", "2026-02-30", "is not a calendar date"),
    ("valid_from", "1 July 2026", "must be a date YYYY-MM-DD"),
    ("procedure_code", "", "required"),
    ("procedure_code", "1.00 1612", "contains spaces"),
])
def test_a_bad_cell_names_file_row_and_column(tmp_path: Path, column: str, value: str, problem: str) -> None:
    path = _bad_csv(tmp_path, 1, column, value)  # the second data row: line 3
    with pytest.raises(CatalogueFileError) as err:
        read_catalogue(path)
    assert str(err.value).startswith(f"{path}:3: {column}: ")
    assert problem in str(err.value)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, UserInputError) and err.value.exit_status == 2


def test_every_problem_is_collected_and_the_first_one_leads(tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD]
    rows[0][HEADER.index("level")] = "xã"
    rows[2][HEADER.index("fee")] = "2"
    rows[2][HEADER.index("online")] = "web"
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(CatalogueFileError) as err:
        read_catalogue(path)
    assert err.value.problems == [
        f"{path}:2: level: must be one of ministry, province, commune, got 'xã'",
        f"{path}:4: online: must be one of full, partial, none, got 'web'",
        f"{path}:4: fee: must be true/false (or 1/0, yes/no, có/không), got '2'",
    ]
    assert str(err.value) == err.value.problems[0] + " (and 2 more problems)"


def test_unknown_and_missing_columns_are_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "cols.csv", [["1.001612", "x"]], header=["procedure_code", "Lĩnh vực"])
    with pytest.raises(CatalogueFileError, match=rf"^{path}:1: Lĩnh vực: unknown column \(known: procedure_code, "):
        read_catalogue(path)
    path = write_csv(tmp_path / "nocode.csv", [["x"]], header=["name"])
    with pytest.raises(CatalogueFileError, match=rf"^{path}:1: procedure_code: missing column"):
        read_catalogue(path)
    path = write_csv(tmp_path / "twice.csv", [["a", "b"]], header=["procedure_code", "procedure_code"])
    with pytest.raises(CatalogueFileError, match=rf"^{path}:1: procedure_code: column repeated"):
        read_catalogue(path)


def test_a_duplicate_version_is_rejected(tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD] + [list(GOOD[1])]
    path = write_csv(tmp_path / "dup.csv", rows)
    with pytest.raises(CatalogueFileError, match=rf"^{path}:5: valid_from: a second row for 1.001612 valid from "
                                                 r"2026-07-15 \(the first is row 3\)$"):
        read_catalogue(path)
    rows = [list(GOOD[0]), list(GOOD[0])]
    path = write_csv(tmp_path / "dup2.csv", rows)
    with pytest.raises(CatalogueFileError, match="valid from the beginning"):
        read_catalogue(path)


def test_rows_are_counted_by_the_line_they_start_on(tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD]
    rows[0][HEADER.index("name")] = "two\nlines"
    rows[1][HEADER.index("level")] = "bad"
    path = write_csv(tmp_path / "multi.csv", rows)
    with pytest.raises(CatalogueFileError, match=rf"^{path}:4: level: "):
        read_catalogue(path)


def test_too_many_values_and_values_under_no_header(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text("procedure_code,name\n1.001612,a,b\n", encoding="utf-8")
    with pytest.raises(CatalogueFileError, match=rf"^{path}:2: row: 3 values for 2 columns"):
        read_catalogue(path)
    path.write_text("procedure_code,,name\n1.001612,x,a\n", encoding="utf-8")
    with pytest.raises(CatalogueFileError, match=rf"^{path}:2: column 2: a value under an empty header"):
        read_catalogue(path)


def test_xlsx_rows_are_the_sheets_and_numbers_are_not_codes(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["procedure_code", "valid_from", "fee"])
    book.active.append(["1.001612", date(2026, 7, 1), True])
    book.active.append([None, None, None])
    book.active.append([1.0016, None, None])  # typed as a number: trailing zeros lost
    book.active.append(["1.000894", datetime(2026, 7, 1, 9, 30), "x"])
    path = tmp_path / "bad.xlsx"
    book.save(path)
    with pytest.raises(CatalogueFileError) as err:
        read_catalogue(path)
    assert err.value.problems == [
        f"{path}:4: procedure_code: 1.0016 is a number, not text (format the column as text: 1.001612 keeps its zeros)",
        f"{path}:5: valid_from: must be a date without a time, got 2026-07-01T09:30:00",
        f"{path}:5: fee: must be true/false (or 1/0, yes/no, có/không), got 'x'",
    ]


def test_jsonl_problems_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"procedure_code": "1.001612"}\n{"procedure_code": "1.001193", "colour": "red"}\n'
                    '{"procedure_code": \n["1.0"]\n{"procedure_code": "2.000815", "unit_codes": 5}\n', encoding="utf-8")
    with pytest.raises(CatalogueFileError) as err:
        read_catalogue(path)
    problems = err.value.problems
    assert problems[0] == f"{path}:2: colour: unknown column (known: {', '.join(COLUMNS)})"
    assert problems[1].startswith(f"{path}:3: row: not valid JSON (")
    assert problems[2] == f"{path}:4: row: expected a JSON object, got list"
    assert problems[3] == f"{path}:5: unit_codes: must be a list of unit codes, got int"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("cat.txt", "x", "unknown file type '.txt'"),
    ("cat.xls", "x", "the old .xls format is not read"),
    ("missing.csv", None, "no such file"),
    ("latin.csv", b"procedure_code,name\n1.001612,\xe9\n", "not UTF-8 text"),
    ("broken.xlsx", b"not a zip", "not a readable .xlsx workbook"),
    ("blank.csv", "", "header: empty file"),
])
def test_unreadable_files(tmp_path: Path, name: str, content: str | bytes | None, message: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogueFileError, match=message) as err:
        read_catalogue(path)
    assert str(err.value).startswith(str(path))


# --- the lookups -----------------------------------------------------------------------------------


def test_in_force_takes_the_latest_version_by_the_day() -> None:
    old, new = expected_rows()[:2]  # 1.001612: from the beginning, then from 15 July 2026
    later = CatalogueRow("9.000099", date(2026, 8, 1), level="province")
    catalogue = Catalogue((new, later, old))
    assert catalogue.in_force(date(2026, 7, 14)) == {"1.001612": old}
    assert catalogue.in_force(date(2026, 7, 15)) == {"1.001612": new}
    assert catalogue.in_force(date(2026, 7, 31))["1.001612"] is new
    assert list(catalogue.in_force(date(2026, 8, 1))) == ["1.001612", "9.000099"]
    assert catalogue.in_force(date(1900, 1, 1)) == {"1.001612": old}
    assert catalogue.procedure_codes == ("1.001612", "9.000099")


def test_receives_named_units_and_units_of_the_level() -> None:
    named = CatalogueRow("9.000021", date.min, level="province", unit_codes=("H44.11", "H44.20"))
    everyone = CatalogueRow("1.001193", date.min, level="commune")
    moved = CatalogueRow("1.001193", date(2026, 7, 1), level="province")  # decided at province level from July
    catalogue = Catalogue((named, everyone, moved))
    day = date(2026, 6, 30)
    assert catalogue.receives("H44.11", "province", day) == [named]
    assert catalogue.receives("H44.101", "commune", day) == [everyone]
    assert catalogue.receives("H44.12", "province", day) == []
    assert catalogue.receives("H44.12", "province", date(2026, 7, 1)) == [moved]
    assert catalogue.receives("H44.101", "commune", date(2026, 7, 1)) == []
    assert catalogue.receives("H44.101", None, day) == []


def test_a_catalogue_refuses_two_rows_of_one_version() -> None:
    row = CatalogueRow("1.001193", date.min)
    with pytest.raises(ValueError, match="two rows for 1.001193"):
        Catalogue((row, row))


def test_json_round_trip_and_validation() -> None:
    for row in expected_rows():
        data = row.to_json()
        assert json.loads(json.dumps(data)) == data
        assert CatalogueRow.from_json(data) == row
    assert expected_rows()[0].to_json()["valid_from"] == "0001-01-01"
    assert expected_rows()[2].to_json()["unit_codes"] == ["H44.11", "H44.20"]
    assert CatalogueRow.from_json({"procedure_code": "1.1", "future_field": 1}) == CatalogueRow("1.1", date.min)
    with pytest.raises(ValueError, match="level: must be one of"):
        CatalogueRow.from_json({"procedure_code": "1.1", "level": "xã"})
    with pytest.raises(ValueError, match="procedure_code: required"):
        CatalogueRow.from_json({"name": "x"})
    assert expected_rows()[1].key == "1.001612|2026-07-15"


# --- the packaged SAMPLE ---------------------------------------------------------------------------

# The service centres receive dossiers on behalf of the agencies that process them; the dossiers
# are scored under those agencies (ioc.sim.population), so the centres process no procedure.
SERVICE_CENTRES = {"tt_pvhcc_tinh", "tt_pvhcc_xa"}


def test_every_agency_role_of_the_tree_has_a_procedure() -> None:
    tree = agency_tree("25", prefix="H44")
    catalogue = sample_catalogue()
    assert catalogue is sample_catalogue("25", "H44")
    named = {code for row in catalogue.rows for code in row.unit_codes}
    roles_with_procedures = {tree.get(code).role for code in named}
    assert roles_with_procedures == {a.role for a in tree.agencies} - SERVICE_CENTRES
    departments = [a for a in tree.agencies if a.kind is AgencyKind.DEPARTMENT]
    assert len(departments) >= 13
    day = date(2026, 10, 1)
    for agency in tree.agencies:
        if agency.role not in SERVICE_CENTRES:
            assert catalogue.receives(agency.code, agency.serves_level, day), agency.code


def test_the_sample_follows_procedures_yaml_one_source() -> None:
    catalogue = sample_catalogue()
    assert {r.procedure_code for r in catalogue.rows} == {p.code for p in pr.procedures()}
    first = catalogue.in_force(date(2025, 1, 1))
    for p in pr.procedures():
        row = first[p.code]
        assert row.name == p.name and row.fee == (p.fee_vnd > 0) and row.paper_result == p.paper_result
        assert row.online == p.online and p.fully_online == (p.online == "full")
        if p.is_sample:
            assert p.code.startswith("9.") and p.provenance.code == "SAMPLE"
        if p.agency_role in ("cong_an", "cong_an_xa", "thue", "bhxh"):
            assert row.level == "ministry", p.code
        if row.fee is False:
            assert row.fee_on_national_payment is None, p.code
    text = (Path(pr.__file__).parent / "procedures.yaml").read_text(encoding="utf-8")
    assert text.startswith("# SAMPLE catalogue — not the national database.")
    assert "The catalogue facts are SAMPLE throughout" in text


def test_the_sample_has_realistic_mixes() -> None:
    catalogue = sample_catalogue()
    rows = list(catalogue.in_force(date(2026, 10, 1)).values())
    online = [r.online for r in rows]
    assert 0.4 < online.count("full") / len(rows) < 0.7 and "none" in online and "partial" in online
    assert any(r.components_complete is False for r in rows) and sum(r.components_complete is True for r in rows) > 30
    fees = [r for r in rows if r.fee]
    assert any(r.fee_on_national_payment is False for r in fees) and any(r.fee_on_national_payment for r in fees)
    assert all(r.full_online_eligible is not None and r.citizen_subject is not None for r in rows)
    assert any(r.certified_copy for r in rows)
    # 1.1: some publication decisions later than 5 days before the legal basis takes effect
    late = [r for r in rows if r.decision_date > r.legal_basis_effective - timedelta(days=7)]
    assert 0 < len(late) < len(rows) / 3
    assert all(r.published_date >= r.decision_date for r in rows)
    assert {r.level for r in rows} == {"ministry", "province", "commune"}


def test_a_procedure_changes_in_mid_2026() -> None:
    catalogue = sample_catalogue()
    changed = [r for r in catalogue.rows if date(2026, 1, 1) <= r.valid_from <= date(2026, 12, 31)]
    assert changed
    permit = catalogue.in_force(date(2026, 6, 30))["9.000003"]
    after = catalogue.in_force(date(2026, 7, 1))["9.000003"]
    assert (permit.online, after.online) == ("partial", "full")
    assert after.name == permit.name and after.unit_codes == permit.unit_codes and after.valid_from == date(2026, 7, 1)


BASE_ENTRY = """
procedures:
  - code: "1.001612"
    name: Đăng ký thành lập hộ kinh doanh
    sector: Kinh doanh
    level: commune
    duration: {value: 3, unit: working_day}
    duration_note: x
    fee_vnd: 100000
    fee_note: x
    paper_result: true
    online: full
    agency_role: ubnd_xa
    provenance: {code: verified, name: verified}
    catalogue: {citizen_subject: true, decision_date: 2025-06-20}
    source: test
"""


def test_yaml_catalogue_blocks_parse() -> None:
    (p,) = pr.parse_catalogue(BASE_ENTRY)
    assert p.online == "full" and p.fully_online
    (base,) = p.catalogue_versions
    assert base.valid_from is None and dict(base.values) == {"citizen_subject": True, "decision_date": date(2025, 6, 20)}


@pytest.mark.parametrize(("old", "new", "message"), [
    ("online: full", "online: sometimes", "online must be one of"),
    ("online: full", "fully_online: false\n    online: full", "contradicts"),
    ("    online: full\n", "", "missing \\['online'\\]"),
    ("citizen_subject: true", "fee: true", "unknown \\['fee'\\]"),
    ("citizen_subject: true", "citizen_subject: sometimes", "citizen_subject: must be true/false"),
    ("decision_date: 2025-06-20", "decision_date: June", "decision_date: must be a date"),
    ("fee_vnd: 100000", "fee_vnd: 0", "only for a procedure with a fee"),
])
def test_yaml_catalogue_blocks_are_validated(old: str, new: str, message: str) -> None:
    text = BASE_ENTRY.replace(old, new)
    if "only for a procedure" in message:
        text = text.replace("citizen_subject: true", "fee_on_national_payment: true")
    assert text != BASE_ENTRY
    with pytest.raises(pr.CatalogueError, match=message):
        pr.parse_catalogue(text)


def test_yaml_changes_need_a_later_date_and_a_note() -> None:
    block = ("    catalogue:\n      citizen_subject: true\n      valid_from: 2026-01-01\n      changes:\n"
             "        - {valid_from: 2026-07-01, online: partial, note: why}\n")
    text = BASE_ENTRY.replace("    catalogue: {citizen_subject: true, decision_date: 2025-06-20}\n", block)
    (p,) = pr.parse_catalogue(text)
    assert [v.valid_from for v in p.catalogue_versions] == [date(2026, 1, 1), date(2026, 7, 1)]
    with pytest.raises(pr.CatalogueError, match="needs valid_from and a note"):
        pr.parse_catalogue(text.replace(", note: why", ""))
    with pytest.raises(pr.CatalogueError, match="must come after 2026-01-01"):
        pr.parse_catalogue(text.replace("valid_from: 2026-07-01", "valid_from: 2025-07-01"))
    with pytest.raises(pr.CatalogueError, match="changes nothing"):
        pr.parse_catalogue(text.replace("online: partial, ", ""))
