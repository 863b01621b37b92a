import pytest

from ioc.wire import UndecodableMessage, decode_batch, encode_batch, partition_for


def test_batch_round_trip_and_single_object():
    events = [{"a": 1}, {"b": "Hồ sơ"}]
    assert decode_batch(encode_batch(events)) == events
    assert decode_batch(b'{"a": 1}') == [{"a": 1}]


@pytest.mark.parametrize("value", [None, b"\xff\xfe", b"{not json", b"42"])
def test_undecodable(value):
    with pytest.raises(UndecodableMessage):
        decode_batch(value)


def test_partition_matches_kafka_default_partitioner():
    # Values of Kafka's Java DefaultPartitioner (murmur2, positive, modulo) for these keys,
    # as computed by kafka-python's reference murmur2 and checked by hand once here:
    from kafka.partitioner.default import murmur2

    for key in ("H44.07-261008-0001", "a", "dossier-42"):
        expected = (murmur2(key.encode()) & 0x7FFFFFFF) % 12
        assert partition_for(key, 12) == expected
    assert len({partition_for(f"d{i}", 4) for i in range(100)}) == 4


def test_encoding_is_the_standard_librarys_compact_json():
    """msgspec encodes (fast); what it gives is the JSON json.dumps(ensure_ascii=False, compact)
    gave (the same values: strings byte for byte, floats maybe shorter: 1.5e16 for 1.5e+16), and a
    non-finite float is still written as the library wrote it."""
    import json
    import math

    events = [{"event_id": "e1", "dossier_code": "H44.101-Đ", "status": 2, "note": "Hồ sơ \"gấp\"\n\t\x01\\ \u2028",
               "fee_amount": 1.5e16, "digitized": True, "legal_duration": {"value": 5, "unit": "day"}, "list": [1, 2.25]}]
    std = json.dumps(events, ensure_ascii=False, separators=(",", ":")).encode()
    assert json.loads(encode_batch(events)) == json.loads(std)
    assert encode_batch(events).replace(b"e16", b"e+16") == std
    assert encode_batch(events[:1][0:1]) == encode_batch(iter(events))
    assert encode_batch([{"a": None}]) == b'[{"a":null}]'
    inf = encode_batch([{"fee_amount": math.inf}])
    assert inf == b'[{"fee_amount":Infinity}]'  # not null: the value is not silently lost
