"""deploy/bootstrap.py: imports what exists in the app, and refuses to run without external clusters."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[2] / "deploy" / "bootstrap.py"


@pytest.fixture(scope="module")
def bootstrap():
    spec = importlib.util.spec_from_file_location("ioc_deploy_bootstrap", BOOTSTRAP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_kafka_and_clickhouse_it_says_what_to_set(bootstrap, monkeypatch, capsys) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("IOC_")]:
        monkeypatch.delenv(name)
    assert bootstrap.main(["--timeout", "1"]) == 1
    assert "set IOC_KAFKA_BOOTSTRAP and IOC_CLICKHOUSE_URL" in capsys.readouterr().err


def test_retry_gives_up_at_the_deadline_naming_the_dependency(bootstrap) -> None:
    from ioc.errors import DependencyError

    calls = []

    def never() -> bool:
        calls.append(1)
        raise DependencyError("Kafka at k:9092 is unreachable")

    with pytest.raises(DependencyError, match="Kafka topics: Kafka at k:9092 is unreachable after 0 s"):
        bootstrap.retry("Kafka topics", never, timeout=0.0, interval=0.0)
    assert calls == [1]


def test_retry_does_not_hide_a_statement_error(bootstrap) -> None:
    def refused() -> bool:
        raise ValueError("Syntax error")

    with pytest.raises(ValueError, match="Syntax error"):
        bootstrap.retry("schema", refused, timeout=60.0, interval=0.0)


def test_retry_returns_once_ready(bootstrap) -> None:
    answers = iter([False, False, True])
    bootstrap.retry("thing", lambda: next(answers), timeout=60.0, interval=0.0)
    assert next(answers, "done") == "done"
