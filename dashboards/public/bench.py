"""`ioc bench public`: N concurrent anonymous clients over the public pages of a real web process.

The web process runs in its own Python process (``python -m dashboards.public.bench serve``): the whole
web app (``dashboards.server.WebProcess``: wall, console, public surface and their security
layer) served by waitress with the thread count of ``ioc run web``, over a chDB warehouse
filled with a simulated week of the province (``ioc simulate``'s generator: events, petitions,
the SAMPLE catalogue, stored by the sink's own row functions) and live tallies folded from the
same events. Its settings are the defaults but one: ``web.trusted_proxy_hops`` = 1, as behind a
reverse proxy, so each client is known by the X-Forwarded-For it sends.

The clients (one asyncio loop in this process, aiohttp) are anonymous visitors: each has its own
address (``127.x.y.z`` in X-Forwarded-For: the rate limit exempts nobody, it just sees 200
different people), and each loops for ``seconds``: one request from a mix of the public surface
(/public/766 of several periods and languages, unit pages, widgets of every kind, CSV and JSON,
the index, dossier lookups of known and unknown codes, static files), then a pause of
0.5-1.5 s, as a person reading. Measured per request: time to the whole body, status, size.
The first ``warmup_s`` seconds are reported apart; before them every distinct page is asked
once (the first replay of a period takes seconds, once per process and period).

Goals (issue #17): p95 under 200 ms and no 5xx over the steady requests; 429s are reported
apart (they would mean the clients went over the per-client budget, not that the server is slow).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dashboards.bench_cli import bench_main, start_server, stop_server
from ioc import clock
from ioc.process import free_port, wait_until

MODULE = "dashboards.public.bench"  # `python -m` this: the web process under test
GOAL_P95_MS = 200.0
BACKFILL_DAYS = 7
SEED = 17
THINK_S = (0.5, 1.5)


# --- the warehouse and the web process ---------------------------------------------------------


def fill_warehouse(wh: Any, events_path: Path, pakn_path: Path | None, ingested_at: datetime,
                   catalogue: bool = True) -> dict[str, int]:
    """Store a JSONL file of dossier events (and petitions) as the sink does, in batches, and
    the SAMPLE catalogue as `ioc up` publishes it (what `ioc import` + the sink would store)."""
    from ioc.warehouse.schema import DOSSIER_EVENTS, PAKN_EVENTS, PROCEDURE_CATALOGUE
    from ioc.warehouse.sink import dossier_rows, pakn_rows
    from ioc.wire import encode_batch

    counts = {"events": 0, "petitions": 0, "catalogue": 0}
    for path, table, rows_of, key in ((events_path, DOSSIER_EVENTS, dossier_rows, "events"),
                                      (pakn_path, PAKN_EVENTS, pakn_rows, "petitions")):
        if path is None:
            continue
        batch: list[dict[str, Any]] = []
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    batch.append(json.loads(line))
                if len(batch) >= 5000:
                    rows = rows_of(encode_batch(batch), ingested_at)
                    wh.insert(table, rows)
                    counts[key] += len(rows)
                    batch = []
        if batch:
            rows = rows_of(encode_batch(batch), ingested_at)
            wh.insert(table, rows)
            counts[key] += len(rows)
    if catalogue:
        from ioc.reference.catalogue import sample_catalogue
        from ioc.warehouse.catalogue_rows import SAMPLE_VERSION, catalogue_table_row

        rows = [catalogue_table_row(row, SAMPLE_VERSION) for row in sample_catalogue().rows]
        wh.insert(PROCEDURE_CATALOGUE, rows)
        counts["catalogue"] = len(rows)
    return counts


def live_tallies(events_path: Path, at: datetime) -> dict[str, dict[str, int]]:
    """The month-to-date tallies per unit the stream would hold at ``at`` (the month widgets)."""
    from ioc.domain.dossier import fold
    from ioc.domain.events import parse_event
    from ioc.kpi.live import figures_for

    with open(events_path, encoding="utf-8") as lines:
        events = [parse_event(json.loads(line)) for line in lines if line.strip()]
    return figures_for(fold(events, at), at)


def serve(port: int, data_dir: Path) -> None:
    """The benchmark's web process (runs until killed); prints ``ready`` once it serves."""
    import logging

    from waitress.server import create_server

    from dashboards.server import WebProcess
    from ioc.config import Settings
    from ioc.sim.runner import write_file
    from ioc.warehouse.backends import ChdbWarehouse, ensure_schema

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")  # stderr: line by line
    now = clock.now()
    events, pakn = data_dir / "events.jsonl", data_dir / "pakn.jsonl"
    write_file(events, 1.0, 2.0, SEED, BACKFILL_DAYS, now=now, pakn_path=pakn)
    settings = Settings.model_validate({"data_dir": str(data_dir), "web": {"port": port, "trusted_proxy_hops": 1}})
    warehouse = ChdbWarehouse(data_dir / "chdb", database="benchpublic")
    ensure_schema(warehouse)
    fill_warehouse(warehouse, events, pakn, now)
    web = WebProcess(settings, "127.0.0.1:1", warehouse, with_sink=False)  # no Kafka: the state is seeded
    web.state.apply_snapshot({"computed_at": now.isoformat(), "partition": 0, "units": live_tallies(events, now)})
    app = web.build()
    codes = sorted({json.loads(line)["dossier_code"] for line in open(events, encoding="utf-8") if line.strip()})
    (data_dir / "codes.json").write_text(json.dumps(codes[:: max(1, len(codes) // 200)]), encoding="utf-8")
    from dashboards.server import WAITRESS

    create_server(app, host="127.0.0.1", port=port, **WAITRESS).run()  # as `ioc run web`


# --- the clients -------------------------------------------------------------------------------------


def page_mix(units: list[str], codes: list[str], now: datetime) -> list[tuple[str, str, float]]:
    """(kind, path, weight) of the public surface a visitor asks for."""
    from dashboards.public.params import current_month
    from ioc.clock import LOCAL_TZ

    month = current_month(now)
    local = now.astimezone(LOCAL_TZ)
    prev = (local.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    quarter = f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    periods = ["", f"?period={prev}", f"?period={quarter}", f"?period={local.year}"]
    mix: list[tuple[str, str, float]] = []
    for p in periods:
        mix.append(("page", f"/public/766{p}", 6.0))
        mix.append(("page", f"/public/766{p}{'&' if p else '?'}lang=en", 2.0))
    for u in units:
        mix.append(("unit page", f"/public/766/unit/{u}", 20.0 / len(units)))
        mix.append(("unit page", f"/public/766/unit/{u}?period={prev}", 6.0 / len(units)))
    for w in ("score", "ontime", "online"):
        mix.append(("widget", f"/public/widget/{w}", 2.0))
        mix.append(("widget", f"/public/widget/{w}?unit={units[0]}", 1.0))
    for w in ("indicator/2.1", "indicator/3.3", "group/2", "ranking/communes", "ranking/departments",
              "trend/total", "trend/2.1"):
        mix.append(("widget", f"/public/widget/{w}", 2.0))
        mix.append(("widget", f"/public/widget/{w}?period={prev}&lang=en", 1.0))
    for table in ("indicators", "units", "unit-indicators", "trend"):  # downloads: ~3 % of the requests
        mix.append(("data", f"/public/766.csv?table={table}&period={prev}", 0.4))
        mix.append(("data", f"/public/766.json?table={table}", 0.4))
    mix.append(("index", "/public/", 4.0))
    mix.append(("index", f"/public/?period={month}&widget=trend/total", 2.0))
    mix.append(("lookup", "/public/tra-cuu", 2.0))
    for code in codes[:50]:
        mix.append(("lookup", f"/public/tra-cuu?ma={code}", 3.0 / 50))
    mix.append(("lookup", "/public/tra-cuu?ma=H44.99-000000-0000", 1.0))
    for static in ("766.css", "tables.js", "widget.css"):
        mix.append(("static", f"/public/static/{static}", 1.0))
    return mix


class Sample:
    __slots__ = ("kind", "ms", "status", "size", "at")

    def __init__(self, kind: str, ms: float, status: int, size: int, at: float) -> None:
        self.kind, self.ms, self.status, self.size, self.at = kind, ms, status, size, at


async def _client(session: Any, base: str, address: str, mix: list[tuple[str, str, float]], until: float,
                  rng: random.Random, out: list[Sample]) -> None:
    import aiohttp

    weights = [w for _, _, w in mix]
    headers = {"X-Forwarded-For": address, "Accept-Language": "vi"}
    await asyncio.sleep(rng.uniform(0, THINK_S[1]))
    while time.monotonic() < until:
        kind, path, _ = rng.choices(mix, weights)[0]
        start = time.perf_counter()
        try:
            async with session.get(base + path, headers=headers) as r:
                body = await r.read()
                out.append(Sample(kind, (time.perf_counter() - start) * 1000, r.status, len(body), time.monotonic()))
        except (aiohttp.ClientError, asyncio.TimeoutError):
            out.append(Sample(kind, (time.perf_counter() - start) * 1000, 0, 0, time.monotonic()))
        await asyncio.sleep(rng.uniform(*THINK_S))


async def _visit(base: str, clients: int, seconds: float, mix: list[tuple[str, str, float]],
                 seed: int) -> list[Sample]:
    import aiohttp

    out: list[Sample] = []
    until = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        rng = random.Random(seed)
        tasks = [_client(session, base, f"127.{1 + i // 65536 % 250}.{i // 256 % 256}.{i % 256 or 1}", mix, until,
                         random.Random(rng.random()), out) for i in range(clients)]
        await asyncio.gather(*tasks)
    return out


def _replays(log: Path) -> list[str]:
    return [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if "replayed in" in line]


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _prime(base: str, mix: list[tuple[str, str, float]]) -> float:
    """Ask every distinct page until it answers (their first replays: 503 "computing" until
    then), as a running site has them; seconds taken."""
    import urllib.error
    import urllib.request

    started = time.monotonic()
    for i, (_, path, _) in enumerate(mix):
        if "/tra-cuu?ma=" in path:
            continue  # lookups are never cached, and have their own small budget
        request = urllib.request.Request(base + path, headers={"X-Forwarded-For": f"127.254.0.{i % 250 + 1}"})
        for _ in range(60):
            try:
                with urllib.request.urlopen(request, timeout=300) as r:
                    r.read()
                break
            except urllib.error.HTTPError as exc:
                if exc.code != 503:
                    break
                time.sleep(1.0)
            except OSError:
                break
    return time.monotonic() - started


def run(clients: int = 200, seconds: float = 20.0, warmup_s: float = 5.0, seed: int = 7) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ioc-bench-public-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(data_dir / "web.log", "wb")
        proc = start_server(MODULE, port, data_dir, log)
        try:
            import urllib.request

            def up() -> bool:
                with urllib.request.urlopen(f"{base}/public/static/766.css", timeout=2) as r:
                    return r.status == 200

            wait_until(up, 300, f"web process on :{port}", alive=lambda: proc.poll() is None)
            from dashboards.server import unit_names
            from ioc.config import Settings

            codes = json.loads((data_dir / "codes.json").read_text(encoding="utf-8"))
            units = [u for u in unit_names(Settings()) if u.count(".") >= 1][:: 12]
            mix = page_mix(units, codes, clock.now())
            primed_s = _prime(base, mix)
            server_cpu, replays_before = _cpu_of(proc.pid), _replays(data_dir / "web.log")
            client_cpu = time.process_time()
            samples = asyncio.run(_visit(base, clients, warmup_s + seconds, mix, seed))
            client_cpu = time.process_time() - client_cpu
            server_cpu = _cpu_of(proc.pid) - server_cpu
            _replays_total = _replays(data_dir / "web.log")
            replays = [line.split(" public 766: ", 1)[-1] for line in _replays_total[len(replays_before):]]
            steady_from = min((s.at for s in samples), default=0.0) + warmup_s
        finally:
            stop_server(proc)
            log.close()

    steady = [s for s in samples if s.at >= steady_from]
    answered = [s for s in steady if s.status and s.status != 429]
    times = [s.ms for s in answered]
    statuses: dict[str, int] = {}
    for s in steady:
        statuses[str(s.status or "error")] = statuses.get(str(s.status or "error"), 0) + 1
    server_errors = sum(1 for s in steady if s.status >= 500 or s.status == 0)
    per_kind = {}
    for kind in sorted({s.kind for s in answered}):
        mine = [s for s in answered if s.kind == kind]
        per_kind[kind] = {"requests": len(mine), "p50_ms": round(_pct([s.ms for s in mine], 0.5), 1),
                          "p95_ms": round(_pct([s.ms for s in mine], 0.95), 1),
                          "mean_bytes": round(statistics.mean(s.size for s in mine))}
    p95 = _pct(times, 0.95)
    duration = max(1e-9, seconds)
    return {
        "clients": clients, "seconds": seconds, "warmup_s": warmup_s, "primed_s": round(primed_s, 1),
        "requests": len(steady), "requests_per_s": round(len(steady) / duration, 1),
        "statuses": dict(sorted(statuses.items())),
        "rate_limited_429": statuses.get("429", 0),
        "response_ms": {"p50": round(_pct(times, 0.5), 1), "p95": round(p95, 1), "p99": round(_pct(times, 0.99), 1),
                        "max": round(max(times, default=float("nan")), 1)},
        "per_kind": per_kind,
        "warmup_requests": len(samples) - len(steady),
        # Where the machine's time went while the clients ran (both processes share its cores).
        "cpu_s": {"server": round(server_cpu, 1), "clients": round(client_cpu, 1),
                  "wall": round(warmup_s + seconds, 1)},
        # The reports the server replayed meanwhile (the current periods, every public.cache_s).
        "replays_during_run": replays,
        "replays_in_all": len(_replays_total),
        "goals": {
            "p95 response time (ms)": {"value": round(p95, 1), "target": f"< {GOAL_P95_MS:.0f}",
                                       "met": bool(times) and p95 < GOAL_P95_MS},
            "5xx or failed responses": {"value": server_errors, "target": "0", "met": server_errors == 0},
        },
    }


def main(argv: list[str] | None = None) -> int:
    return bench_main(MODULE, serve, run, "clients", 200, argv)


if __name__ == "__main__":
    raise SystemExit(main())
