"""The `ioc` command line (contracts.md §1).

Exit status: 0 success, 2 bad arguments or input (one line naming the problem),
1 anything else (one line too; never a traceback for something the user can fix).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

from ioc import clock, stack
from ioc.app import PARTS, IocApp, run_part, run_up  # the composition root: cli only parses
from ioc.config import Settings, load_settings
from ioc.errors import IocError, UserInputError


def count(text: str) -> int | float:
    """A count from the command line: whole numbers stay integers in the JSON output."""
    value = float(text)
    return int(value) if value.is_integer() else value


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, status 2
        raise UserInputError(f"{self.prog}: {message}")


def build_parser() -> Parser:
    p = Parser(prog="ioc", description="Smart operations centre (IOC): stream, warehouse, wall.")
    p.add_argument("--config", help="settings YAML file (also IOC_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    up = sub.add_parser("up", help="start the whole operations centre on this machine")
    up.add_argument("--kafka", metavar="HOST:PORT[,...]", help="use this Kafka cluster (IOC_KAFKA_BOOTSTRAP)")
    up.add_argument("--clickhouse", metavar="URL", help="clickhouse://user:pass@host:9000/db (IOC_CLICKHOUSE_URL)")
    up.add_argument("--port", type=int, help="web port (default 8050)")
    up.add_argument("--data-dir", help="where the embedded warehouse and logs live")
    up.add_argument("--no-simulator", action="store_true", help="do not start the simulators")
    up.add_argument("--no-cameras", action="store_true", help="do not start the cameras (camera.enabled)")

    run = sub.add_parser("run", help="run one part (used by `ioc up`; also for production deployments)")
    run.add_argument("part", choices=list(PARTS),
                     help="scraper: the Prometheus sources of services.scrape; services-sim: the simulated systems; "
                     "notifier: alert notifications through the channels of notify")
    run.add_argument("--with-sink", action="store_true", help="web: also run the warehouse sink (embedded chDB)")

    sim = sub.add_parser("simulate", help="simulated dossier events to the broker or a file")
    sim.add_argument("--scale", choices=["province", "national"], default="province")
    sim.add_argument("--rate", type=float, help="live events per second")
    sim.add_argument("--seconds", type=float, help="stop after N seconds")
    sim.add_argument("--seed", type=int)
    sim.add_argument("--backfill-days", type=int, help="days of history simulated first")
    sim.add_argument("--out", help="write JSONL to this file instead of the broker")
    sim.add_argument("--pakn-out", metavar="FILE", help="with --out: also write the petitions (PAKN events, "
                     "contracts.md §2c) that follow the simulated dossiers to this JSONL file")
    sim.add_argument("--state", metavar="FILE", help="keep the simulator's state in FILE: started again, it goes on "
                     "from its last checkpoint instead of simulating the history anew (`ioc up` does)")
    sim.add_argument("--incident", metavar="SYSTEM:KIND",
                     help="inject an incident into the running stack's simulated systems (e.g. portal:outage) and exit")

    kpi = sub.add_parser("kpi", help="Decision 766 indicators")
    kpi.add_argument("action", nargs="?", choices=["score"],
                     help="score: the portal's scoring rule alone; without it: replay --events")
    kpi.add_argument("--indicator", help="indicator id, e.g. 2.1")
    kpi.add_argument("--numerator", type=count)
    kpi.add_argument("--denominator", type=count)
    kpi.add_argument("--input", help="JSONL file of {indicator, numerator, denominator}")
    kpi.add_argument("--events", help="replay: dossier events, JSONL or CSV")
    kpi.add_argument("--from-warehouse", action="store_true",
                     help="replay: the events stored in ClickHouse (late events included) instead of a file")
    kpi.add_argument("--clickhouse", metavar="URL", help="with --from-warehouse (also IOC_CLICKHOUSE_URL)")
    kpi.add_argument("--data-dir", help="with --from-warehouse: the embedded warehouse's directory")
    kpi.add_argument("--period", help="replay: 2026-10 (month), 2026-Q4 (quarter) or 2026 (year)")
    kpi.add_argument("--from", dest="start", metavar="ISO", help="replay: period start (inclusive)")
    kpi.add_argument("--to", dest="end", metavar="ISO", help="replay: period end (exclusive)")
    kpi.add_argument("--at", metavar="ISO", help='replay: "now" for open dossiers (default: end of period)')
    kpi.add_argument("--unit", action="append", metavar="CODE", help="replay: only this unit (repeatable)")
    kpi.add_argument("--procedure", metavar="CODE", help="replay: only this procedure's dossiers (adds 2.2)")
    kpi.add_argument("--province", metavar="CODE", default="PROVINCE", help="replay: code of the all-units row")
    kpi.add_argument("--catalogue", metavar="FILE", help="replay: procedure catalogue (CSV/XLSX/JSONL): groups 1, 3, 4.5a, 4.x")
    kpi.add_argument("--pakn", metavar="FILE", help="replay: petition (PAKN) events, JSONL/CSV: 5.1-5.3 and complaints in 5.4")
    kpi.add_argument("--national-report", metavar="FILE",
                     help="replay: dossiers reported to the national portal (unit_code, period, dossiers): 1.4")
    kpi.add_argument("--profile", metavar="NAME", help="scoring profile: v1 (default, by date) or full-online")
    kpi.add_argument("--format", choices=["json"], default="json")

    wh = sub.add_parser("warehouse", help="warehouse maintenance")
    wh.add_argument("action", choices=["init", "counts", "ddl"],
                    help="ddl: print the CREATE statements (with --cluster: replicated + distributed tables)")
    wh.add_argument("--clickhouse", metavar="URL")
    wh.add_argument("--data-dir")
    wh.add_argument("--cluster", metavar="NAME", help="ddl: the ClickHouse cluster name (ON CLUSTER)")
    wh.add_argument("--shard-by", choices=["province", "dossier"], default="province",
                    help="ddl --cluster: shard by the unit's province (default) or by dossier (even load)")
    wh.add_argument("--server-version", metavar="X.Y",
                    help="ddl: for this ClickHouse version (e.g. 18.16, which lacks LowCardinality, DateTime64, "
                         "codecs and TTL); default: a current one")

    ver = sub.add_parser("verify", help="compare the live KPI snapshots with the warehouse's events "
                         "(and with `ioc kpi` on an events file); any difference fails")
    ver.add_argument("--events", metavar="FILE", help="also replay this events file (JSONL/CSV) with `ioc kpi`")
    ver.add_argument("--wait", type=float, default=10.0, metavar="S",
                     help="wait up to S seconds for the stream to be quiet (default 10)")
    ver.add_argument("--clickhouse", metavar="URL")
    ver.add_argument("--data-dir")

    res = sub.add_parser("restore", help="put the embedded broker's dossier table and alert log back from the "
                         "warehouse (`ioc up` does before the worker starts); an empty broker only")
    res.add_argument("--kafka", metavar="HOST:PORT[,...]")
    res.add_argument("--clickhouse", metavar="URL")
    res.add_argument("--data-dir")

    users = sub.add_parser("users", help="accounts of the wall and the console")
    users.add_argument("action", choices=["add"])
    users.add_argument("username")
    users.add_argument("--roles", required=True, help="comma-separated: leader, operator, admin")
    users.add_argument("--password-stdin", action="store_true", help="read the password from standard input "
                       "(default: generate one and print it once)")
    users.add_argument("--replace", action="store_true", help="change an existing account")
    users.add_argument("--data-dir")

    imp = sub.add_parser("import", help="publish a historical export of dossier events to the dossier topic")
    imp.add_argument("file", nargs="?", help="CSV (UTF-8) or .xlsx with the event field names as columns, or JSONL")
    imp.add_argument("--pakn", metavar="FILE", help="petition (PAKN) events, contracts.md §2c (JSONL, CSV or .xlsx), "
                     "to the petition topic")
    imp.add_argument("--source", help="the system the export comes from (ioc-source header; default: the file name)")
    imp.add_argument("--national-scores", metavar="FILE", help="the national portal's published 766 table "
                     "(province, period, score), CSV/JSONL: shown beside the live score")
    imp.add_argument("--national-report", metavar="FILE", help="dossiers reported to the national portal "
                     "(unit_code, period, dossiers), CSV/JSONL: 1.4's denominator")

    cat = sub.add_parser("catalogue", help="the procedure catalogue (contracts.md §2b)")
    cat.add_argument("action", choices=["import", "export"], help="import: validate FILE, store it in the warehouse "
                     "and publish it on the catalogue topic; export: write the SAMPLE catalogue the simulator uses "
                     "to FILE (.jsonl or .csv), e.g. for `ioc kpi --catalogue`")
    cat.add_argument("file", help="CSV (',' or ';'), .xlsx or JSONL with the §2b column names")
    cat.add_argument("--kafka", metavar="HOST:PORT[,...]", help="the broker (IOC_KAFKA_BOOTSTRAP; default: the one "
                     "`ioc up` starts)")
    cat.add_argument("--clickhouse", metavar="URL", help="clickhouse://user:pass@host:9000/db (IOC_CLICKHOUSE_URL)")
    cat.add_argument("--data-dir", help="the embedded warehouse's directory")
    cat.add_argument("--format", choices=["text", "json"], default="text")

    ing = sub.add_parser("ingest", help="the dossier-event ingest API")
    ing.add_argument("action", choices=["hash-token"],
                     help="hash-token: the SHA-256 of the token on standard input, for ingest.sources")

    cam = sub.add_parser("camera", help="camera analytics: motion, people, zones, lines, queues, health")
    cam.add_argument("action", choices=["analyze"])
    cam.add_argument("source", help="video file, rtsp://, http(s):// MJPEG, or synthetic:?people=5&fault=frozen@10-20")
    cam.add_argument("--seconds", type=float, help="stop after N seconds (of video, for a file)")
    cam.add_argument("--config", dest="camera_config", metavar="FILE", help="camera YAML file (cameras: {ID: ...})")
    cam.add_argument("--camera", metavar="ID", help="the camera of --config to use (default: its only one)")
    cam.add_argument("--format", choices=["jsonl"], default="jsonl")
    cam.add_argument("--kafka", metavar="HOST:PORT[,...]", help="also publish events and thumbnails to this Kafka")

    bench = sub.add_parser("bench", help="benchmarks, each against a baseline measured in the same run")
    bench.add_argument("name", choices=["camera", "pipeline", "wall", "public"])
    bench.add_argument("--viewers", type=int, default=50, help="wall: simulated signed-in screens")
    bench.add_argument("--clients", type=int, default=200, help="public: concurrent anonymous visitors")
    bench.add_argument("--seconds", type=float,
                       help="camera: length of each concurrency trial (default 8); pipeline: latency phase (default 20)")
    bench.add_argument("--events", type=int, default=200_000, help="pipeline: events in the throughput phase")
    bench.add_argument("--scale", choices=["province", "national"], default="province",
                       help="pipeline: the dossiers' units: the province's, or all 34 provinces' (goal p99 <= 2 s)")
    bench.add_argument("--rss-dossiers", type=int, default=0, metavar="N",
                       help="pipeline: then N more open dossiers: the worker's RSS per million open dossiers")
    bench.add_argument("--import-file", metavar="FILE",
                       help="pipeline: then `ioc import FILE` into the running pipeline (a year's replay): events/s")
    bench.add_argument("--store", choices=["memory", "rocksdb"], help="pipeline: the worker's table store (worker.store)")
    bench.add_argument("--format", choices=["text", "json"], default="text")
    bench.add_argument("--video", metavar="FILE", help="camera: footage (default ../shared/data/vtest.avi)")

    return p


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    o: dict[str, Any] = {}
    if getattr(args, "kafka", None):
        o.setdefault("kafka", {})["bootstrap"] = args.kafka
    if getattr(args, "clickhouse", None):
        o.setdefault("clickhouse", {})["url"] = args.clickhouse
    if getattr(args, "port", None) is not None:
        o.setdefault("web", {})["port"] = args.port
    if getattr(args, "data_dir", None):
        o["data_dir"] = args.data_dir
    if getattr(args, "no_cameras", False):
        o.setdefault("camera", {})["enabled"] = False
    if getattr(args, "no_simulator", False):
        o.setdefault("simulator", {})["enabled"] = False
    return o


def cmd_up(args: argparse.Namespace, settings: Settings, overrides: dict[str, Any]) -> int:
    return run_up(IocApp(settings, args.config, overrides))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    return run_part(args.part, settings, with_sink=args.with_sink)


def cmd_incident(args: argparse.Namespace, settings: Settings) -> int:
    """`ioc simulate --incident SYSTEM:KIND [--seconds N]`: one injection to the running stack."""
    from ioc.services.simulator import IncidentRejected
    from ioc.services_io.sim_runner import parse_incident, publish_injection
    from ioc.topics import Topics

    others = [f"--{n.replace('_', '-')}" for n in ("rate", "seed", "backfill_days", "out", "state", "pakn_out")
              if getattr(args, n) is not None] + (["--scale"] if args.scale != "province" else [])
    if others:
        raise UserInputError(f"ioc simulate --incident: {', '.join(others)} do not go with --incident")
    try:
        injection = parse_incident(args.incident, args.seconds if args.seconds is not None else 60.0,
                                   settings.services.catalogue())
    except IncidentRejected as exc:
        raise UserInputError(f"ioc simulate: {exc}") from None
    bootstrap = stack.kafka_bootstrap(settings)  # the running stack's, as for every command
    asyncio.run(publish_injection(bootstrap, Topics.from_settings(settings.kafka).simulator_control, injection))
    print(json.dumps({"incident": injection.model_dump(exclude_none=True)}))
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    if args.incident is not None:
        return cmd_incident(args, settings)
    from ioc.sim import runner
    from ioc.topics import Topics

    sim = settings.simulator
    rate = args.rate if args.rate is not None else sim.rate
    seed = args.seed if args.seed is not None else sim.seed
    backfill = args.backfill_days if args.backfill_days is not None else sim.backfill_days
    if args.scale == "national" and args.backfill_days is None:
        backfill = 0  # a week of the whole country is millions of dossiers: ask for it explicitly
    home = (settings.province.code, settings.province.agency_prefix)
    if rate <= 0:
        raise UserInputError("ioc simulate: --rate must be positive")
    pakn_out = Path(args.pakn_out) if getattr(args, "pakn_out", None) else None
    if pakn_out is not None and not args.out:
        raise UserInputError("ioc simulate: --pakn-out goes with --out (to the broker, petitions go to their topic)")
    if pakn_out is not None and not pakn_out.parent.exists():
        raise UserInputError(f"ioc simulate: --pakn-out {pakn_out}: directory {pakn_out.parent} does not exist")
    if args.out:
        out = Path(args.out)
        if not out.parent.exists():
            raise UserInputError(f"ioc simulate: --out {out}: directory {out.parent} does not exist")
        n = runner.write_file(out, args.seconds if args.seconds is not None else 60.0, rate, seed, backfill,
                              scale=args.scale, home=home, pakn_path=pakn_out)
        written: dict[str, Any] = {"events": n, "out": str(out)}
        if pakn_out is not None:
            with open(pakn_out, encoding="utf-8") as lines:
                written.update(pakn_events=sum(1 for _ in lines), pakn_out=str(pakn_out))
        print(json.dumps(written))
        return 0
    bootstrap = stack.kafka_bootstrap(settings)
    stop = asyncio.Event()

    async def main() -> int:
        from ioc.health import serve_health

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        health, _ = serve_health(settings, "simulator", runner.SIMULATOR_CONDITIONS)
        return await runner.run_to_broker(bootstrap, Topics.from_settings(settings.kafka), args.seconds, rate, seed,
                                          backfill, stop, scale=args.scale, home=home, health=health,
                                          state_path=Path(args.state) if args.state else None,
                                          sink_group=f"{settings.worker.app_id}-sink",
                                          fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms)

    n = asyncio.run(main())
    print(json.dumps({"events": n}))
    return 0


def _kpi_from_warehouse(args: argparse.Namespace, settings: Settings) -> int:
    """`ioc kpi --from-warehouse`: the replay over what ClickHouse holds, e.g. a closed month
    that late events have changed since the live figures moved on (ioc/commands/kpi_warehouse.py:
    the public pages compute their periods with the same functions)."""
    from ioc.commands.kpi_warehouse import command_sources, read_inputs, reports
    from ioc.kpi.periods import resolve

    try:
        chosen, instant = resolve(args.period, args.start, args.end, args.at, clock.now())
    except ValueError as exc:
        raise UserInputError(f"ioc kpi: {exc}") from None
    # The files given win; else what the warehouse holds (the catalogue and petitions it stored).
    sources = command_sources(args.catalogue, args.national_report, args.profile)
    wh = stack.open_warehouse(settings)
    try:
        inputs = read_inputs(wh, sources, args.pakn)
    except ValueError as exc:
        raise IocError(f"ioc kpi: {exc}") from None
    finally:
        wh.close()
    report, = reports(inputs, (chosen,), instant, units=args.unit, procedure=args.procedure, province=args.province)
    print(json.dumps(report, ensure_ascii=False))
    return 0


def cmd_kpi(args: argparse.Namespace, settings: Settings) -> int:
    replay_options = (args.events, args.period, args.start, args.end, args.at, args.unit, args.procedure,
                      args.catalogue, args.pakn, args.national_report)
    if args.action is None:  # ioc kpi --events FILE ...: offline replay (contracts.md §1)
        from ioc.commands.kpi_replay import run

        if args.from_warehouse:
            if args.events:
                raise UserInputError("ioc kpi: give --events FILE or --from-warehouse, not both")
            return _kpi_from_warehouse(args, settings)
        if not args.events:
            raise UserInputError("ioc kpi: --events FILE (or --from-warehouse) is required (or `ioc kpi score ...`)")
        if args.input or args.indicator or args.numerator is not None or args.denominator is not None:
            raise UserInputError("ioc kpi: --indicator/--numerator/--denominator/--input belong to `ioc kpi score`")
        report = run(Path(args.events), period=args.period, start=args.start, end=args.end, at=args.at,
                     units=args.unit, procedure=args.procedure, province=args.province,
                     now=clock.now(), catalogue=args.catalogue, pakn=args.pakn,
                     national_report=args.national_report, profile=args.profile)
        print(json.dumps(report, ensure_ascii=False))
        return 0
    from ioc.commands.kpi_score import score_file, score_one

    if any(option is not None for option in replay_options):
        raise UserInputError("ioc kpi score: --events and the replay options go without `score`")
    if args.input:
        if args.indicator or args.numerator is not None or args.denominator is not None:
            raise UserInputError("ioc kpi score: give either --input or --indicator/--numerator/--denominator")
        for line in score_file(Path(args.input)):
            print(line)
        return 0
    if not args.indicator or args.numerator is None or args.denominator is None:
        raise UserInputError("ioc kpi score: --indicator, --numerator and --denominator are required (or --input)")
    print(score_one(args.indicator, args.numerator, args.denominator))
    return 0


def cmd_warehouse(args: argparse.Namespace, settings: Settings) -> int:
    from ioc.warehouse.queries import table_counts

    if args.action == "ddl":  # no connection: for a DBA, or a cluster's bootstrap
        from ioc.warehouse.cluster import cluster_statements
        from ioc.warehouse.schema import MODERN, Dialect, create_statements

        db = settings.clickhouse.database
        try:
            dialect = Dialect.for_version(args.server_version) if args.server_version else MODERN
        except ValueError:
            raise UserInputError(f"ioc warehouse ddl: --server-version {args.server_version!r} is not X.Y") from None
        statements = (cluster_statements(args.cluster, db, dialect, shard_by=args.shard_by) if args.cluster
                      else create_statements(db, dialect))
        print(";\n\n".join(s.strip() for s in statements) + ";")
        return 0
    if args.cluster or args.server_version:
        raise UserInputError("ioc warehouse: --cluster and --server-version go with ddl")
    wh = stack.open_warehouse(settings)
    try:
        if args.action == "counts":
            print(json.dumps(table_counts(wh)))
    finally:
        wh.close()
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from ioc.ingest.parsing import file_events
    from ioc.ingest.publishing import MAX_MESSAGE_BYTES, KafkaEventPublisher, publish_batches
    from ioc.topics import Topics

    national = args.national_scores is not None or args.national_report is not None
    if args.file is None and args.pakn is None and not national:
        raise UserInputError("ioc import: give a dossier-events FILE, --pakn FILE, --national-scores FILE "
                             "or --national-report FILE")
    if national:
        from ioc.commands.national_import import run as import_national

        if args.file is not None or args.pakn is not None:
            raise UserInputError("ioc import: --national-scores/--national-report go without event files")
        print(json.dumps(import_national(settings, stack.kafka_bootstrap(settings), args.national_scores,
                                         args.national_report)))
        return 0
    if args.file is None:
        return _import_pakn(args, settings)
    path = Path(args.file)
    tz = clock.LOCAL_TZ  # spreadsheet date cells carry no offset
    # Every row is validated before anything is published: a bad file is all or nothing.
    rows = sum(1 for _ in file_events(path, tz, MAX_MESSAGE_BYTES))
    if args.pakn is not None:  # both files valid before either is published
        _count_pakn(Path(args.pakn), tz)
    publisher = KafkaEventPublisher(stack.kafka_bootstrap(settings), Topics.from_settings(settings.kafka).dossier_events,
                                    timeout_s=settings.ingest.publish_timeout_s, client_id="ioc-import")
    try:
        events = (event.to_json() for _, event in file_events(path, tz, MAX_MESSAGE_BYTES))
        published = publish_batches(publisher, events, source=f"import:{args.source or path.name}")
    finally:
        publisher.close()
    if args.pakn is not None:
        _import_pakn(args, settings, {"rows": rows, "published": published})
        return 0
    print(json.dumps({"rows": rows, "published": published}))
    return 0


def _count_pakn(path: Path, tz: Any) -> int:
    from ioc.ingest.parsing import file_pakn_events
    from ioc.ingest.publishing import MAX_MESSAGE_BYTES

    return sum(1 for _ in file_pakn_events(path, tz, MAX_MESSAGE_BYTES))


def _import_pakn(args: argparse.Namespace, settings: Settings, dossiers: dict[str, int] | None = None) -> int:
    """`ioc import --pakn FILE`: petition events to the petition topic, all or nothing."""
    from ioc.ingest.parsing import file_pakn_events
    from ioc.ingest.publishing import MAX_MESSAGE_BYTES, KafkaEventPublisher, publish_batches
    from ioc.topics import Topics

    path = Path(args.pakn)
    tz = clock.LOCAL_TZ
    rows = _count_pakn(path, tz)
    publisher = KafkaEventPublisher(stack.kafka_bootstrap(settings), Topics.from_settings(settings.kafka).pakn_events,
                                    timeout_s=settings.ingest.publish_timeout_s, client_id="ioc-import",
                                    key_field="pakn_code")
    try:
        events = (event.to_json() for _, event in file_pakn_events(path, tz, MAX_MESSAGE_BYTES))
        published = publish_batches(publisher, events, source=f"import:{args.source or path.name}")
    finally:
        publisher.close()
    out = {"pakn_rows": rows, "pakn_published": published}
    print(json.dumps({**(dossiers or {}), **out}))
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from ioc.commands.verify import verify

    events = Path(args.events) if args.events else None
    if events is not None and not events.is_file():
        raise UserInputError(f"ioc verify: --events {events}: no such file")
    if args.wait < 0:
        raise UserInputError("ioc verify: --wait must not be negative")
    wh = stack.open_warehouse(settings)
    try:
        report = verify(wh, settings.kafka.partitions.dossier_events, events, wait_s=args.wait)
    finally:
        wh.close()
    print(json.dumps(report.to_json(), ensure_ascii=False))
    for line in report.differences:
        print(f"ioc verify: {line}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from dashboards.auth import add_user_command, users_path

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    print(add_user_command(users_path(settings), args.username, args.roles, password, replace=args.replace))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from ioc.ingest.tokens import MIN_TOKEN_LENGTH, hash_token

    if sys.stdin.isatty():
        import getpass

        token = getpass.getpass("token (not shown): ")
    else:
        token = sys.stdin.read()
    token = token.strip()
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise UserInputError(
            f"ioc ingest hash-token: give one token of at least {MIN_TOKEN_LENGTH} characters, without spaces, "
            "on standard input (a new one: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    print(hash_token(token))
    return 0


def cmd_camera(args: argparse.Namespace, settings: Settings) -> int:
    from camera.worker import analyze

    publisher = None
    if args.kafka:
        from camera.publish import CameraPublisher
        from ioc.topics import Topics

        publisher = CameraPublisher(args.kafka, Topics.from_settings(settings.kafka))
    return analyze(args.source, config_path=args.camera_config, camera_id=args.camera, seconds=args.seconds,
                   publisher=publisher)


def cmd_bench(args: argparse.Namespace) -> int:
    if args.seconds is not None and args.seconds <= 0:
        raise UserInputError("ioc bench: --seconds must be positive")
    if args.name == "wall":
        from dashboards.wall.bench import run as run_wall

        if args.viewers <= 0:
            raise UserInputError("ioc bench wall: --viewers must be positive")
        _print_bench(run_wall(viewers=args.viewers, seconds=args.seconds or 20.0), args.format)
        return 0
    if args.name == "public":
        from dashboards.public.bench import run as run_public

        if args.clients <= 0:
            raise UserInputError("ioc bench public: --clients must be positive")
        _print_bench(run_public(clients=args.clients, seconds=args.seconds or 20.0), args.format)
        return 0
    if args.name == "pipeline":
        from ioc.bench.pipeline import run as run_pipeline

        if args.events <= 0 or args.rss_dossiers < 0:
            raise UserInputError("ioc bench pipeline: --events must be positive, --rss-dossiers not negative")
        if args.import_file and not Path(args.import_file).is_file():
            raise UserInputError(f"ioc bench pipeline: no file {args.import_file}")
        report = run_pipeline(events=args.events, seconds=args.seconds or 20.0, scale=args.scale,
                              rss_dossiers=args.rss_dossiers,
                              import_file=Path(args.import_file).resolve() if args.import_file else None,
                              store=args.store)
        _print_bench(report, args.format)
        return 0
    from camera.bench import run

    try:
        report = run(seconds=args.seconds, footage=Path(args.video) if args.video else None)
    except FileNotFoundError as exc:
        raise UserInputError(f"ioc bench camera: no footage at {exc}; pass --video FILE") from None
    _print_bench(report, args.format)
    return 0


def _print_bench(report: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(report))
        return
    for goal, g in report["goals"].items():
        print(f"{goal}: {g['value']} (target {g['target']}, {'met' if g['met'] else 'NOT met'})")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        clock.start()  # a bad IOC_NOW is exit 2 before anything runs; a pinned clock starts here
        overrides = _overrides(args)
        settings = load_settings(args.config, overrides=overrides)
        if args.command == "up":
            return cmd_up(args, settings, overrides)
        if args.command == "run":
            return cmd_run(args, settings)
        if args.command == "simulate":
            return cmd_simulate(args, settings)
        if args.command == "kpi":
            return cmd_kpi(args, settings)
        if args.command == "warehouse":
            return cmd_warehouse(args, settings)
        if args.command == "import":
            return cmd_import(args, settings)
        if args.command == "catalogue":
            from ioc.commands.catalogue_import import cmd_catalogue

            return cmd_catalogue(args, settings)
        if args.command == "ingest":
            return cmd_ingest(args)
        if args.command == "verify":
            return cmd_verify(args, settings)
        if args.command == "users":
            return cmd_users(args, settings)
        if args.command == "restore":
            from ioc.commands.restore import cmd_restore

            return cmd_restore(settings)
        if args.command == "camera":
            return cmd_camera(args, settings)
        if args.command == "bench":
            return cmd_bench(args)
        raise UserInputError(f"ioc: unknown command {args.command}")
    except IocError as exc:
        print(f"ioc: {exc}" if not str(exc).startswith("ioc") else str(exc), file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
