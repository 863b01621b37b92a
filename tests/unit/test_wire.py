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
