import pytest
from pydantic import ValidationError

from ioc.services.catalogue import SYSTEMS
from ioc.services.prometheus import MetricMapping
from ioc.services.settings import BurnWindow, ServicesSettings

HASH = "a" * 64


def test_defaults_cover_every_catalogue_system():
    s = ServicesSettings()
    assert set(s.slo) == set(SYSTEMS)
    assert s.slo["payment"][0].objective == 0.999 and s.slo["portal"][0].objective == 0.995
    assert [(w.long_s, w.short_s, w.factor) for w in s.burn_windows] == [
        (3600, 300, 14.4), (21600, 1800, 6), (259200, 21600, 1)]


def test_yaml_shape_with_overrides_keeps_other_defaults():
    s = ServicesSettings.model_validate({
        "scrape": [{"name": "self", "system": "portal", "url": "http://127.0.0.1:8050/metrics",
                    "metrics": {"ioc_events_produced_total": "requests_total",
                                "lat_bucket": {"metric": "latency_seconds_bucket", "scale": 0.001}}}],
        "push": {"lgsp-vendor": {"token_sha256": HASH.upper(), "systems": ["lgsp"]}},
        "slo": {"portal": [{"objective": 0.99}, {"name": "latency", "sli": "latency",
                                                 "latency_threshold_s": 1, "objective": 0.95}],
                "parking": []},
    })
    assert s.scrape[0].mapping() == {"ioc_events_produced_total": MetricMapping(metric="requests_total"),
                                     "lat_bucket": MetricMapping(metric="latency_seconds_bucket", scale=0.001)}
    assert s.push["lgsp-vendor"].token_sha256 == HASH
    assert [d.name for d in s.slo["portal"]] == ["availability", "latency"]
    assert s.slo["parking"] == () and s.slo["motcua"][0].objective == 0.995


@pytest.mark.parametrize("data, problem", [
    ({"scrape": [{"name": "a", "system": "portl", "url": "http://x/metrics"}]}, "unknown system 'portl'"),
    ({"scrape": [{"name": "a", "system": "portal", "url": "ftp://x"}]}, "url"),
    ({"scrape": [{"name": "a", "system": "portal", "url": "http://x", "interval_s": 2, "timeout_s": 5}]},
     "must not exceed interval_s"),
    ({"scrape": [{"name": "a", "system": "portal", "url": "http://x"}] * 2}, "used twice"),
    ({"push": {"v": {"token_sha256": "secret-token", "systems": ["lgsp"]}}}, "never the token itself"),
    ({"slo": {"portal": [{"objective": 1.2}]}}, "less than 1"),
    ({"slo": {"portal": [{"sli": "latency", "objective": 0.9}]}}, "latency_threshold_s: required"),
    ({"slo": {"portal": [{"objective": 0.9}, {"objective": 0.99}]}}, "SLO names must be unique"),
    ({"burn_windows": [{"long_s": 300, "short_s": 3600, "factor": 2, "severity": "critical"}]}, "must be shorter"),
    ({"burn_windows": [{"long_s": 3605, "short_s": 300, "factor": 2, "severity": "critical"}]}, "multiple of resolution_s"),
    ({"sla": {}}, "Extra inputs are not permitted"),
])
def test_bad_settings_name_the_problem(data, problem):
    with pytest.raises(ValidationError) as err:
        ServicesSettings.model_validate(data)
    assert problem in str(err.value)


def test_burn_window_is_strict():
    with pytest.raises(ValidationError, match="factor"):
        BurnWindow(long_s=3600, short_s=300, factor=0, severity="critical")


DECLARED = {"name_vi": "Thư điện tử công vụ", "name_en": "Government e-mail", "kind": "requests",
            "figures": [{"metric": "mails_sent_total", "name_vi": "Thư gửi", "name_en": "Mails sent"}]}


def test_a_system_declared_by_settings_alone():
    s = ServicesSettings.model_validate({
        "systems": {"email": DECLARED, "hoinghi": {"name_vi": "Hội nghị truyền hình", "name_en": "Video conferencing",
                                                   "kind": "probe", "slo": [{"objective": 0.99}], "simulate": True}},
        "push": {"mail": {"token_sha256": HASH, "systems": ["email"]}},
        "slo": {"email": [{"objective": 0.98}]},
    })
    catalogue = s.catalogue()
    assert list(catalogue)[:10] == list(SYSTEMS) and list(catalogue)[10:] == ["email", "hoinghi"]
    email = catalogue["email"]
    assert email.declared and email.sli == "requests" and "requests_total" in email.metrics
    assert [f.metric for f in email.figures] == ["mails_sent_total"] and email.figures[0].counter
    assert catalogue["hoinghi"].sli == "probe" and catalogue["hoinghi"].incidents == ("outage",)
    assert s.slo["email"][0].objective == 0.98 and s.slo["hoinghi"][0].objective == 0.99
    assert s.slo["portal"][0].objective == 0.995  # the built-in defaults stay
    assert s.simulated_systems() == (*SYSTEMS, "hoinghi")
    assert ServicesSettings().catalogue() == dict(SYSTEMS)  # nothing declared: the ten


@pytest.mark.parametrize("data, problem", [
    ({"push": {"mail": {"token_sha256": HASH, "systems": ["email"]}}},
     "services.push.mail.systems: unknown system 'email'; valid systems: portal,"),
    ({"slo": {"emial": [{"objective": 0.9}]}, "systems": {"email": DECLARED}},
     "services.slo.emial: unknown system 'emial'"),
    ({"simulator": {"systems": ["email"]}}, "services.simulator.systems: unknown system 'email'"),
    ({"systems": {"portal": DECLARED}}, "services.systems: system 'portal' is built in"),
    ({"systems": {"E-mail": DECLARED}}, "systems.E-mail"),
    ({"systems": {"email": {**DECLARED, "kind": "links"}}}, "systems.email.kind"),
    ({"systems": {"email": {"name_en": "Mail"}}}, "systems.email.name_vi"),
    ({"systems": {"email": {**DECLARED, "figures": [{"metric": "bad metric", "name_vi": "a", "name_en": "b"}]}}},
     "systems.email.figures.0.metric"),
    ({"systems": {"email": {**DECLARED, "colour": "red"}}}, "systems.email.colour"),
    ({"systems": {"email": {**DECLARED, "slo": [{"objective": 0.9}]}}, "slo": {"email": []}},
     "services.systems.email.slo: its SLOs are also under services.slo.email"),
])
def test_declared_systems_errors_name_the_key(data, problem):
    with pytest.raises(ValidationError) as err:
        ServicesSettings.model_validate(data)
    assert problem in str(err.value).replace("\n  ", ".").replace("\n", " ")
