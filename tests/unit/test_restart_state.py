"""What a restarted `ioc up` rebuilds: the simulator from its checkpoint (the same events as an
uninterrupted run, no history simulated anew), the worker's dossier table and the alert log
from the warehouse (ioc.broker.restore), and sink batches that never pass for earlier ones."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from ioc.broker.restore import (
    DOSSIER_TABLE,
    PAKN_TABLE,
    RESTORED_HEADER,
    alert_log_entries,
    changelog_topic,
    fold_states,
    is_restored,
    table_records,
)
from ioc.domain.dossier import DossierState
from ioc.domain.events import parse_event
from ioc.sim import checkpoint
from ioc.sim.dossiers import DossierSimulator
from ioc.sim.population import population
from ioc.sim.runner import _prepare
from ioc.warehouse.sink import _Buffer
from ioc.wire import partition_for

T0 = datetime(2026, 12, 8, 2, 30, tzinfo=timezone.utc)  # a Tuesday, 09:30 in Vietnam


def _run(sim: DossierSimulator, next_arrival: datetime, until: datetime, step_s: float = 7.0,
         rate: float = 2.0) -> tuple[list[dict[str, Any]], datetime]:
    """The live loop of ioc.sim.runner in virtual time: arrivals, then what is due, every step."""
    out: list[dict[str, Any]] = []
    t = next_arrival
    while t < until:
        t = min(t + timedelta(seconds=step_s), until)
        while next_arrival <= t:
            sim.new_dossier(next_arrival)
            next_arrival += timedelta(seconds=sim.rng.expovariate(rate / 2.5))
        out += list(sim.due(t))
    return out, next_arrival


def test_a_simulator_from_its_state_goes_on_as_if_never_stopped():
    whole = _prepare(1, 0, T0)
    expected, _ = _run(whole, T0, T0 + timedelta(minutes=20), rate=5.0)

    first = _prepare(1, 0, T0)
    before, next_arrival = _run(first, T0, T0 + timedelta(minutes=8), rate=5.0)
    assert first.scheduled > 0  # lifecycles under way: their later events must still come
    state = json.loads(json.dumps(first.state()))  # through its file format
    resumed = DossierSimulator.from_state(state, 1, population("province", 1))
    after, _ = _run(resumed, next_arrival, T0 + timedelta(minutes=20), step_s=3.0, rate=5.0)

    # The same events (the order within a step follows how the real-time loop slices time).
    key = lambda e: e["event_id"]  # noqa: E731
    assert sorted(before + after, key=key) == sorted(expected, key=key)
    assert len({e["event_id"] for e in expected}) == len(expected)


def test_the_run_replayed_from_t0_publishes_the_same_events():
    """No checkpoint yet: the restart replays the run from its first start and resends it all
    (same ids); however the real-time loop sliced the arrivals, the events due by then are the same."""
    a, _ = _run(_prepare(1, 0, T0), T0, T0 + timedelta(minutes=10), step_s=0.2 * 37)
    b, _ = _run(_prepare(1, 0, T0), T0, T0 + timedelta(minutes=10), step_s=600)
    assert sorted(e["event_id"] for e in a) == sorted(e["event_id"] for e in b)


def test_resume_fresh_then_replay_then_checkpoint(tmp_path: Path):
    path = tmp_path / "simulator" / "state.json"
    ident = checkpoint.identity(1, 2.0, 1, "province", ("25", "H44"))
    made: list[datetime] = []

    def prepare(t0: datetime) -> DossierSimulator:
        made.append(t0)
        return _prepare(1, 0, t0)

    people = lambda: population("province", 1)  # noqa: E731
    fresh = checkpoint.resume(path, ident, T0, 1, prepare, people)
    assert (fresh.how, fresh.t0) == ("fresh", T0)
    assert json.loads(path.read_text())["checkpoint"] is None  # the identity is written before anything is sent

    later = T0 + timedelta(hours=1)
    replay = checkpoint.resume(path, ident, later, 1, prepare, people)
    assert (replay.how, replay.t0, replay.next_arrival) == ("replay", T0, T0)  # not a new history from `later`
    assert made == [T0, T0]

    cp = checkpoint.Checkpointer(path, ident, T0, "unused:9092", "ioc.dossier.events", "ioc-streams-sink")
    sim = _prepare(1, 0, T0)
    _run(sim, T0, T0 + timedelta(minutes=5))
    asyncio.run(cp.candidate(sim, T0 + timedelta(minutes=5, seconds=3), T0 + timedelta(minutes=5), {0: 41, 2: 7}))
    assert cp.pending[0][0] == {0: 42, 2: 8}  # the sink must have committed past the newest message sent
    from ioc.sim.checkpoint import write_atomic

    write_atomic(path, cp.pending[0][2])
    again = checkpoint.resume(path, ident, later, 1, prepare, people)
    assert again.how == "checkpoint" and again.next_arrival == T0 + timedelta(minutes=5, seconds=3)
    assert again.sim.state() == sim.state()
    assert made == [T0, T0]  # no history simulated for a checkpoint

    other = checkpoint.identity(2, 2.0, 1, "province", ("25", "H44"))
    assert checkpoint.resume(path, other, later, 2, prepare, people).how == "fresh"


def test_checkpoint_written_only_once_the_sink_has_stored_it(tmp_path: Path, monkeypatch):
    path = tmp_path / "state.json"
    ident = checkpoint.identity(1, 2.0, 0, "province", ("25", "H44"))
    cp = checkpoint.Checkpointer(path, ident, T0, "unused:9092", "t", "g", every_s=0.0)
    committed: dict[int, int] = {}

    async def fake_committed() -> dict[int, int]:
        return dict(committed)

    cp.committed = fake_committed  # type: ignore[method-assign]
    sim = _prepare(1, 0, T0)
    monkeypatch.setattr(checkpoint, "CHECK_S", 0.0)

    async def publish(at: datetime, acked: dict[int, int]) -> None:
        await cp.after_publish(sim, at, at, acked)

    asyncio.run(publish(T0, {0: 10}))
    assert not path.exists()  # the sink has not stored offset 10 yet
    committed[0] = 5
    asyncio.run(publish(T0 + timedelta(seconds=1), {0: 20}))
    assert not path.exists()
    committed[0] = 11  # the first candidate is stored, not the second
    asyncio.run(publish(T0 + timedelta(seconds=2), {0: 30}))
    assert json.loads(path.read_text())["checkpoint"]["at"] == T0.isoformat()
    committed[0] = 31
    asyncio.run(publish(T0 + timedelta(seconds=3), {0: 30}))
    assert json.loads(path.read_text())["checkpoint"]["at"] == (T0 + timedelta(seconds=3)).isoformat()
    assert not cp.pending


def _event(code: str, status: int, at: datetime, eid: str, **extra: Any):
    return parse_event({"event_id": eid, "dossier_code": code, "status": status, "occurred_at": at.isoformat(),
                        "unit_code": "H44.07", "procedure_code": "1.001612", **extra})


def test_restored_table_is_what_the_agent_folds_in_any_order():
    due = (T0 + timedelta(days=5)).isoformat()
    events = [_event("H44.07-A", 2, T0, "a1", due_at=due), _event("H44.07-A", 4, T0 + timedelta(hours=1), "a2"),
              _event("H44.07-B", 2, T0, "b1", due_at=due), _event("H44.07-A", 9, T0 + timedelta(hours=2), "a3")]
    states = fold_states(events)
    assert fold_states(list(reversed(events)) + events[:2]) == states  # order and redelivery change nothing
    records = table_records(states, 4)
    assert sorted(k for _, k, _ in records) == [b"H44.07-A", b"H44.07-B"]
    for partition, key, value in records:
        entry = json.loads(value)  # as streams/checkpoint.py reads a checkpoint
        assert entry["partition"] == partition == partition_for(key.decode(), 4)
        assert DossierState.from_json(entry["state"]) == states[key.decode()]
    assert changelog_topic("ioc-streams") == "ioc-streams-dossiers-changelog"


def test_alert_log_entries_come_back_in_seq_order():
    class FakeWarehouse:
        database = "ioc"

        def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
            assert "ORDER BY seq" in sql
            return [("al-1", 0, json.dumps({"type": "signal", "seq": 0, "x": 1})),
                    ("al-1", 1, json.dumps({"type": "action", "seq": 1}))]

    entries = alert_log_entries(FakeWarehouse())  # type: ignore[arg-type]
    assert [k for k, _ in entries] == [b"al-1", b"al-1"]
    assert json.loads(entries[0][1]) == {"alert_id": "al-1", "event": {"type": "signal", "seq": 0, "x": 1}}


def test_sink_batches_of_a_restarted_broker_do_not_pass_for_earlier_ones():
    tp = TopicPartition("ioc.dossier.events", 0)

    def token(stamp: int) -> str:
        buf = _Buffer()
        buf.first[tp], buf.offsets[tp], buf.stamps[tp] = 0, 37, stamp
        return buf.token("dossier_events")

    assert token(1_000) == token(1_000)  # re-read after a crash: dropped by ClickHouse as a repeat
    assert token(1_000) != token(2_000)  # offsets 0-37 again on a new broker: new rows
    assert is_restored([(RESTORED_HEADER, b"1")]) and not is_restored([]) and not is_restored(None)


def test_every_state_topic_of_the_worker_is_restored(tmp_path: Path):
    """A table or checkpoint the worker keeps and `ioc restore` does not fill (changelog_specs
    names what it fills) would start empty after a crash."""
    from ioc.broker.restore import changelog_specs, checkpoint_topic
    from ioc.config import Settings
    from streams.app import create_app

    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, "127.0.0.1:1")  # no I/O until started
    assert set(app.tables.keys()) == {PAKN_TABLE}  # the dossier states are checkpointed, not a Faust table
    written = {app.tables[PAKN_TABLE].changelog_topic.get_topic_name(), app.dossier_partitions.checkpoint_topic}
    assert written == set(changelog_specs(settings))
    assert checkpoint_topic("ioc-streams") == changelog_topic("ioc-streams", DOSSIER_TABLE)
