"""How many alerts the steady-state demo shows: `ioc up` (simulator, services, cameras) watched
through ``GET /api/v1/alerts`` (issue #16, "alerts worth reading": at most 10 open over 15 min).

    .venv/bin/python -m ioc.bench.alert_census [--minutes 15] [--interval 30] [--out var/census]

`ioc up` on free ports with a temporary data directory and the clock pinned to a working
morning (``--now``, as the soak), so the count does not depend on the day it runs. Once every
part is ready (``/healthz`` 200), one sample every ``--interval`` seconds: the open alerts
(every state but ``resolved``), by source and kind. Prints one line per sample and, at the end,
one JSON object: the largest and the last open count, the distinct alerts opened over the run,
and the open alerts of the last sample (id, kind, unit, summary). Stops the stack (its process
group) whatever happens.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_NOW = "2026-12-08T09:30:00+07:00"  # a Tuesday, mid-morning, as scripts/soak


def _open(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in alerts if a["state"] != "resolved"]


def census(minutes: float, interval: float, out: Path, now: str | None, ready_timeout: float = 900.0) -> dict[str, Any]:
    import requests

    from ioc.process import free_port, spawn, stop

    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="ioc-census-"))
    token = secrets.token_urlsafe(32)
    port, kafka_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update({"IOC_KAFKA__EMBEDDED_PORT": str(kafka_port), "IOC_OPERATOR_TOKEN": token})
    if now:
        env["IOC_NOW"] = now
    proc = spawn([sys.executable, "-m", "ioc", "up", "--port", str(port), "--data-dir", str(data)],
                 log_path=out / "up.log", env=env)
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    samples: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"ioc up exited ({proc.returncode}); see {out / 'up.log'}")
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"not ready after {ready_timeout:.0f} s; see {out / 'up.log'}")
            time.sleep(2)
        started = time.monotonic()
        while time.monotonic() - started <= minutes * 60:
            try:
                alerts = requests.get(f"{base}/api/v1/alerts", headers=auth, timeout=30).json()
            except requests.RequestException as exc:
                print(f"census: {exc}", flush=True)
                time.sleep(interval)
                continue
            opened = _open(alerts)
            for a in alerts:
                seen[a["id"]] = a
            sample = {"t_s": round(time.monotonic() - started), "open": len(opened),
                      "by_source": dict(collections.Counter(a["source"] for a in opened))}
            samples.append(sample)
            print(f"census: t={sample['t_s']:>4}s open={sample['open']:>3} {sample['by_source']}", flush=True)
            time.sleep(interval)
        last = _open(alerts)
        return {
            "minutes": minutes, "interval_s": interval, "now": now,
            "max_open": max((s["open"] for s in samples), default=0),
            "last_open": samples[-1]["open"] if samples else None,
            "distinct_alerts": len(seen),
            "distinct_by_source": dict(collections.Counter(a["source"] for a in seen.values())),
            "samples": samples,
            "open_at_end": [{k: a.get(k) for k in ("id", "source", "system", "unit", "severity", "state", "summary")}
                            for a in last],
        }
    finally:
        stop(proc, timeout=15)
        if (data / "logs").is_dir():  # for a look afterwards
            shutil.copytree(data / "logs", out / "logs", dirs_exist_ok=True)
        shutil.rmtree(data, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ioc.bench.alert_census", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=15.0)
    p.add_argument("--interval", type=float, default=30.0)
    p.add_argument("--out", default="var/census")
    p.add_argument("--now", default=DEFAULT_NOW, help="IOC_NOW of the stack ('' for the system clock)")
    args = p.parse_args(argv)
    report = census(args.minutes, args.interval, Path(args.out), args.now or None)
    Path(args.out, "census.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
