"""The indicators of the whole index beyond the dossier ratios, hand-computed case by case:
groups 1 and 3's catalogue indicators, 1.4 with the national report, 3.3's sync ratio and
e-result filter, 4.1's paper-result filter, 4.4, 4.x, 4.5a, groups, totals and bands.

October 2026: Thu 1, Mon 5, Fri 9, Mon 12, Fri 16, Sat 31; no holiday. Period 2026-10 at its end.
"""

from datetime import date, datetime
from pathlib import Path

import pytest

from ioc.domain.dossier import DossierState, apply_complaint, apply_event
from ioc.domain.events import parse_event
from ioc.errors import UserInputError
from ioc.kpi.indicators import Report, Sources, compute
from ioc.kpi.national import NO_REPORT, TEMP_DENOMINATOR, NationalReport, read_national_scores
from ioc.kpi.periods import parse_period
from ioc.reference.catalogue import Catalogue, CatalogueRow

TZ = "+07:00"
OCT = parse_period("2026-10")
SEP = parse_period("2026-09")
FAR = "2026-12-31T17:00:00"


def ev(code: str, n: int, status: int, when: str, unit: str = "U1", proc: str = "P1", **extra):
    return parse_event({"event_id": f"{code}-{n}", "dossier_code": code, "status": status, "occurred_at": when + TZ,
                        "unit_code": unit, "procedure_code": proc, **extra})


def received(code: str, proc: str = "P1", when: str = "2026-10-05T09:00:00", unit: str = "U1", **extra):
    return ev(code, 2, 2, when, unit, proc, due_at=FAR + TZ, **extra)


def fold(events) -> list[DossierState]:
    states: dict[str, DossierState] = {}
    for e in events:
        states[e.dossier_code] = apply_event(states.get(e.dossier_code), e)
    return list(states.values())


def row(code: str, **kw) -> CatalogueRow:
    kw.setdefault("valid_from", date(2026, 1, 1))
    kw.setdefault("unit_codes", ("U1",))
    return CatalogueRow(procedure_code=code, **kw)


def run(events, rows=(), period=OCT, **sources) -> Report:
    src = Sources(catalogue=Catalogue(tuple(rows)) if rows else None, **sources)
    return compute(fold(events), period, period.end, sources=src)


def unit(report: Report, code: str = "U1"):
    return next(u for u in report.units if u.unit == code)


def counts(report: Report, code: str = "U1") -> dict[str, tuple]:
    return {k: (s.numerator, s.denominator, s.score) for k, s in unit(report, code).indicators.items()}


# --- group 1: publication -------------------------------------------------------------------------

PUBLICATION = [
    # decided Mon 5 Oct, legal basis in force Mon 12: working days after the 5th up to the 12th are
    # 6, 7, 8, 9, 12 = 5 >= 5 -> on time (1.1); published Mon 12: 5 working days <= 5 -> on time (1.2)
    row("P1", decision_date=date(2026, 10, 5), legal_basis_effective=date(2026, 10, 12),
        published_date=date(2026, 10, 12), components_complete=True),
    # decided Tue 6, in force Mon 12: 7, 8, 9, 12 = 4 < 5 -> late; published Wed 14: 7, 8, 9, 12, 13,
    # 14 = 6 > 5 -> late
    row("P2", decision_date=date(2026, 10, 6), legal_basis_effective=date(2026, 10, 12),
        published_date=date(2026, 10, 14), components_complete=True),
    # decided in September: not in October's 1.1 / 1.2; its components are incomplete (1.3)
    row("P3", decision_date=date(2026, 9, 30), legal_basis_effective=date(2026, 10, 12),
        published_date=date(2026, 10, 1), components_complete=False),
    # a ministry-level procedure: 20 working days before the effective date are needed
    # decided Thu 1 Oct, in force Thu 29: 2, 5-9, 12-16, 19-23, 26-29 = 1 + 5 + 5 + 5 + 4 = 20 -> on time;
    # published Thu 15: 2, 5-9, 12-15 = 10 <= 10 -> on time
    row("P4", level="ministry", decision_date=date(2026, 10, 1), legal_basis_effective=date(2026, 10, 29),
        published_date=date(2026, 10, 15), components_complete=True),
]


def test_group_1_publication_hand_computed():
    c = counts(run([received("A")], PUBLICATION))
    # 1.1: P1, P4 on time of P1, P2, P4 decided in October -> 2/3 = 66.67 % -> 6 * 0.6667 = 4.00
    assert c["1.1"] == (2, 3, 4.0)
    # 1.2: P1, P4 of 3 -> 4 * 2/3 = 2.67
    assert c["1.2"] == (2, 3, 2.67)
    # 1.3: P1, P2, P4 complete of all 4 rows -> 75 % -> 2 * 0.75 = 1.50
    assert c["1.3"] == (3, 4, 1.5)


def test_group_1_zero_denominator_is_null_not_zero():
    """§2.5: 1.1-1.4 with a zero denominator score null (shown empty, 0 in the group)."""
    r = run([received("A")], [row("P9", decision_date=date(2026, 8, 3), components_complete=True)])
    s = unit(r).indicators["1.1"]
    assert (s.numerator, s.denominator, s.score) == (0, 0, None)
    assert unit(r).groups["1"]["score"] == 2.0  # only 1.3: 1/1 -> 2.00


def test_no_catalogue_says_why():
    u = unit(run([received("A")]))
    assert "1.1" not in u.indicators and "catalogue" in u.missing["1.1"]
    assert "3.2" in u.missing and "4.x" in u.missing


# --- group 3 ----------------------------------------------------------------------------------------

ONLINE = [
    row("P1", online="full", full_online_eligible=True, fee=True, fee_on_national_payment=True, citizen_subject=True),
    row("P2", online="partial", full_online_eligible=True, fee=True, fee_on_national_payment=False,
        citizen_subject=True),
    row("P3", online="none", full_online_eligible=False, fee=False, citizen_subject=False),
    # online from 15 October only: the row in force on the period's last day decides
    row("P4", online="none", valid_from=date(2026, 1, 1)),
    row("P4", online="full", valid_from=date(2026, 10, 15)),
]


def test_group_3_catalogue_indicators_hand_computed():
    events = [
        received("A", "P1", channel=2, online_payment=1, population_db=True),  # online, paid online
        received("B", "P2", channel=1, online_payment=0),  # in person, not paid online
        received("C", "P3", channel=1),
    ]
    c = counts(run(events, ONLINE))
    # 3.1: P1, P2, P4 (online from 15 Oct) of 4 procedures -> 75 % -> T 80 -> 2 * 75/80 = 1.875 -> 1.88
    assert c["3.1"] == (3, 4, 1.88)
    # 3.2: online services P1, P2, P4; only P1 had an online dossier -> 1/3 -> 4 * 0.3333 = 1.33
    assert c["3.2"] == (1, 3, 1.33)
    # 3.5: fee-bearing P1, P2; P1 integrated -> 50 % -> T 80 -> 2 * 50/80 = 1.25
    assert c["3.5"] == (1, 2, 1.25)
    # 3.5b: P1 had a dossier paid online -> 1/2 -> 1.25
    assert c["3.5b"] == (1, 2, 1.25)
    # 4.5a: citizen procedures P1, P2; P1 had a dossier using the population database -> 1/2 -> 2 * 0.5 = 1.00
    assert c["4.5a"] == (1, 2, 1.0)


def test_row_valid_from_mid_month_is_not_in_force_the_month_before():
    events = [received("A", "P1", when="2026-09-07T09:00:00", channel=2)]
    c = counts(run(events, ONLINE, period=SEP))
    assert c["3.1"] == (2, 4, 1.25)  # P4 is not online in September: 2/4 = 50 % / 80 -> 1.25


def test_3_5_with_no_fee_procedure_scores_zero_not_full():
    """§2.5: 3.5 / 3.5b with a zero denominator score 0 (not full marks)."""
    c = counts(run([received("A", "P3")], [row("P3", online="none", fee=False)]))
    assert c["3.5"] == (0, 0, 0.0) and c["3.5b"] == (0, 0, 0.0)


def test_4_5a_not_at_commune_level():
    rows = [row("P1", citizen_subject=True, unit_codes=("X1",))]
    r = run([received("A", "P1", unit="X1", population_db=True)], rows, unit_levels={"X1": "commune"})
    assert "4.5a" not in unit(r, "X1").indicators and "commune" in unit(r, "X1").missing["4.5a"]


def test_unit_level_and_unit_codes_decide_what_a_unit_receives():
    rows = [row("P1", level="province", unit_codes=(), online="full"),
            row("P2", level="commune", unit_codes=(), online="none"),
            row("P3", unit_codes=("U2",), online="full")]
    r = run([received("A", "P1"), received("B", "P2", unit="C1")], rows, unit_levels={"U1": "province"})
    assert counts(r, "U1")["3.1"] == (1, 1, 2.0)  # P1 only: its level, no list
    # C1's level is inferred from its dossiers' procedures (P2: commune): P2 only
    assert counts(r, "C1")["3.1"] == (0, 1, 0.0)
    # the province: every row in force
    assert counts(r, "PROVINCE")["3.1"] == (2, 3, 1.67)


# --- 1.4 and 3.3 ---------------------------------------------------------------------------------

SYNC = [
    received("A", channel=2, dvcqg_synced_at="2026-10-05T10:00:00" + TZ),
    received("B", channel=2, dvcqg_synced_at="2026-10-05T11:00:00" + TZ),
    received("C", channel=1, dvcqg_synced_at="2026-10-05T12:00:00" + TZ),
    received("D", channel=1),
]


def test_1_4_without_a_national_report_uses_our_own_count():
    r = run(SYNC)
    # 3 synced of 4 received; no report: max(4, 3) = 4 -> 75 % -> 6 * 0.75 = 4.50
    assert counts(r)["1.4"] == (3, 4, 4.5)
    assert unit(r).quality["1.4"] == NO_REPORT
    # 3.3 = online ÷ received × sync ratio = 2/4 × 3/4 = 37.5 % -> T 50 -> 6 * 0.75 = 4.50
    assert counts(r)["3.3"] == (1.5, 4, 4.5)


def test_1_4_national_report_denominator_and_fallbacks():
    report = NationalReport({("U1", "2026-10"): 5})
    assert counts(run(SYNC, national_report=report))["1.4"] == (3, 5, 3.6)  # 60 % of 6
    # the report below what was synced: max(2, 3) = 3 -> 100 %
    assert counts(run(SYNC, national_report=NationalReport({("U1", "2026-10"): 2})))["1.4"] == (3, 3, 6.0)
    # no report for October: last year's total / 12 (60 / 12 = 5), flagged as the portal does
    r = run(SYNC, national_report=NationalReport({("U1", "2025"): 60}))
    assert counts(r)["1.4"] == (3, 5, 3.6) and unit(r).quality["1.4"] == TEMP_DENOMINATOR


def test_3_3_paper_result_procedure_needs_its_e_result_once_finished():
    rows = [row("P1", paper_result=True), row("P2", paper_result=False)]
    events = [received("A", "P1", channel=2), ev("A", 9, 9, "2026-10-07T10:00:00", e_result=False),
              received("B", "P1", channel=2), ev("B", 9, 9, "2026-10-07T10:00:00", e_result=True),
              received("C", "P2", channel=2), ev("C", 9, 9, "2026-10-07T10:00:00", e_result=False),
              received("D", "P1", channel=2)]  # open: its e-result cannot be judged yet
    c = counts(run(events, rows))
    # online: B (e-result), C (no paper result), D (open) of 4 -> 75 % -> T 50 -> 6.00
    assert c["3.3"] == (3, 4, 6.0)
    # 4.1: finished dossiers of paper-result procedures: A, B; B has its e-result -> 1/2 -> 3.00
    assert c["4.1"] == (1, 2, 3.0)


# --- group 4 --------------------------------------------------------------------------------------


def test_4_4_and_4_x_hand_computed():
    rows = [row("P1", certified_copy=True), row("P2", certified_copy=False)]
    events = [received("A", "P1", dvcqg_store=True), ev("A", 9, 9, "2026-10-07T10:00:00", e_result=True),
              received("B", "P1", dvcqg_store=False), ev("B", 9, 9, "2026-10-07T10:00:00", e_result=False),
              received("C", "P2")]
    c = counts(run(events, rows))
    assert c["4.4"] == (1, 3, 1.33)  # A of A, B, C received -> 4 * 1/3 = 1.33
    assert c["4.x"] == (1, 2, 1.0)  # e-results of finished certified-copy dossiers: 1/2 -> 2 * 0.5
    # no certified-copy dossier: 0/0 earns full marks, as the portal shows it
    assert counts(run([received("C", "P2")], rows))["4.x"] == (0, 0, 2.0)


# --- 5.4 with petitions ----------------------------------------------------------------------------


def test_petition_about_a_dossier_counts_in_its_5_4():
    states = {s.dossier_code: s for s in fold([received("A"), received("B")])}
    states["B"] = apply_complaint(states["B"], "B", datetime.fromisoformat("2026-10-06T09:00:00" + TZ), "pakn:K1")
    r = compute(list(states.values()), OCT, OCT.end, sources=Sources(pakn=True))
    # 2 counted, none overdue, 1 complained about -> 1/2 = 50 % -> T 90 -> 6 * 50/90 = 3.33
    s = unit(r).indicators["5.4"]
    assert (s.numerator, s.denominator, s.score) == (1, 2, 3.33)
    # the same complaint again (redelivered) changes nothing
    again = apply_complaint(states["B"], "B", datetime.fromisoformat("2026-10-06T09:00:00" + TZ), "pakn:K1")
    assert again is states["B"]


# --- groups, totals, bands -----------------------------------------------------------------------


def test_groups_and_no_band_on_an_incomplete_index():
    u = unit(run(SYNC, ONLINE))
    assert set(u.groups) == {"1", "2", "3", "4", "5"}
    assert [u.groups[g]["points"] for g in "12345"] == [18, 20, 22, 22, 18]
    assert u.total_score == pytest.approx(sum(g["score"] for g in u.groups.values()))
    assert u.max_total < 100 and u.band is None
    assert "5.2" in u.missing and "PAKN" in u.missing["5.2"]


# --- national files ---------------------------------------------------------------------------------


def test_national_scores_ranked_and_bad_rows_named(tmp_path: Path):
    good = tmp_path / "n.csv"
    good.write_text("province;period;score\nPhú Thọ;2026-10;88,5\nLâm Đồng;2026-10;90.09\nHuế;2026-10;88.5\n",
                    encoding="utf-8")
    scores = read_national_scores(good)
    assert [(s.province, s.rank) for s in scores] == [("Lâm Đồng", 1), ("Huế", 2), ("Phú Thọ", 2)]
    bad = tmp_path / "b.csv"
    bad.write_text("province,period,score\nPhú Thọ,2026-10,abc\n", encoding="utf-8")
    with pytest.raises(UserInputError, match=r"b.csv:2: score: expected a number"):
        read_national_scores(bad)
    report = tmp_path / "r.jsonl"
    report.write_text('{"unit_code": "U1", "period": "2026-10", "dossiers": 5}\n'
                      '{"unit_code": "U1", "period": "2026-10", "dossiers": 6}\n')
    with pytest.raises(UserInputError, match=r"r.jsonl:2: period: U1 2026-10 given twice"):
        NationalReport.read(report)
