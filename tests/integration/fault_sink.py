"""The warehouse sink, made to die right after its Nth insert and before committing offsets.

Run as a script with the environment of `ioc run sink` plus FAULT_AFTER_BATCHES=N. The exit
(os._exit, status 9) skips every cleanup, as a power cut or SIGKILL would."""

from __future__ import annotations

import asyncio
import os

from ioc.config import load_settings
from ioc.topics import Topics
from ioc.warehouse.backends import open_warehouse
from ioc.warehouse.sink import WarehouseSink


def main() -> None:
    settings = load_settings(None)
    topics = Topics.from_settings(settings.kafka)
    ch = settings.clickhouse
    wh = open_warehouse(ch.url, settings.data_dir, ch.database)
    sink = WarehouseSink(str(settings.kafka.bootstrap), topics, wh, f"{settings.worker.app_id}-sink",
                         ch.batch_rows, ch.batch_seconds)
    remaining = [int(os.environ["FAULT_AFTER_BATCHES"])]

    def after_insert(rows: dict[str, int]) -> None:
        if rows.get("dossier_events"):  # count only batches that held dossier events
            remaining[0] -= 1
            if remaining[0] <= 0:
                print(f"fault: exiting after inserting {rows}, before the commit", flush=True)
                os._exit(9)

    sink.after_insert = after_insert
    asyncio.run(sink.run())


if __name__ == "__main__":
    main()
