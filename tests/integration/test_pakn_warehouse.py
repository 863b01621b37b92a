"""The petition table on both engines (chDB and the real ClickHouse 18.16 server): the sink's
rows round-trip, votes stay unknown when not given, a replayed batch is counted once."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ioc.warehouse.backends import ChdbWarehouse, NativeWarehouse, ensure_schema
from ioc.warehouse.schema import PAKN_EVENTS
from ioc.warehouse.sink import pakn_rows
from ioc.wire import encode_batch

pytestmark = pytest.mark.integration

INGESTED = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["chdb", "native"])
def warehouse(request, unique, tmp_path):
    if request.param == "chdb":
        wh = ChdbWarehouse(tmp_path / "chdb", database=unique)
    else:
        url = request.getfixturevalue("clickhouse_url")
        wh = NativeWarehouse(url.rsplit("/", 1)[0] + f"/{unique}")
    ensure_schema(wh)
    yield wh
    wh.execute(f"DROP DATABASE IF EXISTS {unique}")
    wh.close()


def test_petition_rows_round_trip_and_replays_count_once(warehouse):
    events = [{"event_id": f"e{i}", "pakn_code": f"PAKN-{i // 2}", "status": ("received", "published")[i % 2],
               "occurred_at": "2026-11-23T09:00:00+07:00", "unit_code": "H44.07", "category": "conduct",
               "channel": "hotline", "commune_code": "08866",
               **({"likes": 2, "dislikes": 5, "dossier_code": "H44.07-261120-0001"} if i % 2 else {})}
              for i in range(10)]
    rows = pakn_rows(encode_batch(events), INGESTED)
    warehouse.insert(PAKN_EVENTS, rows)
    warehouse.insert(PAKN_EVENTS, rows[:4])  # a replayed batch
    db = warehouse.database
    [(events_, petitions)] = warehouse.query(f"SELECT uniqExact(event_id), uniqExact(pakn_code) FROM {db}.pakn_events")
    assert (events_, petitions) == (10, 5)
    got = warehouse.query(f"SELECT status, any(likes), any(dislikes), any(dossier_code) FROM {db}.pakn_events "
                          "WHERE pakn_code = 'PAKN-0' GROUP BY status ORDER BY status")
    assert [tuple(r) for r in got] == [("published", 2, 5, "H44.07-261120-0001"), ("received", None, None, "")]
