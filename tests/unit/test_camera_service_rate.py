"""The queue's waiting time joined with the dossier stream: reception rates from KPI snapshots."""

from __future__ import annotations

from camera.config import CameraConfig
from camera.service_rate import ReceptionRates
from camera.stack import CameraStack


def snapshot(partition: int, **received_today: int) -> dict:
    return {"partition": partition, "computed_at": "2026-11-23T09:00:00+07:00",
            "units": {unit.replace("_", "."): {"received_today": n, "in_processing": 1}
                      for unit, n in received_today.items()}}


def test_the_rate_is_the_growth_of_the_summed_partials_over_the_window():
    rates = ReceptionRates(window_s=1800, min_span_s=120)
    rates.observe_snapshot(snapshot(0, H44_101=10), at=0)
    rates.observe_snapshot(snapshot(1, H44_101=5), at=0)  # the unit's count is 10 + 5
    assert rates.per_minute("H44.101") is None  # no span yet
    rates.observe_snapshot(snapshot(0, H44_101=16), at=300)  # 21 five minutes later
    assert rates.per_minute("H44.101") == (21 - 10) * 60 / 300  # first sample (10: one partial seen)


def test_old_samples_leave_the_window_and_a_new_day_starts_again():
    rates = ReceptionRates(window_s=600, min_span_s=60)
    for minute, n in enumerate([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]):
        rates.observe("H44.07", n, at=minute * 60.0)
    assert rates.per_minute("H44.07") == 2.0  # 2 a minute over the last 10 minutes
    rates.observe("H44.07", 1, at=13 * 60.0)  # midnight: received today restarts
    assert rates.per_minute("H44.07") is None


class _Worker:
    def __init__(self) -> None:
        self.rates: dict[str, float | None] = {}

    def set_service_rate(self, zone: str, per_minute: float | None) -> None:
        self.rates[zone] = per_minute


def test_queue_zones_of_a_camera_at_a_unit_take_its_reception_rate():
    square = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
    counter = CameraConfig.model_validate({
        "source": "synthetic:", "unit": "H44.07",
        "zones": {"queue": {"coordinates": square, "queue": True, "service_rate_per_min": 0.5},
                  "hall": {"coordinates": square}}})
    elsewhere = CameraConfig.model_validate({"source": "synthetic:", "zones": {"q": {"coordinates": square, "queue": True}}})
    stack = CameraStack({"counter": counter, "street": elsewhere}, publisher=None)
    stack.workers = {"counter": _Worker(), "street": _Worker()}  # type: ignore[dict-item]
    rates = ReceptionRates(min_span_s=60)
    stack.join_reception_rates(rates)
    assert stack.workers["counter"].rates == {"queue": 0.5}  # no stream figure yet: the configured rate
    rates.observe("H44.07", 0, at=0)
    rates.observe("H44.07", 6, at=180)
    stack.join_reception_rates(rates)
    assert stack.workers["counter"].rates == {"queue": 2.0}  # the stream's: 6 in 3 minutes
    assert stack.workers["street"].rates == {}  # no unit: nothing to join
