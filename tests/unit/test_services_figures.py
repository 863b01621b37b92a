import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from ioc.services.figures import FigureBoard, histogram_quantile
from ioc.services.model import ServiceMetric
from ioc.services.simulator import ServiceSimulator

T0 = datetime(2026, 10, 6, 3, 0, tzinfo=timezone.utc)  # Tuesday 10:00 local
COMMUNES = tuple(f"0{i:04d}" for i in range(1, 11))


def test_histogram_quantile_interpolates_like_prometheus():
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, math.inf: 100.0}
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.7, buckets) == pytest.approx(0.1 + 0.4 * 20 / 40)
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.5 + 0.5 * 5 / 10)
    assert histogram_quantile(0.99, {0.1: 10.0, math.inf: 100.0}) == 0.1  # beyond the last bound
    assert histogram_quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None
    with pytest.raises(ValueError, match="quantile"):
        histogram_quantile(1.5, buckets)


def _m(system, metric, value, t, **kw):
    return ServiceMetric(system=system, metric=metric, value=value, time=t, **kw)


def test_figures_from_known_samples():
    board = FigureBoard(window_s=60)
    t1, t2 = T0, T0 + timedelta(seconds=30)
    for t, req, err, le05, docs, signed in ((t1, 1000, 10, 900, 100, 90), (t2, 1600, 16, 1380, 160, 141)):
        board.observe([_m("portal", "up", 1, t), _m("portal", "requests_total", req, t),
                       _m("portal", "errors_total", err, t),
                       _m("portal", "latency_seconds_bucket", le05, t, labels={"le": "0.5"}),
                       _m("portal", "latency_seconds_bucket", req, t, labels={"le": "+Inf"}),
                       _m("lienthong", "documents_exchanged_total", docs, t),
                       _m("lienthong", "documents_signed_total", signed, t),
                       _m("soc", "soc_alerts_total", req / 100, t, labels={"severity": "critical"}),
                       _m("wan", "link_up", 1, t, unit="00001"), _m("wan", "link_up", 0, t, unit="00002"),
                       _m("wan", "communes_connected", 1, t), _m("wan", "communes_count", 2, t)])
    fig = board.figures(t2)["systems"]
    portal = fig["portal"]
    assert portal["throughput_rps"] == pytest.approx(600 / 30)
    assert portal["error_rate"] == pytest.approx(6 / 600) and portal["availability"] == pytest.approx(594 / 600)
    assert portal["latency_p50_s"] == pytest.approx(0.5 * 300 / 480)
    assert fig["lienthong"]["documents_exchanged"] == 60 and fig["lienthong"]["signed_share"] == pytest.approx(51 / 60)
    assert fig["soc"]["soc_alerts"] == {"critical": 6, "high": 0, "medium": 0, "low": 0}
    assert (fig["wan"]["communes_connected"], fig["wan"]["communes_total"], fig["wan"]["communes_down"]) == (1, 2, ["00002"])
    assert fig["wan"]["availability"] == 0.5
    # The window slides: an hour later nothing is counted.
    later = board.figures(t2 + timedelta(hours=1))["systems"]["portal"]
    assert later["throughput_rps"] == 0 and later["error_rate"] is None


def test_every_simulated_system_has_json_ready_figures():
    sim, board = ServiceSimulator(seed=4, communes=COMMUNES), FigureBoard(window_s=300)
    now = T0
    for _ in range(40):
        now += timedelta(seconds=10)
        board.observe(sim.tick(now))
    figures = board.figures(now)
    json.dumps(figures)  # JSON-ready
    f = figures["systems"]
    for sid in ("portal", "motcua", "lgsp", "payment", "parking"):
        assert 0.98 < f[sid]["availability"] <= 1 and f[sid]["latency_p50_s"] < f[sid]["latency_p99_s"]
        assert f[sid]["throughput_rps"] > 0
    assert 0.8 < f["lienthong"]["signed_share"] < 1
    assert f["chukyso"]["signatures"] > 0 and f["dvcqg_sync"]["sync_lag_s"] > 0
    assert f["wan"]["communes_connected"] == f["wan"]["communes_total"] == len(COMMUNES)
    assert set(f["soc"]["soc_alerts"]) == {"critical", "high", "medium", "low"}
    assert f["parking"]["spaces_occupied"] <= f["parking"]["spaces_total"]
    assert f["portal"]["name_vi"] == "Cổng Dịch vụ công trực tuyến tỉnh"
