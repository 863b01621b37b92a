"""Two engines behind one small interface: ``execute``, ``query``, ``insert``, ``close``.

Queries are written once with ClickHouse's server-side parameter syntax ``{name:Type}``;
chDB binds them itself, and for the native protocol they become clickhouse-driver's
client-side ``%(name)s`` (ClickHouse 18.16 has no server-side parameters).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any, Protocol, Sequence
from urllib.parse import urlparse

from ioc.errors import DependencyError
from ioc.warehouse.schema import MODERN, TABLES, Dialect, Table, create_statements, render_column

Row = dict[str, Any]


class Warehouse(Protocol):
    dialect: Dialect
    database: str

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None: ...

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    def insert(self, table: Table, rows: Sequence[Row], dedup_token: str | None = None) -> None:
        """Store ``rows``; an insert repeating a recent ``dedup_token`` is dropped (dialect permitting)."""

    def close(self) -> None: ...


def ensure_schema(wh: Warehouse) -> None:
    """Create what is missing, and add columns a newer schema defines to existing tables
    (engines and sorting keys are not migrated: a changed one needs a new table)."""
    for sql in create_statements(wh.database, wh.dialect):
        wh.execute(sql)
    for table in TABLES:
        existing = {name for (name,) in wh.query(
            "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}",
            {"db": wh.database, "t": table.name},
        )}
        previous = None
        for column in table.columns:
            if column.name not in existing:
                where = f" AFTER {previous}" if previous else " FIRST"
                wh.execute(f"ALTER TABLE {wh.database}.{table.name} ADD COLUMN {render_column(column, wh.dialect)}{where}")
            previous = column.name


class ChdbWarehouse:
    """Embedded ClickHouse (chDB) under a data directory.

    chDB lets exactly one process open a data directory, so the process that owns it (the
    web process in `ioc up`) runs both the sink and the queries of the others.
    """

    def __init__(self, path: Path, database: str = "ioc") -> None:
        import chdb

        self.path = Path(path).resolve()
        self.database = database
        self.dialect = MODERN
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = chdb.connect(str(self.path))
        except RuntimeError as exc:
            raise DependencyError(f"embedded warehouse {self.path} cannot be opened: {exc}") from None
        # chDB connections may be shared by threads, but one query at a time per connection.
        self._qlock = threading.Lock()

    def _run(self, sql: str, fmt: str, params: dict[str, Any] | None) -> Any:
        with self._qlock:
            return self._conn.query(sql, fmt, params=params or None)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._run(sql, "CSV", params)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        sql = f"{sql.rstrip().rstrip(';')}\nSETTINGS output_format_json_quote_64bit_integers = 0"
        result = self._run(sql, "JSONCompact", params)
        raw = result.bytes() if hasattr(result, "bytes") else bytes(result)
        if not raw:
            return []
        return [tuple(r) for r in json.loads(raw)["data"]]

    def insert(self, table: Table, rows: Sequence[Row], dedup_token: str | None = None) -> None:
        if not rows:
            return
        # An Arrow table read by chDB's Python() table function: ~3x cheaper than JSONEachRow
        # (chDB's parsing with best-effort dates was most of the sink's insert; README, Benchmarks).
        from ioc.warehouse.arrow_rows import arrow_table  # pyarrow comes with chDB

        ioc_rows = arrow_table(table, rows)  # noqa: F841  # found by name: Python(ioc_rows)
        cols = ", ".join(table.column_names)
        token = f" SETTINGS insert_deduplication_token = '{dedup_token}'" if dedup_token and table.dedup_window else ""
        if token and not re.fullmatch(r"[0-9A-Za-z._:/,-]+", dedup_token or ""):
            raise ValueError(f"dedup token {dedup_token!r}: only [0-9A-Za-z._:/,-] may be inlined")
        with self._qlock:
            self._conn.query(f"INSERT INTO {self.database}.{table.name} ({cols}){token} "
                             f"SELECT {cols} FROM Python(ioc_rows)", "CSV")

    def close(self) -> None:
        with self._qlock:
            self._conn.close()


_PARAM = re.compile(r"\{(\w+):[^}]+\}")


class NativeWarehouse:
    """A ClickHouse server or cluster over the native protocol (clickhouse-driver)."""

    def __init__(self, url: str, database: str = "ioc") -> None:
        from clickhouse_driver import Client
        from clickhouse_driver.errors import Error as DriverError

        parsed = urlparse(url)
        if parsed.scheme not in ("clickhouse", "clickhouses"):
            raise DependencyError(f"ClickHouse URL must start with clickhouse://, got {url!r}")
        self.database = parsed.path.strip("/") or database
        self.where = f"{parsed.hostname}:{parsed.port or 9000}"
        # Connect to the server's default database: ours may not exist yet.
        self._client = Client.from_url(parsed._replace(path="/default").geturl())
        self._lock = threading.Lock()
        # The driver logs each failed attempt with a traceback; our one line says it all.
        driver_log = logging.getLogger("clickhouse_driver.connection")
        level = driver_log.level
        driver_log.setLevel(logging.CRITICAL)
        try:
            (version,), = self._client.execute("SELECT version()")
        except (DriverError, OSError, EOFError) as exc:
            raise DependencyError(f"ClickHouse at {self.where} is unreachable ({exc.__class__.__name__})") from None
        finally:
            driver_log.setLevel(level)
        self.version = str(version)
        self.dialect = Dialect.for_version(self.version)

    @staticmethod
    def _convert(sql: str) -> str:
        return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._client.execute(self._convert(sql), params or {})

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return [tuple(r) for r in self._client.execute(self._convert(sql), params or {})]

    def insert(self, table: Table, rows: Sequence[Row], dedup_token: str | None = None) -> None:
        if not rows:
            return
        cols = table.column_names
        data = [tuple(_native_value(r.get(c)) for c in cols) for r in rows]
        settings = ({"insert_deduplication_token": dedup_token}
                    if dedup_token and table.dedup_window and self.dialect.insert_dedup else {})
        with self._lock:
            self._client.execute(f"INSERT INTO {self.database}.{table.name} ({', '.join(cols)}) VALUES", data,
                                 settings=settings)

    def close(self) -> None:
        self._client.disconnect()


def _native_value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def open_warehouse(url: str | None, data_dir: Path, database: str = "ioc") -> Warehouse:
    """The configured engine with its schema in place."""
    wh: Warehouse = NativeWarehouse(url, database) if url else ChdbWarehouse(Path(data_dir) / "chdb", database)
    ensure_schema(wh)
    return wh


