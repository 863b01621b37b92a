"""The web process behind the deploy nginx (deploy/nginx/nginx.conf, run by Debian's nginx as a
plain process, only its upstream address, listen port and paths substituted): clients at
127.0.0.2 and 127.0.0.3 reach it through nginx, which appends the address it saw to
X-Forwarded-For, and the web (web.trusted_proxy_hops: 1) keys its limits on that address.

An attacker locked out after failed sign-ins at one account does not lock out another user nor
that same account signing in from another address, cannot unlock itself by forging
X-Forwarded-For, and the public rate limit of one client leaves the other alone."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter

from ioc.process import free_port, spawn, stop, wait_until
from tests.helpers import child_env, make_topics
from tests.integration.web_login import create_user, csrf_token

pytestmark = pytest.mark.integration

DEPLOY_NGINX = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "nginx.conf"
ATTACKER, COLLEAGUE = "127.0.0.2", "127.0.0.3"  # loopback: reachable, and distinct to nginx
MAX_FAILURES = 3
PUBLIC_BURST = 3
# The only directives the test's copy of the deploy config may change.
SUBSTITUTED = {"server", "listen", "pid", "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
               "uwsgi_temp_path", "scgi_temp_path"}


def nginx_binary() -> str:
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(path).exists():
        pytest.fail("nginx is not installed: run scripts/setup --test (it installs Debian's package)")
    return path


def proxy_config(deploy: str, upstream: str, listen: str, root: Path) -> str:
    """The deploy config pointed at ``upstream`` (host:port), listening on ``listen``, with its
    files under ``root`` instead of /tmp. Nothing else changes."""

    def once(pattern: str, replacement: str, text: str) -> str:
        out, n = re.subn(pattern, replacement, text)
        assert n == 1, f"{pattern!r} matched {n} times in {DEPLOY_NGINX}"
        return out

    # Compose's service name, re-resolved through Docker's DNS: here a fixed address, nothing to resolve.
    text = once(r"server\s+web:\d+\s+resolve;", f"server {upstream};", deploy)
    text = once(r"listen\s+\d+;", f"listen {listen};", text)
    return re.sub(r"(?<=\s)/tmp/", f"{root}/", text)


def changed_directives(deploy: str, generated: str) -> set[str]:
    a, b = deploy.splitlines(), generated.splitlines()
    assert len(a) == len(b), "the test's config has the deploy config's lines, no more, no fewer"
    return {x.split()[0] for x, y in zip(a, b) if x != y}


class SourceAddress(HTTPAdapter):
    """Connections from a given local address (the client nginx sees)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(base: str, address: str) -> requests.Session:
    s = requests.Session()
    s.mount("http://", SourceAddress(address))
    s.headers["Origin"] = base  # as a browser on the site does
    return s


@dataclass
class Stack:
    base: str  # through nginx
    passwords: dict[str, str]
    web_log: Path

    def sign_in(self, session: requests.Session, username: str, password: str,
                headers: dict[str, str] | None = None) -> requests.Response:
        form = session.get(f"{self.base}/login", timeout=10)
        assert form.status_code == 200, form.text[:300]
        return session.post(f"{self.base}/login", timeout=10, allow_redirects=False, headers=headers or {},
                            data={"csrf_token": csrf_token(form.text), "username": username, "password": password,
                                  "next": "/"})


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("behind-proxy")
    prefix = "proxy" + os.urandom(4).hex()
    make_topics(kafka_bootstrap, prefix)
    passwords = {"lanhdao": create_user(data, "lanhdao", ["leader"]),
                 "dieuhanh": create_user(data, "dieuhanh", ["operator"])}
    web_port, proxy_port = free_port(), free_port()
    web_log = data / "web.log"
    web = spawn([sys.executable, "-m", "ioc", "run", "web"], log_path=web_log, env=child_env(
        IOC_KAFKA_BOOTSTRAP=kafka_bootstrap, IOC_KAFKA__TOPIC_PREFIX=prefix, IOC_DATA_DIR=str(data / "data"),
        IOC_WEB__USERS_FILE=str(data / "users.json"), IOC_WEB__HOST="127.0.0.1", IOC_WEB__PORT=str(web_port),
        IOC_WEB__TRUSTED_PROXY_HOPS="1", IOC_WEB__LOGIN_MAX_FAILURES=str(MAX_FAILURES),
        IOC_PUBLIC__BURST=str(PUBLIC_BURST), IOC_PUBLIC__RATE_PER_MINUTE="1"))
    # nginx's workers drop root to `nobody` when the master runs as root: their files live in a
    # directory anyone may enter (pytest's own are private to their user).
    root = Path(tempfile.mkdtemp(prefix="ioc-nginx-"))
    root.chmod(0o755)
    nginx = None
    try:
        deploy = DEPLOY_NGINX.read_text(encoding="utf-8")
        config = proxy_config(deploy, f"127.0.0.1:{web_port}", f"127.0.0.1:{proxy_port}", root)
        assert changed_directives(deploy, config) <= SUBSTITUTED
        (root / "nginx.conf").write_text(config, encoding="utf-8")
        argv = [nginx_binary(), "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")]
        checked = spawn(argv + ["-t"], log_path=root / "check.log")
        assert checked.wait(30) == 0, (root / "check.log").read_text(encoding="utf-8")
        nginx = spawn(argv + ["-g", "daemon off;"], log_path=root / "nginx.log")
        base = f"http://127.0.0.1:{proxy_port}"
        wait_until(lambda: requests.get(f"http://127.0.0.1:{web_port}/login", timeout=1).status_code == 200, 90,
                   f"web process (log {web_log})", interval=0.2, alive=lambda: web.poll() is None)
        wait_until(lambda: requests.get(f"{base}/login", timeout=1).status_code == 200, 30,
                   f"nginx on :{proxy_port} (log {root / 'nginx.log'})", interval=0.1,
                   alive=lambda: nginx.poll() is None)
        yield Stack(base, passwords, web_log)
    finally:
        if nginx is not None:
            stop(nginx)
        stop(web)
        shutil.rmtree(root, ignore_errors=True)


def test_the_proxy_config_is_the_deploy_config_with_only_addresses_and_paths_changed():
    deploy = DEPLOY_NGINX.read_text(encoding="utf-8")
    config = proxy_config(deploy, "127.0.0.1:1234", "127.0.0.1:5678", Path("/srv/proxy-test"))
    assert changed_directives(deploy, config) == SUBSTITUTED
    assert "server 127.0.0.1:1234;" in config and "listen 127.0.0.1:5678;" in config
    assert "/tmp/" not in config and "pid /srv/proxy-test/nginx.pid;" in config
    # What this test relies on is the deploy config's own: the client's address appended, Host kept.
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in config
    assert "proxy_set_header Host $http_host;" in config


def test_a_locked_out_attacker_locks_out_nobody_else_and_cannot_forge_its_way_out(stack):
    attacker, colleague = client(stack.base, ATTACKER), client(stack.base, COLLEAGUE)
    for _ in range(MAX_FAILURES):
        wrong = stack.sign_in(attacker, "lanhdao", "doan-mat-khau-sai")
        assert wrong.status_code == 401, wrong.text[:300]
    locked = stack.sign_in(attacker, "lanhdao", stack.passwords["lanhdao"])  # even the right password waits
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # The web saw the attacker's own address, from nginx's X-Forwarded-For, not nginx's.
    log = stack.web_log.read_text(encoding="utf-8")
    assert f"failed sign-in for 'lanhdao' from {ATTACKER}" in log

    # Another user, from another client, signs in; so does the attacked account itself from there.
    assert stack.sign_in(colleague, "dieuhanh", stack.passwords["dieuhanh"]).status_code == 303
    assert stack.sign_in(client(stack.base, COLLEAGUE), "lanhdao", stack.passwords["lanhdao"]).status_code == 303

    # Forging X-Forwarded-For: nginx appends the address it saw after whatever the client wrote.
    for forged in (COLLEAGUE, "203.0.113.9", f"{COLLEAGUE}, 203.0.113.9"):
        again = stack.sign_in(attacker, "lanhdao", stack.passwords["lanhdao"], headers={"X-Forwarded-For": forged})
        assert again.status_code == 429, (forged, again.status_code)


def test_the_public_rate_limit_of_one_client_leaves_another_alone(stack):
    attacker, colleague = client(stack.base, ATTACKER), client(stack.base, COLLEAGUE)
    for _ in range(PUBLIC_BURST):
        assert attacker.get(f"{stack.base}/public/", timeout=10).status_code == 200
    limited = attacker.get(f"{stack.base}/public/", timeout=10)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    forged = attacker.get(f"{stack.base}/public/", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
    assert forged.status_code == 429
    assert colleague.get(f"{stack.base}/public/", timeout=10).status_code == 200
