"""Topic names and partition counts, derived from the settings in one place."""

from __future__ import annotations

from dataclasses import dataclass

from ioc.config import KafkaSettings


@dataclass(frozen=True)
class Topics:
    dossier_events: str
    service_metrics: str
    camera_events: str
    camera_frames: str
    kpi_snapshots: str
    alerts: str
    alert_actions: str
    deadletter: str
    pipeline_stats: str
    alert_log: str
    service_figures: str
    simulator_control: str
    pakn_events: str = ""  # petitions (contracts.md §2c); set by from_settings
    catalogue: str = ""  # the procedure catalogue (contracts.md §2b), compacted; set by from_settings
    national: str = ""  # the national portal's published scores and report counts, compacted
    silences: str = ""  # silences and maintenance windows: their events, the audit trail
    notify_log: str = ""  # the notifier's deliveries (sent / dead), keyed by alert|transition|channel

    @classmethod
    def from_settings(cls, kafka: KafkaSettings) -> "Topics":
        p = kafka.topic_prefix
        return cls(
            dossier_events=f"{p}.dossier.events",
            service_metrics=f"{p}.service.metrics",
            camera_events=f"{p}.camera.events",
            camera_frames=f"{p}.camera.frames",
            kpi_snapshots=f"{p}.kpi.snapshots",
            alerts=f"{p}.alerts",
            alert_actions=f"{p}.alert.actions",
            deadletter=f"{p}.deadletter",
            pipeline_stats=f"{p}.pipeline.stats",
            alert_log=f"{p}.alert.log",
            service_figures=f"{p}.service.figures",
            simulator_control=f"{p}.simulator.control",
            pakn_events=f"{p}.pakn.events",
            catalogue=f"{p}.procedure.catalogue",
            national=f"{p}.national.reference",
            silences=f"{p}.alert.silences",
            notify_log=f"{p}.notify.log",
        )


def topic_specs(kafka: KafkaSettings) -> dict[str, dict[str, object]]:
    """Every topic with its partition count and config, as the admin client creates them."""
    t = Topics.from_settings(kafka)
    n = kafka.partitions
    compact = {"cleanup.policy": "compact"}
    # Streams the warehouse keeps (or that only matter now): a day on the broker is plenty, and
    # the snapshots are the largest stream (every unit's figures, per partition, twice a second).
    day = {"retention.ms": str(24 * 3600 * 1000)}
    hour = {"retention.ms": str(3600 * 1000)}
    return {
        t.dossier_events: {"partitions": n.dossier_events, "config": {}},
        t.service_metrics: {"partitions": n.service_metrics, "config": {}},
        t.camera_events: {"partitions": n.camera_events, "config": {}},
        # Thumbnails: only the newest frame per camera matters.
        t.camera_frames: {"partitions": n.camera_events, "config": compact},
        t.kpi_snapshots: {"partitions": n.kpi_snapshots, "config": day},
        t.alerts: {"partitions": n.alerts, "config": {}},
        t.alert_actions: {"partitions": n.alert_actions, "config": {}},
        t.deadletter: {"partitions": n.deadletter, "config": {}},
        t.pipeline_stats: {"partitions": n.pipeline_stats, "config": hour},
        # The alerts agent's numbered log: ONE partition, so its order is the book's order.
        t.alert_log: {"partitions": 1, "config": {}},
        t.service_figures: {"partitions": 1, "config": day},
        t.simulator_control: {"partitions": 1, "config": {}},
        # Petitions: keyed by pakn_code, as many partitions as the dossier events (the petition
        # agent's partials then line up with the dossier agent's in the snapshots).
        t.pakn_events: {"partitions": n.dossier_events, "config": {}},
        # The procedure catalogue: key "procedure_code|valid_from", value the row's JSON; compacted,
        # so the topic always holds the latest version of every row (`ioc catalogue import`).
        t.catalogue: {"partitions": 1, "config": compact},
        # `ioc import --national-scores/--national-report`: key "score|PROVINCE|PERIOD" or
        # "report|UNIT|PERIOD" (ioc.broker.reference_feed.NationalView).
        t.national: {"partitions": 1, "config": compact},
        # Silence events (create, expire) in order: every reader folds them to the same silences.
        t.silences: {"partitions": 1, "config": {}},
        # What the notifier delivered: read back at its start, so nothing is notified twice.
        t.notify_log: {"partitions": 1, "config": {}},
    }
