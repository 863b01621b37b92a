"""A calibrated dossier-lifecycle simulator (figures from domain.md §3.2, tagged there [I]).

Arrivals: working days only, a morning peak (08:00-10:30) and a smaller afternoon one
(13:30-15:00), Monday busier than Friday, surges at month and quarter end and before Tết.
Online submissions happen at any hour, evenings and weekends included, and are received at
the next office hour. Each dossier then lives its whole life: reception with appointment,
processing, perhaps a supplement (rarely two), refusal, withdrawal or stop, and an end
early, on time or late (late more often for land and construction), the result returned,
digitisation, e-result, online payment and, for some, a rating or a complaint that follow
lateness and supplements. Deterministic for a seed.

The procedure's catalogue row in force on the reception day (ioc.reference.catalogue) shapes the
facts (contracts.md §2, §2d): no online channel where no online service is offered and more
where it is "toàn trình"; ``e_result`` only for procedures that issue a paper result;
``online_payment`` only for fee procedures, and only through the provincial gateway (2) where
the fee is not on the national payment platform; ``population_db`` only for procedures whose
subjects are citizens; ``dvcqg_store`` at reception; ``dvcqg_synced_at`` (the portal's
acknowledgement, minutes to hours after reception) on the next event, for most dossiers.

Units and procedures come from ioc.sim.population: official units, SAMPLE agency
identifiers and a SAMPLE procedure catalogue.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator

from ioc.clock import LOCAL_TZ
from ioc.domain.calendar import WorkingCalendar
from ioc.sim.population import Population, Procedure, Unit, population


@dataclass(frozen=True)
class Calibration:
    """Shares and rates, each from domain.md §3.1-3.2 (ranges there; a midpoint here)."""

    online: float = 0.52  # channel 2: 45-60 % (a procedure of unknown online service)
    online_full: float = 0.68  # a "toàn trình" procedure; none offered: never online
    online_partial: float = 0.48  # a "một phần" one; with the catalogue's mix, 45-60 % overall
    postal: float = 0.02  # channel 3: 1-3 %
    refused: float = 0.02  # refused at intake: 1-3 %
    supplement: float = 0.10  # supplement requested: 5-15 %
    second_supplement: float = 0.08  # of those: a second request (counts as overdue)
    withdrawn: float = 0.005  # < 1 %
    stopped: float = 0.003
    early: float = 0.62  # 55-70 %
    late: float = 0.025  # 1-5 % overall with the late-prone ones at x3.5 (up to 15 %)
    digitized: float = 0.82  # Lâm Đồng 2025: 82 %
    reused: float = 0.84  # Lâm Đồng 2025: 83.76 %
    population_db: float = 0.70
    e_result: float = 0.75
    paid_online: float = 0.78  # Lâm Đồng 2025: 78.61 % of fee-bearing dossiers
    rated: float = 0.30  # 20-40 % of completed dossiers are rated
    complaint: float = 0.004
    synced: float = 0.97  # acknowledged by the national portal (1.4): 95-99 %
    dvcqg_store: float = 0.40  # a component from / the result to the citizen's store on the portal (4.4)


# Relative arrival intensity by local half hour (in-person reception), and by weekday.
_HALF_HOURS: dict[time, float] = {
    time(7, 30): 0.6, time(8, 0): 1.3, time(8, 30): 1.6, time(9, 0): 1.7, time(9, 30): 1.6,
    time(10, 0): 1.4, time(10, 30): 1.0, time(11, 0): 0.7,
    time(13, 30): 1.0, time(14, 0): 1.2, time(14, 30): 1.1, time(15, 0): 0.8, time(15, 30): 0.6, time(16, 0): 0.4,
    time(16, 30): 0.25,
}
_WEEKDAY = (1.2, 1.05, 1.0, 0.95, 0.8, 0.5, 0.5)  # Saturday/Sunday only on swap working days


def season(day: date, calendar: WorkingCalendar) -> float:
    """Month and quarter ends and the weeks before Tết are busier."""
    factor = 1.0
    last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if (last - day).days < 3:
        factor *= 1.25 if day.month in (3, 6, 9, 12) else 1.15
    for tet in _tet_dates(day.year):
        if timedelta(0) < tet - day <= timedelta(days=14):
            factor *= 1.3
    return factor


def _tet_dates(year: int) -> list[date]:
    import holidays

    names = holidays.country_holidays("VN", years=[year, year + 1])
    return sorted(d for d, n in names.items() if "Lunar New Year" in n or "Tết" in n)[:1] or []


class DossierSimulator:
    """Events come out in time order from a schedule of whole lifecycles."""

    def __init__(self, seed: int = 1, people: Population | None = None,
                 calibration: Calibration = Calibration()) -> None:
        self.rng = random.Random(seed)
        self.population = people or population("province")
        self.cal = calibration
        self.calendar = WorkingCalendar()
        self._heap: list[tuple[datetime, int, dict[str, Any]]] = []
        self._n = 0  # the events scheduled so far: each one's tie-breaker and event-id salt
        self._daily: dict[tuple[str, str], int] = {}
        self._uuid_ns = uuid.UUID(int=seed)

    # -- one lifecycle -----------------------------------------------------------------
    def _event(self, code: str, unit: Unit, proc: Procedure, status: int, at: datetime, **extra: Any) -> None:
        n = self._n
        self._n += 1
        event = {
            "event_id": str(uuid.uuid5(self._uuid_ns, f"{code}/{status}/{n}")),
            "dossier_code": code, "status": status,
            "occurred_at": at.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
            "unit_code": unit.code, "procedure_code": proc.code,
            **{k: v for k, v in extra.items() if v is not None},
        }
        heapq.heappush(self._heap, (at, n, event))

    def _next_office_time(self, t: datetime) -> datetime:
        local = t.astimezone(LOCAL_TZ)
        day = local.date()
        for _ in range(30):
            if self.calendar.is_working_day(day):
                for start in sorted(_HALF_HOURS):
                    slot = datetime.combine(day, start, tzinfo=LOCAL_TZ)
                    if slot + timedelta(minutes=30) > local:
                        return max(slot, local) + timedelta(minutes=self.rng.uniform(5, 60))
            day += timedelta(days=1)
            local = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
        return t

    def new_dossier(self, received_at: datetime) -> str:
        """Schedule the whole lifecycle of a dossier received at ``received_at``."""
        rng, cal = self.rng, self.cal
        unit, proc = self.population.pick(rng)
        facts = self.population.facts(proc.code, received_at.astimezone(LOCAL_TZ).date())
        online = getattr(facts, "online", None)
        share = {"full": cal.online_full, "partial": cal.online_partial, "none": 0.0}.get(online or "", cal.online)
        r = rng.random()
        channel = 2 if r < share else 3 if r < share + cal.postal else 1
        at = received_at
        if channel == 2:
            # Submitted online at any hour (evenings, weekends); received at the next office time.
            submitted = at - timedelta(hours=rng.expovariate(1 / 10))
            at = max(at, self._next_office_time(submitted))
        local = at.astimezone(LOCAL_TZ)
        key = (unit.code, local.strftime("%y%m%d"))
        self._daily[key] = self._daily.get(key, 0) + 1
        code = f"{unit.code}-{key[1]}-{self._daily[key]:04d}"
        common = {"channel": channel, "agency_code": unit.code}
        if channel == 2:
            self._event(code, unit, proc, 1, submitted, **common)
        synced = rng.random() < cal.synced  # the portal acknowledges it before the next event

        def sync(until: datetime) -> str | None:
            return _iso(at + max(timedelta(minutes=1), (until - at) * rng.uniform(0.05, 1.0))) if synced else None

        if rng.random() < cal.refused:
            refused = at + timedelta(minutes=rng.uniform(5, 90))
            self._event(code, unit, proc, 3, refused, **common, dvcqg_synced_at=sync(refused))
            return code
        duration = proc.duration
        due = self.calendar.add_duration(at, duration.value, duration.unit)
        self._event(code, unit, proc, 2, at, due_at=due.isoformat(), **common,
                    legal_duration={"value": duration.value, "unit": duration.unit},
                    fee_amount=proc.fee, digitized=rng.random() < cal.digitized,
                    reused_data=rng.random() < cal.reused,
                    population_db=_unless(getattr(facts, "citizen_subject", None) is False,
                                          rng.random() < cal.population_db),
                    dvcqg_store=rng.random() < cal.dvcqg_store)
        span = max((due - at).total_seconds(), 3_600.0)
        t = at + timedelta(seconds=rng.uniform(60, min(span * 0.1, 4 * 3_600)))
        self._event(code, unit, proc, 4, t, dvcqg_synced_at=sync(t))
        supplements = 0
        paused = timedelta(0)
        if rng.random() < cal.supplement:
            supplements = 2 if rng.random() < cal.second_supplement else 1
            for _ in range(supplements):
                req = t + timedelta(seconds=span * rng.uniform(0.1, 0.35))
                self._event(code, unit, proc, 5, req)
                wait = timedelta(days=rng.uniform(0.3, 4))
                self._event(code, unit, proc, 4, req + wait)
                paused += wait
                t = req + wait
        r = rng.random()
        if r < cal.withdrawn:
            self._event(code, unit, proc, 7, t + timedelta(hours=rng.uniform(1, 48)))
            return code
        if r < cal.withdrawn + cal.stopped:
            self._event(code, unit, proc, 8, t + timedelta(hours=rng.uniform(1, 72)))
            return code
        late_share = cal.late * (3.5 if proc.late_prone else 1.0)
        r = rng.random()
        due_eff = due + paused  # the clock stood still during supplements
        if supplements > 1 or r < late_share:
            end = due_eff + timedelta(days=rng.uniform(0.1, 6))
            late = True
        elif r < late_share + cal.early:  # early: a working day or more before the appointment day
            end = at + (due_eff - at - timedelta(days=1)) * rng.uniform(0.15, 1.0)
            late = False
        else:  # on time: on the appointment day
            end = due_eff - timedelta(hours=rng.uniform(0.2, 8))
            late = False
        end = max(end, t + timedelta(minutes=10))
        paid_online = (rng.choice((1, 2)) if rng.random() < cal.paid_online else 0) if proc.fee else None
        if paid_online and getattr(facts, "fee_on_national_payment", None) is False:
            paid_online = 2  # not integrated with the national platform: the provincial gateway
        e_result = _unless(getattr(facts, "paper_result", None) is False, rng.random() < cal.e_result)
        self._event(code, unit, proc, 9, end, e_result=e_result, online_payment=paid_online)
        returned = end + timedelta(hours=rng.uniform(0.5, 30))
        rating = None
        if rng.random() < cal.rated:
            unhappy = 0.03 + (0.35 if late else 0) + (0.12 if supplements else 0)
            rating = "dissatisfied" if rng.random() < unhappy else rng.choices(("satisfied", "neutral"), (0.9, 0.1))[0]
        complaint = True if rng.random() < cal.complaint + (0.05 if late else 0) else None
        self._event(code, unit, proc, 10, returned, rating=rating, complaint=complaint)
        return code

    # -- arrivals ----------------------------------------------------------------------
    def day_intensity(self, day: date) -> float:
        """Expected share of a mean working day's dossiers received on ``day``."""
        if not self.calendar.is_working_day(day):
            return 0.0
        return _WEEKDAY[day.weekday()] * season(day, self.calendar)

    def backfill(self, start: datetime, end: datetime, per_working_day: float) -> int:
        """Schedule the receptions between ``start`` and ``end``; returns how many."""
        slots = sorted(_HALF_HOURS)
        weights = list(itertools.accumulate(_HALF_HOURS[s] for s in slots))
        n = 0
        day = start.astimezone(LOCAL_TZ).date()
        while day <= end.astimezone(LOCAL_TZ).date():
            mean = per_working_day * self.day_intensity(day)
            for _ in range(_poisson(self.rng, mean)):
                slot = self.rng.choices(slots, cum_weights=weights)[0]
                t = datetime.combine(day, slot, tzinfo=LOCAL_TZ) + timedelta(seconds=self.rng.uniform(0, 1800))
                if start <= t < end:
                    self.new_dossier(t)
                    n += 1
            day += timedelta(days=1)
        return n

    def due(self, until: datetime) -> Iterator[dict[str, Any]]:
        """Pop the scheduled events that happened by ``until``, in time order."""
        while self._heap and self._heap[0][0] <= until:
            yield heapq.heappop(self._heap)[2]

    @property
    def scheduled(self) -> int:
        return len(self._heap)

    # -- across restarts (ioc.sim.checkpoint) ----------------------------------------------
    def state(self) -> dict[str, Any]:
        """What the rest of the run depends on, JSON-ready: the random generator, the events
        scheduled and not yet due, the counters. The population and calendar follow the seed."""
        version, internal, gauss = self.rng.getstate()
        return {"rng": [version, list(internal), gauss], "n": self._n,
                "heap": [[at.isoformat(), n, event] for at, n, event in self._heap],
                "daily": [[unit, day, count] for (unit, day), count in self._daily.items()]}

    @classmethod
    def from_state(cls, state: dict[str, Any], seed: int, people: Population | None = None) -> "DossierSimulator":
        """The simulator :meth:`state` was taken from, as it was then."""
        sim = cls(seed, people)
        version, internal, gauss = state["rng"]
        sim.rng.setstate((version, tuple(internal), gauss))
        sim._n = int(state["n"])
        sim._heap = [(datetime.fromisoformat(at), int(n), event) for at, n, event in state["heap"]]
        heapq.heapify(sim._heap)
        sim._daily = {(unit, day): int(count) for unit, day, count in state["daily"]}
        return sim


def _iso(t: datetime) -> str:
    return t.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def _unless(not_applicable: bool, value: Any) -> Any:
    """``value``, or absent (None) where the fact does not apply to the procedure."""
    return None if not_applicable else value


def _poisson(rng: random.Random, mean: float) -> int:
    """Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
