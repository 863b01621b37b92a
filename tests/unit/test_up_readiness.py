"""`ioc up`'s plan of parts and its wait for readiness, against a stand-in web (no processes):
every part gets a health port of its own and the web their /readyz; the wait ends on the first
200, names the parts still not ready at its time-out, and names a part that exited."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from ioc.app import Child, IocApp
from ioc.config import load_settings
from ioc.errors import DependencyError


class FakeWeb:
    """/healthz answering what ``answers`` holds next (the last one repeats)."""

    def __init__(self, answers: list[tuple[int, dict]]) -> None:
        self.answers = answers
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = outer.answers[0] if len(outer.answers) == 1 else outer.answers.pop(0)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def app_for(port: int, tmp_path: Path, overrides: dict | None = None, **env: str) -> IocApp:
    settings = load_settings(None, environ={"IOC_WEB__PORT": str(port), "IOC_DATA_DIR": str(tmp_path), **env},
                             overrides=overrides)
    return IocApp(settings)


def test_every_part_gets_its_own_port_and_the_web_their_readyz(tmp_path):
    app = app_for(8050, tmp_path, {"services": {"scrape": [{"name": "x", "system": "soc", "url": "http://h/metrics"}]}},
                  IOC_CLICKHOUSE_URL="clickhouse://u:p@h:9000/db")
    app.plan_parts()
    assert list(app.health_ports) == ["worker", "sink", "simulator", "services-sim", "scraper", "cameras"]
    assert len(set(app.health_ports.values())) == 6
    assert app.part_health_urls["worker"] == f"http://127.0.0.1:{app.health_ports['worker']}/readyz"
    embedded = app_for(8050, tmp_path, IOC_SIMULATOR__ENABLED="false", IOC_CAMERA__ENABLED="false")
    embedded.plan_parts()
    assert list(embedded.health_ports) == ["worker"]  # the web process runs the embedded sink


def test_the_wait_ends_at_the_first_200_and_names_what_is_still_not_ready(tmp_path):
    web = FakeWeb([(503, {"not_ready": ["worker", "services-sim"]}), (200, {"not_ready": []})])
    try:
        app_for(web.port, tmp_path).wait_ready(timeout=10)
        web.answers[:] = [(503, {"not_ready": ["services-sim"]})]
        with pytest.raises(DependencyError, match=r"^services-sim not ready after 1 s \(see .*services-sim\.log\)"):
            app_for(web.port, tmp_path).wait_ready(timeout=1)
    finally:
        web.close()


def test_a_part_that_exits_while_waited_for_is_named(tmp_path):
    web = FakeWeb([(503, {"not_ready": ["worker"]})])
    try:
        app = app_for(web.port, tmp_path)
        app.children.append(Child("worker", SimpleNamespace(poll=lambda: 1), tmp_path / "worker.log"))  # type: ignore[arg-type]
        with pytest.raises(DependencyError, match="worker exited before it was ready"):
            app.wait_ready(timeout=10)
    finally:
        web.close()
