"""The warehouse: one schema, one set of queries, two engines (chDB embedded and a
ClickHouse server over the native protocol)."""
