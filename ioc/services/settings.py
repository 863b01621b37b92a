"""The ``services`` section of the settings file: sources, SLOs, burn-rate alerting.

Example::

    services:
      scrape:
        - {name: ioc-self, system: portal, url: "http://127.0.0.1:8050/metrics", interval_s: 15,
           metrics: {ioc_events_produced_total: requests_total,
                     ioc_events_dead_lettered_total: errors_total}}
      push:
        lgsp-vendor: {token_sha256: "<sha256 of its token>", systems: [lgsp]}
      slo:
        portal:
          - {name: availability, objective: 0.995, window_days: 30}
          - {name: latency, sli: latency, latency_threshold_s: 1.0, objective: 0.99}

Every catalogue system has a default availability SLO; listing a system replaces its SLOs
(an empty list turns them off).

Systems beyond the built-in ten are declared here, by configuration alone (no code)::

    services:
      systems:
        email:
          name_vi: Hệ thống thư điện tử công vụ
          name_en: Government e-mail
          kind: requests                # or probe (up/down only)
          figures:                      # shown on its wall card; counters as today's increase
            - {metric: mails_sent_total, name_vi: Thư gửi hôm nay, name_en: Mails sent today}
            - {metric: mailboxes_active, name_vi: Hộp thư hoạt động, name_en: Active mailboxes}
          slo: [{objective: 0.99}]      # default: availability 99.5 %
          simulate: false               # true: the services simulator makes it up for a demo
      push:
        mail-server: {token_sha256: "<sha256 of its token>", systems: [email]}

A declared system gets a wall card, SLO burn-rate and hard-down alerts like a built-in one;
its figures arrive pushed (POST /api/v1/metrics), scraped, or simulated.
"""

from __future__ import annotations

import re
from typing import Annotated, Iterable, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

from ioc.alerts.book import DEFAULT_INHIBIT_RULES, EscalationPolicy, InhibitRule
from ioc.services.catalogue import SYSTEMS, AvailabilitySli, FigureSpec, Profile, SystemSpec, declared_system, with_declared
from ioc.services.model import NAME_PATTERN
from ioc.services.prometheus import MetricMapping


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Checked against the catalogue (built-in and declared systems) by ServicesSettings, which
# names the key of an unknown one.
SystemId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


def _comma_list(value: object) -> object:
    """"a, b" (an environment variable) -> ("a", "b"); lists pass unchanged."""
    return tuple(p.strip() for p in value.split(",") if p.strip()) if isinstance(value, str) else value
SourceName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


class ScrapeSource(StrictModel):
    """A Prometheus text endpoint polled over HTTP."""

    name: SourceName
    system: SystemId
    url: str = Field(pattern=r"^https?://\S+$", description="the /metrics URL")
    interval_s: float = Field(15.0, ge=1, le=3600)
    timeout_s: float = Field(5.0, gt=0, le=60)
    metrics: dict[str, str | MetricMapping] = Field(
        default_factory=dict, description="exposed sample name -> our metric id (or a mapping); empty keeps all")

    def mapping(self) -> dict[str, MetricMapping] | None:
        if not self.metrics:
            return None
        return {k: v if isinstance(v, MetricMapping) else MetricMapping(metric=v) for k, v in self.metrics.items()}

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> "ScrapeSource":
        if self.timeout_s > self.interval_s:
            raise ValueError(f"timeout_s ({self.timeout_s}) must not exceed interval_s ({self.interval_s})")
        return self


class PushSource(StrictModel):
    """A system that POSTs samples as JSON with a bearer token."""

    token_sha256: str = Field(description="SHA-256 hex of its bearer token, never the token")
    systems: tuple[SystemId, ...] = Field(min_length=1, description="systems it may report for")

    @field_validator("token_sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", v):
            raise ValueError("must be the SHA-256 of the source's token as 64 hex digits, never the token itself")
        return v.lower()


class SloDefinition(StrictModel):
    name: str = Field("availability", pattern=r"^[a-z][a-z0-9_]{0,39}$")
    sli: Literal["availability", "latency"] = "availability"
    objective: float = Field(gt=0, lt=1, description="share of good events, e.g. 0.995")
    window_days: int = Field(30, ge=1, le=366, description="the SLO period")
    latency_threshold_s: float | None = Field(None, gt=0, description="latency SLI: good when at most this")

    @model_validator(mode="after")
    def _threshold_matches_sli(self) -> "SloDefinition":
        if self.sli == "latency" and self.latency_threshold_s is None:
            raise ValueError("latency_threshold_s: required for a latency SLO")
        if self.sli == "availability" and self.latency_threshold_s is not None:
            raise ValueError("latency_threshold_s: only for a latency SLO")
        return self

    @property
    def budget(self) -> float:
        return 1 - self.objective


class BurnWindow(StrictModel):
    """Alert when the burn rate is at least ``factor`` over both windows (SRE workbook ch. 5)."""

    long_s: float = Field(gt=0)
    short_s: float = Field(gt=0)
    factor: float = Field(gt=0)
    severity: Literal["critical", "warning"]

    @model_validator(mode="after")
    def _short_below_long(self) -> "BurnWindow":
        if self.short_s >= self.long_s:
            raise ValueError(f"short_s ({self.short_s}) must be shorter than long_s ({self.long_s})")
        return self


# The workbook's recommendation for a 30-day SLO: 2 % of the budget in 1 h, 5 % in 6 h page;
# 10 % in 3 days opens a ticket.
DEFAULT_BURN_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow(long_s=3600, short_s=300, factor=14.4, severity="critical"),
    BurnWindow(long_s=6 * 3600, short_s=1800, factor=6, severity="critical"),
    BurnWindow(long_s=3 * 86400, short_s=6 * 3600, factor=1, severity="warning"),
)
# Money and security tolerate less: 43 minutes of outage a month instead of 3.6 hours.
DEFAULT_OBJECTIVES = {"payment": 0.999, "soc": 0.999}


def default_slos(systems: Iterable[str] = SYSTEMS) -> dict[str, tuple[SloDefinition, ...]]:
    return {sid: (SloDefinition(objective=DEFAULT_OBJECTIVES.get(sid, 0.995)),) for sid in systems}


class DeclaredFigure(StrictModel):
    metric: str = Field(pattern=NAME_PATTERN, description="the metric id as reported (counters end in _total)")
    name_vi: str = Field(min_length=1, max_length=80)
    name_en: str = Field(min_length=1, max_length=80)


class DeclaredSystem(StrictModel):
    """A system added by configuration: measured like a built-in system of its kind."""

    name_vi: str = Field(min_length=1, max_length=120)
    name_en: str = Field(min_length=1, max_length=120)
    kind: Literal["requests", "probe"] = Field("requests", description="requests: availability from requests_total "
                                               "and errors_total; probe: from up (1 or 0) alone")
    figures: tuple[DeclaredFigure, ...] = Field((), max_length=6, description="shown on its wall card")
    slo: tuple[SloDefinition, ...] | None = Field(None, description="default: availability 99.5 %")
    simulate: bool = Field(False, description="the services simulator makes its figures up (a demo)")
    profile: Profile = "office"
    peak_rps: float = Field(5.0, gt=0, le=100_000, description="simulated: requests per second at the peak")
    latency_s: float = Field(0.3, gt=0, le=60, description="simulated: median latency")

    def spec(self, system_id: str) -> SystemSpec:
        kind: AvailabilitySli = self.kind
        return declared_system(system_id, self.name_vi, self.name_en, kind,
                               tuple(FigureSpec(**f.model_dump()) for f in self.figures),
                               self.profile, self.peak_rps, self.latency_s)


class ServicesSimulatorSettings(StrictModel):
    enabled: bool = True
    seed: int = 1
    tick_s: float = Field(10.0, ge=1, le=300, description="one sample of every system this often")
    systems: Annotated[tuple[SystemId, ...] | None, BeforeValidator(_comma_list)] = Field(
        None, min_length=1, description="simulate only these catalogue systems (default: every one); a list, or "
        "comma-separated in an environment variable: IOC_SERVICES__SIMULATOR__SYSTEMS=portal,payment")


class ServicesSettings(StrictModel):
    systems: dict[SystemId, DeclaredSystem] = Field(
        default_factory=dict, description="systems beyond the built-in ten, by id (lower case, digits, _)")
    scrape: tuple[ScrapeSource, ...] = ()
    push: dict[SourceName, PushSource] = Field(default_factory=dict)
    slo: dict[SystemId, tuple[SloDefinition, ...]] = Field(default_factory=default_slos)
    burn_windows: tuple[BurnWindow, ...] = Field(DEFAULT_BURN_WINDOWS, min_length=1)
    resolution_s: float = Field(10.0, ge=1, le=600, description="time resolution of the SLO windows")
    down_for_s: float = Field(60.0, ge=0, le=3600, description="a system hard down (up = 0, or every request "
                              "failing) this long raises one critical alert, besides the burn rates")
    escalation: EscalationPolicy = EscalationPolicy()
    inhibit_rules: tuple[InhibitRule, ...] = DEFAULT_INHIBIT_RULES
    simulator: ServicesSimulatorSettings = ServicesSimulatorSettings()
    _catalogue: dict[str, SystemSpec] = PrivateAttr(default_factory=lambda: dict(SYSTEMS))

    @field_validator("slo")
    @classmethod
    def _unique_slo_names(cls, v: dict[str, tuple[SloDefinition, ...]]) -> dict[str, tuple[SloDefinition, ...]]:
        for sid, slos in v.items():
            names = [s.name for s in slos]
            if len(set(names)) != len(names):
                raise ValueError(f"{sid}: SLO names must be unique, got {', '.join(names)}")
        return v

    @model_validator(mode="after")
    def _known_systems(self) -> "ServicesSettings":
        """Every system named anywhere is built in or declared; the error names the key."""
        try:
            catalogue = with_declared(d.spec(sid) for sid, d in self.systems.items())
        except ValueError as exc:
            raise ValueError(f"services.systems: {exc}") from None
        valid = ", ".join(catalogue)
        named = [(f"services.scrape[{i}].system", s.system) for i, s in enumerate(self.scrape)]
        named += [(f"services.push.{n}.systems", sid) for n, p in self.push.items() for sid in p.systems]
        named += [(f"services.slo.{sid}", sid) for sid in self.slo]
        named += [("services.simulator.systems", sid) for sid in self.simulator.systems or ()]
        for key, sid in named:
            if sid not in catalogue:
                raise ValueError(f"{key}: unknown system {sid!r}; valid systems: {valid} "
                                 "(declare a new one under services.systems)")
        for sid, declared in self.systems.items():
            if declared.slo is not None and sid in self.slo:
                raise ValueError(f"services.systems.{sid}.slo: its SLOs are also under services.slo.{sid}; keep one")
        slos = {**default_slos(catalogue), **{sid: d.slo for sid, d in self.systems.items() if d.slo is not None},
                **self.slo}
        object.__setattr__(self, "slo", slos)  # frozen: filled once, here
        self._catalogue = catalogue
        return self

    def catalogue(self) -> dict[str, SystemSpec]:
        """The built-in systems and the declared ones, by id."""
        return self._catalogue

    def simulated_systems(self) -> tuple[str, ...]:
        """What the services simulator runs: its ``systems``, else the built-in ten and the
        declared systems marked ``simulate``."""
        if self.simulator.systems is not None:
            return self.simulator.systems
        return (*SYSTEMS, *(sid for sid, d in self.systems.items() if d.simulate))

    @field_validator("scrape")
    @classmethod
    def _unique_names(cls, v: tuple[ScrapeSource, ...]) -> tuple[ScrapeSource, ...]:
        seen: set[str] = set()
        for source in v:
            if source.name in seen:
                raise ValueError(f"scrape source name {source.name!r} is used twice")
            seen.add(source.name)
        return v

    @model_validator(mode="after")
    def _windows_fit_resolution(self) -> "ServicesSettings":
        for w in self.burn_windows:
            for length in (w.long_s, w.short_s):
                if length % self.resolution_s:
                    raise ValueError(f"burn window {length:g} s is not a multiple of resolution_s ({self.resolution_s:g})")
        return self
