"""Measure what the capacity plan needs from the project's own code: events per dossier, and
compressed bytes per warehouse row.

    .venv/bin/python deploy/capacity/measure_storage.py [--days 20] [--out deploy/capacity/storage.json]

Simulates ``--days`` of a province's receptions with the project's simulator and lets every
dossier live its whole life (all its scheduled events), turns them into warehouse rows with the
sink's own row functions, stores them in a temporary chDB with the single-node schema, merges
(OPTIMIZE FINAL) and reads the on-disk bytes from ``system.parts``. Snapshot rows are a proxy:
the live tallies of the same dossiers, recomputed every minute of a simulated working day and
written each second as the stream agent does (one row per unit with figures, per partition).
Takes about 2.5 minutes of one core for 20 days; prints and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ioc.domain.dossier import apply_event  # noqa: E402
from ioc.domain.events import parse_event  # noqa: E402
from ioc.kpi.live import figures_for  # noqa: E402
from ioc.sim.dossiers import DossierSimulator  # noqa: E402
from ioc.sim.population import DEFAULT_PROVINCE, population  # noqa: E402
from ioc.sim.runner import PROVINCE_DOSSIERS_PER_WORKING_DAY  # noqa: E402
from ioc.warehouse.backends import ChdbWarehouse, ensure_schema  # noqa: E402
from ioc.warehouse.schema import DOSSIER_EVENTS, KPI_SNAPSHOTS  # noqa: E402
from ioc.warehouse.sink import dossier_rows, snapshot_rows  # noqa: E402
from ioc.wire import encode_batch  # noqa: E402

SNAPSHOT_MINUTES = 10  # a sample of the day: 10 recomputations x 60 one-second rows each


def simulate(days: int, seed: int) -> tuple[list[dict], int, datetime]:
    start = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday, outside Tết
    end = start + timedelta(days=days)
    sim = DossierSimulator(seed, population("province", seed, DEFAULT_PROVINCE))
    dossiers = sim.backfill(start, end, PROVINCE_DOSSIERS_PER_WORKING_DAY)
    # Far enough ahead that every scheduled event of every dossier has happened.
    events = list(sim.due(end + timedelta(days=400)))
    return events, dossiers, end


def snapshot_sample(events: list[dict], at: datetime) -> tuple[list[dict], int]:
    """Snapshot rows of one partition holding every dossier, and the size of one such message."""
    states: dict = {}
    for raw in events:
        ev = parse_event(raw)
        if ev.occurred_at <= at:
            states[ev.dossier_code] = apply_event(states.get(ev.dossier_code), ev)
    rows, message_bytes = [], 0
    for minute in range(SNAPSHOT_MINUTES):
        t = at + timedelta(minutes=minute)
        figures = figures_for(states.values(), t)
        for second in range(60):
            msg = json.dumps({"partition": 0, "computed_at": (t + timedelta(seconds=second)).isoformat(),
                              "units": figures}).encode()
            rows.extend(snapshot_rows(msg))
            message_bytes = max(message_bytes, len(msg))
    return rows, message_bytes


def table_bytes(wh: ChdbWarehouse, table: str) -> dict[str, float]:
    wh.execute(f"OPTIMIZE TABLE {wh.database}.{table} FINAL")
    ((rows, on_disk, uncompressed),) = wh.query(
        "SELECT sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes) FROM system.parts "
        "WHERE database = {db:String} AND table = {t:String} AND active", {"db": wh.database, "t": table})
    return {"rows": int(rows), "bytes_on_disk": int(on_disk), "uncompressed_bytes": int(uncompressed),
            "bytes_per_row": round(int(on_disk) / max(int(rows), 1), 1)}


def measure(days: int, seed: int) -> dict:
    events, dossiers, end = simulate(days, seed)
    per_status = Counter(e["status"] for e in events)
    json_bytes = sum(len(json.dumps(e, ensure_ascii=False).encode()) for e in events)
    ingested = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        wh = ChdbWarehouse(Path(tmp), "capacity")
        try:
            ensure_schema(wh)
            for i in range(0, len(events), 5000):
                wh.insert(DOSSIER_EVENTS, dossier_rows(encode_batch(events[i:i + 5000]), ingested))
            # mid-morning of the last simulated working day
            at = (end - timedelta(days=3)).replace(hour=2)
            snaps, message_bytes = snapshot_sample(events, at)
            for i in range(0, len(snaps), 20000):
                wh.insert(KPI_SNAPSHOTS, snaps[i:i + 20000])
            events_table = table_bytes(wh, DOSSIER_EVENTS.name)
            snapshots_table = table_bytes(wh, KPI_SNAPSHOTS.name)
        finally:
            wh.close()
    return {
        "what": "deploy/capacity/measure_storage.py: simulated province dossiers, whole lives, stored in chDB",
        "days_simulated": days, "seed": seed, "dossiers": dossiers, "events": len(events),
        "events_per_dossier": round(len(events) / max(dossiers, 1), 2),
        "events_by_status": dict(sorted(per_status.items())),
        "json_bytes_per_event": round(json_bytes / max(len(events), 1), 1),
        "dossier_events": events_table,
        "kpi_snapshots": {**snapshots_table,
                          "units_with_figures_per_snapshot": round(snapshots_table["rows"] / (SNAPSHOT_MINUTES * 60), 1),
                          "largest_snapshot_message_bytes": message_bytes,
                          "units_in_population": len(population("province", seed, DEFAULT_PROVINCE).units)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20, help="days of receptions to simulate (default 20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    if args.days <= 0:
        parser.error("--days must be positive")
    report = measure(args.days, args.seed)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
