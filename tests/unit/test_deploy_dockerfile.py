"""deploy/Dockerfile, read instruction by instruction: pinned base, non-root, healthcheck, no secrets."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from ioc.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY", re.I)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends with a line continuation"
    return out


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[last_from:]


def test_parser_joins_continuations_and_skips_comments() -> None:
    parsed = instructions("# c\nFROM a:1\nRUN x \\\n  && y\nUSER 1\n")
    assert parsed == [("FROM", "a:1"), ("RUN", "x  && y"), ("USER", "1")]


def test_every_base_image_is_pinned(steps: list[tuple[str, str]]) -> None:
    bases = [args.split()[0] for k, args in steps if k == "FROM"]
    assert bases
    for base in bases:
        assert re.fullmatch(r"[\w./-]+:\d+(\.\d+){2}[\w.-]*(@sha256:[0-9a-f]{64})?", base), \
            f"base image {base} must carry a full version (major.minor.patch), never latest"


def test_runs_as_a_non_root_numeric_user(steps: list[tuple[str, str]]) -> None:
    users = [args for k, args in final_stage(steps) if k == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]}: use a numeric non-zero UID (runAsNonRoot)"
    gid = users[-1].split(":")[1] if ":" in users[-1] else None
    assert gid is None or int(gid) != 0
    created = " ".join(args for k, args in final_stage(steps) if k == "RUN")
    assert f"--uid {uid}" in created, "the USER's account is not created in the image"


def test_healthcheck_asks_the_web_parts_healthz(steps: list[tuple[str, str]]) -> None:
    checks = [args for k, args in final_stage(steps) if k == "HEALTHCHECK"]
    assert len(checks) == 1
    env = {}
    for k, args in final_stage(steps):
        if k == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    port = load_settings(None, environ={k: v for k, v in env.items() if k.startswith("IOC_")}).web.port
    command = json.loads(checks[0][checks[0].index("CMD") + 3:].strip())
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(command)
    assert re.search(r"--interval=\d+s", checks[0]) and re.search(r"--timeout=\d+s", checks[0])
    exposed = [args for k, args in final_stage(steps) if k == "EXPOSE"]
    assert exposed == [str(port)]


def test_environment_holds_only_known_settings_and_no_secrets(steps: list[tuple[str, str]]) -> None:
    env: dict[str, str] = {}
    for k, args in steps:
        if k in ("ENV", "ARG"):
            pairs = dict(re.findall(r"(\w+)=(\S*)", args)) or {args.split()[0]: ""}
            for name in pairs:
                assert not SECRET_NAME.search(name), f"{k} {name}: secrets come from the environment at run time"
            env.update(pairs)
    ioc = {k: v for k, v in env.items() if k.startswith("IOC_")}
    assert ioc, "the image sets no IOC_* defaults (data dir, web host)"
    settings = load_settings(None, environ=ioc)
    assert settings.web.host == "0.0.0.0", "inside a container the web must listen beyond loopback"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not re.search(r"(?i)(password|secret|token)\s*[=:]\s*\S{6,}", text)


def test_copies_exist_and_the_entrypoint_is_the_console_script(steps: list[tuple[str, str]]) -> None:
    for k, args in steps:
        if k == "COPY" and "--from=" not in args:
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    entry = [json.loads(args) for k, args in final_stage(steps) if k == "ENTRYPOINT"]
    assert entry and entry[-1][0] in scripts
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    copied = {args.split()[0] for k, args in steps if k == "COPY" and "--from=" not in args}
    for pattern in packages["find"]["include"]:
        assert pattern.rstrip("*") in copied, f"package {pattern} is installed by pip but not copied into the build"


def test_dockerignore_keeps_what_the_build_copies() -> None:
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for k, args in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if k == "COPY" and "--from=" not in args:
            for source in args.split()[:-1]:
                assert source.rstrip("/") in kept, f"COPY {source}: excluded by Dockerfile.dockerignore"
