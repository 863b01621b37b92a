"""One schema and one set of queries on both engines: chDB and a real ClickHouse server."""

from datetime import timedelta

import pytest

from ioc import clock
from ioc.warehouse.backends import ChdbWarehouse, NativeWarehouse, ensure_schema
from ioc.warehouse.queries import received_per_day, table_counts
from ioc.warehouse.schema import DEADLETTER, DOSSIER_EVENTS, LEGACY
from ioc.warehouse.sink import dossier_rows
from ioc.wire import encode_batch
from tests.helpers import dossier_events

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory):
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(params=["chdb", "native"])
def warehouse(request, unique, chdb_path):
    if request.param == "chdb":
        wh = ChdbWarehouse(chdb_path, database=unique)
    else:
        url = request.getfixturevalue("clickhouse_url")
        wh = NativeWarehouse(url.rsplit("/", 1)[0] + f"/{unique}")
    ensure_schema(wh)
    yield wh
    wh.execute(f"DROP DATABASE IF EXISTS {unique}")
    wh.close()


def test_native_path_runs_on_the_real_old_server(clickhouse_url):
    wh = NativeWarehouse(clickhouse_url)
    try:
        assert wh.version.startswith("18.") and wh.dialect is LEGACY
    finally:
        wh.close()


def test_rows_round_trip_and_duplicates_are_counted_once(warehouse):
    now = clock.now_local()
    events = dossier_events(20, now=now, finished_every=2)  # 20 received + 10 finished
    rows = dossier_rows(encode_batch(events), clock.now())
    assert len(rows) == 30
    warehouse.insert(DOSSIER_EVENTS, rows)
    warehouse.insert(DOSSIER_EVENTS, rows[:7])  # a replayed batch
    counts = table_counts(warehouse)
    assert counts["dossier_events"] == 30
    assert counts["dossier_event_rows"] in (30, 37)  # before or after the merge
    per_day = dict(received_per_day(warehouse, clock.today() - timedelta(days=2)))
    assert per_day[now.date().isoformat()] == 20


def test_a_batch_inserted_again_with_its_token_adds_no_row(warehouse):
    """The sink's crash between insert and commit: the same batch, the same token."""
    rows = dossier_rows(encode_batch(dossier_events(12)), clock.now())
    warehouse.insert(DOSSIER_EVENTS, rows, dedup_token="dossier_events:t/0:0-12")
    warehouse.insert(DOSSIER_EVENTS, rows, dedup_token="dossier_events:t/0:0-12")
    n = len(rows)
    counts = table_counts(warehouse)
    assert counts["dossier_events"] == n
    if warehouse.dialect.insert_dedup:
        assert counts["dossier_event_rows"] == n  # dropped whole, before any merge
    else:
        assert counts["dossier_event_rows"] in (n, 2 * n)  # 18.16: the event-id key collapses them


def test_existing_tables_gain_new_columns(warehouse):
    db = warehouse.database
    warehouse.execute(f"DROP TABLE {db}.deadletter")
    warehouse.execute(f"CREATE TABLE {db}.deadletter (rejected_at DateTime, source_topic String, "
                      "source_partition UInt16, source_offset UInt64, reason String, raw String) "
                      "ENGINE = MergeTree PARTITION BY toYYYYMM(rejected_at) ORDER BY (source_topic, rejected_at)")
    ensure_schema(warehouse)
    names = [n for (n,) in warehouse.query(
        "SELECT name FROM system.columns WHERE database = {db:String} AND table = 'deadletter'", {"db": db})]
    assert names == list(DEADLETTER.column_names)


def test_unreachable_server_is_one_clear_error():
    from ioc.errors import DependencyError
    from ioc.process import free_port

    port = free_port()
    with pytest.raises(DependencyError, match=f"127.0.0.1:{port} is unreachable"):
        NativeWarehouse(f"clickhouse://default:@127.0.0.1:{port}/x")


def test_silences_and_notifications_are_stored_once_and_come_back_for_a_restore(warehouse):
    """The audit of silences and the notifier's log (issue #16), on both engines, as `ioc restore`
    reads them back: silences in time order, one delivery per key however often stored."""
    import json
    from datetime import datetime, timezone

    from ioc.alerts.routing import Delivery
    from ioc.alerts.silences import SilenceBook, parse_silence_event
    from ioc.broker.restore import notification_log_entries, silence_log_entries
    from ioc.warehouse.schema import NOTIFICATIONS, SILENCE_EVENTS
    from ioc.warehouse.sink import notification_rows, silence_event_rows

    t0 = datetime(2026, 12, 8, 2, 30, tzinfo=timezone.utc)
    created = parse_silence_event({"op": "create", "at": t0.isoformat(), "actor": "dieuhanh", "kind": "maintenance",
                                   "comment": "Bảo trì cổng thanh toán", "matchers": {"system": "payment"},
                                   "starts_at": (t0 + timedelta(hours=1)).isoformat(),
                                   "ends_at": (t0 + timedelta(hours=3)).isoformat()})
    ended = parse_silence_event({"op": "expire", "silence_id": created.silence_id, "actor": "dieuhanh",
                                 "at": (t0 + timedelta(hours=2)).isoformat()})
    rows = silence_event_rows(ended.encode()) + silence_event_rows(created.encode())
    warehouse.insert(SILENCE_EVENTS, rows)
    warehouse.insert(SILENCE_EVENTS, rows[:1])  # stored twice (a sink retry)
    entries = silence_log_entries(warehouse)
    assert [json.loads(v)["op"] for _, v in entries] == ["create", "expire"]
    book = SilenceBook.replay(parse_silence_event(v) for _, v in entries)
    assert book.get(created.silence_id).state(t0 + timedelta(minutes=150)) == "expired"

    sent = Delivery("a-1", "firing:critical", "oncall", "sent", t0)
    dead = Delivery("a-1", "firing:critical", "mail", "dead", t0 + timedelta(seconds=5), attempts=5, error="refused")
    for d in (sent, dead, sent):
        warehouse.insert(NOTIFICATIONS, notification_rows(json.dumps(d.to_json()).encode()))
    back = [Delivery.from_json(json.loads(v)) for _, v in notification_log_entries(warehouse)]
    assert [(d.key, d.status, d.attempts, d.error) for d in back] == [
        ("a-1|firing:critical|oncall", "sent", 1, None), ("a-1|firing:critical|mail", "dead", 5, "refused")]
    assert back[0].at == t0


def test_times_nulls_and_arrays_are_stored_as_given(warehouse):
    """Aware times of any zone are the same instants once stored (chDB reads them from Arrow,
    the server from the driver); a missing due date is NULL; an array column round-trips."""
    from datetime import datetime, timezone

    from ioc.warehouse.schema import PROCEDURE_CATALOGUE

    local = datetime(2026, 1, 5, 8, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=7)))
    row = {"event_id": "t-1", "dossier_code": "H44.101-T1", "status": 2, "occurred_at": local,
           "unit_code": "H44.101", "procedure_code": "1.001193", "agency_code": "", "channel": 2,
           "due_at": None, "payload": "{}", "ingested_at": local.astimezone(timezone.utc)}
    warehouse.insert(DOSSIER_EVENTS, [row])
    db = warehouse.database
    (shown, epoch, due_null, same), = warehouse.query(
        f"SELECT toString(occurred_at), toUnixTimestamp(occurred_at), isNull(due_at), occurred_at = ingested_at "
        f"FROM {db}.dossier_events WHERE event_id = 't-1'")
    assert shown.startswith("2026-01-05 08:30:15")  # Vietnam's wall clock, the column's zone
    assert int(epoch) == int(local.timestamp()) and int(due_null) == 1 and int(same) == 1
    catalogue_row = {c.name: "" for c in PROCEDURE_CATALOGUE.columns}
    catalogue_row.update({"procedure_code": "1.0", "unit_codes": ["H44.101", "H44.102"], "imported_at": local,
                          **{c.name: None for c in PROCEDURE_CATALOGUE.columns if c.type.startswith("Nullable")}})
    warehouse.insert(PROCEDURE_CATALOGUE, [catalogue_row])
    (codes,), = warehouse.query(f"SELECT unit_codes FROM {db}.procedure_catalogue")
    assert list(codes) == ["H44.101", "H44.102"]
