"""Typed settings: a YAML file overlaid by ``IOC_*`` environment variables.

Unknown keys are rejected with the file (or variable) and the key named, so a typo never
silently falls back to a default. With no settings at all every part runs embedded.

Environment: ``IOC_SECTION__KEY=value`` sets ``section.key`` (read by pydantic-settings'
environment source, :func:`env_overrides`); the contract names ``IOC_KAFKA_BOOTSTRAP``,
``IOC_CLICKHOUSE_URL`` and ``IOC_OPERATOR_TOKEN`` are aliases. Precedence: the YAML file
(``--config`` / ``IOC_CONFIG``), then the environment, then command-line flags.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from ioc.alerts.routing import NotifySettings
from ioc.clock import LOCAL_TZ
from ioc.errors import ConfigError
from ioc.services.settings import ServicesSettings

ENV_PREFIX = "IOC_"
ENV_ALIASES = {
    "IOC_KAFKA_BOOTSTRAP": ("kafka", "bootstrap"),
    "IOC_CLICKHOUSE_URL": ("clickhouse", "url"),
    "IOC_OPERATOR_TOKEN": ("web", "operator_token"),
}
# Variables that configure the process around us, not the settings tree.
ENV_IGNORED = {"IOC_CONFIG", "IOC_NOW", "IOC_NOW_ANCHOR"}  # the last two: ioc.clock


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicPartitions(StrictModel):
    dossier_events: int = Field(4, ge=1, le=1024)
    service_metrics: int = Field(2, ge=1, le=1024)
    camera_events: int = Field(2, ge=1, le=1024)
    kpi_snapshots: int = Field(1, ge=1, le=64)
    alerts: int = Field(1, ge=1, le=64)
    alert_actions: int = Field(1, ge=1, le=64)
    deadletter: int = Field(1, ge=1, le=64)
    pipeline_stats: int = Field(1, ge=1, le=64)


class KafkaSettings(StrictModel):
    bootstrap: str | None = Field(
        None, description="HOST:PORT[,...] of an existing cluster; empty runs the embedded broker"
    )
    embedded_port: int = Field(9092, ge=0, le=65535, description="port of the embedded broker (0: any free)")
    embedded_restore: bool = Field(
        True, description="the embedded broker keeps topics in memory: at start, put the worker's dossier table "
        "and the alert log back from the warehouse, so a crash or restart goes on where it stopped "
        "(ioc.broker.restore); false: start from an empty stream (tests that need no durability)")
    topic_prefix: str = Field("ioc", pattern=r"^[A-Za-z0-9._-]+$")
    partitions: TopicPartitions = TopicPartitions()
    replication_factor: int = Field(1, ge=1, le=5)
    # Faust joins a consumer group slowly with default timeouts on small brokers.
    session_timeout_s: float = Field(10.0, gt=0)
    rebalance_timeout_s: float = Field(10.0, gt=0)
    # The embedded Tansu does not answer a waiting fetch when records arrive: it answers when the
    # wait is over. Faust's 1.5 s (aiokafka's 0.5 s) wait was then most of an event's way to the
    # wall; a short one costs an idle consumer ten small requests a second (README, Benchmarks).
    fetch_max_wait_ms: int = Field(100, ge=1, le=10_000, description="longest a fetch waits for records")


class ClickHouseSettings(StrictModel):
    url: str | None = Field(
        None, description="clickhouse://user:pass@host:9000/db; empty uses embedded chDB"
    )
    database: str = Field("ioc", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    batch_rows: int = Field(10_000, ge=1, description="flush the sink when a batch has this many rows")
    batch_seconds: float = Field(1.0, gt=0, description="...or when the oldest row waited this long")


def _comma_list(value: Any) -> Any:
    """"a, b" (an environment variable) -> ("a", "b"); lists pass unchanged."""
    return tuple(p.strip() for p in value.split(",") if p.strip()) if isinstance(value, str) else value


def _name_url_list(value: Any) -> Any:
    """"worker=http://h:1/readyz, sink=http://h:2/readyz" (an environment variable) -> a mapping."""
    if not isinstance(value, str):
        return value
    pairs = [p.strip() for p in value.split(",") if p.strip()]
    if any("=" not in p for p in pairs):
        raise ValueError("expected name=URL, comma-separated")
    return {name.strip(): url.strip() for name, _, url in (p.partition("=") for p in pairs)}


class WebSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=0, le=65535)
    operator_token: SecretStr | None = None
    wall_refresh_ms: int = Field(1000, ge=200, le=60_000)
    stale_after_s: float = Field(5.0, gt=0, description="a figure older than this is shown as stale")
    # The wall's playlist (dashboards/wall/app.py): scenes shown in turn unless the URL pins one.
    wall_scenes: Annotated[tuple[Literal["scorecard", "flow", "map", "services", "cameras", "alerts", "pakn"], ...],
                           BeforeValidator(_comma_list)] = Field(
        ("scorecard", "flow", "map", "services", "cameras", "alerts", "pakn"), min_length=1,
        description="a list, or comma-separated in an environment variable: IOC_WEB__WALL_SCENES=map,flow")
    wall_rotate_s: float = Field(20.0, ge=5, le=3600, description="seconds each scene of the playlist stays")
    wall_reload_h: float = Field(6.0, ge=0, le=168, description="kiosk pages reload this often (0: never)")
    wall_stall_reload_s: float = Field(60.0, ge=10, le=3600, description="a wall without a successful update "
                                       "this long reloads itself as soon as the server answers again")
    # Sign-in and sessions (dashboards/auth).
    users_file: Path | None = Field(None, description="the user store (default: DATA_DIR/users.json)")
    session_secret: SecretStr | None = Field(
        None, min_length=32, description="signs session cookies; give every web instance the same one "
        "(default: generated once into DATA_DIR/web-secret.key, mode 0600)",
    )
    leader_session_days: float = Field(30.0, gt=0, le=400, description="sign-in lifetime of leader-only "
                                       "accounts (wall kiosks)")
    staff_session_hours: float = Field(12.0, gt=0, le=24 * 31, description="sign-in lifetime of accounts "
                                       "with operator or admin rights")
    cookie_secure: bool = Field(False, description="send the session cookie over HTTPS only (set it behind TLS)")
    login_max_failures: int = Field(5, ge=1, le=1000, description="failed sign-ins for one user name from one "
                                    "client address within login_window_s before that pair must wait")
    login_max_failures_per_address: int = Field(
        50, ge=1, le=100_000, description="failed sign-ins from one client address, whatever the user names, "
        "within login_window_s before that address must wait (password spraying)")
    login_window_s: float = Field(300.0, gt=0, le=86_400)
    trusted_proxy_hops: int | None = Field(
        None, ge=0, le=5, description="reverse proxies in front of the web process whose X-Forwarded-For names "
        "the client, for the sign-in lockout and the public rate limit (0: the peer address is the client; "
        "unset: public.trusted_proxy_hops, its older name, else 0)")
    parts: Annotated[dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")],
                          Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]],
                     BeforeValidator(_name_url_list)] = Field(
        default_factory=dict, description="the other parts of the stack whose readiness /healthz also requires: "
        "name -> URL answering 200 when ready (their /readyz); `ioc up` sets it, as name=URL,name=URL in "
        "IOC_WEB__PARTS")
    trusted_origins: tuple[Annotated[str, StringConstraints(pattern=r"^https?://[^/?#]+$")], ...] = Field(
        (), description="public origins (https://ioc.example.vn) accepted for POSTs when a proxy rewrites Host",
    )


class PublicSettings(StrictModel):
    """The public embeds at ``/public/`` (dashboards/public): anyone may load them, so they are
    cached, rate-limited per client and embeddable only by the sites listed here."""

    frame_ancestors: tuple[Annotated[str, StringConstraints(pattern=r"^https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$")],
                           ...] = Field(
        (), description="sites allowed to embed the widgets in an iframe (CSP frame-ancestors), e.g. "
        "https://dichvucong.phutho.gov.vn or https://*.phutho.gov.vn; this site itself always may",
    )
    cache_s: int = Field(60, ge=1, le=3600, description="a widget is computed once per this many seconds "
                         "(server cache) and browsers and proxies may keep it as long (Cache-Control)")
    rate_per_minute: int = Field(120, ge=1, le=100_000, description="public requests per client address "
                                 "per minute; more get 429 with Retry-After")
    burst: int = Field(40, ge=1, le=10_000, description="requests a client may make at once before the rate applies")
    trusted_proxy_hops: int | None = Field(None, ge=0, le=5, description="the older name of "
                                           "web.trusted_proxy_hops, kept working: used when that is unset")
    base_url: Annotated[str, StringConstraints(pattern=r"^https?://[^?#]+$")] | None = Field(
        None, description="public address of this site for the copy-paste embed code (default: as requested)",
    )
    lookup_rate_per_minute: int = Field(10, ge=1, le=10_000, description="dossier lookups (/public/tra-cuu "
                                        "with a code) per client address per minute, on top of rate_per_minute: "
                                        "codes cannot be tried faster than this")
    lookup_burst: int = Field(5, ge=1, le=1_000, description="lookups a client may make at once before "
                              "lookup_rate_per_minute applies")
    lookup_hidden_procedures: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")], ...] = Field(
        (), description="procedure codes whose dossiers the public lookup never shows (answered exactly as an "
        "unknown code), e.g. sensitive civil-status procedures; dossiers of units outside the province are "
        "never shown either")


class HealthSettings(StrictModel):
    """``/livez`` and ``/readyz`` of every part but the web (ioc/health.py): probes and ``ioc up``."""

    host: str = Field("127.0.0.1", description="address the health server listens on (0.0.0.0 in containers)")
    port: int = Field(8061, ge=0, le=65535, description="its port (0: any free port); `ioc up` gives each part "
                      "a free port of its own, since they share one host")
    stale_after_s: float = Field(30.0, gt=0, le=3600, description="a main loop that has not turned this long is "
                                 "not live (/livez 503)")


class CameraSettings(StrictModel):
    """The cameras `ioc up` runs (`ioc run cameras`, camera/stack.py)."""

    enabled: bool = Field(True, description="run the cameras with `ioc up`")
    file: Path | None = Field(
        None, description="camera YAML file (cameras: {ID: {source, name, unit, zones, ...}}); empty: a demo set "
        "(demo_footage looped, if it exists, plus synthetic cameras with injected faults)",
    )
    demo_footage: Path = Field(
        Path("../shared/data/vtest.avi"),
        description="the demo set's real footage; a relative path is looked up from the working directory, "
        "then from the repository root",
    )
    stale_after_s: float = Field(10.0, gt=0, description="the wall shows a camera without news for this long "
                                 "as offline (its process is gone)")


class SimulatorSettings(StrictModel):
    enabled: bool = True
    rate: float = Field(2.0, gt=0, description="live dossier events per second")
    seed: int = 1
    backfill_days: int = Field(
        7, ge=0, le=400, description="history simulated at start so the wall has a month in progress"
    )


class WorkerSettings(StrictModel):
    app_id: str = Field("ioc-streams", pattern=r"^[A-Za-z0-9._-]+$")
    # Four times a second: an event waits on average an eighth of a second for the round that
    # judges it (at 0.5 s that wait made the bench's p99 event -> snapshot 1.03 s; 0.25 s: 0.76 s).
    snapshot_interval_s: float = Field(0.25, gt=0, le=1.0)
    # Between them only the units that changed are sent (ioc.kpi.snapshots); a partition's whole
    # figures go out this often and when its stream goes quiet, and only those are stored.
    full_snapshot_s: float = Field(5.0, ge=1.0, le=60.0)
    # Judging runs in slices of at most this long, so the agent's loop is never held longer.
    judging_slice_s: float = Field(0.01, gt=0, le=1.0)
    # ... and takes at most this share of a tick while the agent has a backlog (the rest is the
    # agent's; `ioc bench pipeline`, 200,000 new dossiers: 0.5 -> 66-83k events/s, 0.25 -> 85-98k,
    # 0.15 -> 90k; the figures catch up once the backlog is consumed).
    judging_share: float = Field(0.2, gt=0, le=1.0)
    # The dossier states changed since the last checkpoint go to the checkpoint topic this often,
    # with the source offset they cover: a recovery replays the source after it (streams/checkpoint.py).
    checkpoint_s: float = Field(10.0, ge=0.5, le=600.0)
    # Faust's table store (the petition table): "memory", or "rocksdb" (rocksdict; under
    # data_dir/faust). The dossier states live in ioc.kpi.live.LiveFigures, recovered from the
    # checkpoint topic and the source, not in a Faust table.
    store: Literal["memory", "rocksdb"] = "memory"


def _token_hash(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError("must be the SHA-256 of the source's token as 64 hex digits "
                         "(`ioc ingest hash-token`), never the token itself")
    return value.lower()


SourceName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
TokenHash = Annotated[str, AfterValidator(_token_hash)]


class IngestSettings(StrictModel):
    """``POST /api/v1/dossier-events`` and ``ioc import`` (ioc/ingest)."""

    sources: dict[SourceName, TokenHash] = Field(
        default_factory=dict,
        description="source system name -> SHA-256 hex of its bearer token; no entry: every request is refused",
    )
    max_body_bytes: int = Field(10_000_000, ge=1, description="larger request bodies get 413")
    max_items: int = Field(10_000, ge=1, description="more events in one request get 413")
    recent_event_ids: int = Field(
        100_000, ge=0, description="event ids remembered per web process so a resent event is not re-published"
    )
    publish_timeout_s: float = Field(10.0, gt=0, description="wait this long for Kafka's acknowledgement, then 503")


class ProvinceSettings(StrictModel):
    code: str = Field("25", pattern=r"^\d{2}$", description="post-July-2025 GSO code of the province (25: Phú Thọ)")
    agency_prefix: str | None = Field(
        "H44", pattern=r"^H\d{2}$", description="its QCVN 102 prefix in dossier and agency codes (empty: H+code)"
    )


def _vietnam_time(value: str) -> str:
    """The one time zone is ioc.clock's: the working calendar, the legal deadlines, "today" on
    the wall and the warehouse's daily rollup are Vietnam's, and Vietnam has one zone. A setting
    that differed would have to move all of them; it is refused instead of half obeyed."""
    if value not in (LOCAL_TZ.key, "Asia/Saigon"):  # the latter: the old name of the same zone
        raise ValueError(f"must be {LOCAL_TZ.key} (Vietnam time, the only zone the project runs on), not {value!r}")
    return LOCAL_TZ.key


class Settings(StrictModel):
    data_dir: Path = Field(Path("var"), description="embedded warehouse and logs live here")
    timezone: Annotated[str, AfterValidator(_vietnam_time)] = Field(
        LOCAL_TZ.key, description="the business time zone; only Vietnam time (ioc.clock.LOCAL_TZ), kept so "
        "settings that name it still load")
    province: ProvinceSettings = ProvinceSettings()
    kafka: KafkaSettings = KafkaSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    web: WebSettings = WebSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    worker: WorkerSettings = WorkerSettings()
    ingest: IngestSettings = IngestSettings()
    camera: CameraSettings = CameraSettings()
    public: PublicSettings = PublicSettings()
    services: ServicesSettings = ServicesSettings()
    notify: NotifySettings = NotifySettings()  # alert notifications (ioc/alerts/routing.py, ioc/notify)
    health: HealthSettings = HealthSettings()

    @model_validator(mode="after")
    def _one_proxy_chain(self) -> "Settings":
        web, public = self.web.trusted_proxy_hops, self.public.trusted_proxy_hops
        if web is not None and public is not None and web != public:
            raise ValueError(f"web.trusted_proxy_hops ({web}) and public.trusted_proxy_hops ({public}) differ: one "
                             "chain of proxies stands in front of the web process; set web.trusted_proxy_hops only")
        return self

    @property
    def trusted_proxy_hops(self) -> int:
        """Reverse proxies in front of the web process, for every per-client limit."""
        for hops in (self.web.trusted_proxy_hops, self.public.trusted_proxy_hops):
            if hops is not None:
                return hops
        return 0

    @property
    def notify_base_url(self) -> str:
        """Where links in notifications point: notify.base_url, else this web's own address."""
        if self.notify.base_url:
            return self.notify.base_url
        host = "127.0.0.1" if self.web.host in ("0.0.0.0", "", "::") else self.web.host
        return f"http://{host}:{self.web.port}"

    @property
    def embedded_kafka(self) -> bool:
        return not self.kafka.bootstrap

    @property
    def embedded_clickhouse(self) -> bool:
        return not self.clickhouse.url


class _EnvironmentSource(EnvSettingsSource):
    """pydantic-settings' reading of ``IOC_SECTION__KEY`` variables (nested by ``__``, names in
    any case), from the mapping given rather than always ``os.environ`` (tests, deploy checks).
    Values are not JSON-decoded: lists come comma-separated (``IOC_WEB__WALL_SCENES=map,flow``)
    and the fields' own validators split them, as in a YAML file."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(_SettingsSources)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in self._environ.items()}


class _SettingsSources(Settings, BaseSettings):
    """Only drives the environment source above: :class:`Settings` itself stays a plain model,
    so ``Settings()`` or ``Settings.model_validate(...)`` never read the process's environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False,
                                      enable_decoding=False, extra="forbid", frozen=True)


def env_path(name: str) -> tuple[str, ...] | None:
    """The settings key an ``IOC_*`` variable sets (None: not a settings variable)."""
    if not name.startswith(ENV_PREFIX) or name in ENV_IGNORED:
        return None
    return ENV_ALIASES.get(name) or tuple(p.lower() for p in name[len(ENV_PREFIX):].split("__"))


def env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Settings from ``IOC_*`` variables, and which variable set which key (for errors).

    A variable of no section of the settings is refused here, naming it: pydantic-settings
    would skip it, and a misspelt section must not fall back to the defaults silently."""
    origin = {path: name for name, path in sorted((n, env_path(n)) for n in environ) if path is not None}
    for path, name in origin.items():
        if path[0] not in Settings.model_fields:
            raise ConfigError(f"{name}: unknown setting '{'.'.join(path)}'")
    aliases: dict[str, Any] = {}
    for name, path in ENV_ALIASES.items():  # nested keys under a flat name: below IOC_SECTION__KEY
        if name in environ:
            aliases = _merge(aliases, _nested(path, environ[name]))
    return _merge(aliases, _EnvironmentSource(environ)()), origin


def _merge(base: dict[str, Any], *tops: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each of ``tops`` laid over it in turn, section by section."""
    out = dict(base)
    for top in tops:
        for key, value in top.items():
            out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for part in reversed(path):
        value = {part: value}
    return value


def read_yaml_mapping(path: str | os.PathLike[str], what: str, shape: str) -> dict[str, Any]:
    """A YAML file that must hold a mapping; ConfigError names the file and the problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the {what} must be {shape}")
    return data


def _origin_of(key: tuple[str, ...], origin: Mapping[tuple[str, ...], str]) -> str | None:
    """The variable that set ``key`` or a section above it (IOC_WEB__PARTS for web.parts.worker)."""
    for n in range(len(key), 0, -1):
        if key[:n] in origin:
            return origin[key[:n]]
    return None


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Read settings: file, then environment, then explicit overrides (command-line flags)."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("IOC_CONFIG")
    file_data = read_yaml_mapping(path, "settings file", "a mapping of sections") if path else {}
    env_data, env_origin = env_overrides(environ)
    data = _merge(file_data, env_data, overrides or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = tuple(str(p) for p in err["loc"])
        if not key:  # a rule across sections (a model validator): its message names the keys
            raise ConfigError(f"{path or 'settings'}: {err['msg'].removeprefix('Value error, ')}") from None
        dotted = ".".join(key)
        where = _origin_of(key, env_origin) or (str(path) if path else "settings")
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{where}: unknown setting '{dotted}'") from None
        raise ConfigError(f"{where}: setting '{dotted}': {err['msg']}") from None
