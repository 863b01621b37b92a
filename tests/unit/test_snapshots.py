"""KPI snapshots in parts: a national partition's units fit Kafka's 1 MiB messages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ioc.kpi.snapshots import SnapshotAssembler, snapshot_messages

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
FULL_TALLY = {k: 123 for k in (
    "counted", "good", "counted_overdue", "counted_unhappy", "counted_rated", "3.3:den", "3.3:num", "3.3:num_known",
    "3.6:population_known", "3.6:den", "3.6:num", "3.6:num_known", "4.1:den", "4.1:num", "4.1:num_known",
    "4.2:den", "4.2:num", "4.2:num_known", "4.3:den", "4.3:num", "4.3:num_known", "4.5b:den", "4.5b:num",
    "4.5b:num_known", "finished", "processing_us", "received", "in_processing", "overdue", "due_today",
    "at_risk", "early", "on_time", "late", "in_progress_on_time", "in_progress_overdue", "received_today")}


def national_units(n: int) -> dict[str, dict[str, int]]:
    return {f"H{i // 100:02d}.{i:04d}.01": dict(FULL_TALLY) for i in range(n)}


def test_a_national_partition_is_sent_in_parts_under_one_mebibyte():
    units = national_units(12_000)  # ~ all agencies and communes of the country in one partition
    messages = list(snapshot_messages(3, T0, units))
    assert len(messages) > 1
    assert max(len(m) for m in messages) < 1_000_000
    assembler = SnapshotAssembler()
    done = [s for s in (assembler.add(json.loads(m)) for m in messages) if s is not None]
    assert len(done) == 1 and done[0].units == units and done[0].partition == 3 and done[0].computed_at == T0


def test_parts_of_an_older_snapshot_never_mix_with_a_newer_one():
    old = list(snapshot_messages(0, T0, national_units(5), per_part=2))
    new = list(snapshot_messages(0, T0 + timedelta(seconds=1), {"H44.07": {"received": 1}}, per_part=2))
    assembler = SnapshotAssembler()
    assert assembler.add(json.loads(old[0])) is None
    assert assembler.add(json.loads(new[0])).units == {"H44.07": {"received": 1}}  # one part: complete
    assert all(assembler.add(json.loads(m)) is None for m in old[1:])  # the rest of the old one: dropped


def test_a_whole_snapshot_without_parts_is_complete_and_empty_figures_still_send_one_message():
    assembler = SnapshotAssembler()
    snap = assembler.add({"partition": 1, "computed_at": T0.isoformat(), "units": {"H44.07": {"received": 2}}})
    assert snap is not None and snap.units == {"H44.07": {"received": 2}}
    assert len(list(snapshot_messages(1, T0, {}))) == 1


def test_change_only_snapshots_give_readers_whole_figures_and_the_sink_stores_whole_ones():
    from ioc.warehouse.sink import snapshot_rows

    t1, t2, t3 = T0, T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=1)
    whole = {"U1": {"received": 2}, "U2": {"received": 1}}
    assembler = SnapshotAssembler()
    [full] = snapshot_messages(0, t1, whole)
    [delta] = snapshot_messages(0, t2, {"U2": {}, "U3": {"received": 4}}, base=t1)
    [late] = snapshot_messages(0, t3, {"U1": {"received": 5}}, base=t1)  # not on top of t2: dropped
    assert assembler.add(json.loads(delta)) is None  # no whole snapshot yet to apply it to
    assert assembler.add(json.loads(full)).units == whole
    snap = assembler.add(json.loads(delta))
    assert snap.computed_at == t2 and snap.units == {"U1": {"received": 2}, "U3": {"received": 4}}
    assert assembler.add(json.loads(late)) is None
    assert snapshot_rows(delta) == [] and len(snapshot_rows(full)) == 2


def test_the_worker_sends_whole_snapshots_when_due_or_quiet_and_changes_between():
    from ioc.kpi.live import LiveFigures
    from streams.agents import SnapshotSender

    figures = LiveFigures()
    figures.totals = {"U1": {"received": 1}}
    sender = SnapshotSender(full_every_s=60)
    kinds = []
    for i, change in enumerate([{"U1"}, {"U1"}, set(), set()]):
        figures._changed_units = set(change)
        if change:
            figures.totals["U1"] = {"received": i + 1}
        [message] = sender.messages(0, T0 + timedelta(seconds=i), figures)
        kinds.append(("delta" if json.loads(message).get("delta") else "full", sorted(json.loads(message)["units"])))
    # first: whole; a change: only U1; quiet again: whole; still quiet: an empty heartbeat of changes
    assert kinds == [("full", ["U1"]), ("delta", ["U1"]), ("full", ["U1"]), ("delta", [])]
