"""What each Faust agent does per message, without a broker: Faust's ``agent.test_context()``
feeds the agent's stream in memory, and every topic's ``send`` is recorded instead of produced.

Covered per agent (streams/agents.py, streams/pakn.py, streams/alerts.py, streams/services.py):
what is decoded, what is dead-lettered and with which reason and position, what state is
written, which links and signals are sent.

Not run under test_context: the tables' raw changelog write (streams/changelog.py). It takes
aiokafka's producer out of Faust's (``app.producer._ensure_producer()``) and sends produce
batches itself, which needs a connected producer: test_context starts the agent alone, not the
app's producer. So the agents' calls to ``write_changelog`` are recorded (the records each
message writes), and ``write_changelog`` itself is tested against a stand-in producer (one batch
per partition and message, a full batch sent and another begun). The dossier agent writes no
state per message (streams/checkpoint.py): its partitions' states are read from
``app.dossier_partitions``, and its recovery reads an in-memory log instead of the broker
(recovery and checkpoints themselves: tests/unit/test_checkpoint.py). The timers (snapshots,
stats, checkpoints, escalation) and the catalogue follower are not started by test_context
either; the pure parts they call have tests of their own.

``put()`` of a test context returns once the agent has *taken* the value, not handled it (our
agents yield nothing), so :func:`handled` puts an empty batch after it: the agent takes that only
once it is done with the previous one.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable
from unittest import mock

import faust
import pytest

from ioc.config import Settings
from ioc.topics import Topics
from ioc.wire import partition_for

SETTINGS = Settings()
TOPICS = Topics.from_settings(SETTINGS.kafka)
NOBODY = "127.0.0.1:1"  # no broker: nothing here may connect
AT = datetime(2026, 1, 5, 8, 0, tzinfo=timezone(timedelta(hours=7)))


class Recorder:
    """Stands in for ``Topic.send`` and the changelog writer."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.written: list[tuple[int, list[tuple[bytes, bytes]]]] = []

    async def send(self, topic: Any, **kw: Any) -> None:
        self.sent.append((topic.get_topic_name(), kw))

    async def write(self, app: Any, table: Any, partition: int, records: list[tuple[bytes, bytes]]) -> None:
        if records:
            self.written.append((partition, records))

    def values(self, topic: str) -> list[Any]:
        return [json.loads(kw["value"]) for name, kw in self.sent if name == topic]


@pytest.fixture
def rec() -> Any:
    r = Recorder()

    async def send(topic: Any, *args: Any, **kw: Any) -> None:
        await r.send(topic, **kw)

    async def empty_log(*_: Any, **__: Any) -> int:  # no checkpoint, nothing before the first message
        return 0

    with mock.patch("faust.topics.Topic.send", send), mock.patch("streams.agents.read_partition", empty_log), \
            mock.patch("streams.agents.write_changelog", r.write), mock.patch("streams.pakn.write_changelog", r.write):
        yield r


def new_app() -> faust.App:
    return faust.App("test-agents", broker=f"kafka://{NOBODY}", store="memory://", autodiscover=False,
                     web_enabled=False)


def run(agent: Any, body: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        async with agent.test_context() as ctx:
            await body(ctx)

    asyncio.run(main())


async def handled(ctx: Any, value: bytes, partition: int = 0, key: bytes | None = None) -> None:
    await ctx.put(value, key=key, partition=partition)
    await ctx.put(b"[]", partition=partition)


def batch(*items: Any) -> bytes:
    return json.dumps(list(items)).encode()


def dossier_event(event_id: str, code: str = "H44.07-260105-0001", status: int = 2) -> dict[str, Any]:
    return {"event_id": event_id, "dossier_code": code, "status": status, "occurred_at": AT.isoformat(),
            "unit_code": "H44.07", "procedure_code": "1.001612"}


# -- the dossier agent --------------------------------------------------------------------------------------


def dossier_agent() -> Any:
    from streams.agents import register_dossier_agents

    app = new_app()
    register_dossier_agents(app, SETTINGS, NOBODY)
    return app.agents["dossier-agent"]


def partitions_of(agent: Any) -> Any:
    return agent.app.dossier_partitions


def test_dossier_agent_folds_the_changed_states_and_dead_letters_bad_items_with_their_position(rec):
    agent = dossier_agent()

    async def body(ctx: Any) -> None:
        await handled(ctx, batch(dossier_event("e1"), {"dossier_code": "x"}, dossier_event("e2", status=4)),
                      partition=2)

    run(agent, body)
    parts = partitions_of(agent)
    assert rec.written == []  # no state is written per message: the source is the changelog
    state = parts.live[2].get("H44.07-260105-0001")
    assert [f.event_id for f in state.facts] == ["e1", "e2"]
    assert parts.unsaved[2] == {"H44.07-260105-0001"}  # for the next checkpoint
    assert parts.next_offset[2] == 2  # the message and the empty batch after it
    dead, = rec.values(TOPICS.deadletter)
    assert dead["source_topic"] == TOPICS.dossier_events and dead["source_partition"] == 2
    assert dead["source_item"] == 1 and "event_id: Field required" in dead["reason"]
    assert json.loads(dead["raw"]) == {"dossier_code": "x"}


def test_dossier_agent_dead_letters_an_undecodable_message_and_goes_on(rec):
    agent = dossier_agent()

    async def body(ctx: Any) -> None:
        await handled(ctx, b"\xff not json", partition=1)
        await handled(ctx, batch(dossier_event("e1")), partition=1)

    run(agent, body)
    dead, = rec.values(TOPICS.deadletter)
    assert dead["source_partition"] == 1 and dead["source_offset"] == 0 and dead["reason"].startswith("not UTF-8 JSON")
    assert partitions_of(agent).live[1].get("H44.07-260105-0001") is not None  # the next message is handled


def test_a_redelivered_event_changes_nothing(rec):
    agent = dossier_agent()
    states = []

    async def body(ctx: Any) -> None:
        await handled(ctx, batch(dossier_event("e1")))
        states.append(partitions_of(agent).live[0].get("H44.07-260105-0001"))
        partitions_of(agent).unsaved[0].clear()
        await handled(ctx, batch(dossier_event("e1")))  # the same event id again

    run(agent, body)
    assert partitions_of(agent).live[0].get("H44.07-260105-0001") is states[0]
    assert partitions_of(agent).unsaved[0] == set() and rec.values(TOPICS.deadletter) == []


def test_a_message_its_partition_recovery_folded_is_not_folded_again_but_its_bad_items_are_dead_lettered(rec):
    from ioc.kpi.live import LiveFigures

    agent = dossier_agent()
    parts = partitions_of(agent)
    parts.live[0], parts.next_offset[0] = LiveFigures(), 5  # the timer recovered it up to offset 5

    async def body(ctx: Any) -> None:
        await handled(ctx, batch(dossier_event("e1"), {"dossier_code": "x"}))

    run(agent, body)
    assert parts.live[0].get("H44.07-260105-0001") is None  # folded by the recovery, not here
    assert parts.next_offset[0] == 5
    dead, = rec.values(TOPICS.deadletter)
    assert dead["source_item"] == 1


def test_a_petition_link_is_a_complaint_of_its_dossier_and_a_bad_link_is_dead_lettered(rec):
    agent = dossier_agent()
    link = {"type": "pakn_link", "event_id": "pakn:P1", "dossier_code": "H44.07-260105-0001",
            "occurred_at": AT.isoformat()}

    async def body(ctx: Any) -> None:
        await handled(ctx, batch(dossier_event("e1"), link, {**link, "occurred_at": "yesterday"}))

    run(agent, body)
    state = partitions_of(agent).live[0].get("H44.07-260105-0001")
    assert state.flag("pakn_complaint") is True  # the complaint is a fact of the dossier (5.4)
    dead, = rec.values(TOPICS.deadletter)
    assert dead["reason"].startswith("pakn link:") and dead["source_item"] == 2


# -- the petition agent ------------------------------------------------------------------------------------


def pakn_agent() -> Any:
    from streams.pakn import register_pakn_agents

    app = new_app()
    register_pakn_agents(app, SETTINGS, NOBODY)
    return app.agents["pakn-agent"]


def petition(event_id: str, code: str = "PAKN-1", dossier: str | None = "H44.07-260105-0001") -> dict[str, Any]:
    item = {"event_id": event_id, "pakn_code": code, "status": "received", "occurred_at": AT.isoformat(),
            "unit_code": "H44.07", "category": "procedure"}
    return item | ({"dossier_code": dossier} if dossier else {})


def test_pakn_agent_writes_petitions_and_links_a_named_dossier_once(rec):
    async def body(ctx: Any) -> None:
        await handled(ctx, batch(petition("p1"), petition("p2", code="PAKN-2", dossier=None)), partition=3)
        await handled(ctx, batch(petition("p1")), partition=3)  # redelivered: no state, no link again

    run(pakn_agent(), body)
    (partition, records), = rec.written
    assert partition == 3 and sorted(k for k, _ in records) == [b"PAKN-1", b"PAKN-2"]
    assert all(json.loads(v)["partition"] == 3 for _, v in records)
    links = [(kw["partition"], kw["key"], json.loads(kw["value"])) for name, kw in rec.sent
             if name == TOPICS.dossier_events]
    code = "H44.07-260105-0001"
    (part, key, items), = links
    assert part == partition_for(code, SETTINGS.kafka.partitions.dossier_events) and key == code.encode()
    assert [(i["type"], i["dossier_code"], i["event_id"]) for i in items] == [("pakn_link", code, "pakn:PAKN-1")]


def test_pakn_agent_dead_letters_a_bad_petition_with_its_reason_and_position(rec):
    async def body(ctx: Any) -> None:
        await handled(ctx, batch(petition("p1", dossier=None), {**petition("p2"), "status": "lost"}))
        await handled(ctx, b"{not json")

    run(pakn_agent(), body)
    bad_item, bad_message = rec.values(TOPICS.deadletter)
    assert bad_item["source_topic"] == TOPICS.pakn_events and bad_item["source_item"] == 1
    assert "status" in bad_item["reason"]
    assert bad_message["source_offset"] == 2 and bad_message["reason"].startswith("not UTF-8 JSON")
    assert [k for k, _ in rec.written[0][1]] == [b"PAKN-1"]


# -- the alerts agent --------------------------------------------------------------------------------------


def alerts_agent() -> Any:
    from streams.alerts import register_alert_agent

    app = new_app()
    register_alert_agent(app, SETTINGS, NOBODY)
    return app.agents["alerts-agent"]


def outage(event_id: str, op: str = "raise") -> bytes:
    return json.dumps({"type": "signal", "event_id": event_id, "op": op, "source": "service", "system": "portal",
                       "kind": "system_down", "severity": "critical", "at": AT.isoformat()}).encode()


async def no_log(*args: Any, **kw: Any) -> list[Any]:
    return []  # an empty alert log: the book starts empty


def test_alerts_agent_logs_each_new_signal_once_and_dead_letters_a_refused_action(rec):
    async def body(ctx: Any) -> None:
        await ctx.put(outage("s1"))
        await ctx.put(outage("s1"))  # the same event again: nothing logged
        bad = {"type": "action", "action": "acknowledge", "alert_id": "no-such-alert", "actor": "op",
               "at": AT.isoformat()}
        await ctx.put(json.dumps(bad).encode())
        await ctx.put(b"not json")
        await ctx.put(outage("s2", op="clear"))
        await ctx.put(outage("s1"))  # taken only once the clear is handled; logs nothing

    with mock.patch("streams.alerts.read_log", no_log):
        run(alerts_agent(), body)
    logged = rec.values(TOPICS.alert_log)
    assert [(e["event"]["event_id"], e["event"]["op"]) for e in logged] == [("s1", "raise"), ("s2", "clear")]
    assert logged[0]["alert_id"] == logged[1]["alert_id"]  # the clear closes the alert the raise opened
    refused = rec.values(TOPICS.deadletter)
    assert len(refused) == 2 and refused[0]["source_offset"] == 2 and "no-such-alert" in refused[0]["reason"]
    assert refused[1]["reason"].startswith("not JSON")


# -- the service agent -------------------------------------------------------------------------------------


def service_agent() -> Any:
    from streams.services import register_service_agents

    app = new_app()
    register_service_agents(app, SETTINGS)
    return app.agents["service-agent"]


def test_service_agent_sends_the_monitors_signals_keyed_by_fingerprint_and_skips_bad_messages(rec):
    from ioc.services.model import ServiceMetric

    incident = ServiceMetric(system="soc", metric="soc_incident", value=1, time=AT,
                             labels={"id": "INC-7", "severity": "critical", "category": "ddos", "asset": "portal"})

    async def body(ctx: Any) -> None:
        await ctx.put(b"\x00garbage")  # undecodable: counted and skipped
        await ctx.put(batch(incident.to_wire(), {"system": "soc"}))
        await ctx.put(b"[]")

    run(service_agent(), body)
    (name, kw), = rec.sent
    signal = json.loads(kw["value"])
    assert name == TOPICS.alerts and signal["kind"] == "soc_incident" and signal["op"] == "raise"
    assert signal["labels"] == {"incident": "INC-7"}
    from ioc.alerts.model import parse_alert_event

    assert kw["key"] == parse_alert_event(signal).fingerprint.encode()


# -- the raw changelog write --------------------------------------------------------------------------------


class FakeBatch:
    def __init__(self, room: int) -> None:
        self.room, self.records = room, []

    def append(self, key: bytes, value: bytes, timestamp: None) -> object | None:
        if len(self.records) == self.room:
            return None  # full, as aiokafka's BatchBuilder says
        self.records.append((key, value))
        return object()


def test_write_changelog_sends_one_batch_per_message_and_starts_another_when_full():
    from streams.changelog import write_changelog

    sent: list[tuple[str, int, list]] = []
    producer = mock.Mock()
    producer.create_batch = lambda: FakeBatch(room=2)

    async def send_batch(b: FakeBatch, topic: str, partition: int) -> None:
        sent.append((topic, partition, b.records))

    producer.send_batch = send_batch
    app = mock.Mock()
    app.producer._ensure_producer.return_value = producer
    records = [(f"k{i}".encode(), b"v") for i in range(3)]
    asyncio.run(write_changelog(app, "app-dossiers-changelog", 5, records))
    assert sent == [("app-dossiers-changelog", 5, records[:2]), ("app-dossiers-changelog", 5, records[2:])]
    sent.clear()
    asyncio.run(write_changelog(app, "app-dossiers-changelog", 5, []))
    assert sent == []  # nothing changed: nothing written
