"""Indicators 5.1-5.3 and the petition figures, from judged petitions (ioc.domain.pakn).

Like the dossier indicators (ioc.kpi.indicators), everything is a function of additive
tallies: a petition's :func:`pakn_tally` holds its share of each sum, a unit's tally is the sum
over its petitions, the province's the sum over its units. Every key starts with ``pakn:``, so
petition and dossier tallies of one unit can be summed into one dict without clashing (the
live snapshots do exactly that).

Keys (a petition counted in the period, rule 3 of ioc.domain.pakn, unless said otherwise):

| key                        | what                                                          |
|----------------------------|---------------------------------------------------------------|
| pakn:counted               | counted petitions: 5.2's and 5.3's denominator                |
| pakn:on_time               | handled on time (rule 6): 5.2's numerator                     |
| pakn:satisfied             | on time, not re-complained, not disliked: 5.3's numerator     |
| pakn:late                  | counted − on_time                                             |
| pakn:re_complained         | re-complained at least once                                   |
| pakn:disliked              | more dislikes than likes                                      |
| pakn:rejected, :answered   | how it finished (by ``at``)                                   |
| pakn:categorised           | category known: 5.1's denominator                             |
| pakn:about_rules           | category regulation or procedure: 5.1's numerator             |
| pakn:category:<c>          | per category (regulation, procedure, conduct, other, unknown) |
| pakn:received              | received in the period (any petition)                         |
| pakn:open                  | open at ``at`` (rule 9: received before the period end)       |
| pakn:awaiting_publication  | answered, not yet published (rule 9)                          |
| pakn:near_limit            | its pending step is due by the end of the next working day    |
| pakn:overdue               | its pending step is past its limit                            |

5.1 (monitor, not scored) is "petitions about regulations or procedures ÷ petitions with a
known category" (the portal's "PAKN by classification: regulations/TTHC vs officials'
conduct"); it is present only when some counted petition has a category. 5.2 and 5.3 are
present whenever PAKN data was given (``with_pakn``), and score full marks with no petition
(domain.md §2.5: den 0 → 6).
"""

from __future__ import annotations

import heapq
from datetime import datetime, time, timedelta
from typing import Any, Iterable

from ioc.clock import LOCAL_TZ
from ioc.domain.calendar import WorkingCalendar
from ioc.domain.pakn import (
    ABOUT_RULES,
    CATEGORIES,
    PaknEvent,
    PaknJudged,
    PaknState,
    apply_pakn,
    judge_pakn,
    link_of,
)
from ioc.kpi.indicators import Tally, add_tally
from ioc.kpi.periods import period_of
from ioc.kpi.scoring import IndicatorScore, Registry, score_indicator

PREFIX = "pakn:"
PAKN_INDICATORS = ("5.1", "5.2", "5.3")


def pakn_tally(j: PaknJudged) -> Tally:
    """One petition's counts (empty when the period does not see it)."""
    t: Tally = {}

    def inc(key: str, value: int | bool = 1) -> None:
        if value:
            t[PREFIX + key] = t.get(PREFIX + key, 0) + int(value)

    if j.counted:
        inc("counted")
        inc("on_time", j.on_time)
        inc("late", not j.on_time)
        inc("satisfied", j.satisfied)
        inc("re_complained", j.re_complaints > 0)
        inc("disliked", j.disliked)
        inc("rejected", j.outcome == "rejected")
        inc("answered", j.outcome == "answered")
        category = j.category
        inc("categorised", category is not None)
        inc("about_rules", category in ABOUT_RULES)
        inc(f"category:{category or 'unknown'}")
    inc("received", j.received_in_period)
    if j.in_view and j.pending is not None:
        inc("open", j.pending == "answer")
        inc("awaiting_publication", j.pending == "publish")
        inc("near_limit", j.near_limit)
        inc("overdue", j.overdue)
    return t


def pakn_indicators(t: Tally, registry: Registry, with_pakn: bool) -> dict[str, IndicatorScore]:
    """5.1, 5.2 and 5.3 from a (unit's or the province's) tally; nothing without PAKN data."""
    if not with_pakn:
        return {}
    out: dict[str, IndicatorScore] = {}
    categorised = t.get(PREFIX + "categorised", 0)
    if categorised:
        out["5.1"] = score_indicator("5.1", t.get(PREFIX + "about_rules", 0), categorised, registry)
    counted = t.get(PREFIX + "counted", 0)
    out["5.2"] = score_indicator("5.2", t.get(PREFIX + "on_time", 0), counted, registry)
    out["5.3"] = score_indicator("5.3", t.get(PREFIX + "satisfied", 0), counted, registry)
    return out


def pakn_figures(t: Tally) -> dict[str, Any]:
    """The wall's petition figures of a tally."""
    def g(key: str) -> int:
        return t.get(PREFIX + key, 0)

    return {
        "received": g("received"), "counted": g("counted"), "on_time": g("on_time"), "late": g("late"),
        "satisfied": g("satisfied"), "open": g("open"), "awaiting_publication": g("awaiting_publication"),
        "near_limit": g("near_limit"), "overdue": g("overdue"), "re_complained": g("re_complained"),
        "disliked": g("disliked"),
        "by_category": {c: g(f"category:{c}") for c in (*CATEGORIES, "unknown")},
    }


def has_pakn(t: Tally) -> bool:
    return any(key.startswith(PREFIX) for key in t)


# --- folding ------------------------------------------------------------------------------------------


def fold_pakn(events: Iterable[PaknEvent], at: datetime) -> list[PaknState]:
    """The petitions' states from the events that occurred by ``at`` (any order), by code."""
    states: dict[str, PaknState] = {}
    for ev in events:
        if ev.occurred_at <= at:
            states[ev.pakn_code] = apply_pakn(states.get(ev.pakn_code), ev)
    return [states[code] for code in sorted(states)]


def complaint_links(events: Iterable[PaknEvent], at: datetime) -> list[tuple[str, datetime, str]]:
    """``(dossier_code, time of the petition's first event, link event id)`` for every petition
    that names a dossier, from the events by ``at``; the id is ``"pakn:" + pakn_code``."""
    out = []
    for state in fold_pakn(events, at):
        link = link_of(state)
        if link is not None:
            out.append((link["dossier_code"], datetime.fromisoformat(link["occurred_at"]), link["event_id"]))
    return sorted(out, key=lambda x: (x[0], x[2]))


def pakn_tallies(states: Iterable[PaknState], period: Any, at: datetime,
                 calendar: WorkingCalendar | None = None) -> dict[str, Tally]:
    """Per unit code, the petitions' tallies of ``period`` at ``at`` (the replay's sum)."""
    calendar = calendar or WorkingCalendar()
    out: dict[str, Tally] = {}
    for state in states:
        t = pakn_tally(judge_pakn(state, period, at, calendar))
        if t:
            add_tally(out.setdefault(state.unit_code, {}), t)
    return {u: t for u, t in out.items() if t}


# --- live: month-to-date tallies kept current -----------------------------------------------------------


def _next_midnight(at: datetime) -> datetime:
    local = at.astimezone(LOCAL_TZ)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=LOCAL_TZ)


def pakn_contribution(state: PaknState, at: datetime,
                      calendar: WorkingCalendar | None = None) -> tuple[Tally, datetime | None]:
    """One petition's month-to-date tally at ``at``, and the first later instant it may differ
    (None: never again without a new event): a fact dated later, the pending step's deadline
    (late and overdue then), the next midnight (the day and month move on)."""
    calendar = calendar or WorkingCalendar()
    j = judge_pakn(state, period_of(at, "month"), at, calendar)
    t = pakn_tally(j)
    changes = [f.at for f in state.facts if f.at > at]
    if t:
        changes.append(_next_midnight(at))
    if j.pending_due is not None and j.pending_due > at:
        changes.append(j.pending_due)
    return t, min(changes) if changes else None


def pakn_figures_for(states: Iterable[PaknState], at: datetime,
                     calendar: WorkingCalendar | None = None) -> dict[str, Tally]:
    """Per unit, the month-to-date tallies at ``at``, recomputed from every petition (the
    reference :class:`LivePakn` is tested against)."""
    return pakn_tallies(states, period_of(at, "month"), at, calendar)


class LivePakn:
    """Incrementally maintained :func:`pakn_figures_for` over a changing set of petitions: a
    tick re-judges only the petitions that changed and those whose next instant has come."""

    def __init__(self, calendar: WorkingCalendar | None = None) -> None:
        self.calendar = calendar or WorkingCalendar()
        self.totals: dict[str, Tally] = {}
        self._states: dict[str, PaknState] = {}
        self._contrib: dict[str, tuple[str, Tally]] = {}  # code -> (unit it was added to, tally)
        self._valid_until: dict[str, datetime | None] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._dirty: set[str] = set()
        self.recomputed = 0

    def __len__(self) -> int:
        return len(self._states)

    def get(self, code: str) -> PaknState | None:
        return self._states.get(code)

    def states(self) -> list[PaknState]:
        return list(self._states.values())

    def touch(self, state: PaknState) -> None:
        """A new or changed petition, judged at the next :meth:`advance`."""
        self._states[state.pakn_code] = state
        self._dirty.add(state.pakn_code)

    def _apply(self, code: str, at: datetime) -> None:
        state = self._states[code]
        old = self._contrib.pop(code, None)
        if old:
            add_tally(self.totals[old[0]], old[1], -1)
        t, until = pakn_contribution(state, at, self.calendar)
        self.recomputed += 1
        if t:
            self._contrib[code] = (state.unit_code, t)
            add_tally(self.totals.setdefault(state.unit_code, {}), t)
        self._valid_until[code] = until
        if until is not None:
            heapq.heappush(self._heap, (until, code))

    def advance(self, at: datetime) -> None:
        dirty, self._dirty = self._dirty, set()
        for code in sorted(dirty):
            self._apply(code, at)
        while self._heap and self._heap[0][0] <= at:
            until, code = heapq.heappop(self._heap)
            if self._valid_until.get(code) == until:  # else superseded by a later judgement
                self._apply(code, at)

    def figures(self) -> dict[str, Tally]:
        return {u: dict(t) for u, t in self.totals.items() if t}


__all__ = [
    "LivePakn", "PAKN_INDICATORS", "PREFIX", "complaint_links", "fold_pakn", "has_pakn", "pakn_contribution",
    "judge_pakn", "pakn_figures", "pakn_figures_for", "pakn_indicators", "pakn_tallies", "pakn_tally",
]
