"""A local ClickHouse cluster for tests: Debian's zookeeper and clickhouse-server processes.

Cluster ``ioc``: 2 shards x 2 replicas (tests/conftest.py's ClickHouseServer, each with its
remote_servers, zookeeper and macros), one ZooKeeper. Every port is a free one; the servers
start at once and readiness is polled.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from ioc.process import free_port, spawn, stop, wait_until
from tests.conftest import ClickHouseServer

CLUSTER = "ioc"
ZOOKEEPER_JAR = Path("/usr/share/java/zookeeper.jar")  # Debian's zookeeper package
# Short ZooKeeper sessions: a SIGKILLed replica's "is active" node goes within seconds, so it can
# come back at once (ClickHouse's default of 30 s would keep it read-only that long).
SESSION_TIMEOUT_MS = 4000


class ZooKeeper:
    """A standalone ZooKeeper server (ZooKeeperServerMain) on a free port under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> "ZooKeeper":
        if not ZOOKEEPER_JAR.exists():
            pytest.fail("zookeeper is not installed: run scripts/setup --test (it installs Debian's package)")
        self.root.mkdir(parents=True, exist_ok=True)
        cfg = self.root / "zoo.cfg"
        cfg.write_text(f"tickTime=500\ndataDir={self.root}/data\nclientPort={self.port}\n"
                       "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\n")
        # A small, quickly started JVM: a test's ZooKeeper holds a few thousand nodes.
        self.proc = spawn(["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                           "-cp", f"{ZOOKEEPER_JAR}:/etc/zookeeper/conf",
                           "org.apache.zookeeper.server.ZooKeeperServerMain", str(cfg)],
                          log_path=self.root / "zookeeper.log")
        return self

    def wait_ready(self) -> "ZooKeeper":
        proc = self.proc
        assert proc is not None, "launch() first"
        wait_until(self._ok, 60, f"zookeeper on :{self.port}", interval=0.1, alive=lambda: proc.poll() is None)
        return self

    def _ok(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"ruok")
            return s.recv(4) == b"imok"

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


def node_config(shards: list[list[ClickHouseServer]], zookeeper_port: int, shard: int, replica: str) -> str:
    """One node's part of the cluster: every node's address, ZooKeeper, its own macros."""
    remote = "".join(
        "<shard><internal_replication>true</internal_replication>"
        + "".join(f"<replica><host>127.0.0.1</host><port>{node.tcp}</port></replica>" for node in nodes)
        + "</shard>"
        for nodes in shards)
    return (f'<remote_servers replace="replace"><{CLUSTER}>{remote}</{CLUSTER}></remote_servers>\n'
            f'<zookeeper replace="replace"><node><host>127.0.0.1</host><port>{zookeeper_port}</port></node>'
            f"<session_timeout_ms>{SESSION_TIMEOUT_MS}</session_timeout_ms></zookeeper>\n"
            f'<macros replace="replace"><shard>{shard:02d}</shard><replica>{replica}</replica></macros>')


class ClickHouseCluster:
    """ZooKeeper + ``shards`` x ``replicas`` clickhouse-server nodes; ``nodes[s][r]``."""

    def __init__(self, root: Path, shards: int = 2, replicas: int = 2) -> None:
        self.zookeeper = ZooKeeper(root / "zookeeper")
        self.nodes = [[ClickHouseServer(root / f"s{s + 1}r{r + 1}") for r in range(replicas)] for s in range(shards)]
        for s, nodes in enumerate(self.nodes):
            for r, node in enumerate(nodes):
                node.config = node_config(self.nodes, self.zookeeper.port, s + 1, f"s{s + 1}r{r + 1}")

    @property
    def all_nodes(self) -> list[ClickHouseServer]:
        return [node for nodes in self.nodes for node in nodes]

    def start(self) -> "ClickHouseCluster":
        # All at once (ClickHouse retries ZooKeeper until it answers), then wait for each; from
        # this thread, which outlives them (ioc.process.spawn: children die with their spawner).
        try:
            self.zookeeper.launch()
            for node in self.all_nodes:
                node.launch()
            self.zookeeper.wait_ready()
            for node in self.all_nodes:
                node.wait_ready()
                # Ready means its ZooKeeper session too: 18.16 can crash on an ON CLUSTER query
                # (DDLWorker, a null session) when ZooKeeper answered after the server started.
                wait_until(lambda node=node: _has_zookeeper(node), 60, f"ZooKeeper session of :{node.tcp}",
                           interval=0.2)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        # Killed, not stopped: their data is thrown away, and 18.16 takes seconds to shut down.
        for proc in [node.proc for node in self.all_nodes] + [self.zookeeper.proc]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for node in self.all_nodes:
            node.stop()  # reaps it
        self.zookeeper.stop()


def _has_zookeeper(node: ClickHouseServer) -> bool:
    from clickhouse_driver import Client
    from clickhouse_driver.errors import Error

    client = Client("127.0.0.1", port=node.tcp, connect_timeout=2, send_receive_timeout=5)
    try:
        client.execute("SELECT count() FROM system.zookeeper WHERE path = '/'")
        return True
    except (Error, OSError, EOFError):
        return False
    finally:
        client.disconnect()
