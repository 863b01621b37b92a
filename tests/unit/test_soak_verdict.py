"""The soak's verdict (ioc/bench/soak.py) on synthetic samples: a leak fails naming the metric,
a GC sawtooth and scenes of different sizes pass, a console error fails."""

from __future__ import annotations

import math

from ioc.bench.soak import judge, main, mid_slot, summary_table, window_size

SCENES = ("scorecard", "flow", "map", "services", "cameras", "alerts")
DOM = {"scorecard": 330, "flow": 370, "map": 900, "services": 164, "cameras": 178, "alerts": 186}


def samples(n: int = 60, interval: float = 60.0, heap=lambda i: 15e6, dom=None, rss=lambda i: 600e6,
            fds=lambda i: 100, errors=lambda i: []) -> list[dict]:
    out = []
    for i in range(n):
        scene = SCENES[(i * 3 + i // 7) % len(SCENES)]  # an uneven visit of the playlist
        out.append({"t_s": (i + 1) * interval, "scene": scene, "js_heap": heap(i),
                    "dom_nodes": dom(i, scene) if dom else DOM[scene], "live_nodes": DOM[scene] * 1.6,
                    "web_rss": rss(i), "web_fds": fds(i), "browser_rss": 1e9, "console_errors": errors(i)})
    return out


def test_steady_samples_pass():
    v = judge(samples(), warmup_s=600)
    assert v.ok, v.failures
    assert v.judged == 51 and v.window == 5
    assert {r["metric"] for r in v.rows} == {"js_heap", "dom_nodes", "live_nodes", "web_rss", "web_fds"}
    assert "js_heap MB" in summary_table(v)


def test_a_leak_fails_naming_the_metric():
    v = judge(samples(heap=lambda i: 15e6 + i * 0.1e6), warmup_s=600)  # +0.1 MB a minute: +33 % in 50 min
    assert not v.ok
    assert len(v.failures) == 1 and v.failures[0].startswith("FAIL js_heap: grew +"), v.failures
    v = judge(samples(fds=lambda i: 100 + i // 3), warmup_s=600)  # a descriptor lost every 3 minutes
    assert [f.split(":")[0] for f in v.failures] == ["FAIL web_fds"]


def test_skipped_metrics_are_reported_not_judged():
    v = judge(samples(rss=lambda i: 600e6 + i * 10e6), warmup_s=600, skip=("web_rss",))
    assert v.ok and next(r for r in v.rows if r["metric"] == "web_rss")["growth"] > 0.5
    assert "(not judged)" in summary_table(v)


def test_growth_during_the_warm_up_is_not_judged():
    v = judge(samples(rss=lambda i: 300e6 + min(i, 9) * 30e6), warmup_s=600)  # settles after 10 min
    assert v.ok, v.failures


def test_a_gc_sawtooth_passes():
    # The heap climbs 40 % between collections and drops back: whatever phase the samples hit.
    saw = lambda i: 15e6 * (1 + 0.4 * ((i * 7) % 10) / 10)  # noqa: E731
    assert judge(samples(heap=saw), warmup_s=600).ok
    # Single samples at a peak (a fifth of them, 2.7 times the floor) do not move the median.
    spikes = lambda i: 40e6 if i % 5 == 0 else 15e6  # noqa: E731
    assert judge(samples(heap=spikes), warmup_s=600).ok


def test_scenes_of_different_sizes_are_compared_like_with_like():
    # The first windows show small scenes only, the last ones the map: no growth for all that.
    early_small = samples()
    for i, s in enumerate(early_small):
        s["scene"] = ("alerts", "services")[i % 2] if i < 20 else ("alerts", "map")[i % 2]
        s["dom_nodes"], s["live_nodes"] = DOM[s["scene"]], DOM[s["scene"]] * 1.6
        s["js_heap"] = 15e6 if s["scene"] != "map" else 19e6
    v = judge(early_small, warmup_s=600)
    assert v.ok, v.failures
    assert [window_size(n) for n in (1, 2, 5, 6, 51, 120)] == [1, 1, 2, 3, 5, 12]


def test_one_scene_that_keeps_growing_fails_naming_it():
    v = judge(samples(dom=lambda i, scene: DOM[scene] + (i * 8 if scene == "alerts" else 0)), warmup_s=600)
    assert [f.split(":")[0] for f in v.failures] == ["FAIL dom_nodes"], v.failures
    assert "scene alerts" in v.failures[0]


def test_small_absolute_changes_are_not_leaks():
    v = judge(samples(fds=lambda i: 30 if i < 30 else 33), warmup_s=600)  # +10 %, +3 descriptors
    assert v.ok, v.failures


def test_a_console_error_fails():
    v = judge(samples(errors=lambda i: ["http://x/_dash-update-component - Failed to load resource: "
                                        "the server responded with a status of 500"] if i == 40 else []),
              warmup_s=600)
    assert not v.ok
    assert v.failures[0].startswith("FAIL console: 1 browser console error(s), the first at 41.0 min: http://x/")
    # ...during the warm-up too: an error is an error.
    assert not judge(samples(errors=lambda i: ["boom"] if i == 1 else []), warmup_s=600).ok


def test_too_few_samples_fail():
    v = judge(samples(n=5), warmup_s=600)
    assert not v.ok and v.failures[-1].startswith("FAIL samples: 0 sample(s) after the warm-up")


def test_samples_sit_in_the_middle_of_a_playlist_slot():
    assert mid_slot(100.0, 95.0, 20.0) == 105.0
    assert mid_slot(106.0, 95.0, 20.0) == 125.0
    assert mid_slot(106.0, None, 20.0) == 106.0
    assert math.isclose(mid_slot(1e9 + 0.3, 1e9 - 400.0, 20.0) % 20.0, (1e9 - 390.0) % 20.0)


def test_bad_flags_are_one_line(capsys):
    assert main(["--minutes", "5", "--warmup-minutes", "5"]) == 2
    assert main(["--interval", "1"]) == 2
    assert main(["--skip", "web_rss,rss"]) == 2
    assert capsys.readouterr().err.count("\n") == 3
