"""The warehouse schema, defined once and rendered per engine dialect.

Types are written as for a current ClickHouse (chDB 26 or a server >= 20.x). Debian's
ClickHouse 18.16, used in tests of the native-protocol path, cannot run some of them, so
the legacy dialect rewrites them:
  * ``LowCardinality(T)`` (19.x+) -> ``T``
  * ``DateTime64(3, tz)`` (20.1+) -> ``DateTime(tz)``: millisecond precision is lost there
  * column ``CODEC(...)`` (19.11+) and table ``TTL`` (19.6+) are dropped
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TZ = "Asia/Ho_Chi_Minh"
TS = f"DateTime64(3, '{TZ}')"


@dataclass(frozen=True)
class Dialect:
    name: str
    low_cardinality: bool = True
    datetime64: bool = True
    codecs: bool = True
    ttl: bool = True
    # Block deduplication of plain MergeTree inserts by token (`non_replicated_deduplication_window`,
    # `insert_deduplication_token`: 22.x+).
    insert_dedup: bool = True

    @classmethod
    def for_version(cls, version: str) -> "Dialect":
        major, minor = (int(x) for x in version.split(".")[:2])
        if (major, minor) < (20, 1):
            return LEGACY
        return MODERN


MODERN = Dialect("modern")
LEGACY = Dialect("clickhouse-18", low_cardinality=False, datetime64=False, codecs=False, ttl=False,
                 insert_dedup=False)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    codec: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    engine: str
    order_by: str
    partition_by: str | None = None
    ttl: str | None = None
    comment: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    # Remember the tokens of this many recent inserts, so a batch the sink inserts again
    # after a crash (same token) is dropped whole; 0 = no token deduplication.
    dedup_window: int = 0

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def render_type(type_: str, dialect: Dialect) -> str:
    if not dialect.low_cardinality:
        type_ = re.sub(r"LowCardinality\((.*)\)", r"\1", type_)
    if not dialect.datetime64:
        type_ = re.sub(r"DateTime64\(\d+(?:,\s*('[^']*'))?\)", lambda m: f"DateTime({m.group(1) or ''})".replace("()", ""), type_)
    return type_


def render_column(c: Column, dialect: Dialect) -> str:
    line = f"{c.name} {render_type(c.type, dialect)}"
    if c.codec and dialect.codecs:
        line += f" CODEC({c.codec})"
    return line


def render_create(table: Table, database: str, dialect: Dialect) -> str:
    cols = [f"    {render_column(c, dialect)}" for c in table.columns]
    sql = f"CREATE TABLE IF NOT EXISTS {database}.{table.name}\n(\n" + ",\n".join(cols) + f"\n)\nENGINE = {table.engine}\n"
    if table.partition_by:
        sql += f"PARTITION BY {table.partition_by}\n"
    sql += f"ORDER BY {table.order_by}\n"
    if table.ttl and dialect.ttl:
        sql += f"TTL {table.ttl}\n"
    settings = dict(table.settings)
    if table.dedup_window and dialect.insert_dedup:
        settings["non_replicated_deduplication_window"] = str(table.dedup_window)
    if settings:
        sql += "SETTINGS " + ", ".join(f"{k} = {v}" for k, v in settings.items()) + "\n"
    return sql


DOSSIER_EVENTS = Table(
    name="dossier_events",
    comment="every valid dossier event, once (ReplacingMergeTree on the event id)",
    columns=(
        Column("event_id", "String"),
        Column("dossier_code", "String"),
        Column("status", "UInt8"),
        Column("occurred_at", TS, codec="Delta, ZSTD"),
        Column("unit_code", "LowCardinality(String)"),
        Column("procedure_code", "LowCardinality(String)"),
        Column("agency_code", "LowCardinality(String)"),
        Column("channel", "UInt8"),
        Column("due_at", f"Nullable({TS})"),
        Column("payload", "String", codec="ZSTD(3)"),
        Column("ingested_at", TS),
    ),
    # The same event stored twice shares partition and sorting key, so merges collapse it;
    # queries count distinct event ids so they are exact before the merge too.
    engine="ReplacingMergeTree(ingested_at)",
    partition_by="toYYYYMM(occurred_at)",
    order_by="(unit_code, dossier_code, event_id)",
    dedup_window=1000,
)

PAKN_EVENTS = Table(
    name="pakn_events",
    comment="every valid petition (PAKN) event, once (ReplacingMergeTree on the event id; contracts.md §2c)",
    columns=(
        Column("event_id", "String"),
        Column("pakn_code", "String"),
        Column("status", "LowCardinality(String)"),
        Column("occurred_at", TS, codec="Delta, ZSTD"),
        Column("unit_code", "LowCardinality(String)"),
        Column("category", "LowCardinality(String)"),  # '' when not given
        Column("channel", "LowCardinality(String)"),
        Column("dossier_code", "String"),
        Column("commune_code", "LowCardinality(String)"),
        Column("likes", "Nullable(UInt32)"),
        Column("dislikes", "Nullable(UInt32)"),
        Column("payload", "String", codec="ZSTD(3)"),
        Column("ingested_at", TS),
    ),
    engine="ReplacingMergeTree(ingested_at)",
    partition_by="toYYYYMM(occurred_at)",
    order_by="(unit_code, pakn_code, event_id)",
    dedup_window=1000,
)

SNAPSHOT_COLUMNS = ("received_today", "in_processing", "due_today", "at_risk", "overdue", "counted", "good")

KPI_SNAPSHOTS = Table(
    name="kpi_snapshots",
    comment="the live figures of each unit as the stream agents emitted them",
    columns=(
        Column("computed_at", TS, codec="Delta, ZSTD"),
        Column("source_partition", "UInt16"),
        # The same instant in epoch milliseconds: exact on every engine (18.16 has no DateTime64),
        # so `ioc verify` finds the newest snapshot and judges at its very instant.
        Column("computed_ms", "UInt64", codec="Delta, ZSTD"),
        Column("unit_code", "LowCardinality(String)"),
        # The whole additive tally as JSON (its keys grow with the indicators), and the
        # figures the wall's history charts query as columns.
        *(Column(name, "UInt64") for name in SNAPSHOT_COLUMNS),
        Column("tally", "String", codec="ZSTD(3)"),
    ),
    engine="MergeTree",
    partition_by="toYYYYMM(computed_at)",
    order_by="(unit_code, computed_at, source_partition)",
    ttl="toDateTime(computed_at) + INTERVAL 400 DAY",
    dedup_window=1000,
)

DEADLETTER = Table(
    name="deadletter",
    comment="rejected input with the reason, as published on the dead-letter topic",
    columns=(
        Column("rejected_at", TS),
        Column("source_topic", "LowCardinality(String)"),
        Column("source_partition", "UInt16"),
        Column("source_offset", "UInt64"),
        # One source message can hold many bad items: the item's identity within it.
        Column("item_hash", "String"),
        Column("reason", "String"),
        Column("raw", "String", codec="ZSTD(3)"),
    ),
    # A worker restarted mid-stream rejects the same item again: same sorting key, one row.
    engine="ReplacingMergeTree(rejected_at)",
    partition_by="toYYYYMM(rejected_at)",
    order_by="(source_topic, source_partition, source_offset, item_hash)",
    dedup_window=1000,
)

CAMERA_EVENTS = Table(
    name="camera_events",
    comment="camera intervals and health changes (contracts.md §4), once per camera, time and event",
    columns=(
        Column("camera_id", "LowCardinality(String)"),
        Column("ts", TS, codec="Delta, ZSTD"),
        Column("event", "LowCardinality(String)"),  # interval | health_changed
        Column("health", "LowCardinality(String)"),  # the state (after the change, for a change)
        Column("health_from", "LowCardinality(String)"),  # a change's previous state; '' for an interval
        Column("frames", "UInt32", codec="T64, ZSTD"),
        Column("fps", "Float32"),
        Column("motion", "Nullable(Float32)"),
        Column("objects", "Nullable(UInt16)"),
        Column("people", "Nullable(UInt16)"),
        Column("skipped", "UInt32", codec="T64, ZSTD"),
        Column("zones", "String", codec="ZSTD(3)"),  # JSON objects: name -> count, crossings, queue
        Column("lines", "String", codec="ZSTD(3)"),
        Column("queues", "String", codec="ZSTD(3)"),
        Column("ingested_at", TS),
    ),
    # A record delivered twice has the same (camera, time, event): merges keep one.
    engine="ReplacingMergeTree(ingested_at)",
    partition_by="toYYYYMM(ts)",
    order_by="(camera_id, ts, event)",
    ttl="toDateTime(ts) + INTERVAL 90 DAY",
    dedup_window=1000,
)

CAMERA_THUMBNAILS = Table(
    name="camera_thumbnails",
    comment="small JPEG pictures per camera (base64), a sample of the camera-frames topic, kept 7 days",
    columns=(
        Column("camera_id", "LowCardinality(String)"),
        Column("captured_at", TS, codec="Delta, ZSTD"),
        Column("jpeg_base64", "String", codec="ZSTD(1)"),
        Column("overlay", "String", codec="ZSTD(3)"),  # JSON: what the live view draws over it
        Column("ingested_at", TS),
    ),
    engine="ReplacingMergeTree(ingested_at)",
    # Day partitions: the TTL drops whole days; "the newest per camera" reads today's first.
    partition_by="toYYYYMMDD(captured_at)",
    order_by="(camera_id, captured_at)",
    ttl="toDateTime(captured_at) + INTERVAL 7 DAY",
    dedup_window=100,
)

SERVICE_METRICS = Table(
    name="service_metrics",
    comment="every service-metric sample (scraped, pushed or simulated), kept 90 days",
    columns=(
        Column("time", TS, codec="Delta, ZSTD"),
        Column("system", "LowCardinality(String)"),
        Column("metric", "LowCardinality(String)"),
        Column("unit", "LowCardinality(String)"),  # a commune's code, '' for a system-wide sample
        Column("labels", "String", codec="ZSTD(3)"),  # JSON object, keys sorted
        Column("value", "Float64", codec="Gorilla, ZSTD"),
    ),
    # A sample delivered twice has the same sorting key: merges keep one.
    engine="ReplacingMergeTree",
    partition_by="toYYYYMMDD(time)",
    order_by="(system, metric, unit, labels, time)",
    ttl="toDateTime(time) + INTERVAL 90 DAY",
    dedup_window=1000,
)

ALERT_EVENTS = Table(
    name="alert_events",
    comment="the alerts agent's numbered log (signals and actions); replayed by seq it rebuilds the alert book",
    columns=(
        Column("alert_id", "String"),
        Column("seq", "UInt64"),
        Column("event_id", "String"),
        Column("at", TS, codec="Delta, ZSTD"),
        Column("type", "LowCardinality(String)"),  # signal | action
        Column("what", "LowCardinality(String)"),  # raise, clear, acknowledge, assign, comment, escalate, resolve
        Column("source", "LowCardinality(String)"),  # a signal's; '' for an action
        Column("system", "LowCardinality(String)"),
        Column("kind", "LowCardinality(String)"),
        Column("unit", "LowCardinality(String)"),
        Column("severity", "LowCardinality(String)"),
        Column("actor", "LowCardinality(String)"),
        Column("event", "String", codec="ZSTD(3)"),  # the logged event as JSON, for replay
    ),
    # Logged once by the single writer; the sink may store it twice: one row per (alert, seq).
    engine="ReplacingMergeTree",
    partition_by="toYYYYMM(at)",
    order_by="(alert_id, seq)",
    dedup_window=1000,
)

SILENCE_EVENTS = Table(
    name="silence_events",
    comment="silences and maintenance windows: every create and expire with who, why and when (the audit trail)",
    columns=(
        Column("silence_id", "String"),
        Column("event_id", "String"),
        Column("at", TS, codec="Delta, ZSTD"),
        Column("op", "LowCardinality(String)"),  # create | expire
        Column("kind", "LowCardinality(String)"),  # silence | maintenance
        Column("actor", "LowCardinality(String)"),
        Column("comment", "String"),
        Column("matchers", "String"),  # JSON object
        Column("starts_at", "Nullable(" + TS + ")"),
        Column("ends_at", "Nullable(" + TS + ")"),
        Column("event", "String", codec="ZSTD(3)"),  # the event as JSON, for replay
    ),
    engine="ReplacingMergeTree",
    partition_by="toYYYYMM(at)",
    order_by="(silence_id, event_id)",
    dedup_window=1000,
)

NOTIFICATIONS = Table(
    name="notifications",
    comment="the notifier's log: each (alert, transition, channel) sent or given up (dead-lettered) once",
    columns=(
        Column("key", "String"),
        Column("alert_id", "String"),
        Column("transition", "LowCardinality(String)"),  # firing:<severity> | escalation:<n> | resolved
        Column("channel", "LowCardinality(String)"),
        Column("status", "LowCardinality(String)"),  # sent | dead
        Column("at", TS, codec="Delta, ZSTD"),
        Column("attempts", "UInt16"),
        Column("error", "String"),
    ),
    engine="ReplacingMergeTree",
    partition_by="toYYYYMM(at)",
    order_by="(alert_id, key)",
    dedup_window=1000,
)

PROCEDURE_CATALOGUE = Table(
    name="procedure_catalogue",
    comment="the procedure catalogue (contracts.md §2b): one row per procedure and valid_from; a re-import replaces it",
    columns=(
        Column("procedure_code", "String"),
        # Dates as ISO text: exact on every engine and beyond Date's 1970-2105 range ('0001-01-01'
        # = from the beginning); text order is date order. '' = unknown, as for the enums.
        Column("valid_from", "String"),
        Column("name", "String"),
        Column("level", "LowCardinality(String)"),
        Column("unit_codes", "Array(String)"),  # empty: every unit of its level
        Column("online", "LowCardinality(String)"),
        *(Column(name, "Nullable(UInt8)") for name in (
            "full_online_eligible", "fee", "fee_on_national_payment", "paper_result", "citizen_subject",
            "certified_copy", "components_complete")),
        Column("legal_basis_effective", "String"),
        Column("decision_date", "String"),
        Column("published_date", "String"),
        Column("row_json", "String", codec="ZSTD(3)"),  # CatalogueRow.to_json(), for an exact round trip
        Column("imported_at", TS),
    ),
    # The same (procedure, valid_from) imported again: merges keep the latest import.
    engine="ReplacingMergeTree(imported_at)",
    order_by="(procedure_code, valid_from)",
)

TABLES: tuple[Table, ...] = (DOSSIER_EVENTS, KPI_SNAPSHOTS, DEADLETTER, CAMERA_EVENTS, CAMERA_THUMBNAILS,
                             SERVICE_METRICS, ALERT_EVENTS, PAKN_EVENTS, PROCEDURE_CATALOGUE, SILENCE_EVENTS,
                             NOTIFICATIONS)


@dataclass(frozen=True)
class Rollup:
    """A materialized view that aggregates a raw table as rows arrive (and, when created, the
    rows already there: POPULATE). Aggregates are uniqExact states, so an event stored twice
    (before the ReplacingMergeTree merges it away) still counts once."""

    name: str
    source: Table
    select: str  # the SELECT over ``{source}``, grouped by ``order_by``'s columns
    order_by: str
    partition_by: str
    comment: str = ""
    engine: str = "AggregatingMergeTree"  # its replicated form on a cluster (ioc.warehouse.cluster)


def render_rollup(rollup: Rollup, database: str) -> str:
    select = rollup.select.format(source=f"{database}.{rollup.source.name}")
    return (f"CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{rollup.name}\n"
            f"ENGINE = {rollup.engine}\nPARTITION BY {rollup.partition_by}\nORDER BY {rollup.order_by}\n"
            f"POPULATE AS\n{select}\n")


DOSSIER_DAILY = Rollup(
    name="dossier_daily",
    comment="dossiers and events per unit, local day and status: the wall's and reports' daily history",
    source=DOSSIER_EVENTS,
    # toDate of a column with a time zone gives the local (Vietnam) day on both engines.
    select="SELECT unit_code, toDate(occurred_at) AS day, status, uniqExactState(dossier_code) AS dossiers, "
           "uniqExactState(event_id) AS events FROM {source} GROUP BY unit_code, day, status",
    order_by="(unit_code, day, status)",
    partition_by="toYYYYMM(day)",
)

ROLLUPS: tuple[Rollup, ...] = (DOSSIER_DAILY,)


def create_statements(database: str, dialect: Dialect) -> list[str]:
    return ([f"CREATE DATABASE IF NOT EXISTS {database}"] + [render_create(t, database, dialect) for t in TABLES]
            + [render_rollup(r, database) for r in ROLLUPS])
