"""Prometheus text exposition -> service-metric samples.

The parsing is ``prometheus_client``'s own; this module only maps exposed sample names to
our metric ids. Sample names are matched as exposed (a counter ``x`` is exposed as
``x_total``, a histogram as ``x_bucket``/``x_sum``/``x_count``). A scrape that answers yields
``up`` = 1 and one that fails ``up`` = 0 (:func:`up_sample`), as Prometheus does itself.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Mapping

from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ConfigDict, Field

from ioc.services.model import NAME_PATTERN, ServiceMetric


class MetricMapping(BaseModel):
    """Where one exposed sample name goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str = Field(pattern=NAME_PATTERN, description="our metric id")
    scale: float = Field(1.0, description="multiply the value (e.g. 0.001 for milliseconds -> seconds)")
    unit_label: str | None = Field(None, description="label whose value becomes the sample's unit (a commune code)")
    keep_labels: tuple[str, ...] | None = Field(None, description="labels to keep; empty keeps all")


MetricMap = Mapping[str, MetricMapping]


class ExpositionRejected(ValueError):
    pass


def parse_exposition(text: str, system: str, now: datetime,
                     mapping: MetricMap | None = None) -> list[ServiceMetric]:
    """Samples of one scrape. With a mapping only mapped names are kept, renamed; without one
    every sample keeps its exposed name. Non-finite values (a gauge with no data) are skipped."""
    if now.tzinfo is None:
        raise ValueError("now: must be a timezone-aware datetime")
    out: list[ServiceMetric] = []
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError and friends with the bad line
        raise ExpositionRejected(f"not Prometheus text exposition: {exc}") from None
    for family in families:
        for sample in family.samples:
            rule = mapping.get(sample.name) if mapping is not None else MetricMapping(metric=sample.name)
            if rule is None or not math.isfinite(sample.value):
                continue
            labels = dict(sample.labels)
            unit = labels.pop(rule.unit_label, None) if rule.unit_label else None
            if rule.keep_labels:
                labels = {k: v for k, v in labels.items() if k in rule.keep_labels}
            at = (datetime.fromtimestamp(float(sample.timestamp), tz=timezone.utc)
                  if sample.timestamp is not None else now)
            out.append(ServiceMetric(system=system, metric=rule.metric, unit=unit or None, labels=labels,
                                     value=sample.value * rule.scale, time=at))
    return out


def up_sample(system: str, ok: bool, now: datetime) -> ServiceMetric:
    """The synthetic ``up`` of a scrape: 1 when the target answered with valid text, else 0."""
    return ServiceMetric(system=system, metric="up", value=1.0 if ok else 0.0, time=now)
