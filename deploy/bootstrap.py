"""Prepare a production cluster before the app starts: Kafka topics and the clustered warehouse.

    python /opt/ioc/bootstrap.py [--cluster ioc] [--timeout 300]          # create (idempotent)
    python /opt/ioc/bootstrap.py --wait [--cluster ioc] [--timeout 300]   # only wait until they exist

Settings come from the environment as for ``ioc`` itself (IOC_KAFKA_BOOTSTRAP, IOC_CLICKHOUSE_URL,
IOC_KAFKA__REPLICATION_FACTOR, IOC_KAFKA__PARTITIONS__*...). Why a separate step: the app's
``open_warehouse`` creates missing tables with their single-node engine, so on a cluster the
Replicated and Distributed tables must exist first (ioc/warehouse/cluster.py). The image ships
this file as /opt/ioc/bootstrap.py (deploy/Dockerfile); the lead may fold it into the CLI.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Callable, Sequence

from ioc.config import load_settings
from ioc.errors import DependencyError, IocError
from ioc.topics import topic_specs
from ioc.warehouse.cluster import DEFAULT_CLUSTER, cluster_statements
from ioc.warehouse.schema import TABLES

log = logging.getLogger("ioc.bootstrap")


def retry(what: str, action: Callable[[], bool], timeout: float, interval: float = 2.0,
          transient: tuple[type[BaseException], ...] = ()) -> None:
    """Run ``action`` until it returns True; a dependency still down at the deadline is one error line.

    Unreachable servers (DependencyError, OSError, ``transient``) are retried; anything else,
    e.g. ClickHouse refusing a statement, stops at once with its own message.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if action():
                return
            problem = "not ready yet"
        except (DependencyError, OSError, *transient) as exc:
            problem = str(exc)
        if time.monotonic() > deadline:
            raise DependencyError(f"{what}: {problem} after {timeout:.0f} s")
        log.info("%s: %s; retrying", what, problem)
        time.sleep(interval)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bootstrap.py", description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", default=DEFAULT_CLUSTER, help="ClickHouse cluster name in remote_servers")
    parser.add_argument("--wait", action="store_true", help="create nothing; wait until topics and tables exist")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from clickhouse_driver.errors import NetworkError
    from kafka.errors import KafkaError

    from ioc.broker.admin import admin_client, ensure_topics
    from ioc.warehouse.backends import NativeWarehouse

    try:
        settings = load_settings()
        if not settings.kafka.bootstrap or not settings.clickhouse.url:
            raise DependencyError("set IOC_KAFKA_BOOTSTRAP and IOC_CLICKHOUSE_URL: bootstrap is for external clusters")
        specs = topic_specs(settings.kafka)
        statements = cluster_statements(args.cluster, settings.clickhouse.database)

        def topics_ready() -> bool:
            if not args.wait:
                ensure_topics(settings.kafka.bootstrap, specs, settings.kafka.replication_factor)
                return True
            admin = admin_client(settings.kafka.bootstrap)
            try:
                return set(specs) <= set(admin.list_topics())
            finally:
                admin.close()

        def tables_ready() -> bool:
            # NativeWarehouse, not open_warehouse: the latter would create single-node tables.
            wh = NativeWarehouse(settings.clickhouse.url, settings.clickhouse.database)
            try:
                if not args.wait:
                    for sql in cluster_statements(args.cluster, wh.database, wh.dialect):
                        wh.execute(sql)
                rows = wh.query("SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'Distributed'",
                                {"db": wh.database})
                return {r[0] for r in rows} >= {t.name for t in TABLES}
            finally:
                wh.close()

        retry(f"Kafka topics at {settings.kafka.bootstrap}", topics_ready, args.timeout, transient=(KafkaError,))
        retry("ClickHouse clustered schema", tables_ready, args.timeout, transient=(NetworkError, EOFError))
    except IocError as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        return exc.exit_status
    log.info("ready: %d topics, %d warehouse statements on cluster %s", len(specs), len(statements), args.cluster)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
