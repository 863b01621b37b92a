"""Where the stack is, for every command: one rule, so no two commands disagree.

    Kafka       --kafka flag > IOC_KAFKA_BOOTSTRAP / kafka.bootstrap > the embedded broker of a
                running `ioc up` on this machine (127.0.0.1:kafka.embedded_port, as `ioc up`
                starts it) > DependencyError naming what is missing (exit 1)
    ClickHouse  --clickhouse flag > IOC_CLICKHOUSE_URL / clickhouse.url > the embedded chDB under
                data_dir; held by a running `ioc up` (chDB admits one process per data
                directory): DependencyError naming it

Flags beat the environment and the settings file because :func:`ioc.config.load_settings`
applies the command line last; this module only adds the fall-back to the running stack.
`ioc up` itself and the parts it starts are told explicitly (IOC_KAFKA_BOOTSTRAP in their
environment), so the fall-back is for commands run by hand beside it. `ioc restore` alone takes
no fall-back: it fills an empty broker, never a running stack's.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from ioc.config import Settings
from ioc.errors import DependencyError

if TYPE_CHECKING:
    from ioc.warehouse.backends import Warehouse

PROBE_TIMEOUT_S = 1.0  # a loopback connect: answered at once, or nobody is there


def embedded_bootstrap(settings: Settings) -> str:
    """Where `ioc up` starts its embedded broker with these settings."""
    return f"127.0.0.1:{settings.kafka.embedded_port}"


def answers(address: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def kafka_bootstrap(settings: Settings) -> str:
    """The Kafka this command talks to (module docstring for the order)."""
    if settings.kafka.bootstrap:
        return settings.kafka.bootstrap
    address = embedded_bootstrap(settings)
    if settings.kafka.embedded_port and answers(address):
        return address
    raise DependencyError(
        "no Kafka to talk to: set IOC_KAFKA_BOOTSTRAP or kafka.bootstrap (or --kafka), or start `ioc up`: "
        f"nothing answers on {address}, where its embedded broker listens (kafka.embedded_port)")


def embedded_warehouse_held(data_dir: Path | str) -> bool:
    """Whether another process (a running `ioc up`) has the embedded warehouse open: chDB, as
    ClickHouse, holds an exclusive ``flock`` on its ``status`` file while it runs."""
    status = Path(data_dir) / "chdb" / "status"
    try:
        fd = os.open(status, os.O_RDWR)
    except OSError:
        return False  # no warehouse there yet, or not ours to judge: opening it will tell
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def open_warehouse(settings: Settings) -> "Warehouse":
    """The warehouse this command reads or writes (module docstring for the order), schema ready."""
    from ioc.warehouse.backends import open_warehouse as open_engine

    ch = settings.clickhouse
    if ch.url is None and embedded_warehouse_held(settings.data_dir):
        chdb = Path(settings.data_dir, "chdb").resolve()
        raise DependencyError(f"the embedded warehouse {chdb} is open in a running `ioc up` (chDB admits one "
                              "process per data directory): stop it, or give --clickhouse / IOC_CLICKHOUSE_URL")
    return open_engine(ch.url, settings.data_dir, ch.database)
