"""The dossier agent's partitions (streams/checkpoint.py): recovery from a checkpoint and the
source after it, and the checkpoints written, against an in-memory log (the broker path is
covered by the fault and two-worker integration tests)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from ioc.domain.dossier import decode_entry, encode_entry, fold
from ioc.domain.events import decode_events
from ioc.kpi.live import LiveFigures
from streams.checkpoint import MARKER, Partitions, fold_message, marker_value

SOURCE, CHECKPOINT = "events", "events-checkpoint"
AT = datetime(2026, 1, 5, 8, 0, tzinfo=timezone(timedelta(hours=7)))


class Log:
    """Topics as lists of records per partition; read and write as Partitions takes them."""

    def __init__(self) -> None:
        self.topics: dict[str, dict[int, list[Any]]] = {}
        self.reads: list[tuple[str, int, int, int | None]] = []

    def append(self, topic: str, partition: int, key: bytes | None, value: bytes) -> None:
        records = self.topics.setdefault(topic, {}).setdefault(partition, [])
        records.append(SimpleNamespace(offset=len(records), key=key, value=value))

    async def read(self, topic: str, partition: int, handler: Any, start: int, stop: int | None) -> int:
        self.reads.append((topic, partition, start, stop))
        records = [m for m in self.topics.get(topic, {}).get(partition, [])
                   if m.offset >= start and (stop is None or m.offset < stop)]
        handler(records)
        return len(records)

    async def write(self, partition: int, records: list[tuple[bytes, bytes]]) -> None:
        for key, value in records:
            self.append(CHECKPOINT, partition, key, value)


def event(i: int, code: str, status: int = 2) -> dict[str, Any]:
    return {"event_id": f"e{i}", "dossier_code": code, "status": status,
            "occurred_at": (AT + timedelta(minutes=i)).isoformat(), "unit_code": "H44.07", "procedure_code": "1.001612"}


def message(*items: dict[str, Any]) -> bytes:
    return json.dumps(list(items)).encode()


def partitions(log: Log) -> Partitions:
    return Partitions(SOURCE, CHECKPOINT, log.read, log.write, LiveFigures)


def source_messages() -> list[bytes]:
    """Six messages of partition 0: dossiers A-D, several events each, one redelivered."""
    return [message(event(0, "A"), event(1, "B")), message(event(2, "A", 4), event(3, "C")),
            message(event(4, "B", 4), event(1, "B")), message(event(5, "D"), event(6, "C", 4)),
            message(event(7, "A", 10)), message(event(8, "D", 4), event(9, "B", 10))]


def all_states(messages: list[bytes]) -> dict[str, Any]:
    return {s.dossier_code: s for s in fold(e for m in messages for e in decode_events(m).events)}


def test_recovery_from_any_checkpoint_equals_the_fold_of_the_whole_source():
    messages = source_messages()
    for k in range(len(messages) + 1):  # a checkpoint after k messages, then the worker is lost
        log = Log()
        for m in messages:
            log.append(SOURCE, 0, None, m)
        first = partitions(log)
        figures = asyncio.run(first.get(0, 0))
        for offset, m in enumerate(messages[:k]):
            changed: set[str] = set()
            fold_message(figures, decode_events(m), changed)
            first.folded(0, offset, changed)
        asyncio.run(first.checkpoint(backlog=False, every_s=10))
        upto = len(messages) - 1  # the agent's next message: the last one, not replayed
        second = partitions(log)
        recovered = asyncio.run(second.get(0, upto))
        # A checkpoint past the agent's next message already holds it: folded twice, no change.
        assert recovered.states == all_states(messages[:max(k, upto)]), k
        if k <= upto:
            assert log.reads[-1] == (SOURCE, 0, k, upto)  # only the source after the checkpoint is read
        assert second.next_offset[0] == max(k, upto)


def test_a_checkpoint_holds_the_changed_states_then_the_offset_they_cover():
    log = Log()
    parts = partitions(log)
    figures = asyncio.run(parts.get(0, None))
    assert asyncio.run(parts.checkpoint(backlog=False, every_s=10)) == 0  # nothing moved
    for offset, m in enumerate(source_messages()[:2]):
        changed: set[str] = set()
        fold_message(figures, decode_events(m), changed)
        parts.folded(0, offset, changed)
    assert asyncio.run(parts.checkpoint(backlog=False, every_s=10)) == 4
    records = log.topics[CHECKPOINT][0]
    assert sorted(r.key for r in records[:-1]) == [b"A", b"B", b"C"]
    assert records[-1].key == MARKER and records[-1].value == marker_value(2)
    assert all(decode_entry(r.value)[1] == figures.get(r.key.decode()) for r in records[:-1])
    assert asyncio.run(parts.checkpoint(backlog=False, every_s=10)) == 0  # nothing moved since


def first_message_folded(log: Log) -> Partitions:
    """Partition 0 of ``log`` recovered (nothing in it) and the first source message folded, as the agent does."""
    parts = partitions(log)
    figures = asyncio.run(parts.get(0, None))
    changed: set[str] = set()
    fold_message(figures, decode_events(source_messages()[0]), changed)
    parts.folded(0, 0, changed)
    return parts


def test_a_backlog_puts_checkpoints_off_for_ten_intervals():
    parts = first_message_folded(Log())
    assert asyncio.run(parts.checkpoint(backlog=True, every_s=10)) == 0
    offset, saved_at = parts.saved[0]
    parts.saved[0] = (offset, saved_at - 100)  # the last checkpoint is ten intervals old
    assert asyncio.run(parts.checkpoint(backlog=True, every_s=10)) == 3


def test_a_restored_checkpoint_has_no_marker_and_the_whole_source_is_replayed():
    log = Log()
    messages = source_messages()
    for m in messages:
        log.append(SOURCE, 0, None, m)
    restored = all_states(messages[:2])  # `ioc restore` writes states without a marker
    for code, state in restored.items():
        log.append(CHECKPOINT, 0, code.encode(), encode_entry(0, state))
    log.append(CHECKPOINT, 1, b"X", encode_entry(1, state))  # another partition's: not read
    figures = asyncio.run(partitions(log).get(0, 4))
    assert figures.states == all_states(messages[:4])


def test_a_partition_revoked_while_its_checkpoint_is_encoded_writes_nothing(monkeypatch):
    import streams.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "ENCODE_SLICE", 1)
    log = Log()
    parts = first_message_folded(log)

    async def main() -> int:
        task = asyncio.create_task(parts.checkpoint(backlog=False, every_s=10))
        await asyncio.sleep(0)
        parts.forget(0)  # the rebalance took it between two slices
        return await task

    assert asyncio.run(main()) == 0 and CHECKPOINT not in log.topics
