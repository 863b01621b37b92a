"""The web process: Flask + Dash wall behind sign-in, /healthz, /metrics, and (embedded mode) the sink.

chDB admits one process per data directory, so in embedded mode this process owns the
warehouse: it runs the sink in a background thread and answers the wall's queries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import dash
import flask
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from dashboards import ASSETS_DIR
from dashboards.auth import SIGNED_IN, WALL, Access, Kind, WebSecurity, open_access
from dashboards.console.alert_feed import AlertsFeed
from dashboards.console.alert_routes import alert_route_access, register_alert_routes, register_silence_routes
from dashboards.console.alert_state import AlertReplica, ServiceHealth, SilenceReplica
from dashboards.live_feed import LiveFeed
from dashboards.live_state import LiveState
from dashboards.public import PublicSurface, mount_public
from dashboards.wall import app as wall
from dashboards.wall.camera_feed import CameraFeed
from dashboards.wall.camera_routes import CAMERA_ROUTE_ACCESS, register_camera_routes
from dashboards.wall.camera_state import CameraState
from dashboards.wall.period_reports import PeriodReports
from dashboards.wall.service_queue import QueueCameraState
from ioc import clock
from ioc.broker.background import BackgroundLoop
from ioc.config import Settings
from ioc.health import Health, check_parts
from ioc.ingest.api import INGEST_PATH, PAKN_INGEST_PATH, register_ingest_routes
from ioc.ingest.publishing import KafkaEventPublisher
from ioc.services_io.push_api import METRICS_PATH, MetricPublisher, register_metrics_route
from ioc.topics import Topics
from ioc.warehouse.backends import Warehouse
from ioc.warehouse.queries import received_per_day, table_counts
from ioc.warehouse.sink import SINK_CONDITIONS, WarehouseSink, run_sink

log = logging.getLogger(__name__)

PART_CHECK_TIMEOUT_S = 1.0  # a part that does not answer /readyz this fast is not ready
# waitress for `ioc run web` (and the benches' web processes): 8 threads; up to 1,000 open
# connections (its default 100 made the 101st keep-alive visitor of /public/ wait for a free
# one: seconds, then timeouts, in `ioc bench public`), polled with poll() (select() stops at
# 1,024 descriptors). The app alone decides which proxy headers to believe
# (web.trusted_proxy_hops, dashboards/clients.py): waitress 3 would drop X-Forwarded-For
# before it, so behind nginx every client looked like nginx.
WAITRESS = {"threads": 8, "connection_limit": 1000, "asyncore_use_poll": True, "clear_untrusted_proxy_headers": False}

PIPELINE_COUNTERS = (
    # metric name, component, counter, help
    ("ioc_events_produced", "simulator", "produced", "Dossier events produced to the broker"),
    ("ioc_events_consumed", "worker", "consumed", "Dossier events consumed by the stream agents"),
    ("ioc_events_dead_lettered", "worker", "dead_lettered", "Events rejected to the dead-letter topic"),
    ("ioc_events_stored", "sink", "stored", "Dossier events stored in the warehouse"),
)


class PipelineCollector:
    def __init__(self, state: LiveState) -> None:
        self.state = state

    def collect(self) -> Any:
        for name, component, counter, help_text in PIPELINE_COUNTERS:
            family = CounterMetricFamily(name, help_text)
            family.add_metric([], self.state.counter_total(component, counter))
            yield family
        age = self.state.age_s()  # not summary(): that judges every unit, thousands nationally
        gauge = GaugeMetricFamily("ioc_kpi_snapshot_age_seconds", "Age of the oldest live KPI partial")
        gauge.add_metric([], float("nan") if age is None else age)
        yield gauge


def unit_names(settings: Settings) -> dict[str, str]:
    """Display names of the province's agencies, shortened for the wall."""
    from ioc.reference.agencies import agency_tree

    tree = agency_tree(settings.province.code, prefix=settings.province.agency_prefix)
    return {code: a.name.replace("Ủy ban nhân dân", "UBND") for code, a in tree.by_code.items()}


def unit_levels(settings: Settings) -> dict[str, str]:
    """Each agency's level (province: departments; commune), for the public rankings."""
    from ioc.reference.agencies import agency_tree

    tree = agency_tree(settings.province.code, prefix=settings.province.agency_prefix)
    return {code: a.serves_level for code, a in tree.by_code.items()}


class SinkThread(BackgroundLoop):
    """The embedded sink (chDB: this process owns the warehouse) and its stats heartbeat."""

    thread_name = "warehouse-sink"

    def __init__(self, sink: WarehouseSink, bootstrap: str, stats_topic: str) -> None:
        super().__init__()
        self.sink = sink
        self.bootstrap = bootstrap
        self.stats_topic = stats_topic
        self.error: BaseException | None = None

    async def _run(self) -> None:
        assert self._stop is not None
        instance = f"{socket.gethostname()}-{os.getpid()}"
        task = asyncio.ensure_future(run_sink(self.sink, self.bootstrap, self.stats_topic, instance))
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
            self.sink.stop()  # asked to stop: the sink flushes its batch
            await task
        except BaseException as exc:  # reported by /healthz
            self.error = exc
            log.exception("warehouse sink stopped")
        finally:
            stopping.cancel()

    def stop(self, timeout: float = 6.0) -> None:
        super().stop(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def ready(self) -> bool:
        return self.alive and self.error is None and self.sink.health.ready


# Who may call each route of this process (the wall's Dash routes: WebSecurity.protect_dash).
ROUTE_ACCESS: dict[str, Access] = {
    "/healthz": open_access(),  # monitoring
    "/metrics": open_access(),
    # Aggregates only; a signed-in user or automation with the operator bearer token.
    "/api/v1/live": Access(SIGNED_IN, Kind.api, operator_token=True),
    "/api/v1/warehouse/counts": Access(SIGNED_IN, Kind.api, operator_token=True),
    "/wall": Access(WALL, Kind.page),
    # Source systems authenticate with their own bearer tokens (ioc/ingest/tokens.py); no cookie, no CSRF.
    INGEST_PATH: open_access(same_origin=False),
    PAKN_INGEST_PATH: open_access(same_origin=False),  # bearer tokens of source systems, as INGEST_PATH
    METRICS_PATH: open_access(same_origin=False),  # bearer tokens of metrics sources (services.push)
    **CAMERA_ROUTE_ACCESS,  # /cameras, /camera/<id>/thumbnail.jpg and live.jpg, /api/v1/cameras
    **alert_route_access(),  # GET /api/v1/alerts, POST /api/v1/alerts/<id>/actions, GET /api/v1/services
}


@dataclass
class WebProcess:
    settings: Settings
    bootstrap: str
    warehouse: Warehouse
    with_sink: bool
    state: LiveState = field(default_factory=LiveState)
    # The process's cameras, with their queues (the IT scene's service-centre queue).
    cameras: CameraState = field(default_factory=QueueCameraState)
    camera_feed: CameraFeed | None = None
    # Alerts (replica of the alerts agent's log) and the newest figures of every IT system.
    alerts: AlertReplica | None = None
    services: ServiceHealth = field(default_factory=ServiceHealth)
    silences: SilenceReplica = field(default_factory=SilenceReplica)  # silences and maintenance windows
    alerts_feed: AlertsFeed | None = None
    console_app: dash.Dash | None = None  # /console/ (tests enumerate its callbacks)
    feed: LiveFeed | None = None
    sink: SinkThread | None = None
    ingest_publisher: KafkaEventPublisher | None = None
    pakn_publisher: KafkaEventPublisher | None = None
    metrics_publisher: MetricPublisher | None = None

    security: WebSecurity | None = None
    dash_app: dash.Dash | None = None  # the wall (tests enumerate its callbacks)
    wall_engine: wall.WallEngine | None = None  # the wall's models (tests and `ioc bench wall` read it)
    public: PublicSurface | None = None  # /public/: the embeds, no sign-in, no Dash callbacks
    # The scorecard's quarter and year to date, replayed from the warehouse in the background.
    period_reports: PeriodReports | None = None

    def build(self) -> flask.Flask:
        topics = Topics.from_settings(self.settings.kafka)
        server = flask.Flask("ioc", static_folder=None)
        self.security = security = WebSecurity.from_settings(self.settings)
        security.install(server)
        for rule, access in ROUTE_ACCESS.items():
            security.policy.declare(rule, access)
        registry = CollectorRegistry()
        registry.register(PipelineCollector(self.state))

        @server.get("/healthz")
        def healthz() -> Any:
            # This process (its live feed; the embedded sink: warehouse answering, partitions
            # assigned), then every other part of the stack `ioc up` listed (web.parts): their
            # /readyz, asked now, so a part that stopped or hangs is named at once.
            sink_ready = self.sink.ready if self.sink else None
            checks = {
                "broker": self.state.connected,
                "sink": sink_ready,
                "snapshot_age_s": self.state.age_s(),
            }
            parts: dict[str, Any] = {"web": {"ready": self.state.connected}}
            if self.sink:
                parts["sink"] = {**self.sink.sink.health.report(), "ready": bool(sink_ready)}
            parts.update(check_parts(dict(self.settings.web.parts), PART_CHECK_TIMEOUT_S))
            not_ready = [name for name, part in parts.items() if not part["ready"]]
            body = {"status": "degraded" if not_ready else "ok", "checks": checks, "parts": parts,
                    "not_ready": not_ready}
            if not_ready:
                body["error"] = f"not ready: {', '.join(not_ready)}"
            return flask.jsonify(body), 503 if not_ready else 200

        @server.get("/metrics")
        def metrics() -> Any:
            return flask.Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")

        @server.get("/api/v1/live")
        def live() -> Any:
            # Aggregates only (counts per unit); no dossier or applicant data.
            return flask.jsonify(self.state.summary())

        @server.get("/api/v1/warehouse/counts")
        def counts() -> Any:
            return flask.jsonify(table_counts(self.warehouse))

        @server.get("/wall")
        def wall_alias() -> Any:
            return flask.redirect("/")

        app = dash.Dash(
            "ioc-wall", server=server, url_base_pathname="/", title="IOC — Trung tâm điều hành",
            assets_folder=str(ASSETS_DIR), serve_locally=True,
            update_title=None,
        )
        self.dash_app = app
        security.protect_dash(server, app, WALL)
        wall_options = wall.WallOptions.from_settings(self.settings)
        app.layout = wall.layout(wall_options)
        names = unit_names(self.settings)
        self.period_reports = PeriodReports(lambda: self.warehouse, self.state.sources, self.settings.province.code)
        with security.callbacks.declare(app, WALL):
            # Sources are read at call time: the alert replica is created further down.
            self.wall_engine = wall.register(
                app, self.state, None,
                lambda: received_per_day(self.warehouse, clock.today() - timedelta(days=14)), names,
                options=wall_options, service_figures=lambda: self.services.latest(),
                camera_tiles=lambda: self.cameras.tiles(),
                alerts=lambda: self.alerts.api_view() if self.alerts else [],
                period_reports=self.period_reports.latest,
            )
        # Its Kafka producer is created on the first request, so the web starts before Kafka answers.
        self.ingest_publisher = KafkaEventPublisher(self.bootstrap, topics.dossier_events,
                                                    timeout_s=self.settings.ingest.publish_timeout_s)
        self.pakn_publisher = KafkaEventPublisher(self.bootstrap, topics.pakn_events, key_field="pakn_code",
                                                  timeout_s=self.settings.ingest.publish_timeout_s)
        register_ingest_routes(server, self.settings, self.ingest_publisher, self.pakn_publisher)
        self.metrics_publisher = MetricPublisher(self.bootstrap, topics.service_metrics, client_id="ioc-metrics",
                                                 timeout_s=self.settings.ingest.publish_timeout_s)
        register_metrics_route(server, self.settings.services, self.metrics_publisher,
                               self.settings.ingest.max_body_bytes, self.settings.ingest.max_items)
        self.cameras.stale_after_s = self.settings.camera.stale_after_s
        register_camera_routes(server, self.cameras, self.warehouse)
        from ioc.reference.units import province
        self.public = mount_public(server, security, self.settings.public, self.state, lambda: self.warehouse,
                                   names, province(self.settings.province.code).name, levels=unit_levels(self.settings))
        from dashboards.auth import CONSOLE
        from dashboards.console.app import mount_console

        svc = self.settings.services
        self.alerts = self.alerts or AlertReplica(svc.escalation, svc.inhibit_rules)
        register_alert_routes(server, self.alerts, self.services, lambda: self.alerts_feed)
        register_silence_routes(server, self.silences, lambda: self.alerts_feed)
        from dashboards.console.drilldown import warehouse_sources
        self.console_app = mount_console(server, security, self.alerts, lambda: self.alerts_feed, CONSOLE,
                                         drilldown=warehouse_sources(lambda: self.warehouse, self.state, names),
                                         silences=self.silences)
        security.finish(server, app, self.console_app)
        return server

    def start_background(self) -> None:
        topics = Topics.from_settings(self.settings.kafka)
        wait = self.settings.kafka.fetch_max_wait_ms
        self.feed = LiveFeed(self.bootstrap, topics.kpi_snapshots, topics.pipeline_stats, self.state,
                             topics.catalogue, topics.national, fetch_max_wait_ms=wait).start()
        self.camera_feed = CameraFeed(self.bootstrap, topics.camera_events, topics.camera_frames, self.cameras,
                                      fetch_max_wait_ms=wait).start()
        if self.alerts is not None:
            self.alerts_feed = AlertsFeed(self.bootstrap, topics.alert_log, topics.service_figures, topics.alert_actions,
                                          self.alerts, self.services, topics.silences, self.silences,
                                          fetch_max_wait_ms=wait).start()
        if self.period_reports is not None:
            self.period_reports.start()
        if self.with_sink:
            ch = self.settings.clickhouse
            health = Health("sink", self.settings.health.stale_after_s, conditions=SINK_CONDITIONS)  # read by /healthz
            sink = WarehouseSink(self.bootstrap, topics, self.warehouse, f"{self.settings.worker.app_id}-sink",
                                 ch.batch_rows, ch.batch_seconds, health=health, fetch_max_wait_ms=wait)
            self.sink = SinkThread(sink, self.bootstrap, topics.pipeline_stats).start()

    def stop_background(self) -> None:
        if self.period_reports:
            self.period_reports.stop()
        if self.public:
            self.public.stop()
        if self.sink:
            self.sink.stop()
        if self.camera_feed:
            self.camera_feed.stop()
        if self.alerts_feed:
            self.alerts_feed.stop()
        if self.feed:
            self.feed.stop()
        if self.ingest_publisher:
            self.ingest_publisher.close()
        if self.pakn_publisher:
            self.pakn_publisher.close()
        if self.metrics_publisher:
            self.metrics_publisher.close()


def serve(web: WebProcess) -> None:
    """Serve until SIGTERM/SIGINT, then stop the sink (flushing its batch) and the feed."""
    from waitress.server import create_server

    server = web.build()
    web.start_background()
    httpd = create_server(server, host=web.settings.web.host, port=web.settings.web.port, **WAITRESS)

    def shutdown(*_: Any) -> None:
        httpd.close()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        httpd.run()
    except (OSError, ValueError, KeyboardInterrupt):
        pass  # the listening socket closed under the loop: we are stopping
    finally:
        web.stop_background()
        web.warehouse.close()
