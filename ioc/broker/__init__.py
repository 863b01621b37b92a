"""Kafka wiring: the embedded broker, topic administration, the one consumer loop (consumer), the
one read-to-the-end (read_to_end), the one producer (producer) and batched publishing (publisher)."""
