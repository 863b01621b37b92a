"""deploy/compose.yaml and the ClickHouse XML: they parse, and refer to each other and to the app consistently."""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from ioc.cli import build_parser
from ioc.config import IngestSettings, load_settings
from ioc.warehouse.cluster import DEFAULT_CLUSTER

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PINNED_TAG = re.compile(r"^[^:@\s]+:(?!latest$)[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$")


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(doc: dict) -> dict[str, dict]:
    return doc["services"]


def by_image(services: dict[str, dict], prefix: str) -> dict[str, dict]:
    return {n: s for n, s in services.items() if str(s.get("image", "")).startswith(prefix)}


def env(service: dict) -> dict[str, str]:
    """The service's variables, with compose's ${VAR...} (secrets from deploy/.env) as "SECRET"."""
    return {k: re.sub(r"\$\{[^}]*\}", "SECRET", str(v)) for k, v in (service.get("environment") or {}).items()}


@pytest.fixture(scope="module")
def cluster_xml() -> ET.Element:
    return ET.parse(DEPLOY / "clickhouse" / "cluster.xml").getroot()


@pytest.fixture(scope="module")
def keeper_xml() -> ET.Element:
    return ET.parse(DEPLOY / "clickhouse" / "keeper.xml").getroot()


# ---- images and references ----

@pytest.mark.parametrize("image,pinned", [("apache/kafka:3.9.1", True), ("clickhouse/clickhouse-server:24.8.14.39", True),
                                          ("apache/kafka:latest", False), ("apache/kafka", False), ("nginx:stable", False)])
def test_pin_rule(image: str, pinned: bool) -> None:
    assert bool(PINNED_TAG.match(image)) is pinned


def test_every_image_is_pinned_to_a_version(services: dict[str, dict]) -> None:
    for name, service in services.items():
        assert "image" in service, f"compose service {name} has no image"
        assert PINNED_TAG.match(service["image"]), f"compose service {name}: image {service['image']} is not pinned"


def test_the_app_image_is_built_from_deploy_dockerfile_at_the_projects_version(services: dict[str, dict]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    app = by_image(services, "ioc:")
    assert app and {s["image"] for s in app.values()} == {f"ioc:{version}"}
    for name, service in app.items():
        build = service["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile", name


def test_app_commands_are_commands_ioc_has(services: dict[str, dict]) -> None:
    parts = {}
    for name, service in by_image(services, "ioc:").items():
        if service.get("entrypoint"):
            assert service["entrypoint"] == ["python", "/opt/ioc/bootstrap.py"], name
            continue
        args = build_parser().parse_args(service["command"])
        parts[name] = args.part
    assert sorted(parts.values()) == ["sink", "web", "worker"]


def test_depends_on_volumes_and_mounted_files_exist(doc: dict, services: dict[str, dict]) -> None:
    for name, service in services.items():
        for dep in service.get("depends_on") or {}:
            assert dep in services, f"compose service {name} depends on unknown service {dep}"
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), f"compose service {name} mounts missing {source}"
            else:
                assert source in doc["volumes"], f"compose service {name}: volume {source} not declared"


def test_every_long_running_service_has_a_healthcheck_or_says_why_not(services: dict[str, dict]) -> None:
    no_http = {"bootstrap"}  # a one-off job, no HTTP
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"compose service {name}: no healthcheck"
        if check.get("disable"):
            assert name in no_http, f"compose service {name}: healthcheck disabled"
        else:
            assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, name


# ---- Kafka: 3 KRaft nodes, RF 3, min ISR 2 ----

def test_kafka_is_three_kraft_nodes_with_replication_three_and_min_isr_two(services: dict[str, dict]) -> None:
    kafka = by_image(services, "apache/kafka:")
    assert len(kafka) == 3
    envs = {name: env(s) for name, s in kafka.items()}
    ids = {e["KAFKA_NODE_ID"] for e in envs.values()}
    assert len(ids) == 3
    voters = {e["KAFKA_CONTROLLER_QUORUM_VOTERS"] for e in envs.values()}
    assert len(voters) == 1, "all nodes must agree on the controller quorum"
    quorum = dict(v.split("@") for v in voters.pop().split(","))
    assert set(quorum) == ids
    assert {hostport.split(":")[0] for hostport in quorum.values()} == set(kafka)
    assert len({e["CLUSTER_ID"] for e in envs.values()}) == 1
    for name, e in envs.items():
        assert set(e["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}, name
        assert quorum[e["KAFKA_NODE_ID"]].split(":")[0] == name, f"{name}: node id does not match the quorum"
        assert e["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092", name
        assert e["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and e["KAFKA_MIN_INSYNC_REPLICAS"] == "2", name
        assert e["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3", name
        assert e["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2", name


def test_the_app_talks_to_every_broker_with_replication_three(services: dict[str, dict]) -> None:
    kafka = set(by_image(services, "apache/kafka:"))
    for name, service in by_image(services, "ioc:").items():
        e = env(service)
        hosts = [hp.split(":") for hp in e["IOC_KAFKA_BOOTSTRAP"].split(",")]
        assert {h for h, _ in hosts} == kafka and {p for _, p in hosts} == {"9092"}, name
        assert int(e["IOC_KAFKA__REPLICATION_FACTOR"]) == 3, name


# ---- ClickHouse: 2 shards x 2 replicas, 3 keepers, same names everywhere ----

def _xml_shards(cluster_xml: ET.Element) -> list[list[str]]:
    (cluster,) = list(cluster_xml.find("remote_servers"))
    assert cluster.tag == DEFAULT_CLUSTER
    return [[r.findtext("host") for r in shard.findall("replica")] for shard in cluster.findall("shard")]


def test_clickhouse_cluster_is_two_shards_of_two_replicas(cluster_xml: ET.Element) -> None:
    shards = _xml_shards(cluster_xml)
    assert [len(s) for s in shards] == [2, 2]
    (cluster,) = list(cluster_xml.find("remote_servers"))
    assert all(s.findtext("internal_replication") == "true" for s in cluster.findall("shard"))
    macros = cluster_xml.find("macros")
    assert macros.find("shard").get("from_env") and macros.find("replica").get("from_env")


def test_clickhouse_servers_in_compose_are_the_xml_hosts_with_matching_macros(
        services: dict[str, dict], cluster_xml: ET.Element) -> None:
    servers = by_image(services, "clickhouse/clickhouse-server:")
    shards = _xml_shards(cluster_xml)
    assert sorted(servers) == sorted(h for s in shards for h in s)
    macros = cluster_xml.find("macros")
    shard_var, replica_var = macros.find("shard").get("from_env"), macros.find("replica").get("from_env")
    secret_var = cluster_xml.find("remote_servers")[0].find("secret").get("from_env")
    for number, hosts in enumerate(shards, start=1):
        for host in hosts:
            e = env(servers[host])
            assert e[shard_var] == str(number), f"{host}: shard macro {e[shard_var]} but listed in shard {number}"
            assert e[replica_var] == host, f"{host}: replica macro must be unique: use the host name"
            assert secret_var in e, f"{host}: {secret_var} not set"
            mounts = [v.split(":")[1] for v in servers[host]["volumes"]]
            assert "/etc/clickhouse-server/config.d/cluster.xml" in mounts, host


def test_three_keepers_agree_between_compose_and_both_xml_files(
        services: dict[str, dict], cluster_xml: ET.Element, keeper_xml: ET.Element) -> None:
    keepers = by_image(services, "clickhouse/clickhouse-keeper:")
    assert len(keepers) == 3
    raft = {s.findtext("id"): (s.findtext("hostname"), s.findtext("port"))
            for s in keeper_xml.find("keeper_server/raft_configuration")}
    assert sorted(h for h, _ in raft.values()) == sorted(keepers)
    id_var = keeper_xml.find("keeper_server/server_id").get("from_env")
    for name, service in keepers.items():
        assert raft[env(service)[id_var]][0] == name, f"{name}: {id_var} does not match its raft entry"
    port = keeper_xml.findtext("keeper_server/tcp_port")
    servers_view = {(n.findtext("host"), n.findtext("port")) for n in cluster_xml.find("zookeeper")}
    assert servers_view == {(name, port) for name in keepers}


def test_the_app_connects_to_the_cluster_database_and_the_bootstrap_to_its_name(
        services: dict[str, dict], cluster_xml: ET.Element) -> None:
    hosts = {h for s in _xml_shards(cluster_xml) for h in s}
    databases = {env(s)["CLICKHOUSE_DB"] for s in by_image(services, "clickhouse/clickhouse-server:").values()}
    for name, service in by_image(services, "ioc:").items():
        url = urlparse(env(service)["IOC_CLICKHOUSE_URL"])
        alternates = {hp.split(":")[0] for hp in parse_qs(url.query)["alt_hosts"][0].split(",")}
        assert {url.hostname} | alternates == hosts, name
        assert {url.path.strip("/")} == databases, name
        assert url.username == {env(s)["CLICKHOUSE_USER"] for s in by_image(services, "clickhouse/").values()
                                if "CLICKHOUSE_USER" in env(s)}.pop()
    command = services["bootstrap"]["command"]
    assert command[command.index("--cluster") + 1] == DEFAULT_CLUSTER


# ---- the web behind the proxy ----

def test_web_port_healthcheck_and_proxy_agree(services: dict[str, dict]) -> None:
    web = services["web"]
    port = str(load_settings(None, environ={k: v for k, v in env(web).items() if k == "IOC_WEB__PORT"}).web.port)
    assert web["expose"] == [port]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["deploy"]["replicas"] >= 2
    nginx = (DEPLOY / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(rf"server\s+web:{port}\b", nginx)
    size = re.search(r"client_max_body_size\s+(\d+)m;", nginx)
    assert size and int(size.group(1)) * 1024 * 1024 >= IngestSettings().max_body_bytes
    proxy_port = re.search(r"listen\s+(\d+);", nginx).group(1)
    # One nginx appends the client's address: the web takes the last entry of X-Forwarded-For.
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in nginx
    secrets = {k: "0" * 64 for k, v in env(web).items() if "SECRET" in v}
    assert load_settings(None, environ={**env(web), **secrets}).trusted_proxy_hops == 1
    assert services["proxy"]["ports"] == [f"{proxy_port}:{proxy_port}"]
    assert web["depends_on"] == {"bootstrap": {"condition": "service_completed_successfully"}}


def test_worker_and_sink_are_checked_on_their_readyz(services: dict[str, dict]) -> None:
    for name in ("worker", "sink"):
        service = services[name]
        port = load_settings(None, environ={k: v for k, v in env(service).items() if k.startswith("IOC_HEALTH__")}).health.port
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"]), name
