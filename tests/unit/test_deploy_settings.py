"""Every IOC_* variable the deployment sets is one the app knows, with a value it accepts.

Checked with the app's own loader (ioc.config.load_settings), so a renamed or removed setting
in ioc/config.py makes these tests fail until deploy/ follows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ioc.config import ENV_IGNORED, ENV_PREFIX, load_settings
from ioc.errors import ConfigError

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")
# Stands in for a secret from deploy/.env: valid as a token, a password and a SHA-256 hex.
SECRET_STAND_IN = "0" * 64


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def ioc_services(doc: dict) -> dict[str, dict]:
    return {name: s for name, s in doc["services"].items() if str(s.get("image", "")).startswith("ioc:")}


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def resolved(env: dict[str, object]) -> dict[str, str]:
    """Compose's ${VAR...} interpolation, with stand-ins for the secrets of deploy/.env."""
    return {k: INTERPOLATION.sub(SECRET_STAND_IN, str(v)) for k, v in env.items()}


def check_settings(env: dict[str, str], where: str) -> None:
    ioc_vars = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX) and k not in ENV_IGNORED}
    try:
        load_settings(None, environ=ioc_vars)
    except ConfigError as exc:
        pytest.fail(f"{where}: {exc}")


def k8s_configmap() -> dict[str, str]:
    (cm,) = [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "settings.yaml").read_text(encoding="utf-8"))
             if d and d["kind"] == "ConfigMap"]
    return dict(cm["data"])


# ---- the checker itself can fail ----

@pytest.mark.parametrize("bad", [{"IOC_KAFKA__BOOTSTRAPP": "k:9092"}, {"IOC_WEB__PORT": "eighty"},
                                 {"IOC_KAFKA__REPLICATION_FACTOR": "9"}, {"IOC_CLICKHOUSE__CLUSTER": "ioc"}])
def test_the_check_rejects_unknown_or_invalid_settings(bad: dict[str, str]) -> None:
    with pytest.raises(pytest.fail.Exception, match=next(iter(bad))):
        check_settings(bad, "example")


def test_interpolation_is_resolved_with_defaults_and_required_forms() -> None:
    env = resolved({"A": "x${B:?say}y", "C": "${D:-z}", "E": "${F}"})
    assert env == {"A": f"x{SECRET_STAND_IN}y", "C": SECRET_STAND_IN, "E": SECRET_STAND_IN}


# ---- the artefacts ----

def test_compose_services_of_the_app_set_only_known_settings() -> None:
    services = ioc_services(compose())
    assert {"bootstrap", "worker", "sink", "web"} <= set(services)
    for name, service in services.items():
        env = service.get("environment") or {}
        assert isinstance(env, dict), f"compose service {name}: environment must be a mapping"
        assert any(k.startswith(ENV_PREFIX) for k in env), f"compose service {name}: no IOC_* settings"
        check_settings(resolved(env), f"deploy/compose.yaml service {name}")


def test_compose_secrets_come_from_the_git_ignored_env_file() -> None:
    example = env_file(DEPLOY / ".env.example")
    used = set()
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            for var in INTERPOLATION.findall(str(value)):
                used.add(var)
                assert var in example, f"compose service {name}: {key} uses ${{{var}}}, not in deploy/.env.example"
            if re.search(r"PASSWORD|SECRET|TOKEN", key) and not INTERPOLATION.search(str(value)):
                pytest.fail(f"compose service {name}: {key} is written in the file; take it from deploy/.env")
    assert used == set(example), "deploy/.env.example lists variables compose never uses (or the reverse)"
    assert all(v == "" for v in example.values()), "deploy/.env.example must not hold values"
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored


def test_k8s_configmap_and_secret_keys_are_settings() -> None:
    check_settings(k8s_configmap(), "deploy/k8s/settings.yaml")
    secret_keys = env_file(DEPLOY / "k8s" / "ioc-secrets.env.example")
    assert {"IOC_CLICKHOUSE_URL", "IOC_OPERATOR_TOKEN", "IOC_INGEST__SOURCES__PORTAL"} <= set(secret_keys)
    check_settings({k: v or SECRET_STAND_IN for k, v in secret_keys.items()}, "deploy/k8s/ioc-secrets.env.example")
    assert not set(secret_keys) & set(k8s_configmap()), "a key is both in the ConfigMap and the Secret"


def test_compose_and_k8s_agree_on_the_shared_settings() -> None:
    web = resolved(ioc_services(compose())["web"]["environment"])
    cm = k8s_configmap()
    for key in ("IOC_KAFKA__REPLICATION_FACTOR", "IOC_KAFKA__PARTITIONS__DOSSIER_EVENTS", "IOC_WEB__PORT",
                "IOC_SIMULATOR__ENABLED", "IOC_DATA_DIR"):
        assert web.get(key) == cm.get(key), key


def test_production_settings_turn_off_everything_embedded() -> None:
    for where, env in [("compose web", resolved(ioc_services(compose())["web"]["environment"])),
                       ("k8s", {**k8s_configmap(), "IOC_CLICKHOUSE_URL": "clickhouse://u:p@h:9000/ioc"})]:
        s = load_settings(None, environ=env)
        assert not s.embedded_kafka and not s.embedded_clickhouse, where
        assert s.simulator.enabled is False, where
        assert s.kafka.replication_factor == 3, where
