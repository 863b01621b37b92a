"""Validating ``POST /api/v1/metrics`` bodies (ioc/services/push.py): per-item errors naming the
field, a source speaking only for its systems, the dossier API's body shapes and limits."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ioc.ingest.parsing import TooManyItems, UnreadableBody
from ioc.services.push import parse_push
from ioc.services.settings import ServicesSettings

NOW = datetime(2026, 3, 10, 2, 30, tzinfo=timezone.utc)
SETTINGS = ServicesSettings.model_validate({"systems": {"email": {"name_vi": "Thư", "name_en": "Mail"}}})
CATALOGUE = SETTINGS.catalogue()


def push(items, allowed=("email",), content_type="application/json", max_items=None):
    body = items if isinstance(items, bytes) else json.dumps(items).encode()
    return parse_push(body, content_type, frozenset(allowed), CATALOGUE, NOW, max_items)


def test_valid_samples_with_and_without_time():
    parsed, samples = push([{"system": "email", "metric": "up", "value": 0},
                            {"system": "email", "metric": "mails_sent_total", "value": 12,
                             "time": "2026-03-10T09:29:50+07:00", "labels": {"server": "mx1"}}])
    assert parsed.format == "json" and parsed.received == 2 and parsed.rejected == []
    assert [s.metric for s in samples] == ["up", "mails_sent_total"]
    assert samples[0].time == NOW  # no time: when it arrived, as a scrape
    assert samples[1].time == datetime(2026, 3, 10, 2, 29, 50, tzinfo=timezone.utc)
    assert samples[1].labels == {"server": "mx1"}


def test_each_bad_item_is_named_and_never_hides_its_neighbours():
    parsed, samples = push([
        {"system": "email", "metric": "up", "value": 1},
        {"system": "portal", "metric": "up", "value": 1},                      # not this source's
        {"system": "mail", "metric": "up", "value": 1},                        # unknown
        {"system": "email", "metric": "up", "value": "many"},                  # not a number
        {"system": "email", "metric": "up", "value": 1, "time": "yesterday"},  # not ISO-8601
        {"system": "email", "metric": "up", "value": 1, "time": "2026-03-10T09:00:00"},  # no offset
        {"system": "email", "value": 1},                                       # no metric
        {"system": "email", "metric": "up", "value": 1, "colour": "red"},      # unknown field
        ["not", "an", "object"],
    ])
    assert len(samples) == 1
    reasons = dict(parsed.rejected)
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert reasons[1].startswith("system: this source may report for email only, not 'portal'")
    assert reasons[2].startswith("system: unknown system 'mail'; valid systems: portal,") and "email" in reasons[2]
    assert reasons[3].startswith("value: ")
    assert reasons[4].startswith("time: ") and reasons[5].startswith("time: must be ISO-8601 with a UTC offset")
    assert reasons[6] == "metric: Field required"
    assert reasons[7].startswith("colour: ")
    assert reasons[8] == "metric: expected a JSON object, got list"


def test_jsonl_lines_and_limits():
    body = b'{"system": "email", "metric": "up", "value": 1}\n{"system": "email"\n'
    parsed, samples = push(body, content_type="application/x-ndjson")
    assert parsed.format == "jsonl" and len(samples) == 1 and parsed.rejected[0][0] == 2
    with pytest.raises(UnreadableBody):
        push(b"", content_type="application/json")
    with pytest.raises(TooManyItems):
        push([{"system": "email", "metric": "up", "value": 1}] * 3, max_items=2)
