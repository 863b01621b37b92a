from ioc.warehouse.schema import DOSSIER_EVENTS, KPI_SNAPSHOTS, LEGACY, MODERN, Dialect, render_create


def test_modern_keeps_types_codecs_and_ttl():
    sql = render_create(KPI_SNAPSHOTS, "ioc", MODERN)
    assert "LowCardinality(String)" in sql and "CODEC(Delta, ZSTD)" in sql and "TTL " in sql
    assert "DateTime64(3, 'Asia/Ho_Chi_Minh')" in sql


def test_legacy_dialect_for_clickhouse_18():
    assert Dialect.for_version("18.16.1") is LEGACY
    assert Dialect.for_version("26.9.1.1") is MODERN
    sql = render_create(DOSSIER_EVENTS, "ioc", LEGACY)
    assert "LowCardinality" not in sql and "CODEC" not in sql and "DateTime64" not in sql
    assert "due_at Nullable(DateTime('Asia/Ho_Chi_Minh'))" in sql
    assert "ENGINE = ReplacingMergeTree(ingested_at)" in sql
