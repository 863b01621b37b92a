"""Two stream workers share the dossier partitions; one is SIGKILLed mid-stream and the other
takes its partitions over (a Faust rebalance, then recovery of their table from the changelog).

The end is the fault tests' own: every event stored once, and every partition's newest live
snapshot equal to the replay of the stored events (`ioc verify`) — snapshots the survivor
computed after the kill, so its figures for the partitions it took over include the state the
dead worker had built.
"""

from __future__ import annotations

import pytest

from ioc import clock
from ioc.commands.verify import latest_snapshots
from tests.integration.test_faults import (  # noqa: F401 - fixtures used by name
    SteadyProducer,
    assert_exact,
    pipeline,
    sigkill,
    simulated_day,
    wait_consumed,
    working_day,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_worker_killed_mid_stream_leaves_its_partitions_to_the_other(pipeline, tmp_path):  # noqa: F811
    events = simulated_day(tmp_path, seed=21)
    pipeline.sink()
    survivor, victim = pipeline.worker(), pipeline.worker()
    producer = SteadyProducer(pipeline.bootstrap, pipeline.topics.dossier_events, events, seconds=30)
    producer.start()
    # Both at work: each has partitions of its own and has consumed from them.
    wait_consumed(pipeline, victim, 100)
    wait_consumed(pipeline, survivor, 100)
    assert producer.is_alive(), "the stream ended before the kill: lengthen it"
    sigkill(victim)
    killed_at = clock.now()
    producer.finish()
    assert producer.sent == len(events)
    assert_exact(pipeline, events)
    # Only the survivor was alive to compute these: it owns every partition now.
    wh = pipeline.warehouse()
    try:
        newest = latest_snapshots(wh)
    finally:
        wh.close()
    assert sorted(newest) == list(range(4))
    assert all(s.computed_at > killed_at for s in newest.values()), {p: s.computed_at for p, s in newest.items()}
    assert survivor.poll() is None
