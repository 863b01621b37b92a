"""The pure parts of `ioc bench pipeline`'s new reports (issue #15): the national mode's
dossiers and the RSS extrapolation. The speeds themselves are the benchmark's, never asserted here."""

from __future__ import annotations

import pytest

from ioc.bench.pipeline import PROVINCE_UNITS, bench_events, national_units, rss_mb_per_million
from ioc.domain.events import decode_events
from ioc.sim.population import population


def test_national_units_are_every_province_of_the_national_rehearsal() -> None:
    units = national_units()
    rehearsal = population("national").units
    assert set(units) == set(rehearsal)
    assert len({rehearsal[u].province_code for u in units}) == 34


def test_national_events_cover_every_unit_in_turn_as_new_dossiers() -> None:
    units = national_units()
    events = bench_events(len(units) + 5, start=7, units=units)
    assert {e["unit_code"] for e in events} == set(units)
    assert len({e["dossier_code"] for e in events}) == len(events)  # each a new dossier
    assert all(e["dossier_code"].startswith(e["unit_code"] + "-") for e in events)
    assert events[0]["unit_code"] == units[7 % len(units)]
    rehearsal = population("national").units
    per_province: dict[str, int] = {}
    for e in events[: len(units)]:
        code = rehearsal[e["unit_code"]].province_code
        per_province[code] = per_province.get(code, 0) + 1
    assert len(per_province) == 34


def test_bench_events_decode_as_valid_receptions() -> None:
    import json

    events = bench_events(300, units=national_units())
    decoded = decode_events(json.dumps(events).encode())
    assert not decoded.rejected and len(decoded.events) == 300
    province = bench_events(300)
    assert {e["unit_code"] for e in province} == set(PROVINCE_UNITS)


def test_rss_extrapolation_per_million() -> None:
    assert rss_mb_per_million(100_000_000, 150_000_000, 100_000) == pytest.approx(500.0)
    assert rss_mb_per_million(200_000_000, 230_000_000, 250_000) == pytest.approx(120.0)
    assert rss_mb_per_million(200_000_000, 190_000_000, 1_000) == 0.0  # pages given back: no growth
    with pytest.raises(ValueError):
        rss_mb_per_million(1, 2, 0)
