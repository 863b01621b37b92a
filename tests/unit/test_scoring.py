"""Decision 766 scoring against real portal responses and hand-computed cases."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timezone
from fractions import Fraction
from pathlib import Path

import pytest

from ioc.kpi.scoring import (
    BANDS,
    CURRENT,
    GROUPS,
    REGISTRIES,
    IndicatorScore,
    Kind,
    ZeroDenominator,
    band,
    group_totals,
    registry_for,
    round_half_up,
    score_indicator,
    total_score,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "portal-766-sample.json"
ALL_IDS = (
    "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "3.1", "3.2", "3.3", "3.4", "3.5", "3.5b", "3.6",
    "4.1", "4.2", "4.3", "4.4", "4.5a", "4.5b", "4.x", "5.1", "5.2", "5.3", "5.4",
)


def _sample() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


SAMPLE_TUPLES = _sample()["tuples"]


def test_sample_copy_keeps_provenance_and_all_tuples() -> None:
    data = _sample()
    assert "dichvucong.gov.vn" in data["source"]
    assert len(SAMPLE_TUPLES) == 29


@pytest.mark.parametrize(
    "t", SAMPLE_TUPLES, ids=[f"{t['indicator']}-{t['numerator']}/{t['denominator']}" for t in SAMPLE_TUPLES]
)
def test_every_portal_tuple_is_reproduced_exactly(t: dict) -> None:
    s = score_indicator(t["indicator"], t["numerator"], t["denominator"])
    # The portal displays ratio 0 when there is nothing to divide; we keep None (no data).
    shown_pct = 0 if s.ratio_pct is None else s.ratio_pct
    assert shown_pct == t["portal_ratio_pct"]
    assert s.score == t["portal_score"]
    assert s.max_score == t["max_score"]


# Tuples from the wider capture the sample was drawn from (ChippedTopaz/qd766,
# tests/fixtures/dossier-digitized/month-all.json @ 4b89c951973f81e453140b49a104a98e9541b6fa).
# They decide how the portal rounds: each is (indicator, num, den, shown %, portal score).
DISCRIMINATING = [
    # R = 77.746…%, shown 77.75. Unrounded: 6 * 0.77746 = 4.6648 -> 4.66 (portal).
    # Rounded R first: 6 * 0.7775 = 4.665 -> 4.67 (wrong).
    ("4.1", 552, 710, 77.75, 4.66),
    # R = 42.247…%, shown 42.25. Unrounded: 2 * 0.42247 = 0.84494 -> 0.84; rounded R: 0.845 -> 0.85.
    ("4.5b", 752, 1780, 42.25, 0.84),
    # R = 6.25 % exactly: 2 * 0.0625 = 0.125 -> half-up 0.13 (banker's rounding would give 0.12).
    ("4.5b", 2, 32, 6.25, 0.13),
    # From the sample: R = 97.7528…%: 2 * 0.977528 = 1.95506 -> 1.96.
    ("1.3", 87, 89, 97.75, 1.96),
]


@pytest.mark.parametrize("indicator,num,den,shown,portal", DISCRIMINATING)
def test_score_uses_unrounded_ratio_and_half_up(indicator: str, num: int, den: int, shown: float, portal: float) -> None:
    s = score_indicator(indicator, num, den)
    assert s.ratio_pct == shown
    assert s.score == portal


def test_discriminating_tuples_really_discriminate() -> None:
    # Guard for the evidence above: scoring the *rounded* ratio misses the first two.
    rule = CURRENT.rule("4.1")
    rounded_first = round_half_up(rule.max_points * round_half_up(Fraction(100 * 552, 710)) / 100)
    assert float(rounded_first) == 4.67


@pytest.mark.parametrize(
    "fixture_scores,group_total",
    [
        # UBND tỉnh Phú Thọ overview, same fixture: 4.33 + 0.46 + 0.04 + 0 + 0.93 + 0.46 + 2 = 8.22
        (
            [("4.1", 133274, 184513, 4.33), ("4.2", 21233, 184513, 0.46), ("4.3", 3160, 184513, 0.04),
             ("4.4", 0, 184513, 0.0), ("4.5b", 85644, 184513, 0.93), ("4.5a", 297, 1301, 0.46),
             ("4.x", 0, 0, 2.0)],
            8.22,
        ),
        # UBND xã Trạm Thản: 4.66 + 0.05 + 0.06 + 0 + 0.33 + 0.10 + 2 = 7.20
        (
            [("4.1", 552, 710, 4.66), ("4.2", 8, 710, 0.05), ("4.3", 17, 710, 0.06), ("4.4", 0, 710, 0.0),
             ("4.5b", 116, 710, 0.33), ("4.5a", 19, 385, 0.10), ("4.x", 0, 0, 2.0)],
            7.20,
        ),
    ],
)
def test_digitisation_group_total_matches_portal(fixture_scores: list, group_total: float) -> None:
    scores = [score_indicator(i, n, d) for i, n, d, _ in fixture_scores]
    assert [s.score for s in scores] == [p for *_, p in fixture_scores]
    assert group_totals(scores)["digitisation"] == group_total


# --- zero denominators: one case per policy ---------------------------------------------------


def test_zero_denominator_null_policy_gives_no_score() -> None:
    # 4.1 with 0/0: the portal shows no score (null); ratio is undefined.
    s = score_indicator("4.1", 0, 0)
    assert CURRENT.rule("4.1").zero_denominator is ZeroDenominator.NULL
    assert (s.ratio, s.ratio_pct, s.score, s.max_score) == (None, None, None, 6)
    assert s.to_json()["score"] is None


@pytest.mark.parametrize("indicator,max_points", [("2.1", 20), ("3.5", 2), ("3.6", 6), ("5.4", 6)])
def test_zero_denominator_zero_policy_scores_zero(indicator: str, max_points: int) -> None:
    # 2.1 with nothing received, payment group, 5.4: 0 points, not full marks.
    s = score_indicator(indicator, 0, 0)
    assert s.score == 0.0
    assert s.max_score == max_points
    assert s.ratio is None


@pytest.mark.parametrize("indicator,full", [("5.2", 6.0), ("5.3", 6.0), ("4.x", 2.0)])
def test_zero_denominator_full_policy_gives_full_marks(indicator: str, full: float) -> None:
    # No petitions to handle (5.2/5.3) = nothing failed: 6 of 6. 4.x: the portal always shows 2 of 2.
    assert score_indicator(indicator, 0, 0).score == full


# --- thresholds -------------------------------------------------------------------------------


def test_4_2_threshold_is_100_on_the_current_portal() -> None:
    # 85/100 = 85.00 %. T = 100: 4 * 85/100 = 3.40. (The formula document's T = 80 would cap at 4.)
    assert score_indicator("4.2", 85, 100).score == 3.40
    # The sample's own case: 212/234 = 90.598 %: 4 * 0.90598 = 3.6239 -> 3.62 (T = 80 would give 4).
    assert score_indicator("4.2", 212, 234).score == 3.62


def test_2022_profile_keeps_the_formula_documents_threshold_for_4_2() -> None:
    old = registry_for(date(2024, 1, 1))
    # T = 80: 4 * min(1, 85/80) = 4 * 1 = 4.00
    assert score_indicator("4.2", 85, 100, old).score == 4.0
    # 60/100: 4 * 60/80 = 3.00
    assert score_indicator("4.2", 60, 100, old).score == 3.0


@pytest.mark.parametrize(
    "num,den,expected",
    [
        (95, 100, 6.0),  # 95 % >= 90 %: capped, 6 * min(1, 95/90) = 6
        (90, 100, 6.0),  # exactly at the cap: 6 * 90/90 = 6
        (81, 100, 5.4),  # 6 * 81/90 = 5.40
        (621, 710, 5.83),  # 87.4648 %: 6 * 0.874648/0.9 = 5.8310 -> 5.83 (sample)
    ],
)
def test_5_4_is_capped_at_90_percent(num: int, den: int, expected: float) -> None:
    assert score_indicator("5.4", num, den).score == expected


@pytest.mark.parametrize(
    "indicator,num,den,expected",
    [
        ("4.3", 40, 50, 2.0),  # 80 % = T: 2 * 80/80 = 2.00
        ("4.3", 30, 50, 1.5),  # 60 %: 2 * 60/80 = 1.50
        ("3.3", 30, 100, 3.6),  # 30 %, T = 50: 6 * 30/50 = 3.60
        ("3.3", 60, 100, 6.0),  # 60 % > 50 %: capped at 6
        ("3.1", 70, 100, 1.75),  # 70 %, T = 80: 2 * 70/80 = 1.75
        ("3.6", 1, 3, 2.0),  # 33.33…%, T = 100: 6 * 1/3 = 2.00
    ],
)
def test_thresholds(indicator: str, num: int, den: int, expected: float) -> None:
    assert score_indicator(indicator, num, den).score == expected


def test_half_up_rounding_of_ratio_and_score() -> None:
    # 1/32 = 3.125 % -> shown 3.13 (half-up; half-even would show 3.12).
    # Score 1.1: 6 * 0.03125 = 0.1875 -> 0.19.
    s = score_indicator("1.1", 1, 32)
    assert s.ratio == 0.03125
    assert s.ratio_pct == 3.13
    assert s.score == 0.19
    # 49/400 = 12.25 %: 1.3 scores 2 * 0.1225 = 0.245 -> 0.25 (float round() gives 0.24).
    assert score_indicator("1.3", 49, 400).score == 0.25


# --- monitor-only indicators, errors, JSON -----------------------------------------------------


def test_monitor_indicators_are_not_scored() -> None:
    pakn = score_indicator("5.1", 3, 4)
    assert (pakn.ratio, pakn.ratio_pct, pakn.score, pakn.max_score) == (0.75, 75.0, None, 0)
    # 2.2 is an average (total days / dossiers), so numerator > denominator is fine.
    avg = score_indicator("2.2", 37.5, 10)
    assert (avg.ratio, avg.score, avg.max_score) == (None, None, 0)


def test_unknown_indicator_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown indicator '9\.9'"):
        score_indicator("9.9", 1, 2)


@pytest.mark.parametrize(
    "num,den,message",
    [
        (-1, 5, "numerator must not be negative"),
        (1, -5, "denominator must not be negative"),
        (6, 5, "numerator 6 exceeds denominator 5"),
        (1.5, 5, "numerator must be a whole count"),
        ("3", 5, "numerator must be a number"),
    ],
)
def test_bad_counts_are_rejected_with_the_problem(num: object, den: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score_indicator("2.1", num, den)  # type: ignore[arg-type]


def test_to_json_has_the_contract_shape() -> None:
    j = score_indicator("2.1", 17, 20).to_json()
    # contracts.md §3 example: 17/20 -> ratio 0.85, score 17.0, max_score 20
    assert j == {"indicator": "2.1", "numerator": 17, "denominator": 20, "ratio": 0.85, "score": 17.0, "max_score": 20}
    assert json.loads(json.dumps(j)) == j


# --- registry -----------------------------------------------------------------------------------


def test_registry_has_every_indicator_and_consistent_groups() -> None:
    assert set(CURRENT.indicator_ids) == set(ALL_IDS)
    assert {g.key: g.max_points for g in GROUPS} == {
        "transparency": 18, "progress": 20, "online": 12, "payment": 10, "digitisation": 22, "satisfaction": 18,
    }
    assert CURRENT.max_total == 100
    for reg in REGISTRIES:
        for g in reg.groups:
            assert sum(r.max_points for r in reg.rules if r.group == g.key and r.scored) == g.max_points
    assert {r.id for r in CURRENT.rules if not r.scored} == {"2.2", "3.4", "5.1"}  # 3.4: the full-online profile's
    assert CURRENT.rule("2.2").kind is Kind.MONITOR_AVERAGE


def test_registry_for_picks_the_profile_in_force() -> None:
    assert registry_for(date(2025, 6, 30)) is REGISTRIES[0]
    assert registry_for(date(2025, 7, 1)) is CURRENT
    assert registry_for(date(2026, 11, 23)) is CURRENT
    # 2025-06-30T17:30Z is already 1 July in Vietnam (UTC+7).
    assert registry_for(datetime(2025, 6, 30, 17, 30, tzinfo=timezone.utc)) is CURRENT
    assert CURRENT is REGISTRIES[-1]
    with pytest.raises(ValueError, match="no Decision 766 scoring before 2022-06-23"):
        registry_for(date(2022, 6, 22))


def test_registry_and_scores_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CURRENT.rules[0].max_points = 99  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        score_indicator("2.1", 1, 2).score = 20.0  # type: ignore[misc]


# --- totals and bands ---------------------------------------------------------------------------


def test_total_score_of_a_full_scorecard() -> None:
    counts = {
        "1.1": (0, 0), "1.2": (4, 4), "1.3": (87, 89), "1.4": (62, 62),  # null + 4 + 1.96 + 6 = 11.96
        "2.1": (2399, 2574),  # 18.64
        "3.1": (70, 100), "3.2": (50, 100), "3.3": (30, 100),  # 1.75 + 2.00 + 3.60 = 7.35
        "3.5": (0, 0), "3.5b": (1, 1), "3.6": (1, 3),  # 0 + 2 + 2.00 = 4.00
        "4.1": (586, 598), "4.2": (212, 234), "4.3": (31, 1780), "4.4": (0, 4272),
        "4.5a": (297, 1301), "4.5b": (234, 234), "4.x": (0, 0),  # 5.88+3.62+0.04+0+0.46+2+2 = 14.00
        "5.1": (1, 2), "5.2": (0, 0), "5.3": (137, 247), "5.4": (621, 710),  # 6 + 3.33 + 5.83 = 15.16
    }
    scores = [score_indicator(i, n, d) for i, (n, d) in counts.items()]
    assert group_totals(scores) == {
        "transparency": 11.96, "progress": 18.64, "online": 7.35,
        "payment": 4.0, "digitisation": 14.0, "satisfaction": 15.16,
    }
    # 11.96 + 18.64 + 7.35 + 4.00 + 14.00 + 15.16 = 71.11
    assert total_score(scores) == 71.11
    assert band(total_score(scores)) == ("fair", "Khá", "Fair")


def test_total_score_counts_null_as_zero_and_rejects_duplicates() -> None:
    assert total_score([score_indicator("1.1", 0, 0)]) == 0.0
    assert total_score([]) == 0.0
    twice = [score_indicator("2.1", 1, 2), score_indicator("2.1", 1, 2)]
    with pytest.raises(ValueError, match="2.1 scored twice"):
        total_score(twice)


def test_total_rounds_each_component_before_summing() -> None:
    # Hand-built scores carrying more decimals than the portal shows: 0.004 + 0.004 + 0.004
    # rounds to 0 + 0 + 0 = 0.00, not 0.012 -> 0.01.
    raw = [IndicatorScore(i, 1, 1, 1.0, 100.0, 0.004, 6) for i in ("1.1", "1.4", "4.1")]
    assert total_score(raw) == 0.0


@pytest.mark.parametrize(
    "total,code",
    [
        (100, "excellent"), (90.0, "excellent"), (89.99, "good"), (80, "good"), (79.99, "fair"),
        (70, "fair"), (69.99, "average"), (50, "average"), (49.99, "weak"), (0, "weak"),
    ],
)
def test_band_boundaries(total: float, code: str) -> None:
    assert band(total)[0] == code


def test_band_labels_and_range() -> None:
    assert band(90) == ("excellent", "Xuất sắc", "Excellent")
    assert band(49.99) == ("weak", "Yếu", "Weak")
    assert [b.label_vi for b in BANDS] == ["Xuất sắc", "Tốt", "Khá", "Trung bình", "Yếu"]
    for bad in (-0.01, 100.01, float("nan")):
        with pytest.raises(ValueError):
            band(bad)
