"""The clustered DDL is generated from schema.TABLES and agrees with the single-node DDL."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from ioc.warehouse import cluster
from ioc.warehouse.schema import MODERN, ROLLUPS, TABLES, Column, Table, render_create

CLUSTER = "ioc_prod"
DB = "ioc"


def _statement(statements: list[str], prefix: str) -> str:
    found = [s for s in statements if s.startswith(prefix + " ") or s.startswith(prefix + "\n")]
    assert len(found) == 1, f"expected one statement starting {prefix!r}, found {len(found)}"
    return found[0]


def _body(sql: str) -> list[str]:
    """Everything a table definition says except its name and engine: columns, keys, TTL, settings."""
    lines = sql.strip().splitlines()
    return [line for line in lines[1:] if not line.startswith("ENGINE = ")]


def _engine(sql: str) -> str:
    (line,) = [line for line in sql.splitlines() if line.startswith("ENGINE = ")]
    return line[len("ENGINE = "):]


@pytest.fixture(scope="module")
def statements() -> list[str]:
    return cluster.cluster_statements(CLUSTER, DB)


def test_database_is_created_on_the_cluster_first(statements: list[str]) -> None:
    assert statements[0] == f"CREATE DATABASE IF NOT EXISTS {DB} ON CLUSTER {CLUSTER}"


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_table_has_a_replicated_local_table_with_macros(statements: list[str], table: Table) -> None:
    sql = _statement(statements, f"CREATE TABLE IF NOT EXISTS {DB}.{table.name}_local ON CLUSTER {CLUSTER}")
    engine = _engine(sql)
    family = re.match(r"[A-Za-z]+", table.engine).group(0)
    assert engine.startswith(f"Replicated{family}(")
    path, replica = re.findall(r"'([^']*)'", engine)[:2]
    assert "{shard}" in path and path.endswith(f"/{DB}/{table.name}_local")
    assert replica == "{replica}"
    # The single-node engine's own arguments (e.g. the version column) are kept, after the two.
    single_args = re.search(r"\((.*)\)", table.engine)
    if single_args and single_args.group(1):
        assert engine.endswith(f", {single_args.group(1)})")


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_local_table_matches_the_single_node_definition(statements: list[str], table: Table) -> None:
    local = _statement(statements, f"CREATE TABLE IF NOT EXISTS {DB}.{table.name}_local ON CLUSTER {CLUSTER}")
    single = render_create(table, DB, MODERN)
    assert _body(local) == _body(single)
    # and the parts the brief names, explicitly: columns in order, partition and sorting keys
    for column in table.columns:
        assert any(line.strip().startswith(f"{column.name} ") for line in _body(local))
    assert [ln.split()[0] for ln in _body(local) if ln.startswith("    ")] == list(table.column_names)
    assert f"ORDER BY {table.order_by}" in local
    if table.partition_by:
        assert f"PARTITION BY {table.partition_by}" in local


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_table_has_a_distributed_table_under_its_own_name(statements: list[str], table: Table) -> None:
    sql = _statement(statements, f"CREATE TABLE IF NOT EXISTS {DB}.{table.name} ON CLUSTER {CLUSTER}")
    assert f" AS {DB}.{table.name}_local\n" in sql
    args = re.fullmatch(r"Distributed\('([^']+)', '([^']+)', '([^']+)', (.+)\)", _engine(sql))
    assert args, _engine(sql)
    assert args.groups()[:3] == (CLUSTER, DB, f"{table.name}_local")
    # Duplicates share their sorting key, so a key built from its columns keeps them on one shard.
    inner = re.fullmatch(r"cityHash64\((.+)\)", args.group(4)).group(1)
    key_columns = set(re.findall(r"\b[a-z_]+\b", re.sub(r"'[^']*'|splitByChar", "", inner)))
    sort_columns = [c.strip() for c in table.order_by.strip("()").split(",")]
    assert key_columns and key_columns <= set(sort_columns), (inner, sort_columns)


def test_a_provinces_rows_stay_on_one_shard_by_default(statements: list[str]) -> None:
    sql = _statement(statements, f"CREATE TABLE IF NOT EXISTS {DB}.dossier_events ON CLUSTER {CLUSTER}")
    assert _engine(sql).endswith(", cityHash64(splitByChar('.', unit_code)[1]))")


def test_sharding_by_dossier_is_the_even_alternative() -> None:
    sql = _statement(cluster.cluster_statements(CLUSTER, DB, shard_by="dossier"),
                     f"CREATE TABLE IF NOT EXISTS {DB}.dossier_events ON CLUSTER {CLUSTER}")
    assert _engine(sql).endswith(", cityHash64(dossier_code))")
    with pytest.raises(ValueError, match="shard by 'commune'"):
        cluster.cluster_statements(CLUSTER, DB, shard_by="commune")


def test_the_province_key_is_the_agency_codes_province_part(chdb_session) -> None:
    result = chdb_session.query("SELECT splitByChar('.', 'H44.101.01')[1], splitByChar('.', 'H44')[1]", "TSVRaw")
    assert result.bytes().decode().split() == ["H44", "H44"]


def test_local_tables_are_created_before_the_distributed_tables_over_them(statements: list[str]) -> None:
    for table in TABLES:
        local = statements.index(_statement(statements, f"CREATE TABLE IF NOT EXISTS {DB}.{table.name}_local"))
        dist = statements.index(_statement(statements, f"CREATE TABLE IF NOT EXISTS {DB}.{table.name} ON"))
        assert local < dist
    assert len(statements) == 1 + 2 * len(TABLES) + 2 * len(ROLLUPS)


@pytest.mark.parametrize("rollup", ROLLUPS, ids=lambda r: r.name)
def test_every_rollup_is_a_replicated_view_over_the_local_source_read_through_a_distributed_table(
        statements: list[str], rollup) -> None:
    # A view fires on the replica an insert reached, so what it aggregates must replicate itself.
    view = _statement(statements, f"CREATE MATERIALIZED VIEW IF NOT EXISTS {DB}.{rollup.name}_local ON CLUSTER {CLUSTER}")
    assert _engine(view) == (f"ReplicatedAggregatingMergeTree('/clickhouse/tables/{{shard}}/{DB}/{rollup.name}_local', "
                             "'{replica}')")
    assert f"FROM {DB}.{rollup.source.name}_local " in view
    dist = _statement(statements, f"CREATE TABLE IF NOT EXISTS {DB}.{rollup.name} ON CLUSTER {CLUSTER}")
    assert _engine(dist) == f"Distributed('{CLUSTER}', '{DB}', '{rollup.name}_local')"  # read only: no key
    assert statements.index(view) < statements.index(dist)


def test_the_ddl_for_clickhouse_18_drops_what_it_lacks(capsys: pytest.CaptureFixture[str]) -> None:
    from ioc.cli import main

    assert main(["warehouse", "ddl", "--cluster", CLUSTER, "--server-version", "18.16"]) == 0
    out = capsys.readouterr().out
    assert "ON CLUSTER" in out and "LowCardinality" not in out and "DateTime64" not in out and "TTL" not in out


def test_a_table_added_to_the_schema_gets_its_clustered_form() -> None:
    extra = Table(name="example_metrics", engine="MergeTree()", order_by="(system_id, measured_at)",
                  columns=(Column("system_id", "LowCardinality(String)"), Column("measured_at", "DateTime"),
                           Column("value", "Float64")))
    sql = cluster.cluster_statements(CLUSTER, DB, tables=(*TABLES, extra))
    local = _statement(sql, f"CREATE TABLE IF NOT EXISTS {DB}.example_metrics_local ON CLUSTER {CLUSTER}")
    assert _engine(local) == f"ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{DB}/example_metrics_local', '{{replica}}')"
    dist = _statement(sql, f"CREATE TABLE IF NOT EXISTS {DB}.example_metrics ON CLUSTER {CLUSTER}")
    assert _engine(dist).endswith("cityHash64(system_id, measured_at))")


def test_the_legacy_dialect_is_rendered_through_the_same_schema() -> None:
    from ioc.warehouse.schema import LEGACY

    sql = cluster.cluster_statements(CLUSTER, DB, dialect=LEGACY)
    assert not any("LowCardinality" in s or "CODEC" in s for s in sql)
    assert sum("ON CLUSTER" in s for s in sql) == 1 + 2 * len(TABLES) + 2 * len(ROLLUPS)


@pytest.mark.parametrize(
    ("engine", "message"),
    [("Memory", "not of the MergeTree family"), ("ReplicatedMergeTree('/p', '{replica}')", "already replicated")],
)
def test_an_engine_that_cannot_be_clustered_is_named(engine: str, message: str) -> None:
    bad = replace(TABLES[0], engine=engine)
    with pytest.raises(ValueError, match=message):
        cluster.cluster_statements(CLUSTER, DB, tables=(bad,))


@pytest.mark.parametrize(("cluster_name", "database"), [("ioc; DROP", "ioc"), ("ioc", "1db")])
def test_bad_names_are_refused(cluster_name: str, database: str) -> None:
    with pytest.raises(ValueError, match="not a plain identifier"):
        cluster.cluster_statements(cluster_name, database)


def test_cli_prints_every_statement(capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster.main(["--cluster", CLUSTER]) == 0
    out = capsys.readouterr().out
    assert out.count(";\n\n") + 1 == 1 + 2 * len(TABLES) + 2 * len(ROLLUPS)
    assert f"Distributed('{CLUSTER}'" in out


# ---- what an embedded ClickHouse (chDB) can check: parsing, and the sharding keys' types ----

@pytest.fixture(scope="module")
def chdb_session(tmp_path_factory: pytest.TempPathFactory):
    chdb = pytest.importorskip("chdb")
    conn = chdb.connect(str(tmp_path_factory.mktemp("chdb-cluster-ddl")))
    yield conn
    conn.close()


def _format_query(conn, sql: str) -> str:
    # Query parameters arrive in escaped (TSV) form: a raw newline would end the value.
    escaped = sql.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return conn.query("SELECT formatQuery({q:String})", "TSVRaw", params={"q": escaped}).bytes().decode()


def test_every_statement_parses_in_clickhouse(chdb_session, statements: list[str]) -> None:
    # chDB has no Keeper or remote_servers, so ON CLUSTER cannot run; formatQuery runs
    # ClickHouse's own parser on the text and prints it back in canonical form.
    for sql in statements:
        raw = _format_query(chdb_session, sql)
        assert f"ON CLUSTER {CLUSTER}" in raw
        if "_local ON CLUSTER" in sql:
            assert "ENGINE = Replicated" in raw and "'{replica}'" in raw


def test_formatquery_does_reject_broken_sql(chdb_session) -> None:
    with pytest.raises(RuntimeError, match="Syntax error"):
        _format_query(chdb_session, f"CREATE TABLE {DB}.x ON CLUSTER {CLUSTER}\n(a String)\nENGINE = MergeTree ORDER BY ((a")


def test_sharding_keys_evaluate_to_integers_on_the_tables_columns(chdb_session) -> None:
    db = "ioc_shardkey_check"
    chdb_session.query(f"CREATE DATABASE IF NOT EXISTS {db}", "CSV")
    for table in TABLES:
        chdb_session.query(render_create(table, db, MODERN), "CSV")
        key = cluster.sharding_key(table)
        # any() over an empty table still yields one row, typed by the expression.
        result = chdb_session.query(f"SELECT toTypeName(any({key})) FROM {db}.{table.name}", "TSVRaw")
        assert result.bytes().decode().strip() == "UInt64", (table.name, key)
