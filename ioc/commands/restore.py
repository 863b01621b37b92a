"""`ioc restore`: the embedded broker's dossier table and alert log, rebuilt from the warehouse
(ioc.broker.restore). `ioc up` runs it, as a child process of its own, after starting the
embedded broker and before the worker: chDB admits one process per data directory, and the
web process opens it next."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ioc import stack
from ioc.config import Settings
from ioc.errors import DependencyError, UserInputError


def has_warehouse(settings: Settings) -> bool:
    """Whether there can be anything to restore: a ClickHouse server, or an embedded warehouse
    directory that exists (a fresh data directory has none)."""
    return bool(settings.clickhouse.url) or (Path(settings.data_dir) / "chdb").is_dir()


def cmd_restore(settings: Settings) -> int:
    from ioc.broker.restore import restore
    from ioc.commands.catalogue_import import republish_stored

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not settings.kafka.bootstrap:  # never the running stack's (ioc/stack.py): an empty broker only
        raise UserInputError("ioc restore: no Kafka to restore to: set IOC_KAFKA_BOOTSTRAP or --kafka")
    wh = stack.open_warehouse(settings)
    try:
        try:
            report = restore(settings, settings.kafka.bootstrap, wh)
            # The imported catalogue too (the worker judges with it); `ioc up` then publishes
            # the SAMPLE only when nothing was imported.
            catalogue_rows = republish_stored(settings.kafka.bootstrap, settings, wh)
        except ValueError as exc:  # a stored event or catalogue row that no longer parses
            raise DependencyError(f"ioc restore: {exc}") from None
    finally:
        wh.close()
    print(json.dumps({"restore": report.to_json() | {"catalogue_rows": catalogue_rows},
                      "summary": report.line()}, ensure_ascii=False), flush=True)
    return 0
