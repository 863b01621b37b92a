"""The warehouse sink: topics -> batched, idempotent inserts -> offsets committed after.

Batches by size and time (ClickHouse wants large inserts about once a second), commits a
partition's offset only after the rows up to it are stored, retries with backoff while the
warehouse is down and stops reading meanwhile (backpressure, bounded memory). A replayed
batch is harmless: the events table collapses rows with the same event id and every
query counts distinct ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from ioc import clock
from ioc.backoff import Backoff
from ioc.broker.consumer import COMMITTED, DEFAULT_FETCH_MAX_WAIT_MS, ConsumerLoop, Subscription
from ioc.broker.restore import is_restored
from ioc.domain.events import EventRejected, decode_events
from ioc.health import Health
from ioc.topics import Topics
from ioc.warehouse.backends import Row, Warehouse
from ioc.warehouse.camera_rows import ThumbnailSampler, camera_event_rows, thumbnail_rows
from ioc.warehouse.catalogue_rows import catalogue_rows
from ioc.warehouse.schema import (
    ALERT_EVENTS,
    CAMERA_EVENTS,
    CAMERA_THUMBNAILS,
    DEADLETTER,
    DOSSIER_EVENTS,
    KPI_SNAPSHOTS,
    NOTIFICATIONS,
    PAKN_EVENTS,
    PROCEDURE_CATALOGUE,
    SERVICE_METRICS,
    SILENCE_EVENTS,
    SNAPSHOT_COLUMNS,
    Table,
)
from ioc.wire import UndecodableMessage, decode_batch

log = logging.getLogger(__name__)

SINK_CONDITIONS = ("warehouse", "assigned")
DRAIN_S = 3.0  # at a stop, how long the sink may read on to the end of its partitions



def dossier_rows(value: bytes | None, ingested_at: datetime) -> list[Row]:
    """Rows of the valid events in one message. The stream agent dead-letters the rest; the
    same decoder (ioc.domain.events.decode_events) gives the same verdict here, so a bad item is
    skipped, never stored nor dead-lettered twice."""
    try:
        events = decode_events(value, keep_extras=True).events
    except UndecodableMessage:
        return []
    encode = _PAYLOAD.encode
    return [{
        "event_id": ev.event_id,
        "dossier_code": ev.dossier_code,
        "status": int(ev.status),
        "occurred_at": ev.occurred_at,
        "unit_code": ev.unit_code,
        "procedure_code": ev.procedure_code,
        "agency_code": ev.agency_code or "",
        "channel": ev.channel or 0,
        "due_at": ev.due_at,
        # An event with no unknown field encodes as its to_json() does (omit_defaults): one C call.
        "payload": (encode(ev) if ev.extras is None else encode(ev.to_json())).decode(),
        "ingested_at": ingested_at,
    } for ev in events]


_PAYLOAD = msgspec.json.Encoder()


def pakn_rows(value: bytes | None, ingested_at: datetime) -> list[Row]:
    """Rows of the valid petition events in one message (the petition agent dead-letters the rest)."""
    from ioc.domain.pakn import parse_pakn_event

    try:
        items = decode_batch(value)
    except UndecodableMessage:
        return []
    rows = []
    for item in items:
        try:
            ev = parse_pakn_event(item)
        except EventRejected:
            continue
        rows.append({
            "event_id": ev.event_id, "pakn_code": ev.pakn_code, "status": ev.status,
            "occurred_at": ev.occurred_at, "unit_code": ev.unit_code, "category": ev.category or "",
            "channel": ev.channel or "", "dossier_code": ev.dossier_code or "",
            "commune_code": ev.commune_code or "", "likes": ev.likes, "dislikes": ev.dislikes,
            "payload": json.dumps(ev.to_json(), ensure_ascii=False), "ingested_at": ingested_at,
        })
    return rows


def snapshot_rows(value: bytes | None) -> list[Row]:
    data = json.loads(value or b"{}")
    if data.get("source", "dossier") != "dossier" or data.get("delta"):
        # Petition partials (ioc.kpi.snapshots) are not stored: `ioc verify` and the history
        # compare each partition's stored rows with the dossier events alone; the petitions
        # themselves are kept in pakn_events. Change-only snapshots are not stored either: the
        # whole ones (every worker.full_snapshot_s and when the stream goes quiet) are.
        return []
    computed_at = datetime.fromisoformat(data["computed_at"])
    return [
        {"computed_at": computed_at, "source_partition": int(data.get("partition", 0)),
         "computed_ms": round(computed_at.timestamp() * 1000), "unit_code": unit,
         **{k: int(fig.get(k, 0)) for k in SNAPSHOT_COLUMNS}, "tally": json.dumps(fig, sort_keys=True)}
        for unit, fig in data.get("units", {}).items()
    ]


def deadletter_rows(value: bytes | None) -> list[Row]:
    data = json.loads(value or b"{}")
    raw, reason = str(data.get("raw", "")), str(data.get("reason", ""))
    return [{
        "rejected_at": datetime.fromisoformat(data["rejected_at"]),
        "source_topic": str(data.get("source_topic", "")),
        "source_partition": int(data.get("source_partition", 0)),
        "source_offset": int(data.get("source_offset", 0)),
        # The item's position in its message tells apart two equal bad items of one batch.
        "item_hash": hashlib.sha1(f"{data.get('source_item', 0)}\0{reason}\0{raw}".encode()).hexdigest()[:16],
        "reason": reason,
        "raw": raw,
    }]


def service_metric_rows(value: bytes | None) -> list[Row]:
    """Samples of one service-metrics message (compact wire shape); malformed ones are skipped."""
    from ioc.services.model import MetricRejected, from_wire

    rows = []
    for item in decode_batch(value):
        try:
            m = from_wire(item)
        except MetricRejected:
            continue
        rows.append({"time": m.time, "system": m.system, "metric": m.metric, "unit": m.unit or "",
                     "labels": json.dumps(m.labels, sort_keys=True, ensure_ascii=False), "value": m.value})
    return rows


def alert_event_rows(value: bytes | None) -> list[Row]:
    """One entry of the alert log ({"alert_id", "event"}, see ioc/alerts/desk.py)."""
    from ioc.alerts.model import Signal, parse_alert_event

    data = json.loads(value or b"{}")
    event = parse_alert_event(data["event"])
    if event.seq is None:
        raise ValueError("alert log entry without seq")
    signal = isinstance(event, Signal)
    return [{
        "alert_id": str(data["alert_id"]), "seq": event.seq, "event_id": event.event_id, "at": event.at,
        "type": event.type, "what": event.op if signal else event.action,  # type: ignore[union-attr]
        "source": event.source if signal else "", "system": event.system if signal else "",  # type: ignore[union-attr]
        "kind": event.kind.value if signal else "", "unit": (event.unit or "") if signal else "",  # type: ignore[union-attr]
        "severity": event.severity if signal else "", "actor": "" if signal else event.actor,  # type: ignore[union-attr]
        "event": json.dumps(event.to_json(), ensure_ascii=False, sort_keys=True),
    }]


def silence_event_rows(value: bytes | None) -> list[Row]:
    """One silence event (ioc.alerts.silences): the audit trail of silences and maintenance windows."""
    from ioc.alerts.silences import parse_silence_event

    e = parse_silence_event(value or b"")
    return [{
        "silence_id": e.silence_id, "event_id": e.event_id, "at": e.at, "op": e.op, "kind": e.kind, "actor": e.actor,
        "comment": e.comment or "",
        "matchers": json.dumps(e.matchers.model_dump(mode="json", exclude_none=True) if e.matchers else {},
                               ensure_ascii=False, sort_keys=True),
        "starts_at": e.starts_at, "ends_at": e.ends_at,
        "event": json.dumps(e.to_json(), ensure_ascii=False, sort_keys=True),
    }]


def notification_rows(value: bytes | None) -> list[Row]:
    """One record of the notifier's log (ioc.alerts.routing.Delivery)."""
    from ioc.alerts.routing import Delivery

    d = Delivery.from_json(json.loads(value or b"{}"))
    return [{"key": d.key, "alert_id": d.alert_id, "transition": d.transition, "channel": d.channel,
             "status": d.status, "at": d.at, "attempts": d.attempts, "error": d.error or ""}]


@dataclass
class SinkCounters:
    stored: int = 0  # dossier events stored
    snapshots_stored: int = 0
    deadletters_stored: int = 0
    camera_events_stored: int = 0
    thumbnails_stored: int = 0
    pakn_stored: int = 0  # petition events stored
    insert_failures: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Buffer:
    rows: dict[str, list[Row]] = field(default_factory=dict)
    first: dict[TopicPartition, int] = field(default_factory=dict)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)  # next offset to commit
    stamps: dict[TopicPartition, int] = field(default_factory=dict)  # timestamp (ms) of the first message
    since: float | None = None

    def token(self, table: str) -> str:
        """The batch's identity: the same offset ranges give the same token, so ClickHouse drops
        a batch inserted again after a crash between insert and commit (if the restarted sink
        cuts the same ranges; when it does not, the event-id key collapses the rows instead).
        With the first message's timestamp: the embedded broker starts its offsets at 0 again after
        a restart, and a new batch must not pass for one stored before it."""
        ranges = ",".join(f"{tp.topic}/{tp.partition}:{self.first[tp]}-{end}@{self.stamps.get(tp, 0)}"
                          for tp, end in sorted(self.offsets.items()))
        return hashlib.sha1(f"{table}|{ranges}".encode()).hexdigest()

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())


class WarehouseSink:
    def __init__(self, bootstrap: str, topics: Topics, warehouse: Warehouse, group_id: str,
                 batch_rows: int = 10_000, batch_seconds: float = 1.0, health: Health | None = None, *,
                 fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.wh = warehouse
        self.group_id = group_id
        self.batch_rows = batch_rows
        self.batch_seconds = batch_seconds
        self.counters = SinkCounters()
        # Live: the loop turns (also while it retries a failed insert). Ready: the warehouse
        # answers and the consumer has partitions assigned.
        self.health = health or Health("sink", conditions=SINK_CONDITIONS)
        # Called after a batch is stored and before its offsets are committed (fault tests).
        self.after_insert: Callable[[dict[str, int]], None] | None = None  # rows per table
        self._stopping = asyncio.Event()
        self._drain_until: float | None = None  # stop() asked: read to the end until then
        self._drain_ends: dict[TopicPartition, int] | None = None
        self._buf = _Buffer()  # the batch being read
        self._tables: dict[str, tuple[Table, Callable[[Any], list[Row]]]] = {
            topics.kpi_snapshots: (KPI_SNAPSHOTS, snapshot_rows),
            topics.deadletter: (DEADLETTER, deadletter_rows),
            topics.camera_events: (CAMERA_EVENTS, lambda v: camera_event_rows(v, clock.now())),
            topics.service_metrics: (SERVICE_METRICS, service_metric_rows),
            topics.alert_log: (ALERT_EVENTS, alert_event_rows),
        }
        if topics.pakn_events:
            self._tables[topics.pakn_events] = (PAKN_EVENTS, lambda v: pakn_rows(v, clock.now()))
        if topics.silences:
            self._tables[topics.silences] = (SILENCE_EVENTS, silence_event_rows)
        if topics.notify_log:
            self._tables[topics.notify_log] = (NOTIFICATIONS, notification_rows)
        # Converters that need the whole message (key, headers, timestamp), with the time read.
        thumbnails = ThumbnailSampler()
        self._message_tables: dict[str, tuple[Table, Callable[[Any, datetime], list[Row]]]] = {
            topics.camera_frames: (CAMERA_THUMBNAILS, lambda m, now: thumbnail_rows(
                m.key, m.value, m.headers, m.timestamp, now, thumbnails)),
        }
        if topics.catalogue:  # the procedure catalogue `ioc up` and `ioc catalogue import` publish
            self._message_tables[topics.catalogue] = (PROCEDURE_CATALOGUE, lambda m, now: catalogue_rows(
                m.value, now, m.headers))
        self._reader = ConsumerLoop(
            bootstrap, [Subscription(t, COMMITTED) for t in (topics.dossier_events, *self._tables, *self._message_tables)],
            self._poll, name="sink", fetch_max_wait_ms=fetch_max_wait_ms, group_id=group_id, poll_ms=200,
            max_records=5_000, on_connect=self._connected,
            on_disconnect=self._disconnected, session_timeout_ms=10_000, heartbeat_interval_ms=1_000,
            max_poll_records=5_000)

    def stop(self) -> None:
        """Read on to the end of what the broker holds now (at most ``DRAIN_S``), store it, stop:
        `ioc up` stops the sink after the worker, whose last whole snapshot is then stored."""
        if self._drain_until is not None:
            return
        self._drain_until = time.monotonic() + DRAIN_S
        try:
            asyncio.get_running_loop().call_later(DRAIN_S, self._stopping.set)
        except RuntimeError:  # not called from the sink's loop: stop at once
            self._stopping.set()

    async def _drained(self, consumer: AIOKafkaConsumer) -> bool:
        """Stopping, and every assigned partition read to the end it had when the stop came."""
        if self._drain_until is None:
            return False
        if time.monotonic() >= self._drain_until:
            return True
        tps = list(consumer.assignment())
        if self._drain_ends is None:
            self._drain_ends = await consumer.end_offsets(tps) if tps else {}
        # Whole fetches are read, so Tansu's short end offset (streams/faust_consumer.py) is passed.
        return all([await consumer.position(tp) >= end for tp, end in self._drain_ends.items() if tp in tps])

    async def run(self) -> None:
        """Store until :meth:`stop`, then flush the last batch. A broker failure closes the
        consumer and reconnects (:class:`ConsumerLoop`); the rows read but not committed are
        read again from the committed offsets (the inserts are idempotent)."""
        await self._check_warehouse()
        await self._reader.run(self._stopping.is_set, self._pause)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    def _connected(self) -> None:
        self._buf = _Buffer()  # nothing carried over from a consumer that failed

    async def _disconnected(self) -> None:
        consumer = self._reader.consumer
        if self._stopping.is_set() and consumer is not None and self._buf.offsets:
            await self._flush(consumer, self._buf)
        self._buf = _Buffer()
        self.health.set("assigned", False)

    async def _poll(self, records: list[Any]) -> None:
        """One poll's messages (maybe none): buffered, and the batch stored when full or due."""
        consumer = self._reader.consumer
        self.health.beat()
        self.health.set("assigned", bool(consumer.assignment()))
        buf = self._buf
        now = clock.now()  # ingested_at: on the timeline of the snapshots it is compared with
        for msg in records:
            tp = TopicPartition(msg.topic, msg.partition)
            if not is_restored(msg.headers):  # put back from the warehouse at start: stored
                self._add(buf, msg.topic, msg.value, now, msg)
            buf.first.setdefault(tp, msg.offset)
            buf.stamps.setdefault(tp, msg.timestamp or 0)
            buf.offsets[tp] = msg.offset + 1
        loop = asyncio.get_running_loop()
        if buf.offsets and buf.since is None:
            buf.since = loop.time()
        if buf.offsets and (buf.size >= self.batch_rows or loop.time() - (buf.since or 0) >= self.batch_seconds):
            await self._flush(consumer, buf)
            self._buf = _Buffer()
        if await self._drained(consumer):
            self._stopping.set()  # the loop ends; _disconnected stores the rest of the batch

    def _add(self, buf: _Buffer, topic: str, value: bytes | None, now: datetime, msg: Any = None) -> None:
        try:
            if topic == self.topics.dossier_events:
                table, rows = DOSSIER_EVENTS, dossier_rows(value, now)
            elif topic in self._message_tables:
                table, convert_message = self._message_tables[topic]
                rows = convert_message(msg, now)
            else:
                table, convert = self._tables[topic]
                rows = convert(value)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("sink: skipping an unreadable message on %s: %s", topic, exc)
            return
        buf.rows.setdefault(table.name, []).extend(rows)

    async def _flush(self, consumer: AIOKafkaConsumer, buf: _Buffer) -> None:
        tables = {t.name: t for t in (DOSSIER_EVENTS, KPI_SNAPSHOTS, DEADLETTER)}
        tables.update({t.name: t for t, _ in (*self._tables.values(), *self._message_tables.values())})
        for name, rows in buf.rows.items():
            await self._insert_with_retry(tables[name], rows, buf.token(name))
        if self.after_insert is not None:
            self.after_insert({name: len(rows) for name, rows in buf.rows.items()})
        try:
            await consumer.commit({tp: OffsetAndMetadata(off, "") for tp, off in buf.offsets.items()})
        except KafkaError as exc:
            # Rebalanced while ClickHouse was down (or the broker is gone): the rows are stored,
            # the new owner reads them again and the inserts are idempotent.
            log.warning("sink: offsets not committed (%s); the batch will be read again", exc)
        self.counters.batches += 1
        self.counters.stored += len(buf.rows.get(DOSSIER_EVENTS.name, []))
        self.counters.snapshots_stored += len(buf.rows.get(KPI_SNAPSHOTS.name, []))
        self.counters.deadletters_stored += len(buf.rows.get(DEADLETTER.name, []))
        self.counters.camera_events_stored += len(buf.rows.get(CAMERA_EVENTS.name, []))
        self.counters.thumbnails_stored += len(buf.rows.get(CAMERA_THUMBNAILS.name, []))
        self.counters.pakn_stored += len(buf.rows.get(PAKN_EVENTS.name, []))

    async def _check_warehouse(self) -> None:
        """At start: does the warehouse answer? (Then every insert tells.)"""
        try:
            await asyncio.to_thread(self.wh.query, "SELECT 1")
        except Exception as exc:  # any engine failure: not ready; the inserts retry
            log.warning("sink: the warehouse does not answer (%s)", exc)
            self.health.set("warehouse", False)
        else:
            self.health.set("warehouse", True)

    async def _insert_with_retry(self, table: Table, rows: list[Row], token: str) -> None:
        backoff = Backoff(0.5, 15.0)
        while True:
            self.health.beat()  # retrying is the loop at work: live, not ready
            try:
                await asyncio.to_thread(self.wh.insert, table, rows, token)
                self.health.set("warehouse", True)
                return
            except Exception as exc:  # any engine failure: keep the batch, retry
                self.health.set("warehouse", False)
                self.counters.insert_failures += 1
                delay = backoff.next()
                log.warning("sink: insert into %s failed (%s); retrying in %.1f s", table.name, exc, delay)
                await asyncio.sleep(delay)


async def run_sink(sink: WarehouseSink, bootstrap: str, stats_topic: str, instance: str) -> None:
    """Run ``sink`` and publish its counters to the pipeline-stats topic every second."""
    from ioc.broker.producer import start_producer
    from ioc.broker.publisher import stats_message

    producer = await start_producer(bootstrap)
    task = asyncio.create_task(sink.run())
    try:
        while not task.done():
            await producer.send_and_wait(stats_topic, stats_message("sink", instance, sink.counters.as_dict()))
            await asyncio.wait([task], timeout=1.0)
        await producer.send_and_wait(stats_topic, stats_message("sink", instance, sink.counters.as_dict()))
        task.result()
    finally:
        if not task.done():
            sink.stop()
            await task
        await producer.stop()
