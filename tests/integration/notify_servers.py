"""Real receivers for notification tests: an HTTP webhook receiver in a thread of the test, and
an SMTP server (aiosmtpd, its own process) writing what it receives to a Maildir."""

from __future__ import annotations

import json
import mailbox
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ioc.process import accepts_connections, free_port, spawn, stop, wait_until


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """POSTs to any path are recorded; a path listed in ``fail_first`` answers 500 to the first
    N tries of each delivery key (``X-IOC-Delivery``), then 200."""

    fail_first: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    tries: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("X-IOC-Delivery", "")
                with receiver.lock:
                    n = receiver.tries[(self.path, key)] = receiver.tries.get((self.path, key), 0) + 1
                    failing = n <= receiver.fail_first.get(self.path, 0)
                    if not failing:
                        receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class SmtpServer:
    """``python -m aiosmtpd`` on a free port, delivering into ``maildir``."""

    def __init__(self, root: Path) -> None:
        self.maildir = root / "maildir"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "SmtpServer":
        mailbox.Maildir(self.maildir, create=True)
        self.proc = spawn([sys.executable, "-m", "aiosmtpd", "-n", "-u", "-l", f"127.0.0.1:{self.port}",
                           "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)],
                          log_path=self.maildir.parent / "smtp.log")
        proc = self.proc
        wait_until(lambda: accepts_connections("127.0.0.1", self.port), 30, f"aiosmtpd on :{self.port}",
                   alive=lambda: proc.poll() is None)
        return self

    def messages(self) -> list[Message]:
        box = mailbox.Maildir(self.maildir, create=False)
        return [box.get_message(key) for key in sorted(box.keys())]

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None
