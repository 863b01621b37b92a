"""Validating what a source pushes to ``POST /api/v1/metrics``, without the network.

The body has the dossier ingest API's shapes (a JSON array, one object, or JSONL; see
:mod:`ioc.ingest.parsing`), each item one sample in the readable shape of
:class:`~ioc.services.model.ServiceMetric` (``system``, ``metric``, ``value``, optional
``unit``, ``labels`` and ``time``; ``time`` defaults to when the request arrived, as a scrape
does). An item is also rejected when its system is unknown, or is not one its source may
report for (``services.push.NAME.systems``): a source cannot speak for another system.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Collection, cast

from ioc.domain.events import EventRejected
from ioc.ingest.parsing import ParsedBody, parse_body
from ioc.services.catalogue import Catalogue
from ioc.services.model import MetricRejected, ServiceMetric, parse_metric


def metric_parser(allowed: Collection[str], catalogue: Catalogue, now: datetime) -> Any:
    """One raw item -> a sample of a system the source may report for, or EventRejected naming the field."""
    def parse(raw: Any) -> ServiceMetric:
        if isinstance(raw, dict) and "time" not in raw:
            raw = {**raw, "time": now.isoformat()}
        try:
            sample = parse_metric(raw)
        except MetricRejected as exc:
            raise EventRejected(exc.reason) from None
        if sample.system not in catalogue:
            raise EventRejected(f"system: unknown system {sample.system!r}; valid systems: {', '.join(catalogue)}")
        if sample.system not in allowed:
            raise EventRejected(f"system: this source may report for {', '.join(sorted(allowed))} only, "
                                f"not {sample.system!r} (services.push)")
        return sample

    return parse


def parse_push(body: bytes, content_type: str | None, allowed: Collection[str], catalogue: Catalogue,
               now: datetime, max_items: int | None = None) -> tuple[ParsedBody, list[ServiceMetric]]:
    """Every item checked (a bad one never hides its neighbours); the valid samples in order.
    Raises :class:`~ioc.ingest.parsing.UnreadableBody` / :class:`~ioc.ingest.parsing.TooManyItems`."""
    parsed = parse_body(body, content_type, max_items, None, metric_parser(allowed, catalogue, now))
    return parsed, [cast(ServiceMetric, sample) for _, sample in parsed.accepted]
