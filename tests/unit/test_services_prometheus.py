import math
from datetime import datetime, timezone

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ioc.services.prometheus import ExpositionRejected, MetricMapping, parse_exposition, up_sample

NOW = datetime(2026, 10, 6, 3, 0, tzinfo=timezone.utc)


def _pipeline_like_registry(produced: float, dead: float) -> CollectorRegistry:
    """The same families dashboards/server.py's PipelineCollector exposes on /metrics."""

    class Collector:
        def collect(self):
            for name, value in (("ioc_events_produced", produced), ("ioc_events_consumed", produced),
                                ("ioc_events_dead_lettered", dead), ("ioc_events_stored", produced - dead)):
                fam = CounterMetricFamily(name, "help")
                fam.add_metric([], value)
                yield fam
            gauge = GaugeMetricFamily("ioc_kpi_snapshot_age_seconds", "age")
            gauge.add_metric([], float("nan"))
            yield gauge

    registry = CollectorRegistry()
    registry.register(Collector())
    return registry


def test_project_metrics_map_to_model_metrics():
    text = generate_latest(_pipeline_like_registry(1234, 7)).decode()
    mapping = {"ioc_events_produced_total": MetricMapping(metric="requests_total"),
               "ioc_events_dead_lettered_total": MetricMapping(metric="errors_total"),
               "ioc_kpi_snapshot_age_seconds": MetricMapping(metric="snapshot_age_seconds")}
    samples = parse_exposition(text, "portal", NOW, mapping)
    by_metric = {s.metric: s.value for s in samples}
    # The NaN gauge (no snapshot yet) is skipped, unmapped names are dropped.
    assert by_metric == {"requests_total": 1234.0, "errors_total": 7.0}
    assert all(s.system == "portal" and s.time == NOW for s in samples)


def test_without_mapping_every_sample_keeps_its_name():
    names = {s.metric for s in parse_exposition(generate_latest(_pipeline_like_registry(5, 1)).decode(), "x", NOW)}
    assert {"ioc_events_produced_total", "ioc_events_stored_total"} <= names


def test_histogram_labels_unit_label_and_scale():
    registry = CollectorRegistry()
    h = Histogram("http_duration_ms", "latency", ["commune", "route"], buckets=(100, 500), registry=registry)
    for ms in (50, 80, 300, 900):
        h.labels(commune="04792", route="/a").observe(ms)
    g = Gauge("queue_depth", "depth", registry=registry)
    g.set(3)
    c = Counter("hits", "hits", registry=registry)
    c.inc(2)
    text = generate_latest(registry).decode()
    mapping = {"http_duration_ms_bucket": MetricMapping(metric="latency_seconds_bucket", unit_label="commune",
                                                        keep_labels=("le",)),
               "http_duration_ms_sum": MetricMapping(metric="latency_seconds_sum", scale=0.001,
                                                     unit_label="commune", keep_labels=("le",)),
               "queue_depth": MetricMapping(metric="depth"), "hits_total": MetricMapping(metric="hits_total")}
    samples = parse_exposition(text, "motcua", NOW, mapping)
    buckets = {s.labels["le"]: s.value for s in samples if s.metric == "latency_seconds_bucket"}
    assert buckets == {"100.0": 2.0, "500.0": 3.0, "+Inf": 4.0}
    assert {s.unit for s in samples if s.metric.startswith("latency")} == {"04792"}
    assert all("route" not in s.labels for s in samples)
    total_s = next(s.value for s in samples if s.metric == "latency_seconds_sum")
    assert math.isclose(total_s, 1.33)
    assert next(s.value for s in samples if s.metric == "depth") == 3
    assert next(s.value for s in samples if s.metric == "hits_total") == 2


def test_sample_timestamps_are_used():
    text = "# TYPE temp gauge\ntemp 21.5 1790000000000\n"
    (s,) = parse_exposition(text, "parking", NOW)
    assert s.time == datetime.fromtimestamp(1_790_000_000, tz=timezone.utc)


def test_garbage_is_rejected_clearly():
    with pytest.raises(ExpositionRejected, match="not Prometheus text exposition"):
        parse_exposition("this is { not metrics\n", "portal", NOW)


def test_up_sample():
    assert up_sample("lgsp", True, NOW).value == 1.0
    assert up_sample("lgsp", False, NOW).value == 0.0


def test_the_real_pipeline_collector_output():
    """dashboards/server.py's own collector, over a minimal live state."""
    from dashboards.server import PipelineCollector

    class State:
        def counter_total(self, component: str, counter: str) -> float:
            return {"produced": 900.0, "dead_lettered": 3.0}.get(counter, 0.0)

        def age_s(self) -> float:
            return 1.5

    registry = CollectorRegistry()
    registry.register(PipelineCollector(State()))
    mapping = {"ioc_events_produced_total": MetricMapping(metric="requests_total"),
               "ioc_events_dead_lettered_total": MetricMapping(metric="errors_total"),
               "ioc_kpi_snapshot_age_seconds": MetricMapping(metric="snapshot_age_seconds")}
    samples = parse_exposition(generate_latest(registry).decode(), "portal", NOW, mapping)
    assert {s.metric: s.value for s in samples} == {"requests_total": 900.0, "errors_total": 3.0,
                                                    "snapshot_age_seconds": 1.5}
