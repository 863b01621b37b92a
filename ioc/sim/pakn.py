"""A petition (PAKN) simulator that follows the simulated dossiers (contracts.md §2c events).

It watches the dossier events as the dossier simulator emits them (:meth:`PaknSimulator.observe`)
and schedules whole petition lifecycles, emitted in time order by :meth:`PaknSimulator.due`:

* rate: about one petition per ``1 / per_dossier`` dossiers (200: within the 150-300 of
  provincial reports [I]); 30 % name a dossier, drawn when a dossier finishes, eight times as
  often for a dossier finished after its appointment; the rest are about a unit's services in
  general, drawn at dossier receptions;
* category (regulation, procedure, conduct, other; 5 % not classified), channel (portal, app,
  hotline, in person, mail), the commune it is about (the unit's own commune for a commune
  agency, else a commune of the unit's province: real GSO codes, ioc.reference);
* lifecycle against the limits of domain.md §2.6 (ioc.domain.pakn): some rejected (mostly
  within 2 working days), some asked for a supplement, answered (late for some, more when the
  dossier was late), the answer published (late for a few) with citizens' votes (more
  dislikes for late answers), a later vote update for some, some re-complained (more after
  dislikes), a few twice.

Deterministic for a seed and the same dossier events.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Callable, Iterable, Iterator

from ioc.clock import LOCAL_TZ
from ioc.domain.calendar import WorkingCalendar
from ioc.domain.pakn import ANSWER_WD, PUBLISH_WD, REJECT_WD, SUPPLEMENT_WD


@dataclass(frozen=True)
class PaknCalibration:
    per_dossier: float = 1 / 200  # petitions per dossier received
    linked_share: float = 0.30  # of petitions, naming a dossier
    late_dossier_factor: float = 8.0  # a late dossier draws a petition this many times as often
    late_dossier_share: float = 0.04  # about the dossier simulator's late share, to keep the rate
    unclassified: float = 0.05
    rejected: float = 0.07
    reject_late: float = 0.12
    supplement: float = 0.08
    supplement_late: float = 0.10
    answer_late: float = 0.08
    answer_late_if_dossier_late: float = 0.20
    publish_late: float = 0.08
    voted: float = 0.65
    disliked: float = 0.10
    disliked_if_late: float = 0.35
    vote_update: float = 0.25
    re_complained: float = 0.04
    re_complained_if_disliked: float = 0.25
    second_re_complaint: float = 0.25


_CHANNELS = (("portal", 0.40), ("app", 0.20), ("hotline", 0.20), ("in_person", 0.12), ("mail", 0.08))
_LINKED_CATEGORIES = (("procedure", 0.55), ("conduct", 0.25), ("regulation", 0.08), ("other", 0.12))
_GENERAL_CATEGORIES = (("regulation", 0.30), ("procedure", 0.30), ("conduct", 0.15), ("other", 0.25))


def _choice(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def default_communes(home: tuple[str, str | None]) -> Callable[[str], tuple[str, list[str]]]:
    """unit code -> (its own commune or "", the communes of its province), from the agency tree
    of the home province and, for other provinces' units, their standard trees."""
    from ioc.reference.agencies import agency_tree

    trees: dict[str, Any] = {}

    def tree_for(province_code: str) -> Any:
        if province_code not in trees:
            prefix = home[1] if province_code == home[0] else None
            trees[province_code] = agency_tree(province_code, prefix=prefix)
        return trees[province_code]

    cache: dict[str, tuple[str, list[str]]] = {}
    home_tree = tree_for(home[0])

    def lookup(unit_code: str) -> tuple[str, list[str]]:
        if unit_code in cache:
            return cache[unit_code]
        tree = home_tree
        if unit_code not in tree.by_code and not (home[1] and unit_code.startswith(home[1] + ".")):
            head = unit_code.split(".", 1)[0]  # H{GSO code} for the other provinces
            if head[1:].isdigit():
                try:
                    tree = tree_for(head[1:])
                except (KeyError, ValueError):
                    tree = home_tree
        agency = tree.by_code.get(unit_code)
        communes = sorted({a.serves_unit for a in tree.agencies if a.serves_level == "commune"})
        own = agency.serves_unit if agency is not None and agency.serves_level == "commune" else ""
        cache[unit_code] = (own, communes)
        return cache[unit_code]

    return lookup


class PaknSimulator:
    """Petition lifecycles that follow the dossier events it observes (module docstring)."""

    def __init__(self, seed: int = 1, home: tuple[str, str | None] = ("25", "H44"),
                 calibration: PaknCalibration = PaknCalibration(),
                 communes: Callable[[str], tuple[str, list[str]]] | None = None) -> None:
        self.rng = random.Random(f"pakn/{seed}")
        self.cal = calibration
        self.calendar = WorkingCalendar()
        self._communes = communes or default_communes(home)
        self._heap: list[tuple[datetime, int, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._daily: dict[str, int] = {}
        self._uuid_ns = uuid.uuid5(uuid.NAMESPACE_URL, f"ioc/pakn/{seed}")
        self._dossiers: dict[str, tuple[str, datetime | None]] = {}  # open dossier -> (unit, appointment)
        c = calibration
        general = c.per_dossier * (1 - c.linked_share)
        linked = c.per_dossier * c.linked_share
        self.p_general = general
        self.p_linked = linked / (1 - c.late_dossier_share + c.late_dossier_share * c.late_dossier_factor)

    # -- observing dossiers ------------------------------------------------------------------
    def observe(self, event: dict[str, Any]) -> None:
        """One dossier event (contracts.md §2 dict), in time order as the dossier simulator emits."""
        status, code = event.get("status"), str(event.get("dossier_code") or "")
        at = datetime.fromisoformat(event["occurred_at"])
        if status == 2:
            due = datetime.fromisoformat(event["due_at"]) if event.get("due_at") else None
            self._dossiers[code] = (event["unit_code"], due)
            if self.rng.random() < self.p_general:
                when = at + timedelta(days=self.rng.uniform(0.1, 8))
                self._petition(event["unit_code"], when, None, dossier_late=False)
        elif status in (9, 3, 7, 8):
            unit, due = self._dossiers.pop(code, (event.get("unit_code"), None))
            if status != 9 or unit is None:
                return
            late = due is not None and at > due
            p = self.p_linked * (self.cal.late_dossier_factor if late else 1.0)
            if self.rng.random() < p:
                self._petition(unit, at + timedelta(days=self.rng.uniform(0.05, 5)), code, dossier_late=late)

    def observe_all(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.observe(event)

    # -- one lifecycle -----------------------------------------------------------------------
    def _office_time(self, t: datetime) -> datetime:
        """The next office time at or after ``t`` (a petition sent in the evening is received
        the next working morning)."""
        local = t.astimezone(LOCAL_TZ)
        day, clock = local.date(), local.time()
        if self.calendar.is_working_day(day) and time(7, 30) <= clock <= time(16, 30):
            return local
        if not self.calendar.is_working_day(day) or clock > time(16, 30):
            day = self.calendar.next_working_day(day)
        return datetime.combine(day, time(7, 30), tzinfo=LOCAL_TZ) + timedelta(minutes=self.rng.uniform(5, 180))

    def _event(self, code: str, unit: str, status: str, at: datetime, **extra: Any) -> None:
        n = next(self._seq)
        event = {
            "event_id": str(uuid.uuid5(self._uuid_ns, f"{code}/{status}/{n}")),
            "pakn_code": code, "status": status,
            "occurred_at": at.astimezone(LOCAL_TZ).isoformat(timespec="seconds"), "unit_code": unit,
            **{k: v for k, v in extra.items() if v is not None},
        }
        heapq.heappush(self._heap, (at, n, event))

    def _within(self, start: datetime, due: datetime, late: bool) -> datetime:
        """A time for a step: before its limit (skewed early), or 0.1-8 days after it."""
        if late:
            return due + timedelta(days=self.rng.uniform(0.1, 8))
        span = max((due - start).total_seconds(), 600.0)
        return start + timedelta(seconds=span * min(0.999, self.rng.betavariate(1.6, 2.4)))

    def _petition(self, unit: str, when: datetime, dossier: str | None, dossier_late: bool) -> str:
        rng, cal = self.rng, self.cal
        received = self._office_time(when)
        day = received.astimezone(LOCAL_TZ).strftime("%y%m%d")
        self._daily[day] = self._daily.get(day, 0) + 1
        code = f"PAKN-{day}-{self._daily[day]:05d}"
        own, communes = self._communes(unit)
        commune = own or (rng.choice(communes) if communes else None)
        categories = _LINKED_CATEGORIES if dossier else _GENERAL_CATEGORIES
        category = None if rng.random() < cal.unclassified else _choice(rng, categories)
        self._event(code, unit, "received", received, category=category, channel=_choice(rng, _CHANNELS),
                    dossier_code=dossier, commune_code=commune)
        cal_ = self.calendar
        if rng.random() < cal.rejected:
            due = cal_.working_days_after(received, REJECT_WD)
            self._event(code, unit, "rejected", self._within(received, due, rng.random() < cal.reject_late))
            return code
        if rng.random() < cal.supplement:
            due = cal_.working_days_after(received, SUPPLEMENT_WD)
            self._event(code, unit, "supplement_requested",
                        self._within(received, due, rng.random() < cal.supplement_late))
        late_share = cal.answer_late_if_dossier_late if dossier_late else cal.answer_late
        answer_late = rng.random() < late_share
        answered = self._within(received, cal_.working_days_after(received, ANSWER_WD), answer_late)
        self._event(code, unit, "answered", answered)
        published = self._within(answered, cal_.working_days_after(answered, PUBLISH_WD),
                                 rng.random() < cal.publish_late)
        votes: dict[str, int] = {}
        disliked = False
        if rng.random() < cal.voted:
            disliked = rng.random() < (cal.disliked_if_late if answer_late or dossier_late else cal.disliked)
            likes = rng.randint(0, 6)
            dislikes = likes + rng.randint(1, 5) if disliked else rng.randint(0, likes)
            votes = {"likes": likes, "dislikes": dislikes}
        self._event(code, unit, "published", published, **votes)
        if votes and rng.random() < cal.vote_update:
            more = rng.randint(0, 3)
            self._event(code, unit, "published", published + timedelta(days=rng.uniform(1, 6)),
                        likes=votes["likes"] + (0 if disliked else more),
                        dislikes=votes["dislikes"] + (more if disliked else 0))
        if rng.random() < (cal.re_complained_if_disliked if disliked else cal.re_complained):
            first = published + timedelta(days=rng.uniform(0.5, 10))
            self._event(code, unit, "re_complained", first)
            if rng.random() < cal.second_re_complaint:
                self._event(code, unit, "re_complained", first + timedelta(days=rng.uniform(2, 15)))
        return code

    # -- output ------------------------------------------------------------------------------
    def due(self, until: datetime) -> Iterator[dict[str, Any]]:
        """Pop the scheduled petition events that happened by ``until``, in time order."""
        while self._heap and self._heap[0][0] <= until:
            yield heapq.heappop(self._heap)[2]

    @property
    def scheduled(self) -> int:
        return len(self._heap)
