"""The clustered warehouse on a real local cluster: `ioc warehouse ddl --cluster` applied to four
clickhouse-server processes (2 shards x 2 replicas, Debian's 18.16) coordinated by ZooKeeper, the
sink writing through the Distributed tables while a replica is SIGKILLed mid-stream.

The end is the fault tests' own (every event stored once, none doubled in what the KPIs count,
`ioc verify` equal), read through the Distributed tables once the killed replica is back and
both replicas of each shard hold the same events.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from clickhouse_driver import Client

from tests.helpers import child_env, poll
from tests.integration.clickhouse_cluster import CLUSTER, ClickHouseCluster
from tests.integration.test_faults import (  # noqa: F401 - fixtures used by name
    Pipeline,
    SteadyProducer,
    assert_exact,
    simulated_day,
    working_day,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def cluster(tmp_path):
    ch = ClickHouseCluster(tmp_path / "cluster").start()
    yield ch
    ch.stop()


def apply_cluster_ddl(cluster: ClickHouseCluster, database: str) -> int:
    """`ioc warehouse ddl --cluster` for this server version, run statement by statement."""
    client = Client("127.0.0.1", port=cluster.nodes[0][0].tcp)
    try:
        (version,), = client.execute("SELECT version()")
        out = subprocess.run(
            [sys.executable, "-m", "ioc", "warehouse", "ddl", "--cluster", CLUSTER, "--shard-by", "dossier",
             "--server-version", ".".join(version.split(".")[:2])],
            env=child_env(IOC_CLICKHOUSE__DATABASE=database), capture_output=True, text=True, check=True).stdout
        statements = [s.strip().rstrip(";") for s in out.split(";\n\n")]
        for sql in statements:
            client.execute(sql)  # ON CLUSTER: returns once every node has run it
    finally:
        client.disconnect()
    return len(statements)


def local_counts(cluster: ClickHouseCluster, database: str) -> list[list[int]]:
    """Distinct event ids on each replica, shard by shard."""
    out = []
    for nodes in cluster.nodes:
        row = []
        for node in nodes:
            client = Client("127.0.0.1", port=node.tcp)
            try:
                (n,), = client.execute(f"SELECT uniqExact(event_id) FROM {database}.dossier_events_local")
            finally:
                client.disconnect()
            row.append(n)
        out.append(row)
    return out


def test_sink_writes_through_distributed_tables_while_a_replica_is_killed(
        cluster, kafka_bootstrap, unique, tmp_path):
    assert apply_cluster_ddl(cluster, unique) > 20
    # The sink (and `ioc verify`) talk to the first node; the victim is a replica of the other
    # shard, where that node's Distributed tables send half of every batch.
    pipe = Pipeline(kafka_bootstrap, unique, cluster.nodes[0][0].url, tmp_path)
    victim = cluster.nodes[1][0]
    try:
        events = simulated_day(tmp_path, seed=31)
        ids = {e["event_id"] for e in events}
        pipe.sink()
        pipe.worker()
        producer = SteadyProducer(kafka_bootstrap, pipe.topics.dossier_events, events, seconds=20)
        producer.start()
        poll(lambda: local_counts(cluster, unique)[1], lambda c: min(c) > 0, 60, "rows on both replicas of shard 2")
        assert victim.proc is not None
        os.killpg(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait(10)
        victim.proc = None
        producer.finish()
        assert producer.sent == len(events)
        # Every event stored while it was down: the surviving replica took the shard's inserts.
        poll(pipe.counts, lambda c: c["dossier_events"] >= len(ids), 60, "every event stored, one replica down")
        victim.start()  # same data directory: it fetches the parts it missed from its peer
        poll(lambda: local_counts(cluster, unique), lambda c: all(len(set(s)) == 1 for s in c)
             and sum(s[0] for s in c) == len(ids), 60, "both replicas of each shard hold every event")
        assert_exact(pipe, events)
        (daily,), = pipe.warehouse().query(  # the rollup, through its Distributed table
            f"SELECT sum(n) FROM (SELECT uniqExactMerge(events) AS n FROM {unique}.dossier_daily GROUP BY unit_code)")
        assert daily == len(ids)
    finally:
        pipe.stop_all()
