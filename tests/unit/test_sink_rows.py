"""The sink's rows of a dossier message (ioc.warehouse.sink.dossier_rows): the stored payload is
the event as published (DossierEvent.to_json), whichever way it is encoded."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ioc.domain.events import decode_events
from ioc.warehouse.sink import dossier_rows

AT = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)


def test_the_payload_is_the_event_as_published_with_and_without_unknown_fields():
    items = [
        {"event_id": "a", "dossier_code": "H44.07-1", "status": 2, "occurred_at": "2026-01-05T08:00:00+07:00",
         "unit_code": "H44.07", "procedure_code": "1.001612", "channel": 2, "due_at": "2026-01-09T17:00:00+07:00"},
        {"event_id": "b", "dossier_code": "H44.07-2", "status": 9, "occurred_at": "2026-01-05T01:00:00Z",
         "unit_code": "H44.07", "procedure_code": "1.001612", "rating": "satisfied", "source_ref": "X-1"},
    ]
    value = json.dumps(items).encode()
    rows = dossier_rows(value, AT)
    events = decode_events(value, keep_extras=True).events
    assert [json.loads(r["payload"]) for r in rows] == [json.loads(json.dumps(e.to_json())) for e in events]
    assert json.loads(rows[1]["payload"])["source_ref"] == "X-1"  # an unknown field is kept
    assert "rating" not in json.loads(rows[0]["payload"])  # an absent field stays absent
