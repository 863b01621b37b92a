"""Kafka wiring: the embedded broker, topic administration and batched publishing."""
