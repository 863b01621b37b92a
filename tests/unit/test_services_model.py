from datetime import datetime, timezone

import pytest

from ioc.services.model import CounterDeltas, MetricRejected, ServiceMetric, from_wire, parse_metric

GOOD = {"system": "portal", "metric": "requests_total", "value": 12.0, "time": "2026-10-06T10:00:00+07:00"}


def test_parse_keeps_fields_and_stores_utc():
    m = parse_metric({**GOOD, "unit": "04792", "labels": {"route": "/nop-ho-so"}})
    assert m.time == datetime(2026, 10, 6, 3, 0, tzinfo=timezone.utc)
    assert m.unit == "04792" and m.label("route") == "/nop-ho-so"


@pytest.mark.parametrize("change, field, problem", [
    ({"time": "2026-10-06T10:00:00"}, "time", "UTC offset"),
    ({"value": "many"}, "value", "valid number"),
    ({"value": float("nan")}, "value", "finite"),
    ({"system": ""}, "system", "pattern"),
    ({"metric": "bad name"}, "metric", "pattern"),
    ({"labels": {"a": 1}}, "labels.a", "valid string"),
    ({"extra": 1}, "extra", "not permitted"),
])
def test_rejection_names_field(change, field, problem):
    with pytest.raises(MetricRejected) as err:
        parse_metric({**GOOD, **change})
    assert err.value.reason.startswith(f"{field}: ")
    assert problem in err.value.reason


def test_non_object_and_missing_field():
    with pytest.raises(MetricRejected, match="expected a JSON object, got list"):
        parse_metric([GOOD])
    with pytest.raises(MetricRejected, match="value: Field required"):
        parse_metric({k: v for k, v in GOOD.items() if k != "value"})


def test_wire_round_trip_is_compact_and_exact():
    m = parse_metric({**GOOD, "unit": "04792", "labels": {"le": "0.5"}})
    wire = m.to_wire()
    assert set(wire) == {"s", "m", "u", "l", "v", "t"}
    assert from_wire(wire) == m
    bare = parse_metric(GOOD).to_wire()
    assert "u" not in bare and "l" not in bare
    assert from_wire(bare) == parse_metric(GOOD)


def test_wire_errors_use_full_names():
    wire = parse_metric(GOOD).to_wire()
    with pytest.raises(MetricRejected, match="^time: expected epoch milliseconds"):
        from_wire({**wire, "t": "yesterday"})
    with pytest.raises(MetricRejected, match="^x: unknown key"):
        from_wire({**wire, "x": 1})
    with pytest.raises(MetricRejected, match="^value: "):
        from_wire({**wire, "v": "n/a"})


def test_counter_deltas_baseline_increase_and_reset():
    d = CounterDeltas()
    at = datetime(2026, 10, 6, tzinfo=timezone.utc)

    def s(v: float, **labels: str) -> ServiceMetric:
        return ServiceMetric(system="portal", metric="requests_total", value=v, time=at, labels=labels)

    assert d.delta(s(100)) == 0  # first sight: baseline
    assert d.delta(s(130)) == 30
    assert d.delta(s(5, route="x")) == 0  # another series
    assert d.delta(s(12)) == 12  # the exporter restarted
