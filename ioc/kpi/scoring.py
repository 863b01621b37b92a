"""Decision 766 scoring, exactly as the national public-service portal (Cổng DVCQG) applies it.

Why a module of its own: the provincial wall must reconcile with the portal to the hundredth of a
point, and the portal's behaviour differs from the published formula document in places (4.2's
threshold, zero denominators, rounding). Every rule lives here as versioned, frozen data
(domain.md §2.4 point 2), so a change of the portal's profile is a new registry entry, not an edit.

The rule (domain.md §2.5), for a scored indicator with points Pmax and threshold T (percent):

    R     = 100 * numerator / denominator                      (exact rational)
    score = round_half_up(Pmax * min(1, R / T), 2)
    ratio_pct (what the portal displays) = round_half_up(R, 2)

The score uses the *unrounded* R. domain.md §2.5 says "R rounded to 0.01 %, then score"; both
readings reproduce every tuple of shared/data/portal-766-sample.json, but not the wider capture
it was drawn from (ChippedTopaz/qd766 tests/fixtures/dossier-digitized/month-all.json), where
4.1 552/710 (R 77.746… %, displayed 77.75) scores 4.66 and 4.5b 752/1780 (displayed 42.25) scores
0.84: a rounded R would give 4.665 -> 4.67 and 0.845 -> 0.85. 4.5b 2/32 (exactly 0.125) scores
0.13, which rules out banker's rounding. Only "unrounded R, half-up" fits all 119 tuples checked;
tests/unit/test_scoring.py keeps those discriminating tuples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from fractions import Fraction
from functools import cached_property
from typing import Any, Iterable

from ioc.clock import LOCAL_TZ as _LOCAL_TZ

_HUNDREDTH = Fraction(1, 100)


class ZeroDenominator(str, Enum):
    """What the portal shows when an indicator's denominator is 0."""

    NULL = "null"  # no score: the metric is shown empty and counts 0 in its group
    ZERO = "zero"  # 0 points
    FULL = "full"  # full marks (nothing to do, nothing failed)


class Kind(str, Enum):
    RATIO = "ratio"  # scored: numerator <= denominator
    MONITOR_RATIO = "monitor_ratio"  # shown, never scored (5.1)
    MONITOR_AVERAGE = "monitor_average"  # an average, not a ratio (2.2: total time / dossiers)


@dataclass(frozen=True)
class GroupDef:
    """One of the six groups the portal displays (domain.md §2.2)."""

    key: str
    api_id: str
    code: str
    name_vi: str
    name_en: str
    max_points: int


@dataclass(frozen=True)
class IndicatorRule:
    id: str
    group: str
    name_vi: str
    max_points: int
    threshold_pct: int  # T: the ratio (in percent) that earns full points
    zero_denominator: ZeroDenominator
    kind: Kind = Kind.RATIO
    evidence: str = ""  # where the parameters come from, and how sure we are

    @property
    def scored(self) -> bool:
        return self.kind is Kind.RATIO


@dataclass(frozen=True)
class Band:
    code: str
    label_vi: str
    label_en: str
    min_total: float  # inclusive lower bound of the total score


@dataclass(frozen=True)
class Registry:
    """The scoring profile in force from ``effective_from`` until the next one."""

    effective_from: date
    label: str
    groups: tuple[GroupDef, ...]
    rules: tuple[IndicatorRule, ...]
    bands: tuple[Band, ...]  # highest first

    def __post_init__(self) -> None:
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError(f"registry {self.effective_from}: duplicate indicator ids")
        group_keys = {g.key for g in self.groups}
        for g in self.groups:
            points = sum(r.max_points for r in self.rules if r.group == g.key and r.scored)
            if points != g.max_points:
                raise ValueError(
                    f"registry {self.effective_from}: group {g.key} indicators sum to {points}, "
                    f"not {g.max_points}"
                )
        for r in self.rules:
            if r.group not in group_keys:
                raise ValueError(f"registry {self.effective_from}: {r.id} has unknown group {r.group}")
            if r.scored and r.threshold_pct <= 0:
                raise ValueError(f"registry {self.effective_from}: {r.id} needs a threshold > 0")
        mins = [b.min_total for b in self.bands]
        if mins != sorted(mins, reverse=True) or not mins or mins[-1] != 0:
            raise ValueError(f"registry {self.effective_from}: bands must descend to 0")

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    @property
    def max_total(self) -> int:
        return sum(g.max_points for g in self.groups)

    @cached_property
    def _by_id(self) -> dict[str, IndicatorRule]:
        return {r.id: r for r in self.rules}

    def rule(self, indicator_id: str) -> IndicatorRule:
        rule = self._by_id.get(indicator_id)
        if rule is None:
            raise ValueError(f"unknown indicator {indicator_id!r} (known: {', '.join(self.indicator_ids)})")
        return rule

    def group(self, key: str) -> GroupDef:
        for g in self.groups:
            if g.key == key:
                return g
        raise ValueError(f"unknown group {key!r}")


# --- data -------------------------------------------------------------------------------------

GROUPS: tuple[GroupDef, ...] = (
    GroupDef("transparency", "transparency", "CKMB", "Công khai, minh bạch", "Transparency", 18),
    GroupDef("progress", "dvc-progress-tree", "TDGQ", "Tiến độ giải quyết", "Progress", 20),
    GroupDef("online", "provide-online-tree", "CLGQ", "Dịch vụ công trực tuyến", "Online services", 12),
    GroupDef(
        "payment", "formality-online-payment-tree", "TTTT", "Thanh toán trực tuyến", "Online payment", 10
    ),
    GroupDef("digitisation", "dossier-digitized", "MDSH", "Số hóa hồ sơ", "Digitisation", 22),
    GroupDef("satisfaction", "handling-satisfaction", "MDHL", "Mức độ hài lòng", "Satisfaction", 18),
)

# Rating bands. Only "Xuất sắc >= 90" and "Yếu < 50" are sourced (domain.md §2.1, vneconomy);
# the intermediate bands (Tốt, Khá, Trung bình) are unverified working knowledge [M].
BANDS: tuple[Band, ...] = (
    Band("excellent", "Xuất sắc", "Excellent", 90),
    Band("good", "Tốt", "Good", 80),
    Band("fair", "Khá", "Fair", 70),
    Band("average", "Trung bình", "Average", 50),
    Band("weak", "Yếu", "Weak", 0),
)

_N, _Z, _F = ZeroDenominator.NULL, ZeroDenominator.ZERO, ZeroDenominator.FULL
_PORTAL = "domain.md §2.5, checked against portal responses"

# Current portal profile (domain.md §2.5; where §2.3 disagrees, §2.5 wins).
_CURRENT_RULES: tuple[IndicatorRule, ...] = (
    IndicatorRule("1.1", "transparency", "Tỷ lệ TTHC công bố đúng hạn", 6, 100, _N, evidence=_PORTAL),
    IndicatorRule(
        "1.2", "transparency",
        "Tỷ lệ TTHC được cập nhật, công khai đúng hạn trên CSDL quốc gia về TTHC", 4, 100, _N,
        evidence=_PORTAL,
    ),
    IndicatorRule(
        "1.3", "transparency", "Tỷ lệ TTHC công khai đầy đủ các bộ phận tạo thành", 2, 100, _N,
        evidence=_PORTAL,
    ),
    IndicatorRule("1.4", "transparency", "Tỷ lệ hồ sơ đồng bộ lên Cổng DVCQG", 6, 100, _N, evidence=_PORTAL),
    IndicatorRule(
        "2.1", "progress", "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn", 20, 100, _Z,
        evidence=_PORTAL + "; received = 0 scores 0",
    ),
    IndicatorRule(
        "2.2", "progress", "Thời gian giải quyết TTHC trung bình", 0, 0, _N, Kind.MONITOR_AVERAGE,
        evidence="domain.md §2.3: monitor only, shown when one TTHC is selected",
    ),
    # Group 3 internals are version-dependent (domain.md §2.3 footnote); §2.5 gives 2/4/6 with
    # T 80/100/50 but no zero-denominator behaviour: NULL here is our choice, unverified.
    IndicatorRule(
        "3.1", "online", "Tỷ lệ TTHC cung cấp dịch vụ công trực tuyến", 2, 80, _N,
        evidence=_PORTAL + "; zero-denominator policy unverified",
    ),
    IndicatorRule(
        "3.2", "online", "Tỷ lệ dịch vụ công trực tuyến có phát sinh hồ sơ", 4, 100, _N,
        evidence=_PORTAL + "; zero-denominator policy unverified",
    ),
    IndicatorRule(
        "3.3", "online", "Tỷ lệ hồ sơ trực tuyến", 6, 50, _N,
        evidence=_PORTAL + "; zero-denominator policy unverified",
    ),
    # The current portal METRICS table's one online metric (domain.md §2.3 footnote); scored
    # only in the full-online profile below, shown (monitor) in this one.
    IndicatorRule(
        "3.4", "online", "Tỷ lệ hồ sơ DVCTT toàn trình trên hồ sơ của TTHC đủ điều kiện toàn trình", 0, 0, _N,
        Kind.MONITOR_RATIO, evidence="domain.md §2.3 footnote: scored in the full-online profile",
    ),
    IndicatorRule(
        "3.5", "payment",
        "Tỷ lệ TTHC có nghĩa vụ tài chính được tích hợp thanh toán trực tuyến trên Cổng DVCQG",
        2, 80, _Z, evidence=_PORTAL,
    ),
    IndicatorRule(
        "3.5b", "payment", "Tỷ lệ TTHC có giao dịch thanh toán trực tuyến", 2, 80, _Z, evidence=_PORTAL
    ),
    IndicatorRule("3.6", "payment", "Tỷ lệ hồ sơ thanh toán trực tuyến", 6, 100, _Z, evidence=_PORTAL),
    IndicatorRule(
        "4.1", "digitisation", "Tỷ lệ hồ sơ có cấp kết quả giải quyết TTHC điện tử", 6, 100, _N,
        evidence=_PORTAL,
    ),
    IndicatorRule(
        "4.2", "digitisation", "Tỷ lệ hồ sơ thực hiện số hóa", 4, 100, _N,
        evidence=_PORTAL + " (the formula document says T = 80; the portal scores 90.6 % as 3.62)",
    ),
    IndicatorRule(
        "4.3", "digitisation", "Tỷ lệ khai thác, sử dụng lại thông tin, dữ liệu số hóa", 2, 80, _N,
        evidence=_PORTAL,
    ),
    IndicatorRule(
        "4.4", "digitisation", "Tỷ lệ hồ sơ số hóa có kết nối, chia sẻ dữ liệu (kho DVCQG)", 4, 100, _N,
        evidence=_PORTAL,
    ),
    IndicatorRule(
        "4.5a", "digitisation", "Tỷ lệ TTHC triển khai kết nối, chia sẻ dữ liệu dân cư", 2, 100, _N,
        evidence=_PORTAL + "; dropped by the portal when one TTHC is selected",
    ),
    IndicatorRule(
        "4.5b", "digitisation", "Tỷ lệ hồ sơ TTHC có sử dụng thông tin, dữ liệu dân cư", 2, 100, _N,
        evidence=_PORTAL,
    ),
    # Not in §2.5's table. The captured portal responses (ChippedTopaz/qd766, dossier-digitized
    # fixtures) always show it with numerator/denominator null, ratio 100 and score 2: FULL.
    IndicatorRule(
        "4.x", "digitisation", "Tỷ lệ cung cấp dịch vụ chứng thực bản sao điện tử từ bản chính", 2, 100, _F,
        evidence="inferred from captured portal responses (null counts -> 2 of 2); T assumed 100",
    ),
    IndicatorRule(
        "5.1", "satisfaction", "Tỷ lệ phản ánh, kiến nghị theo phân loại", 0, 0, _N, Kind.MONITOR_RATIO,
        evidence="domain.md §2.5: not scored",
    ),
    IndicatorRule(
        "5.2", "satisfaction", "Tỷ lệ phản ánh, kiến nghị được xử lý đúng hạn", 6, 100, _F,
        evidence=_PORTAL + "; den = 0 -> full marks",
    ),
    IndicatorRule(
        "5.3", "satisfaction", "Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị", 6, 100, _F,
        evidence=_PORTAL + "; den = 0 -> full marks",
    ),
    IndicatorRule(
        "5.4", "satisfaction", "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC", 6, 90, _Z,
        evidence=_PORTAL + "; capped at 90 % (NQ 76 target)",
    ),
)


def _with_threshold(rules: tuple[IndicatorRule, ...], indicator_id: str, t: int, note: str) -> tuple[IndicatorRule, ...]:
    return tuple(
        IndicatorRule(r.id, r.group, r.name_vi, r.max_points, t, r.zero_denominator, r.kind, note)
        if r.id == indicator_id
        else r
        for r in rules
    )


REGISTRIES: tuple[Registry, ...] = (
    # Reconstruction of the 2022 formula document (domain.md §2.3), NOT verified against portal
    # data of that time. Its own point split for the digitisation and online groups was not
    # recoverable, so it reuses today's split; it differs only in 4.2's threshold (80 %).
    Registry(
        date(2022, 6, 23),
        "QĐ 766/QĐ-TTg formula document (reconstruction)",
        GROUPS,
        _with_threshold(_CURRENT_RULES, "4.2", 80, "domain.md §2.3 formula document: T = 80 (unverified)"),
        BANDS,
    ),
    # The profile the portal applies now (captured 2026); dated from Decree 118/2025's entry into
    # force, the last known change of the one-stop rules. The true switch date is unknown.
    Registry(date(2025, 7, 1), "Cổng DVCQG current profile (domain.md §2.5)", GROUPS, _CURRENT_RULES, BANDS),
)

CURRENT: Registry = REGISTRIES[-1]


def _full_online_rules(rules: tuple[IndicatorRule, ...]) -> tuple[IndicatorRule, ...]:
    """Group 3a as the current portal METRICS table has it: its 12 points on 3.4 (full-online
    dossiers ÷ dossiers of procedures eligible for full online, linear); 3.1-3.3 shown only."""
    out = []
    for r in rules:
        if r.id in ("3.1", "3.2", "3.3"):
            r = IndicatorRule(r.id, r.group, r.name_vi, 0, 0, r.zero_denominator, Kind.MONITOR_RATIO,
                              r.evidence + "; monitor in the full-online profile")
        elif r.id == "3.4":
            r = IndicatorRule(r.id, r.group, r.name_vi, 12, 100, _N, Kind.RATIO,
                              "domain.md §2.3 footnote: the 2026 METRICS table; threshold unknown, linear")
        out.append(r)
    return tuple(out)


# Group 3's split is version-dependent (domain.md §2.3): the 2/4/6 profile above reproduces §2.5
# and is the default in force; this one is the portal's METRICS table, whose switch date is not
# known, so it is chosen by name (`ioc kpi --profile full-online`, settings `kpi.profile`).
PROFILES: dict[str, Registry] = {
    "v1": CURRENT,
    "full-online": Registry(date(2025, 7, 1), "Cổng DVCQG METRICS table: 12 points on full-online dossiers (3.4)",
                            GROUPS, _full_online_rules(_CURRENT_RULES), BANDS),
}


def registry_named(profile: str | None, day: date | datetime) -> Registry:
    """The registry in force on ``day``, or the named profile (``v1``, ``full-online``)."""
    if profile is None or profile == "v1":
        return registry_for(day)
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown scoring profile {profile!r} (known: {', '.join(PROFILES)})") from None


def registry_for(day: date | datetime) -> Registry:
    """The registry in force on ``day`` (an aware datetime is read in Vietnam local time)."""
    if isinstance(day, datetime):
        day = day.astimezone(_LOCAL_TZ).date() if day.tzinfo is not None else day.date()
    chosen = None
    for reg in REGISTRIES:
        if reg.effective_from <= day:
            chosen = reg
    if chosen is None:
        raise ValueError(f"no Decision 766 scoring before {REGISTRIES[0].effective_from} (asked for {day})")
    return chosen


# --- scoring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorScore:
    indicator: str
    numerator: int | float
    denominator: int | float
    ratio: float | None  # fraction in [0, 1]; None when the denominator is 0 or not a ratio
    ratio_pct: float | None  # percent as the portal displays it (half-up, 0.01); the portal shows 0 for den 0
    score: float | None  # None: not scored (null policy, or a monitor-only indicator)
    max_score: int

    def to_json(self) -> dict[str, Any]:
        """The contract shape (shared/docs/contracts.md §1 and §3)."""
        return {
            "indicator": self.indicator,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "ratio": self.ratio,
            "score": self.score,
            "max_score": self.max_score,
        }


def round_half_up(value: Fraction, places: int = 2) -> Fraction:
    """Round a non-negative exact value half-up (0.125 -> 0.13), as the portal does.
    In integers: floor(n/d * 10^p + 1/2) = (2·n·10^p + d) // 2d (the wall scores every unit)."""
    value = value if isinstance(value, Fraction) else Fraction(value)
    scale = 10**places
    return Fraction((2 * value.numerator * scale + value.denominator) // (2 * value.denominator), scale)


def _count(indicator_id: str, name: str, value: Any, whole: bool) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise ValueError(f"indicator {indicator_id}: {name} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"indicator {indicator_id}: {name} must be finite, got {value!r}")
    if value < 0:
        raise ValueError(f"indicator {indicator_id}: {name} must not be negative, got {value!r}")
    if whole and value != int(value):
        raise ValueError(f"indicator {indicator_id}: {name} must be a whole count, got {value!r}")
    return Fraction(value)


def score_indicator(
    indicator_id: str,
    numerator: int | float | Fraction,
    denominator: int | float,
    registry: Registry = CURRENT,
) -> IndicatorScore:
    """Score one indicator from its counts, exactly as the portal does (module docstring).

    A :class:`Fraction` numerator is a weighted count (3.3's online dossiers × the sync ratio):
    scored exactly, shown rounded half-up to 0.01."""
    rule = registry.rule(indicator_id)
    is_ratio = rule.kind is not Kind.MONITOR_AVERAGE
    weighted = isinstance(numerator, Fraction)
    num = _count(indicator_id, "numerator", numerator, whole=is_ratio and not weighted)
    if weighted:
        numerator = float(round_half_up(num))
    den = _count(indicator_id, "denominator", denominator, whole=is_ratio)
    if is_ratio and num > den:
        raise ValueError(f"indicator {indicator_id}: numerator {numerator} exceeds denominator {denominator}")

    shown = numerator if not isinstance(numerator, Fraction) else float(numerator)

    def result(ratio: float | None, pct: float | None, score: float | None) -> IndicatorScore:
        return IndicatorScore(indicator_id, shown, denominator, ratio, pct, score, rule.max_points)

    if not is_ratio:
        return result(None, None, None)
    if den == 0:
        if not rule.scored or rule.zero_denominator is ZeroDenominator.NULL:
            return result(None, None, None)
        full = rule.zero_denominator is ZeroDenominator.FULL
        return result(None, None, float(rule.max_points) if full else 0.0)
    fraction = num / den
    pct = 100 * fraction
    ratio_pct = float(round_half_up(pct))
    if not rule.scored:
        return result(float(fraction), ratio_pct, None)
    raw = rule.max_points * min(Fraction(1), pct / rule.threshold_pct)  # unrounded R: see docstring
    return result(float(fraction), ratio_pct, float(round_half_up(raw)))


def group_totals(scores: Iterable[IndicatorScore], registry: Registry = CURRENT) -> dict[str, float]:
    """Each group's total: its indicators' scores, each rounded to 0.01, summed; null counts 0."""
    hundredths = _group_hundredths(scores, registry)
    return {key: value / 100 for key, value in hundredths.items()}


def _group_hundredths(scores: Iterable[IndicatorScore], registry: Registry) -> dict[str, int]:
    # Scores are already rounded to 0.01 (score_indicator), so whole hundredths add exactly.
    totals = {g.key: 0 for g in registry.groups}
    seen: set[str] = set()
    for s in scores:
        if s.indicator in seen:
            raise ValueError(f"indicator {s.indicator} scored twice")
        seen.add(s.indicator)
        rule = registry.rule(s.indicator)
        if s.score is not None and rule.scored:
            totals[rule.group] += round(s.score * 100)
    return totals


def total_score(scores: Iterable[IndicatorScore], registry: Registry = CURRENT) -> float:
    """The 766 total (out of 100): the sum of the group totals."""
    return sum(_group_hundredths(scores, registry).values()) / 100


def band(total: float, registry: Registry = CURRENT) -> tuple[str, str, str]:
    """(code, Vietnamese label, English label) of the rating band for a total score."""
    if isinstance(total, bool) or not isinstance(total, (int, float)) or not math.isfinite(total):
        raise ValueError(f"total must be a finite number, got {total!r}")
    if not 0 <= total <= registry.max_total:
        raise ValueError(f"total {total} is outside 0..{registry.max_total}")
    for b in registry.bands:
        if total >= b.min_total:
            return b.code, b.label_vi, b.label_en
    raise AssertionError("bands descend to 0")  # unreachable: checked in Registry
