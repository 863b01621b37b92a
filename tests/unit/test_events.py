import pytest

from ioc.domain.events import EventRejected, Status, parse_event

GOOD = {
    "event_id": "e1", "dossier_code": "H44.07-261008-0001", "status": 2,
    "occurred_at": "2026-10-08T09:15:00+07:00", "unit_code": "H44.07", "procedure_code": "1.001612",
}


def test_valid_event_keeps_unknown_fields():
    ev = parse_event({**GOOD, "source_system": "motcua-v2"})
    assert ev.status is Status.RECEIVED
    assert ev.to_json()["source_system"] == "motcua-v2"


@pytest.mark.parametrize(
    "change, field, problem",
    [
        ({"status": 11}, "status", "Input should be"),
        ({"occurred_at": "2026-10-08T09:15:00"}, "occurred_at", "UTC offset"),
        ({"occurred_at": "yesterday"}, "occurred_at", "datetime"),
        ({"dossier_code": ""}, "dossier_code", "at least 1"),
        ({"channel": 4}, "channel", "Input should be"),
        ({"fee_amount": -1}, "fee_amount", "greater than or equal"),
        ({"legal_duration": {"value": 5, "unit": "week"}}, "legal_duration.unit", "Input should be"),
    ],
)
def test_rejection_names_field_and_problem(change, field, problem):
    with pytest.raises(EventRejected) as err:
        parse_event({**GOOD, **change})
    assert err.value.reason.startswith(f"{field}: ")
    assert problem in err.value.reason


def test_missing_field_and_non_object():
    with pytest.raises(EventRejected, match="unit_code: Field required"):
        parse_event({k: v for k, v in GOOD.items() if k != "unit_code"})
    with pytest.raises(EventRejected, match="expected a JSON object"):
        parse_event(["not", "an", "event"])
