"""What the two web benches share (``ioc bench wall``, ``ioc bench public``): each runs its web
process as a child (``python -m MODULE serve``, so the clients' threads never share its GIL) and
has the same command line: ``serve --port --data-dir`` and ``run --<crowd> --seconds``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, Callable

from ioc import clock


def start_server(module: str, port: int, data_dir: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """The bench's web process (``MODULE serve``), on the same business clock as this one."""
    return subprocess.Popen([sys.executable, "-m", module, "serve", "--port", str(port), "--data-dir", str(data_dir)],
                            stdout=log, stderr=subprocess.STDOUT, env=clock.child_environ())


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def bench_main(module: str, serve: Callable[[int, Path], None], run: Callable[[int, float], dict[str, Any]],
               crowd: str, default: int, argv: list[str] | None = None) -> int:
    """``python -m MODULE serve|run``; ``crowd``: the run's count flag (viewers, clients)."""
    p = argparse.ArgumentParser(prog=f"python -m {module}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="the benchmark's web process")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--data-dir", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument(f"--{crowd}", type=int, default=default)
    r.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.data_dir)
        return 0
    print(json.dumps(run(getattr(args, crowd), args.seconds)))
    return 0
