"""Decision 766 indicators that count procedures (TTHC) of the catalogue, not dossiers.

Why a module: groups 1 and parts of 3 and 4 judge the province's procedure catalogue
(contracts.md §2b) — published on time, complete, offered online, integrated with payment — and
some of them ask whether a procedure had at least one dossier of a kind in the period. The
dossier side of those ("at least one online dossier of procedure P") arrives as per-procedure
counts in the unit's additive tally (keys ``3.2:p:CODE`` etc., ioc.kpi.indicators.tally), so the
live stream and the replay feed the same pure function here.

Rules (domain.md §2.3, §2.6), over ``rows`` = the catalogue rows in force on the period's last
day that the unit receives (the province: every row):

| id   | numerator ÷ denominator                                                                   |
|------|-------------------------------------------------------------------------------------------|
| 1.1  | rows whose decision (QĐCB) date is in the period and at least 5 working days (20 for a     |
|      | ministry-level procedure) before its legal basis takes effect ÷ rows decided in the period |
| 1.2  | of those decided in the period, published on the national database within 5 working days  |
|      | of the decision (10 for ministry level) ÷ rows decided in the period                      |
| 1.3  | rows with all 7 components published ÷ rows (a snapshot of the catalogue)                  |
| 3.1  | rows offered online (full or partial) ÷ rows; sub-ratio: full ÷ full_online_eligible     |
| 3.2  | online rows with ≥ 1 online dossier received in the period ÷ online rows                  |
| 3.5  | fee rows integrated with the national payment platform ÷ fee rows                         |
| 3.5b | fee rows with ≥ 1 dossier paid online received in the period ÷ fee rows                   |
| 4.5a | citizen-subject rows with ≥ 1 dossier using the population database received in the     |
|      | period ÷ citizen-subject rows; not at commune level                                        |

"Working days between two dates" counts the working days after the first up to the second
(WorkingCalendar.working_days_between). A row whose field an indicator needs is unknown is left
out of that indicator's denominator; an indicator none of whose rows know the field is absent,
with the reason in ``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Callable, Iterable

from ioc.domain.calendar import WorkingCalendar
from ioc.kpi.periods import Period
from ioc.kpi.scoring import IndicatorScore, Registry, score_indicator

if TYPE_CHECKING:
    from ioc.reference.catalogue import CatalogueRow

Tally = dict[str, int]

# Per-procedure tally keys: how many dossiers of the period of procedure CODE had the property.
ONLINE_DOSSIER = "3.2:p:"
PAID_ONLINE = "3.5b:p:"
POPULATION_DB = "4.5a:p:"

# The reason of an indicator that the unit's index does not have at all (the portal drops it and
# its points): the index is complete without it.
NOT_APPLICABLE = "not applicable "
PUBLICATION_WD = {"ministry": 20, "province": 5, "commune": 5}  # 1.1: decision before effect
UPLOAD_WD = {"ministry": 10, "province": 5, "commune": 5}  # 1.2: publication after decision
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class _Count:
    """Rows in the denominator, and how many of them in the numerator."""

    id: str
    field: str  # the row field the denominator needs known
    denominator: Callable[["CatalogueRow"], bool]
    numerator: Callable[["CatalogueRow", Tally], bool]


def _online(row: "CatalogueRow") -> bool:
    return row.online in ("full", "partial")


_COUNTS: tuple[_Count, ...] = (
    _Count("1.3", "components_complete", lambda r: True, lambda r, t: r.components_complete is True),
    _Count("3.1", "online", lambda r: True, lambda r, t: _online(r)),
    _Count("3.2", "online", _online, lambda r, t: t.get(ONLINE_DOSSIER + r.procedure_code, 0) > 0),
    _Count("3.5", "fee", lambda r: r.fee is True and r.fee_on_national_payment is not None,
           lambda r, t: r.fee_on_national_payment is True),
    _Count("3.5b", "fee", lambda r: r.fee is True, lambda r, t: t.get(PAID_ONLINE + r.procedure_code, 0) > 0),
    _Count("4.5a", "citizen_subject", lambda r: r.citizen_subject is True,
           lambda r, t: t.get(POPULATION_DB + r.procedure_code, 0) > 0),
)


def _level(row: "CatalogueRow") -> str:
    return row.level or "province"


def _publication(rows: list["CatalogueRow"], period: Period, calendar: WorkingCalendar,
                 registry: Registry, out: dict[str, IndicatorScore], missing: dict[str, str]) -> None:
    """1.1 and 1.2 over the rows whose publication decision falls in the period."""
    first, last = period.start.date(), (period.end - _ONE_US).date()
    if not any(r.decision_date is not None for r in rows):
        missing["1.1"] = missing["1.2"] = "no procedure of the catalogue has a decision_date"
        return
    decided = [(r, r.decision_date) for r in rows if r.decision_date is not None and first <= r.decision_date <= last]
    on_time = [r for r, day in decided if r.legal_basis_effective is not None
               and calendar.working_days_between(day, r.legal_basis_effective) >= PUBLICATION_WD[_level(r)]]
    out["1.1"] = score_indicator("1.1", len(on_time), len(decided), registry)
    uploaded = [r for r, day in decided if r.published_date is not None
                and r.published_date >= day
                and calendar.working_days_between(day, r.published_date) <= UPLOAD_WD[_level(r)]]
    out["1.2"] = score_indicator("1.2", len(uploaded), len(decided), registry)


def catalogue_indicators(
    rows: Iterable["CatalogueRow"],
    t: Tally,
    period: Period,
    registry: Registry,
    *,
    unit_level: str | None,
    calendar: WorkingCalendar,
    procedure: str | None = None,
) -> tuple[dict[str, IndicatorScore], dict[str, str], dict[str, float]]:
    """(scores, missing indicator -> why, extra figures such as 3.1's full-online sub-ratio)."""
    chosen = [r for r in rows if procedure is None or r.procedure_code == procedure]
    out: dict[str, IndicatorScore] = {}
    missing: dict[str, str] = {}
    extra: dict[str, float] = {}
    if not chosen:
        for spec_id in ("1.1", "1.2", *(c.id for c in _COUNTS)):
            missing[spec_id] = "the unit receives no procedure of the catalogue"
        return out, missing, extra
    _publication(chosen, period, calendar, registry, out, missing)
    for spec in _COUNTS:
        if spec.id == "4.5a" and (unit_level == "commune" or procedure is not None):
            missing[spec.id] = NOT_APPLICABLE + ("with a procedure filter (as the portal)" if procedure is not None
                                                 else "at commune level (domain.md §2.3)")
            continue
        known = [r for r in chosen if getattr(r, spec.field) is not None]
        if not known:
            missing[spec.id] = f"no procedure of the catalogue has {spec.field}"
            continue
        den = [r for r in known if spec.denominator(r)]
        num = [r for r in den if spec.numerator(r, t)]
        out[spec.id] = score_indicator(spec.id, len(num), len(den), registry)
    eligible = [r for r in chosen if r.full_online_eligible is True]
    if eligible:
        extra["3.1_full_online_ratio"] = sum(r.online == "full" for r in eligible) / len(eligible)
    return out, missing, extra

__all__ = ["NOT_APPLICABLE", "ONLINE_DOSSIER", "PAID_ONLINE", "POPULATION_DB", "catalogue_indicators"]
