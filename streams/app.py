"""Builds the Faust application from the settings (no I/O at import time)."""

from __future__ import annotations

from pathlib import Path

import faust

from ioc import clock
from ioc.config import Settings
from streams import faust_consumer


def create_app(settings: Settings, bootstrap: str) -> faust.App:
    kafka = settings.kafka
    faust_consumer.adapt(kafka.fetch_max_wait_ms)  # the embedded broker's ways (streams/faust_consumer.py)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)  # a fresh machine: Faust's datadir lives here
    app = faust.App(
        settings.worker.app_id,
        broker=[f"kafka://{host}" for host in bootstrap.split(",")],
        store=f"{settings.worker.store}://",
        datadir=str(Path(settings.data_dir) / "faust"),
        autodiscover=False,
        web_enabled=False,
        topic_partitions=kafka.partitions.dossier_events,
        topic_replication_factor=kafka.replication_factor,
        # Short group timeouts: the default ones make a worker wait a minute to join.
        broker_session_timeout=kafka.session_timeout_s,
        broker_rebalance_timeout=kafka.rebalance_timeout_s,
        broker_heartbeat_interval=1.0,
        broker_commit_interval=1.0,
        stream_recovery_delay=0.2,
        # The changelog gets one record per changed dossier: let the producer gather them
        # into few requests (with no linger each becomes its own produce request).
        producer_linger_ms=20,
        producer_max_batch_size=1 << 20,
        consumer_auto_offset_reset="earliest",
        table_cleanup_interval=60.0,
        timezone=clock.LOCAL_TZ,  # the one business zone (ioc.clock)
    )
    from streams.agents import register_dossier_agents

    register_dossier_agents(app, settings, bootstrap)
    from streams.alerts import register_alert_agent
    from streams.services import register_service_agents

    register_service_agents(app, settings)
    register_alert_agent(app, settings, bootstrap)
    from streams.dossier_alerts import register_dossier_alert_rules

    register_dossier_alert_rules(app, settings, bootstrap)
    from streams.pakn import register_pakn_agents

    register_pakn_agents(app, settings, bootstrap)
    return app
