import pytest

from ioc.config import load_settings
from ioc.errors import ConfigError


def test_defaults_run_everything_embedded():
    s = load_settings(environ={})
    assert s.embedded_kafka and s.embedded_clickhouse
    assert s.web.port == 8050


def test_unknown_key_in_file_names_file_and_key(tmp_path):
    path = tmp_path / "ioc.yaml"
    path.write_text("kafka:\n  bootstarp: h:9092\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert str(path) in str(err.value) and "kafka.bootstarp" in str(err.value)


def test_contract_env_names_and_nested_env():
    s = load_settings(environ={"IOC_KAFKA_BOOTSTRAP": "k1:9092,k2:9092", "IOC_WEB__PORT": "9000",
                               "IOC_CLICKHOUSE_URL": "clickhouse://u:p@h:9000/db"})
    assert s.kafka.bootstrap == "k1:9092,k2:9092" and s.web.port == 9000
    assert not s.embedded_kafka and not s.embedded_clickhouse


def test_unknown_env_key_names_the_variable():
    with pytest.raises(ConfigError, match="IOC_WEB__PROT"):
        load_settings(environ={"IOC_WEB__PROT": "1"})


def test_bad_value_names_key(tmp_path):
    path = tmp_path / "ioc.yaml"
    path.write_text("web:\n  port: 99999\n")
    with pytest.raises(ConfigError, match="web.port"):
        load_settings(path, environ={})


def test_file_then_env_then_flags(tmp_path):
    path = tmp_path / "ioc.yaml"
    path.write_text("web:\n  port: 8100\nsimulator:\n  rate: 5\n")
    s = load_settings(path, environ={"IOC_WEB__PORT": "8200"}, overrides={"simulator": {"rate": 7}})
    assert s.web.port == 8200 and s.simulator.rate == 7


def test_unreadable_and_non_mapping_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml", environ={})
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(bad, environ={})


def test_one_trusted_proxy_hops_for_sign_in_and_public_and_its_older_name_still_works():
    assert load_settings(None, environ={}).trusted_proxy_hops == 0
    assert load_settings(None, environ={"IOC_WEB__TRUSTED_PROXY_HOPS": "1"}).trusted_proxy_hops == 1
    # public.trusted_proxy_hops was the only setting: a deployment that set it keeps its meaning, now for both.
    assert load_settings(None, environ={"IOC_PUBLIC__TRUSTED_PROXY_HOPS": "2"}).trusted_proxy_hops == 2
    same = {"IOC_WEB__TRUSTED_PROXY_HOPS": "1", "IOC_PUBLIC__TRUSTED_PROXY_HOPS": "1"}
    assert load_settings(None, environ=same).trusted_proxy_hops == 1
    with pytest.raises(ConfigError, match=r"web.trusted_proxy_hops \(2\) and public.trusted_proxy_hops \(1\) differ"):
        load_settings(None, environ={"IOC_WEB__TRUSTED_PROXY_HOPS": "2", "IOC_PUBLIC__TRUSTED_PROXY_HOPS": "1"})


def test_the_parts_web_healthz_requires_come_as_name_url_pairs(tmp_path):
    env = {"IOC_WEB__PARTS": "worker=http://127.0.0.1:4001/readyz, services-sim=http://127.0.0.1:4002/readyz"}
    assert load_settings(None, environ=env).web.parts == {"worker": "http://127.0.0.1:4001/readyz",
                                                          "services-sim": "http://127.0.0.1:4002/readyz"}
    with pytest.raises(ConfigError, match="IOC_WEB__PARTS"):
        load_settings(None, environ={"IOC_WEB__PARTS": "worker"})
    path = tmp_path / "s.yaml"
    path.write_text("web: {parts: {worker: 'ftp://x'}}\nhealth: {port: 0}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="web.parts.worker"):
        load_settings(path, environ={})


def test_the_workers_table_store_is_memory_or_rocksdb():
    assert load_settings(None, environ={}).worker.store == "memory"
    assert load_settings(None, environ={"IOC_WORKER__STORE": "rocksdb"}).worker.store == "rocksdb"
    with pytest.raises(ConfigError, match="worker.store"):
        load_settings(None, environ={"IOC_WORKER__STORE": "redis"})
