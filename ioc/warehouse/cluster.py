"""The warehouse schema in its clustered form, generated from ``schema.TABLES``.

Each table of the single-node schema becomes, on a ClickHouse cluster:
  * ``<name>_local``: the same columns, partitioning, sorting key, TTL and settings, with the
    engine replaced by its ``Replicated*`` variant (Keeper path per ``{shard}``, ``{replica}``
    macro) and created ``ON CLUSTER`` on every node;
  * ``<name>``: a ``Distributed`` table over the local ones, so the app's inserts and queries,
    which name ``<database>.<name>``, work unchanged.

The Distributed table must exist before the app first connects: ``open_warehouse`` runs
``CREATE TABLE IF NOT EXISTS <database>.<name>`` with the single-node engine, which is then a
no-op, whereas on an empty cluster it would create a non-replicated table on one node.

Sharding: rows that may be duplicates of each other must land on the same shard, or the
ReplacingMergeTree on the event id could never collapse them, so the key is always a function of
sorting-key columns. Two keys (``shard_by``):
  * ``province`` (the default, as issue #8 asks): the province part of ``unit_code`` (an agency
    code in the QCVN 102 style, ``H44.07`` -> ``H44``), so one province's dossiers, snapshots and
    queries stay on one shard and a province's wall reads one shard;
  * ``dossier``: ``cityHash64(dossier_code)``, which spreads the load evenly (Hà Nội and TP.HCM
    are each several times an average province: with few shards, province sharding is lopsided).
Tables without those columns hash their sorting-key columns. A retried insert splits into the
same per-shard blocks, which Replicated block deduplication drops.

Rollups (``schema.ROLLUPS``, materialized views) likewise: ``<name>_local`` aggregates the
``_local`` source table into a ``Replicated`` engine (a view fires only on the replica an insert
reached, so its target must replicate itself), and ``<name>`` is a ``Distributed`` table over
them for the app's queries; their uniqExact states merge exactly across shards.

The DDL is rendered per dialect like the single-node one, so it also runs on Debian's
ClickHouse 18.16 (``ioc warehouse ddl --cluster ioc --server-version 18.16``);
tests/integration/test_clickhouse_cluster.py applies it to a real 2 x 2 cluster.

No table is defined here: a table added to ``schema.TABLES`` gets its clustered form for free.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from typing import Sequence

from ioc.warehouse.schema import MODERN, ROLLUPS, TABLES, Dialect, Rollup, Table, render_create, render_rollup

DEFAULT_CLUSTER = "ioc"
LOCAL_SUFFIX = "_local"
# Sharding expressions by the column they need, best first; see the module docstring for why.
SHARD_BY: dict[str, tuple[tuple[str, str], ...]] = {
    "province": (("unit_code", "cityHash64(splitByChar('.', unit_code)[1])"),),
    "dossier": (("dossier_code", "cityHash64(dossier_code)"), ("unit_code", "cityHash64(unit_code)")),
}
KEEPER_PATH = "/clickhouse/tables/{{shard}}/{database}/{table}"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MERGE_TREE_ENGINE = re.compile(r"^(?P<family>[A-Za-z]*MergeTree)\s*(?:\((?P<args>.*)\))?$", re.DOTALL)


def _identifier(value: str, what: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{what} {value!r} is not a plain identifier (letters, digits, _; not starting with a digit)")
    return value


def local_name(table: Table | Rollup) -> str:
    return table.name + LOCAL_SUFFIX


def replicated_engine(engine: str, keeper_path: str) -> str:
    """``ReplacingMergeTree(v)`` -> ``ReplicatedReplacingMergeTree('<path>', '{replica}', v)``."""
    m = _MERGE_TREE_ENGINE.match(engine.strip())
    if not m:
        raise ValueError(f"engine {engine!r} is not of the MergeTree family: it cannot be replicated")
    family, args = m.group("family"), (m.group("args") or "").strip()
    if family.startswith("Replicated"):
        raise ValueError(f"engine {engine!r} is already replicated: define tables with their single-node engine")
    params = [f"'{keeper_path}'", "'{replica}'"] + ([args] if args else [])
    return f"Replicated{family}({', '.join(params)})"


def _order_by_columns(table: Table) -> list[str]:
    expr = table.order_by.strip()
    if expr.startswith("(") and expr.endswith(")"):
        expr = expr[1:-1]
    return [part.strip() for part in expr.split(",") if part.strip()]


def sharding_key(table: Table, shard_by: str = "province") -> str:
    """A deterministic expression of sorting-key columns: possible duplicates share one shard.

    Duplicates of a ReplacingMergeTree row share its whole sorting key, so any function of
    sorting-key columns sends them to the same shard, where merges can collapse them.
    """
    if shard_by not in SHARD_BY:
        raise ValueError(f"shard by {shard_by!r}: expected one of {', '.join(SHARD_BY)}")
    sort_columns = [part for part in _order_by_columns(table) if part in table.column_names]
    for column, expression in SHARD_BY[shard_by]:
        if column in sort_columns:
            return expression
    if not sort_columns:
        raise ValueError(f"table {table.name}: its ORDER BY {table.order_by!r} has no plain column to shard by")
    return f"cityHash64({', '.join(sort_columns)})"


def local_table(table: Table, database: str) -> Table:
    """The table as stored on each replica: same definition, replicated engine, ``_local`` name."""
    path = KEEPER_PATH.format(database=database, table=local_name(table))
    return replace(table, name=local_name(table), engine=replicated_engine(table.engine, path))


def _on_cluster(sql: str, qualified_name: str, cluster: str, kind: str = "TABLE") -> str:
    header = f"CREATE {kind} IF NOT EXISTS {qualified_name}"
    if not sql.startswith(header):
        raise ValueError(f"schema.render_* no longer starts with {header!r}: update cluster._on_cluster")
    return f"{header} ON CLUSTER {cluster}{sql[len(header):]}"


def local_create(table: Table, database: str, cluster: str, dialect: Dialect = MODERN) -> str:
    local = local_table(table, database)
    return _on_cluster(render_create(local, database, dialect), f"{database}.{local.name}", cluster)


def distributed_create(table: Table | Rollup, database: str, cluster: str, shard_by: str | None = "province") -> str:
    """``shard_by`` None: no sharding key, for a table only read through it (a rollup)."""
    local = f"{database}.{local_name(table)}"
    key = f", {sharding_key(table, shard_by)}" if isinstance(table, Table) and shard_by else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table.name} ON CLUSTER {cluster} AS {local}\n"
        f"ENGINE = Distributed('{cluster}', '{database}', '{local_name(table)}'{key})\n"
    )


def rollup_local_create(rollup: Rollup, database: str, cluster: str) -> str:
    """The view over the source's local table, into a replicated aggregating table."""
    name = local_name(rollup)
    path = KEEPER_PATH.format(database=database, table=name)
    local = replace(rollup, name=name, source=replace(rollup.source, name=local_name(rollup.source)),
                    engine=replicated_engine(rollup.engine, path))
    return _on_cluster(render_rollup(local, database), f"{database}.{name}", cluster, "MATERIALIZED VIEW")


def cluster_statements(cluster: str = DEFAULT_CLUSTER, database: str = "ioc", dialect: Dialect = MODERN,
                       tables: Sequence[Table] = TABLES, shard_by: str = "province",
                       rollups: Sequence[Rollup] = ROLLUPS) -> list[str]:
    """Every statement, in order, that creates the clustered warehouse (idempotent)."""
    _identifier(cluster, "cluster name")
    _identifier(database, "database name")
    statements = [f"CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER {cluster}"]
    for table in tables:
        statements.append(local_create(table, database, cluster, dialect))
        statements.append(distributed_create(table, database, cluster, shard_by))
    for rollup in rollups:
        statements.append(rollup_local_create(rollup, database, cluster))
        statements.append(distributed_create(rollup, database, cluster, None))
    return statements


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ioc.warehouse.cluster [--cluster NAME] [--database DB]``: print the DDL."""
    parser = argparse.ArgumentParser(prog="python -m ioc.warehouse.cluster",
                                     description="Print the clustered warehouse DDL (Replicated + Distributed).")
    parser.add_argument("--cluster", default=DEFAULT_CLUSTER, help="cluster name in remote_servers (default ioc)")
    parser.add_argument("--database", default="ioc")
    parser.add_argument("--shard-by", choices=list(SHARD_BY), default="province")
    args = parser.parse_args(argv)
    try:
        statements = cluster_statements(args.cluster, args.database, shard_by=args.shard_by)
    except ValueError as exc:
        parser.error(str(exc))
    print(";\n\n".join(s.rstrip() for s in statements) + ";")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
