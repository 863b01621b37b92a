"""One service-metric sample: what every monitored system reports, scraped or pushed.

``unit`` is the administrative unit the sample concerns (a commune's GSO code for a WAN link,
``None`` for a system-wide figure), the same meaning as an alert's unit, so a commune's
link-down alert can mute that commune's other alerts. Measurement units (seconds, requests)
belong to the metric and are listed in :mod:`ioc.services.catalogue`.

Two JSON shapes: the readable one sources push (:func:`parse_metric`) and a compact one for
our own topic (:meth:`ServiceMetric.to_wire` / :func:`from_wire`).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$"
# Compact wire keys -> model fields.
WIRE_KEYS = {"s": "system", "m": "metric", "u": "unit", "l": "labels", "v": "value", "t": "time"}


class ServiceMetric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    system: str = Field(pattern=NAME_PATTERN)
    metric: str = Field(pattern=NAME_PATTERN)
    unit: str | None = Field(None, min_length=1, max_length=100)
    labels: dict[str, str] = Field(default_factory=dict)
    value: float
    time: datetime

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("time")
    @classmethod
    def _aware_utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("must be ISO-8601 with a UTC offset, e.g. 2026-10-08T09:15:00+07:00")
        return v.astimezone(timezone.utc)

    @field_validator("labels")
    @classmethod
    def _label_names(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not key or len(key) > 100:
                raise ValueError(f"label name {key!r} must have 1 to 100 characters")
        return v

    def label(self, name: str, default: str = "") -> str:
        return self.labels.get(name, default)

    def to_json(self) -> dict[str, Any]:
        """The readable shape (the one sources push)."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_wire(self) -> dict[str, Any]:
        """The compact shape for our topic: short keys, time in epoch milliseconds."""
        out: dict[str, Any] = {"s": self.system, "m": self.metric, "v": self.value,
                               "t": round(self.time.timestamp() * 1000)}
        if self.unit is not None:
            out["u"] = self.unit
        if self.labels:
            out["l"] = dict(self.labels)
        return out


class MetricRejected(ValueError):
    """A malformed sample; ``reason`` names the field and the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _validate(data: dict[str, Any]) -> ServiceMetric:
    try:
        return ServiceMetric.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"]) or "metric"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{field}: {msg}")
        raise MetricRejected("; ".join(problems)) from None


def parse_metric(raw: Any) -> ServiceMetric:
    """Validate one pushed JSON value (readable shape) or raise :class:`MetricRejected`."""
    if not isinstance(raw, dict):
        raise MetricRejected(f"metric: expected a JSON object, got {type(raw).__name__}")
    return _validate(raw)


def from_wire(raw: Any) -> ServiceMetric:
    """Decode the compact shape of :meth:`ServiceMetric.to_wire`; errors use the full field names."""
    if not isinstance(raw, dict):
        raise MetricRejected(f"metric: expected a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(WIRE_KEYS))
    if unknown:
        raise MetricRejected(f"{unknown[0]}: unknown key (expected one of {', '.join(WIRE_KEYS)})")
    data = {WIRE_KEYS[k]: v for k, v in raw.items()}
    t = data.get("time")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        data["time"] = datetime.fromtimestamp(t / 1000, tz=timezone.utc)
    elif "time" in data:
        raise MetricRejected("time: expected epoch milliseconds as a number")
    return _validate(data)


class CounterDeltas:
    """Increments of cumulative counters between samples of the same series.

    The first sample of a series is its baseline (increment 0, as Prometheus' ``increase``);
    a value lower than the previous one means the exporter restarted, so the increment is the
    new value itself.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str | None, tuple[tuple[str, str], ...]], float] = {}

    def delta(self, sample: ServiceMetric) -> float:
        key = (sample.system, sample.metric, sample.unit, tuple(sorted(sample.labels.items())))
        previous = self._last.get(key)
        self._last[key] = sample.value
        if previous is None:
            return 0.0
        return sample.value - previous if sample.value >= previous else sample.value
