"""deploy/k8s: manifests parse, are all applied, and are safe and consistent with the app."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from ioc.cli import build_parser
from ioc.config import load_settings
from ioc.warehouse.cluster import DEFAULT_CLUSTER

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
PINNED_TAG = re.compile(r"^[^:@\s]+:(?!latest$)[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$")
HEALTH_PARTS = {"worker", "sink"}  # serve /livez and /readyz on health.port (ioc/health.py), the web /healthz


def load(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if d]


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    kustomization = load("kustomization.yaml")[0]
    return [d for f in kustomization["resources"] for d in load(f)]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def pod_specs(docs: list[dict]) -> list[tuple[str, dict]]:
    return [(f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"])
            for d in docs if d["kind"] in ("Deployment", "Job", "StatefulSet")]


def all_images(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "image" and isinstance(v, str)] + \
            [i for v in node.values() for i in all_images(v)]
    if isinstance(node, list):
        return [i for v in node for i in all_images(v)]
    return []


def test_kustomization_applies_every_manifest_and_only_existing_ones() -> None:
    listed = load("kustomization.yaml")[0]["resources"]
    on_disk = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == on_disk


def test_every_document_is_a_named_kubernetes_object(docs: list[dict]) -> None:
    for d in docs:
        assert d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"), d


def test_every_image_is_pinned(docs: list[dict]) -> None:
    images = all_images(docs)
    assert len(images) >= 5
    for image in images:
        assert PINNED_TAG.match(image), f"image {image} is not pinned to a version"
    (kafka,) = of_kind(docs, "Kafka")
    assert re.fullmatch(r"\d+\.\d+\.\d+", kafka["spec"]["kafka"]["version"])


def test_no_secret_values_in_the_repository(docs: list[dict]) -> None:
    assert not of_kind(docs, "Secret"), "Secrets are created from git-ignored files (deploy/README.md)"
    for (cm,) in [of_kind(docs, "ConfigMap")]:
        for key in cm["data"]:
            assert not re.search(r"PASSWORD|SECRET|TOKEN|CLICKHOUSE_URL|SOURCES", key), f"ConfigMap holds {key}"


def test_pods_have_resources_and_run_as_non_root(docs: list[dict]) -> None:
    specs = pod_specs(docs)
    assert len(specs) >= 4
    for where, spec in specs:
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] != 0, where
        for container in spec.get("initContainers", []) + spec["containers"]:
            name = f"{where}/{container['name']}"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{name}: {kind}"
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], name
            if sc.get("readOnlyRootFilesystem"):
                assert any(m["mountPath"] == "/tmp" for m in container.get("volumeMounts", [])), name


def _part(container: dict) -> str:
    return build_parser().parse_args(container["args"]).part


def test_deployments_run_ioc_parts_and_web_is_probed_on_healthz(docs: list[dict]) -> None:
    settings = load_settings(None, environ=of_kind(docs, "ConfigMap")[0]["data"])
    parts = {}
    for d in of_kind(docs, "Deployment"):
        name = d["metadata"]["name"]
        assert d["spec"]["selector"]["matchLabels"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        (container,) = d["spec"]["template"]["spec"]["containers"]
        part = parts[name] = _part(container)
        if part in HEALTH_PARTS:
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports == {"health": settings.health.port}, name
            paths = {probe: container[probe]["httpGet"] for probe in ("startupProbe", "readinessProbe", "livenessProbe")}
            assert {probe: get["path"] for probe, get in paths.items()} == {
                "startupProbe": "/livez", "readinessProbe": "/readyz", "livenessProbe": "/livez"}, name
            assert {get["port"] for get in paths.values()} <= {"health", settings.health.port}, name
            continue
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": settings.web.port}, name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            assert get["path"] == "/healthz" and get["port"] in ("http", settings.web.port), f"{name} {probe}"
        assert d["spec"]["replicas"] >= 2, "several web processes (no state only one process holds)"
    assert sorted(parts.values()) == ["sink", "web", "worker"]
    # The kubelet probes the pod's address: the health server must listen on every address.
    assert settings.health.host == "0.0.0.0"


def test_the_probed_paths_are_the_ones_the_health_server_serves() -> None:
    from ioc.health import LIVE_PATH, READY_PATH

    assert (LIVE_PATH, READY_PATH) == ("/livez", "/readyz")


def test_pods_wait_for_the_bootstrap_and_read_settings_and_secrets(docs: list[dict]) -> None:
    configmaps = {d["metadata"]["name"] for d in of_kind(docs, "ConfigMap")}
    (job,) = of_kind(docs, "Job")
    job_cmd = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert job_cmd[:2] == ["python", "/opt/ioc/bootstrap.py"]
    assert job_cmd[job_cmd.index("--cluster") + 1] == DEFAULT_CLUSTER
    for where, spec in pod_specs(docs):
        for container in spec.get("initContainers", []) + spec["containers"]:
            refs = container["envFrom"]
            assert {r["configMapRef"]["name"] for r in refs if "configMapRef" in r} <= configmaps, where
            assert [r["secretRef"]["name"] for r in refs if "secretRef" in r] == ["ioc-secrets"], where
    for d in of_kind(docs, "Deployment"):
        (init,) = d["spec"]["template"]["spec"]["initContainers"]
        assert init["command"][:3] == ["python", "/opt/ioc/bootstrap.py", "--wait"], d["metadata"]["name"]


def test_service_ingress_and_budgets_point_at_existing_pods(docs: list[dict]) -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    services = {s["metadata"]["name"]: s for s in of_kind(docs, "Service")}
    for s in services.values():
        matching = [ln for ln in labels if s["spec"]["selector"].items() <= ln.items()]
        assert len(matching) == 1, s["metadata"]["name"]
    for ingress in of_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = services[backend["name"]]
                assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    for pdb in of_kind(docs, "PodDisruptionBudget"):
        assert any(pdb["spec"]["selector"]["matchLabels"].items() <= ln.items() for ln in labels)


def test_strimzi_kafka_is_three_kraft_nodes_with_rf_three_and_min_isr_two(docs: list[dict]) -> None:
    (kafka,) = of_kind(docs, "Kafka")
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    pools = [p for p in of_kind(docs, "KafkaNodePool")
             if p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]]
    assert sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"]) == 3
    assert sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"]) == 3
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3 and config["min.insync.replicas"] == 2
    settings = load_settings(None, environ=of_kind(docs, "ConfigMap")[0]["data"])
    listener = {ln["name"]: ln["port"] for ln in kafka["spec"]["kafka"]["listeners"]}["plain"]
    assert settings.kafka.bootstrap == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener}"
    assert settings.kafka.replication_factor == config["default.replication.factor"]


def test_altinity_clickhouse_is_two_shards_of_two_replicas_with_three_keepers(docs: list[dict]) -> None:
    (chi,) = of_kind(docs, "ClickHouseInstallation")
    (chk,) = of_kind(docs, "ClickHouseKeeperInstallation")
    (cluster,) = chi["spec"]["configuration"]["clusters"]
    assert cluster["name"] == DEFAULT_CLUSTER
    assert cluster["layout"] == {"shardsCount": 2, "replicasCount": 2}
    assert chk["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"] == 3
    keeper_hosts = [n["host"] for n in chi["spec"]["configuration"]["zookeeper"]["nodes"]]
    assert keeper_hosts == [f"keeper-{chk['metadata']['name']}"]
    users = chi["spec"]["configuration"]["users"]
    assert "ioc/password" not in users and users["ioc/k8s_secret_password"].count("/") == 1
    # The app's URL (Secret template) names the operator's service for this installation.
    example = (K8S / "ioc-secrets.env.example").read_text(encoding="utf-8")
    url = urlparse(re.search(r"^IOC_CLICKHOUSE_URL=(\S+)$", example, re.M).group(1))
    assert url.hostname == f"clickhouse-{chi['metadata']['name']}" and url.port == 9000
    assert url.username == "ioc"
