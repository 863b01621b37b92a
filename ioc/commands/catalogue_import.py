"""`ioc catalogue import FILE`: the province's procedure catalogue into the warehouse and onto the
compacted catalogue topic, so the stream agents and the web know it (contracts.md §2b).

All or nothing for a bad file: every row is validated first (:func:`read_catalogue`); a problem
exits with status 2 and ``FILE:ROW: column: problem`` before any server is contacted. Then:

1. the broker (ioc/stack.py: ``--kafka`` / ``kafka.bootstrap``; unset: the embedded broker of a
   running `ioc up`) must answer, and the catalogue topic is created if missing;
2. the rows go to ``procedure_catalogue`` (``--clickhouse`` / ``clickhouse.url``, else the
   embedded chDB under ``--data-dir``). chDB lets one process open a data directory: while
   `ioc up` runs with the embedded warehouse, its sink stores the rows from the topic instead;
3. each row is published, key ``procedure_code|valid_from`` and value the row's JSON, and the
   command returns once the broker acknowledged all of them.

Importing the same rows again replaces them (topic compaction, ReplacingMergeTree). A summary
line follows: rows, procedures, versions (distinct ``valid_from`` dates), where they went.

Also :func:`publish_sample_if_empty`: `ioc up` publishes the packaged SAMPLE catalogue when the
catalogue topic is empty (ioc/app.py, ``IocApp.start_broker``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable

from ioc import clock, stack
from ioc.config import Settings
from ioc.errors import DependencyError, UserInputError
from ioc.reference.catalogue import Catalogue, CatalogueRow, read_catalogue, sample_catalogue
from ioc.topics import Topics, topic_specs
from ioc.warehouse.catalogue_rows import SAMPLE_SOURCE

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 30.0


def ensure_catalogue_topic(bootstrap: str, settings: Settings) -> str:
    from ioc.broker.admin import ensure_topics

    topic = Topics.from_settings(settings.kafka).catalogue
    ensure_topics(bootstrap, {topic: topic_specs(settings.kafka)[topic]}, settings.kafka.replication_factor)
    return topic


def publish_rows(bootstrap: str, topic: str, rows: Iterable[CatalogueRow], source: str,
                 timeout_s: float = PUBLISH_TIMEOUT_S) -> int:
    """Publish each row (key ``procedure_code|valid_from``, value its JSON, header ``ioc-source``
    = ``source``); returns how many once the broker acknowledged all, else :class:`DependencyError`."""
    from ioc.broker.keyed import publish_keyed
    from ioc.warehouse.catalogue_rows import SOURCE_HEADER

    return publish_keyed(bootstrap, topic, ((row.key, row.to_json()) for row in rows), client_id="ioc-catalogue",
                         headers=[(SOURCE_HEADER, source.encode("utf-8"))], timeout_s=timeout_s)


def topic_is_empty(bootstrap: str, topic: str) -> bool:
    """No record in any partition of ``topic`` (beginning offset = end offset)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="ioc-catalogue", group_id=None,
                                 enable_auto_commit=False, request_timeout_ms=15_000)
    except (KafkaError, OSError) as exc:
        raise DependencyError(f"Kafka at {bootstrap} is unreachable ({type(exc).__name__})") from None
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not parts:
            return True
        begins, ends = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
        return all(ends[tp] <= begins[tp] for tp in parts)
    except KafkaError as exc:
        raise DependencyError(f"Kafka at {bootstrap}: cannot read the offsets of {topic} ({type(exc).__name__})") from None
    finally:
        consumer.close()


def store_rows(settings: Settings, rows: Iterable[CatalogueRow]) -> tuple[str, str]:
    """Insert the rows into ``procedure_catalogue``; returns (how, where): ``("stored", table)``,
    or ``("sink", table)`` when the embedded warehouse is held by a running `ioc up`."""
    from ioc.warehouse.catalogue_rows import catalogue_table_row
    from ioc.warehouse.schema import PROCEDURE_CATALOGUE

    ch = settings.clickhouse
    if ch.url is None and stack.embedded_warehouse_held(settings.data_dir):
        return "sink", f"{ch.database}.{PROCEDURE_CATALOGUE.name}"
    wh = stack.open_warehouse(settings)
    try:
        now = clock.now()
        wh.insert(PROCEDURE_CATALOGUE, [catalogue_table_row(r, now) for r in rows])
        return "stored", f"{wh.database}.{PROCEDURE_CATALOGUE.name}"
    finally:
        wh.close()


def summary(catalogue: Catalogue) -> dict[str, int]:
    return {"rows": len(catalogue.rows), "procedures": len(catalogue.procedure_codes),
            "versions": len({r.valid_from for r in catalogue.rows})}


def run(path: Path, settings: Settings) -> dict[str, Any]:
    """Validate, store, publish; the summary as a dict."""
    catalogue = read_catalogue(path)
    if not catalogue.rows:
        raise UserInputError(f"{path}: no catalogue rows to import")
    bootstrap = stack.kafka_bootstrap(settings)
    topic = ensure_catalogue_topic(bootstrap, settings)  # the broker answers before anything is stored
    how, table = store_rows(settings, catalogue.rows)
    published = publish_rows(bootstrap, topic, catalogue.rows, source=f"import:{path.name}")
    return {"file": str(path), **summary(catalogue), "table": table,
            "stored": len(catalogue.rows) if how == "stored" else 0,
            "stored_by": "import" if how == "stored" else "the running stack's sink",
            "topic": topic, "published": published}


def describe(report: dict[str, Any]) -> str:
    """The one-line text summary."""
    where = (f"stored in {report['table']}" if report["stored_by"] == "import"
             else f"to be stored in {report['table']} by the running stack's sink")
    return (f"ioc catalogue import: {report['rows']} rows, {report['procedures']} procedures, "
            f"{report['versions']} versions (valid_from dates); {where}; "
            f"{report['published']} published to {report['topic']}")


def publish_sample_if_empty(bootstrap: str, settings: Settings) -> int:
    """`ioc up`: publish the packaged SAMPLE catalogue (resolved for the configured province)
    when the catalogue topic holds nothing; returns the rows published (0 if it held some)."""
    topic = Topics.from_settings(settings.kafka).catalogue
    if not topic_is_empty(bootstrap, topic):
        return 0
    rows = sample_catalogue(settings.province.code, settings.province.agency_prefix).rows
    n = publish_rows(bootstrap, topic, rows, source=SAMPLE_SOURCE.decode())
    log.info("published the SAMPLE procedure catalogue (%d rows) to %s", n, topic)
    return n


def republish_stored(bootstrap: str, settings: Settings, wh: Any) -> int:
    """For `ioc restore` (an embedded broker starts empty): put the catalogue the warehouse holds
    back on an empty catalogue topic, each row with the source it was stored from; returns the
    rows published (0: the topic held some, or nothing is stored). Run before
    :func:`publish_sample_if_empty`, which then leaves the topic alone."""
    from ioc.warehouse.catalogue_rows import stored_catalogue

    topic = ensure_catalogue_topic(bootstrap, settings)
    if not topic_is_empty(bootstrap, topic):
        return 0
    rows = stored_catalogue(wh, imported_only=True).rows
    return publish_rows(bootstrap, topic, rows, source="restore") if rows else 0


def export(path: Path, catalogue: Catalogue) -> int:
    """Write ``catalogue`` as JSONL, or CSV with ``;`` inside unit_codes (read back by read_catalogue)."""
    import csv

    from ioc.reference.catalogue import COLUMNS

    rows = [r.to_json() for r in catalogue.rows]
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            for r in rows:
                writer.writerow(["" if r[c] is None else ";".join(r[c]) if isinstance(r[c], list)
                                 else str(r[c]).lower() if isinstance(r[c], bool) else r[c] for c in COLUMNS])
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        raise UserInputError(f"{path}: unknown file type {path.suffix or '(no extension)'!r}; expected .jsonl or .csv")
    return len(rows)


def cmd_catalogue(args: Any, settings: Settings) -> int:
    """`ioc catalogue import FILE [--format json]` / `ioc catalogue export FILE` (ioc.cli)."""
    if args.action == "export":
        from ioc.reference.catalogue import sample_catalogue

        print(json.dumps({"rows": export(Path(args.file), sample_catalogue()), "file": args.file}))
        return 0
    report = run(Path(args.file), settings)
    print(json.dumps(report, ensure_ascii=False) if args.format == "json" else describe(report))
    return 0
