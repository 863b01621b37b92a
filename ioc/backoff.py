"""The one retry policy: delays that double from ``initial`` up to ``maximum``, back to
``initial`` after a success. Kafka readers reconnecting, the warehouse sink retrying an
insert, a camera reopening its stream and the admin client waiting for the broker all use it,
so "how long until the next try" is said once."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial: float = 1.0
    maximum: float = 1.0
    factor: float = 2.0
    _next: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._next = self.initial

    def next(self) -> float:
        """The delay before the next try (each call doubles the following one, up to ``maximum``)."""
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        """After a success: the next failure waits ``initial`` again."""
        self._next = self.initial
