"""`scripts/soak`: the wall left playing for hours in headless Chromium against a real `ioc up`,
watched for leaks and console errors (issue #13: a wall that runs for days).

What runs: `ioc up` on free ports with a temporary data directory (embedded broker, chDB,
simulator, cameras: everything a laptop run has), a leader account created in its user store;
once the simulator's history is in the warehouse (fewer than 300 new dossier events in 30 s;
until then the web process grows with every insert: start-up, not a leak), headless Debian
Chromium signed in through /login on `/`, the playlist rotating through its scenes. When the
project has a pinned clock (``ioc/clock.py``), IOC_NOW is set to a working day (``--now``), so
the figures, and the verdict, do not depend on the day the soak runs.

Every ``--interval`` seconds (the middle of a playlist slot, never while a scene is swapped in)
one sample, tagged with the scene shown:

* ``js_heap``: the page's used JS heap after a forced garbage collection (CDP
  ``HeapProfiler.collectGarbage`` then ``Runtime.getHeapUsage``): retained memory, not garbage;
* ``dom_nodes``: elements in the document; ``live_nodes``: every DOM node alive in the page,
  detached ones included (CDP ``Performance.getMetrics``, "Nodes");
* ``web_rss``, ``web_fds``: resident memory and open file descriptors of the `ioc run web`
  child (psutil), not counting the ``/proc/self/task/<tid>/*`` files chDB holds for each thread
  of its pools (three a thread: they follow its thread count, ``web_threads``);
  ``browser_rss`` (all Chromium processes) and ``web_threads`` are recorded, not judged;
* ``console_errors``: SEVERE entries of the browser log (console.error, failed requests, CSP).

The verdict (``judge``), exit status 1 with one ``FAIL`` line per cause:

* any browser console error fails;
* growth: samples from the warm-up (``--warmup-minutes``: first load, caches, JIT, the
  warehouse filling) are ignored. Of the others, the median of the first K (the baseline) is
  compared with the median of the last K (the end); a metric fails when
  ``end / baseline - 1 > 10 %`` and the rise exceeds the metric's slack in ``JUDGED`` (+3
  descriptors on 30 is not a leak). K is a tenth of the samples, at least 3, at most half.
  Medians, not the first and the last sample: a sample can land on the top or the bottom of a
  GC sawtooth, a burst of requests or a slow moment; the median of K ignores up to half of
  them, while a leak lifts every sample, and with them the median.
* like with like: the page's metrics depend on the scene shown (the map has six times the
  nodes of the alerts), so samples are tagged with their scene. Nodes are judged scene by
  scene, each scene's first tenth of samples against its last (at least 3, at most half), and
  the scene that grew most counts: a list that keeps growing lifts its own scene. The heap is
  retained across scenes, and what is left of the sawtooth needs many samples: each sample is
  scaled by its scene's median (to the overall median), then the windows of all scenes are
  compared. The web process's metrics do not depend on the scene.

``--skip web_rss,web_fds`` records those without judging them: the web process takes some
twenty minutes to leave its start-up (chDB filling its caches as the warehouse fills), so a
5-minute run (CI's) can only judge the page.

Writes ``samples.csv`` (a row per sample, as it goes), ``soak.json`` (settings, samples,
verdict), ``up.log`` (`ioc up`'s output) and, on failure, the stack's ``logs/`` into ``--out``;
prints a line per sample and a summary table.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

LIMIT = 0.10
DEFAULT_NOW = "2026-12-08T09:30:00+07:00"  # a Tuesday, mid-morning: offices open, dossiers flowing
# metric -> (unit shown, divisor, rise below which growth is never a failure, how scenes are
# compared: "scaled" by their own median, "each" on its own, or "" not at all)
JUDGED: dict[str, tuple[str, float, float, str]] = {
    "js_heap": ("MB", 1e6, 1e6, "scaled"),
    "dom_nodes": ("", 1, 50, "each"),
    "live_nodes": ("", 1, 50, "each"),
    "web_rss": ("MB", 1e6, 5e6, ""),
    "web_fds": ("", 1, 5, ""),
}
INFO = {"browser_rss": ("MB", 1e6), "web_threads": ("", 1)}
FIELDS = ("t_s", "scene", *JUDGED, *INFO, "console_errors")


# --- the verdict (pure) ------------------------------------------------------------------------------


@dataclass
class Verdict:
    ok: bool
    failures: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)  # per metric, for the summary table
    window: int = 0  # K
    judged: int = 0  # samples after the warm-up


def window_size(n: int) -> int:
    """K for ``n`` samples: a tenth of them, at least 3, at most half."""
    return max(1, min(max(3, n // 10), n // 2))


def _growth(base: float, end: float) -> float:
    return end / base - 1 if base > 0 else (0.0 if end <= 0 else math.inf)


def judge(samples: list[dict[str, Any]], warmup_s: float, limit: float = LIMIT,
          skip: tuple[str, ...] = ()) -> Verdict:
    """Fails on any console error and on a judged metric growing more than ``limit`` after the
    warm-up: the median of the last K samples against the median of the first K, scene by
    scene for the page's metrics (the scene that grew most is judged)."""
    failures: list[str] = []
    errors = [(s["t_s"], e) for s in samples for e in s.get("console_errors") or []]
    if errors:
        t, first_error = errors[0]
        failures.append(f"FAIL console: {len(errors)} browser console error(s), the first at "
                        f"{t / 60:.1f} min: {first_error[:300]}")
    judged = [s for s in samples if s["t_s"] >= warmup_s]
    if len(judged) < 2:
        failures.append(f"FAIL samples: {len(judged)} sample(s) after the warm-up, 2 at least are needed")
        return Verdict(False, failures, judged=len(judged))
    k = window_size(len(judged))
    head, tail = judged[:k], judged[-k:]
    rows = []
    for metric, (unit, div, slack, scenes) in JUDGED.items():
        values = [s[metric] for s in judged if s.get(metric) is not None]
        if len(values) < 2:
            continue
        scene_of = lambda s: str(s.get("scene", ""))  # noqa: E731
        compared = []  # (growth, baseline, end, scene)
        if scenes == "each":  # each scene's own first and last samples
            for scene in sorted(set(map(scene_of, judged))):
                own = [s[metric] for s in judged if scene_of(s) == scene]
                if len(own) >= 2:
                    ks = window_size(len(own))
                    b, e = statistics.median(own[:ks]), statistics.median(own[-ks:])
                    compared.append((_growth(b, e), b, e, scene))
        if not compared:
            scale = {sc: 1.0 for sc in map(scene_of, judged)}
            if scenes == "scaled":  # each sample over its scene's median, times the overall median
                overall = statistics.median(values)
                for sc in scale:
                    own = statistics.median(s[metric] for s in judged if scene_of(s) == sc)
                    scale[sc] = overall / own if own > 0 else 1.0
            b = statistics.median(s[metric] * scale[scene_of(s)] for s in head)
            e = statistics.median(s[metric] * scale[scene_of(s)] for s in tail)
            compared.append((_growth(b, e), b, e, "scaled" if scenes == "scaled" else ""))
        growth, base, end, scene = max(compared)
        ok = growth <= limit or end - base <= slack or metric in skip
        first = samples[0].get(metric)
        rows.append({"metric": metric, "unit": unit, "first": None if first is None else first / div,
                     "baseline": base / div, "end": end / div, "last": values[-1] / div,
                     "min": min(values) / div, "max": max(values) / div, "growth": growth, "ok": ok,
                     "scene": scene, "skipped": metric in skip})
        if not ok:
            where = {"": "", "scaled": "each scene scaled to the median: "}.get(scene, f"scene {scene}: ")
            failures.append(f"FAIL {metric}: grew {growth:+.1%} after the warm-up ({where}median of the first "
                            f"samples {_fmt(base / div, unit)} -> of the last {_fmt(end / div, unit)}; "
                            f"limit +{limit:.0%})")
    return Verdict(not failures, failures, rows, k, len(judged))


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}" if unit else f"{value:,.0f}"


def summary_table(v: Verdict) -> str:
    head = f"{'metric':<12} {'first':>10} {'baseline':>10} {'end':>10} {'last':>10} {'min':>10} {'max':>10} " \
           f"{'growth':>8}  verdict"
    lines = [head, "-" * len(head)]
    for r in v.rows:
        name = f"{r['metric']} {r['unit']}".strip()
        cells = [f"{r[c]:,.1f}" if r["unit"] else f"{r[c]:,.0f}" for c in ("first", "baseline", "end", "last",
                                                                          "min", "max")]
        lines.append(f"{name:<12} " + " ".join(f"{c:>10}" for c in cells) +
                     f" {r['growth']:>+8.1%}  {'ok' if r['ok'] else 'FAIL'}{' (not judged)' if r.get('skipped') else ''}"
                     + (f" ({r['scene']})" if r.get("scene") else ""))
    lines.append(f"baseline/end: medians of the first/last {v.window} of {v.judged} samples after the warm-up; "
                 "nodes: of the scene in brackets (its own first/last tenth), the one that grew most; "
                 "heap: each sample scaled by its scene's median")
    return "\n".join(lines)


# --- the stack and the browser -------------------------------------------------------------------------


def _has_pinned_clock() -> bool:
    return importlib.util.find_spec("ioc.clock") is not None


def start_stack(data: Path, out: Path, rotate_s: float, now: str | None, token: str,
                backfill_days: int | None) -> tuple[Any, str]:
    from ioc.process import free_port, spawn

    port, kafka_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update({"IOC_KAFKA__EMBEDDED_PORT": str(kafka_port), "IOC_WEB__WALL_ROTATE_S": str(rotate_s),
                "IOC_OPERATOR_TOKEN": token})
    if backfill_days is not None:
        env["IOC_SIMULATOR__BACKFILL_DAYS"] = str(backfill_days)
    if now:
        env["IOC_NOW"] = now
    proc = spawn([sys.executable, "-m", "ioc", "up", "--port", str(port), "--data-dir", str(data)],
                 log_path=out / "up.log", env=env)
    return proc, f"http://127.0.0.1:{port}"


def wait_settled(base: str, token: str, echo: Callable[[str], None], timeout: float = 600.0,
                 quiet: int = 300, every: float = 30.0) -> str:
    """Until the warehouse takes in no more than the live stream (fewer than ``quiet`` new
    dossier events in ``every`` seconds): the simulator publishes its history at once, and while
    the sink stores it the web process grows with every insert, which is start-up, not a leak."""
    import requests

    started, previous = time.monotonic(), None
    while time.monotonic() - started < timeout:
        try:
            stored = requests.get(f"{base}/api/v1/warehouse/counts", timeout=30,
                                  headers={"Authorization": f"Bearer {token}"}).json()["dossier_events"]
        except Exception:  # busy: ask again
            stored = None
        if isinstance(stored, int) and isinstance(previous, int) and stored > 0 and stored - previous < quiet:
            return f"the simulator's history is stored ({stored} dossier events)"
        if stored is not None:
            echo(f"soak: the warehouse is taking in the history: {stored} dossier events")
        previous = stored
        time.sleep(every)
    return f"the warehouse still took in the history after {timeout:.0f} s ({previous} dossier events); going on"


def web_child(proc: Any) -> Any:
    import psutil

    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            cmd = child.cmdline()
        except psutil.Error:
            continue
        if "ioc" in cmd and cmd[cmd.index("ioc") + 1:cmd.index("ioc") + 3] == ["run", "web"]:
            return child
    raise RuntimeError("no `ioc run web` child under `ioc up`")


def chromium() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
                 "--window-size=1920,1080"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def sign_in(driver: Any, base: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/login?next=/")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)


PAGE = """const s = document.querySelector('#wall-scene > .scene-slot:not(.hidden) > .scene');
const tile = document.getElementById('tile-in_processing');
return [document.getElementsByTagName('*').length,
        s ? ((s.className.match(/scene-([a-z]+)/) || ['', ''])[1]) : '', tile ? tile.textContent : ''];"""


def shown_scene(driver: Any) -> str:
    return driver.execute_script(PAGE)[1]


def take_sample(driver: Any, web: Any, t_s: float) -> dict[str, Any]:
    import psutil

    driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    heap = driver.execute_cdp_cmd("Runtime.getHeapUsage", {})["usedSize"]
    metrics = {m["name"]: m["value"] for m in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
    dom, scene, _ = driver.execute_script(PAGE)
    errors = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    with web.oneshot():
        rss, threads = web.memory_info().rss, web.num_threads()
    fds = own_fds(web.pid)
    browser = 0
    chromedriver = getattr(getattr(driver, "service", None), "process", None)
    if chromedriver is not None:
        for p in psutil.Process(chromedriver.pid).children(recursive=True):
            try:
                browser += p.memory_info().rss
            except psutil.Error:
                pass
    return {"t_s": round(t_s, 1), "scene": scene, "js_heap": int(heap), "dom_nodes": int(dom),
            "live_nodes": int(metrics.get("Nodes", 0)), "web_rss": rss, "web_fds": fds,
            "browser_rss": browser, "web_threads": threads, "console_errors": errors}


def own_fds(pid: int) -> int:
    """Open descriptors of ``pid`` but chDB's per-thread ``/proc/<pid>/task/<tid>/`` files."""
    fd_dir, count = Path(f"/proc/{pid}/fd"), 0
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:
            continue  # closed meanwhile
        count += not target.startswith(f"/proc/{pid}/task/")
    return count


def playlist_boundary(driver: Any, rotate_s: float) -> float | None:
    """When the browser's scene last changed (time.time()), watched for up to two slots; None
    when it does not rotate (one scene, a stopped clock)."""
    first = shown_scene(driver)
    deadline = time.time() + 2 * rotate_s + 5
    while time.time() < deadline:
        time.sleep(0.2)
        if shown_scene(driver) != first:
            return time.time()
    return None


def mid_slot(nominal: float, boundary: float | None, rotate_s: float) -> float:
    """The first middle of a playlist slot at or after ``nominal``."""
    if boundary is None:
        return nominal
    k = math.ceil((nominal - boundary - rotate_s / 2) / rotate_s)
    return boundary + k * rotate_s + rotate_s / 2


# --- the run ---------------------------------------------------------------------------------------------


class Interrupted(BaseException):  # not swallowed by the `except Exception` of polling loops
    pass


def _raise_interrupted(*_: Any) -> None:
    raise Interrupted()


def run(minutes: float, warmup_minutes: float, interval_s: float, out: Path, rotate_s: float = 20.0,
        now: str | None = DEFAULT_NOW, backfill_days: int | None = None, skip: tuple[str, ...] = (),
        echo: Callable[[str], None] = print) -> int:
    from dashboards.auth.users import add_user, generate_password
    from ioc.process import stop, wait_until

    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="ioc-soak-"))
    password, token = generate_password(), secrets.token_urlsafe(32)
    add_user(data / "users.json", "soak", password, ["leader"])
    now = now if now and _has_pinned_clock() else None
    settings = {"minutes": minutes, "warmup_minutes": warmup_minutes, "interval_s": interval_s,
                "rotate_s": rotate_s, "ioc_now": now, "backfill_days": backfill_days, "not_judged": list(skip),
                "started": datetime.now().astimezone().isoformat()}
    samples: list[dict[str, Any]] = []
    problems: list[str] = []
    interrupted = False
    proc = driver = None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _raise_interrupted)
    csv_file = open(out / "samples.csv", "w", newline="")
    rows = csv.DictWriter(csv_file, fieldnames=FIELDS)
    rows.writeheader()
    try:
        proc, base = start_stack(data, out, rotate_s, now, token, backfill_days)
        echo(f"soak: ioc up at {base} (data {data}, log {out / 'up.log'}){', IOC_NOW=' + now if now else ''}")
        wait_until(lambda: "IOC running" in (out / "up.log").read_text(errors="replace"), 300, "ioc up",
                   interval=1, alive=lambda: proc.poll() is None)
        settled = time.monotonic()
        echo(f"soak: {wait_settled(base, token, echo)} ({time.monotonic() - settled:.0f} s)")
        web = web_child(proc)
        driver = chromium()
        sign_in(driver, base, "soak", password)
        driver.get(base + "/")
        wait_until(lambda: driver.execute_script(PAGE)[2].replace(".", "").isdigit(), 180, "figures on the wall",
                   interval=1)
        driver.execute_cdp_cmd("Performance.enable", {})
        boundary = playlist_boundary(driver, rotate_s)
        start = time.time()
        echo(f"soak: the wall plays for {minutes:g} min (warm-up {warmup_minutes:g} min), a sample every "
             f"{interval_s:g} s, into {out}")
        i, last = 0, start
        while True:
            i += 1
            at = mid_slot(max(start + i * interval_s, last + 1), boundary, rotate_s)  # one sample a slot at most
            last = at
            if at > start + minutes * 60:
                break
            time.sleep(max(0.0, at - time.time()))
            if proc.poll() is not None:
                problems.append(f"FAIL stack: ioc up exited with status {proc.returncode} at "
                                f"{(time.time() - start) / 60:.1f} min (see {out / 'up.log'})")
                break
            if not web.is_running():
                problems.append(f"FAIL stack: the web process {web.pid} is gone at {(time.time() - start) / 60:.1f} min")
                break
            s = take_sample(driver, web, time.time() - start)
            samples.append(s)
            rows.writerow({**s, "console_errors": " | ".join(s["console_errors"])})
            csv_file.flush()
            echo(f"{s['t_s'] / 60:6.1f} min  {s['scene'] or '-':<9} heap {s['js_heap'] / 1e6:6.1f} MB  "
                 f"dom {s['dom_nodes']:5d}  nodes {s['live_nodes']:6d}  web {s['web_rss'] / 1e6:6.1f} MB "
                 f"{s['web_fds']:4d} fds {s['web_threads']:3d} thr  browser {s['browser_rss'] / 1e6:6.0f} MB  "
                 f"errors {len(s['console_errors'])}")
    except Interrupted:
        interrupted = True
        problems.append(f"FAIL interrupted after {len(samples)} sample(s)")
    except Exception as exc:  # reported as the verdict, the stack still stopped
        problems.append(f"FAIL soak: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        csv_file.close()
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        if proc is not None:
            stop(proc, timeout=15)
    verdict = judge(samples, warmup_minutes * 60, skip=skip)
    failures = problems + verdict.failures
    ok = not failures
    (out / "soak.json").write_text(json.dumps(
        {"settings": settings, "samples": samples, "ok": ok, "failures": failures, "window": verdict.window,
         "summary": verdict.rows}, indent=1, default=str))
    if not ok and (data / "logs").is_dir():
        shutil.copytree(data / "logs", out / "logs", dirs_exist_ok=True)
    shutil.rmtree(data, ignore_errors=True)
    echo("")
    if verdict.rows:
        echo(summary_table(verdict))
    for line in failures:
        echo(line)
    took = samples[-1]["t_s"] / 60 if samples else 0.0
    echo(f"soak: {'PASS' if ok else 'FAIL'}: {len(samples)} samples over {took:.1f} min "
         f"(warm-up {warmup_minutes:g} min); samples in {out / 'samples.csv'}")
    return 130 if interrupted else (0 if ok else 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=120.0, help="how long the wall plays (default 120)")
    p.add_argument("--warmup-minutes", type=float, default=10.0,
                   help="samples before this are not judged (default 10)")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between samples (default 60)")
    p.add_argument("--rotate", type=float, default=20.0, help="seconds per playlist scene (default 20)")
    p.add_argument("--now", default=DEFAULT_NOW, help="IOC_NOW for the stack, when the project has a pinned "
                   f"clock (default {DEFAULT_NOW}; '' for the real time)")
    p.add_argument("--backfill-days", type=int, default=None,
                   help="days of history the simulator makes first (default: the settings' 7)")
    p.add_argument("--skip", default="", metavar="METRIC,...",
                   help=f"record but do not judge these ({', '.join(JUDGED)}): e.g. web_rss,web_fds on a run "
                   "too short for the web process to leave its start-up")
    p.add_argument("--out", type=Path, default=Path("var/soak"), help="where samples go (default var/soak)")
    a = p.parse_args(argv)
    skip = tuple(m for m in a.skip.split(",") if m)
    if a.minutes <= 0 or a.interval < 5 or not 0 <= a.warmup_minutes < a.minutes or a.rotate < 5 or \
            set(skip) - set(JUDGED):
        print("scripts/soak: need --minutes > 0, 0 <= --warmup-minutes < --minutes, --interval >= 5, "
              f"--rotate >= 5, --skip among {','.join(JUDGED)}", file=sys.stderr)
        return 2
    return run(a.minutes, a.warmup_minutes, a.interval, a.out, a.rotate, a.now or None, a.backfill_days, skip)


if __name__ == "__main__":
    sys.exit(main())
