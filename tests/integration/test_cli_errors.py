"""Mistakes and missing parts give one clear line, the right exit status, and leave
nothing running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from ioc.process import free_port

pytestmark = pytest.mark.integration


def ioc(*args: str, env_extra: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ioc", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_bad_flag_exits_2():
    r = ioc("up", "--port", "eighty")
    assert r.returncode == 2
    assert "--port" in one_line(r.stderr)


def test_bad_settings_file_exits_2(tmp_path):
    cfg = tmp_path / "ioc.yaml"
    cfg.write_text("web:\n  colour: red\n")
    r = ioc("--config", str(cfg), "up")
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert str(cfg) in line and "web.colour" in line


def test_bad_ioc_now_exits_2(tmp_path):
    r = ioc("simulate", "--out", str(tmp_path / "x.jsonl"), "--seconds", "1", env_extra={"IOC_NOW": "Monday 9am"})
    assert r.returncode == 2
    assert one_line(r.stderr).startswith("ioc: IOC_NOW: 'Monday 9am'")
    assert not (tmp_path / "x.jsonl").exists()


def test_web_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = ioc("up", "--port", str(port), "--data-dir", str(tmp_path))
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert f"port {port}" in line and "web app" in line


def test_broker_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = ioc("up", "--port", str(free_port()), "--data-dir", str(tmp_path),
                env_extra={"IOC_KAFKA__EMBEDDED_PORT": str(port)})
    assert r.returncode == 1
    assert f"port {port}" in one_line(r.stderr) and "Kafka broker" in r.stderr


def test_unreachable_kafka(tmp_path):
    port = free_port()
    r = ioc("up", "--kafka", f"127.0.0.1:{port}", "--port", str(free_port()), "--data-dir", str(tmp_path))
    assert r.returncode == 1
    assert f"127.0.0.1:{port} is unreachable" in one_line(r.stderr)


def test_unreachable_clickhouse(tmp_path, kafka_bootstrap, unique):
    port = free_port()
    r = ioc("up", "--kafka", kafka_bootstrap, "--clickhouse", f"clickhouse://default:@127.0.0.1:{port}/x",
            "--port", str(free_port()), "--data-dir", str(tmp_path), env_extra={"IOC_KAFKA__TOPIC_PREFIX": unique})
    assert r.returncode == 1
    assert f"ClickHouse at 127.0.0.1:{port} is unreachable" in r.stderr.splitlines()[-1]
    assert "Traceback" not in r.stderr


def test_missing_broker_binary(tmp_path):
    r = ioc("up", "--port", str(free_port()), "--data-dir", str(tmp_path),
            env_extra={"CALF_TANSU_BIN": str(tmp_path / "no-such-tansu")})
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "broker binary" in line and "no-such-tansu" in line
