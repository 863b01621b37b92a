"""A dossier-lifecycle simulator: arrivals in office hours, reception, processing,
supplements, and an end early, on time or late against the appointment.

SAMPLE DATA: the units and procedures below are illustrative (codes in the national
formats, figures from domain.md §3.2); the calibrated, country-scale simulator and the
real reference data belong to the Decision 766 work.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Iterator

from ioc.domain.calendar import WorkingCalendar
from ioc.domain.outcome import LOCAL_TZ


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    working_days: int


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    weight: float  # share of the province's dossiers


SAMPLE_UNITS = (
    Unit("H44.07", "Sở Công Thương", 0.08),
    Unit("H44.08", "Sở Giáo dục và Đào tạo", 0.06),
    Unit("H44.21", "Sở Nông nghiệp và Môi trường", 0.14),
    Unit("H44.30", "Sở Tư pháp", 0.10),
    Unit("H44.101", "UBND Phường Nông Trang", 0.16),
    Unit("H44.102", "UBND Phường Thanh Miếu", 0.14),
    Unit("H44.104", "UBND xã Hy Cương", 0.10),
    Unit("H44.105", "UBND xã Xuân Lũng", 0.08),
    Unit("H44.125", "UBND xã Chân Mộng", 0.07),
    Unit("H44.132", "UBND xã Văn Lang", 0.07),
)

SAMPLE_PROCEDURES = (
    Procedure("1.001612", "Đăng ký khai sinh", 1),
    Procedure("2.000815", "Chứng thực bản sao từ bản chính", 1),
    Procedure("1.012756", "Đăng ký đất đai lần đầu", 17),
    Procedure("1.001193", "Đăng ký thành lập hộ kinh doanh", 3),
    Procedure("1.009994", "Cấp giấy phép xây dựng nhà ở riêng lẻ", 7),
    Procedure("1.004227", "Cấp phiếu lý lịch tư pháp", 10),
)

OFFICE_HOURS = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))


def in_office_hours(at: datetime, calendar: WorkingCalendar) -> bool:
    local = at.astimezone(LOCAL_TZ)
    return calendar.is_working_day(local) and any(a <= local.time() < b for a, b in OFFICE_HOURS)


class DossierSimulator:
    """Deterministic for a given seed: events come out in time order from a schedule."""

    def __init__(self, seed: int = 1, units: tuple[Unit, ...] = SAMPLE_UNITS,
                 procedures: tuple[Procedure, ...] = SAMPLE_PROCEDURES) -> None:
        self.rng = random.Random(seed)
        self.units = units
        self.procedures = procedures
        self._weights = [u.weight for u in units]
        self._heap: list[tuple[datetime, int, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._daily: dict[tuple[str, str], int] = {}
        self._uuid_ns = uuid.UUID(int=seed)
        self.calendar = WorkingCalendar()

    # -- scheduling --------------------------------------------------------------------
    def _event(self, code: str, unit: Unit, proc: Procedure, status: int, at: datetime, **extra: Any) -> None:
        n = next(self._seq)
        event = {
            "event_id": str(uuid.uuid5(self._uuid_ns, f"{code}/{status}/{n}")),
            "dossier_code": code,
            "status": status,
            "occurred_at": at.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
            "unit_code": unit.code,
            "procedure_code": proc.code,
            **extra,
        }
        heapq.heappush(self._heap, (at, n, event))

    def new_dossier(self, at: datetime) -> None:
        """Schedule the whole lifecycle of a dossier received at ``at``."""
        rng = self.rng
        unit = rng.choices(self.units, self._weights)[0]
        proc = rng.choice(self.procedures)
        local = at.astimezone(LOCAL_TZ)
        key = (unit.code, local.strftime("%y%m%d"))
        self._daily[key] = self._daily.get(key, 0) + 1
        code = f"{unit.code}-{key[1]}-{self._daily[key]:04d}"
        channel = rng.choices((1, 2, 3), (0.45, 0.53, 0.02))[0]
        due = self.calendar.add_working_days(at, proc.working_days)
        common = {"channel": channel, "agency_code": unit.code}
        if channel == 2:
            self._event(code, unit, proc, 1, at - timedelta(minutes=rng.uniform(5, 600)), **common)
        if rng.random() < 0.02:  # refused at intake
            self._event(code, unit, proc, 3, at, **common)
            return
        self._event(code, unit, proc, 2, at, due_at=due.isoformat(), **common,
                    legal_duration={"value": proc.working_days, "unit": "working_day"},
                    digitized=rng.random() < 0.8)
        span = (due - at).total_seconds()
        t = at + timedelta(seconds=rng.uniform(60, 1800))
        self._event(code, unit, proc, 4, t)
        if rng.random() < 0.08:  # supplement requested, completed a few days later
            req = t + timedelta(seconds=span * rng.uniform(0.1, 0.4))
            self._event(code, unit, proc, 5, req)
            done = req + timedelta(days=rng.uniform(0.5, 3))
            self._event(code, unit, proc, 4, done)
            t = done
        if rng.random() < 0.006:
            self._event(code, unit, proc, 7, t + timedelta(hours=rng.uniform(1, 48)))
            return
        r = rng.random()
        if r < 0.62:  # early: a day or more before the appointment day
            end = at + timedelta(seconds=max(span - 86_400, 600) * rng.uniform(0.2, 1.0))
        elif r < 0.96:  # on time: on the appointment day
            end = due - timedelta(hours=rng.uniform(0.2, 8))
        else:  # late
            end = due + timedelta(days=rng.uniform(0.1, 5))
        end = max(end, t + timedelta(minutes=5))
        self._event(code, unit, proc, 9, end, e_result=rng.random() < 0.7,
                    online_payment=rng.choices((0, 1, 2), (0.3, 0.4, 0.3))[0])
        returned = end + timedelta(hours=rng.uniform(0.5, 30))
        self._event(code, unit, proc, 10, returned,
                    rating=rng.choices(("satisfied", "neutral", "dissatisfied"), (0.85, 0.1, 0.05))[0]
                    if rng.random() < 0.3 else None)

    def backfill(self, start: datetime, end: datetime, per_working_day: int) -> None:
        """Schedule the arrivals of office hours between ``start`` and ``end``."""
        minutes = sum((b.hour * 60 + b.minute) - (a.hour * 60 + a.minute) for a, b in OFFICE_HOURS)
        rate_per_s = per_working_day / (minutes * 60)
        t = start
        while True:
            t += timedelta(seconds=self.rng.expovariate(rate_per_s))
            while not in_office_hours(t, self.calendar) and t < end:
                t += timedelta(minutes=15)
            if t >= end:
                return
            self.new_dossier(t)

    def due(self, until: datetime) -> Iterator[dict[str, Any]]:
        """Pop the scheduled events that happened by ``until``, in time order."""
        while self._heap and self._heap[0][0] <= until:
            event = heapq.heappop(self._heap)[2]
            yield {k: v for k, v in event.items() if v is not None}

    @property
    def scheduled(self) -> int:
        return len(self._heap)
