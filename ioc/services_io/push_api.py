"""``POST /api/v1/metrics``: source systems push their figures, beside Prometheus scraping.

As the dossier ingest API (ioc/ingest/api.py, the same answers and limits): ``Authorization:
Bearer TOKEN``, one token per source, its SHA-256 in ``services.push.NAME.token_sha256``; a
body of samples (:mod:`ioc.services.push`). Answers (JSON, ``Cache-Control: no-store``):

* 202 ``{"format", "received", "accepted", "rejected", "published", "errors"}`` once Kafka
  has acknowledged the accepted samples (on ``{prefix}.service.metrics``, keyed by system,
  where the service agent reads scraped and simulated ones); ``errors`` is ``[{"index",
  "reason"}]`` per rejected item (0-based array position, or 1-based JSONL line);
* 400 unreadable body; 401 missing or unknown token; 413 more than ``ingest.max_body_bytes``
  or ``ingest.max_items``; 503 Kafka did not acknowledge (send again: samples are
  idempotent for the figures, a counter's value is cumulative).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import flask

from ioc import clock
from ioc.ingest.api import RETRY_AFTER_S, answer, bounded_body, unauthorized
from ioc.ingest.parsing import TooManyItems, UnreadableBody
from ioc.ingest.publishing import KafkaEventPublisher, Message, PublishError
from ioc.ingest.tokens import authenticate
from ioc.services.model import ServiceMetric
from ioc.services.push import parse_push
from ioc.services.settings import ServicesSettings
from ioc.wire import encode_batch, partition_for

log = logging.getLogger(__name__)

METRICS_PATH = "/api/v1/metrics"


class MetricPublisher(KafkaEventPublisher):
    """Samples to the service-metrics topic: one message per system (the key the service agent
    partitions by, as the simulator and the scraper publish), acknowledged before it returns."""

    def publish_samples(self, samples: Sequence[ServiceMetric], source: str | None = None) -> int:
        if not samples:
            return 0
        by_system: dict[str, list[dict[str, Any]]] = {}
        for s in samples:
            by_system.setdefault(s.system, []).append(s.to_wire())

        def plan(partitions: int) -> list[Message]:
            return [Message(partition_for(system, partitions), system, encode_batch(items[i:i + self.max_events]), ())
                    for system, items in by_system.items() for i in range(0, len(items), self.max_events)]

        self.send_planned(plan, source, what="samples")
        return len(samples)


def register_metrics_route(server: flask.Flask, services: ServicesSettings, publisher: MetricPublisher,
                           max_body_bytes: int, max_items: int) -> None:
    tokens = {name: p.token_sha256 for name, p in services.push.items()}
    allowed = {name: frozenset(p.systems) for name, p in services.push.items()}
    catalogue = services.catalogue()

    def push_metrics() -> flask.Response:
        request = flask.request
        source = authenticate(request.headers.get("Authorization"), tokens)
        if source is None:
            return unauthorized("a metrics source (Authorization: Bearer TOKEN; services.push)")
        body = bounded_body(request, max_body_bytes)
        if isinstance(body, flask.Response):
            return body
        try:
            parsed, samples = parse_push(body, request.content_type, allowed[source], catalogue, clock.now(),
                                         max_items)
        except UnreadableBody as exc:
            return answer(400, {"error": f"unreadable body: {exc}"})
        except TooManyItems as exc:
            return answer(413, {"error": f"{exc}: send smaller requests"})
        try:
            publisher.publish_samples(samples, source=f"push:{source}")
        except PublishError as exc:
            log.warning("metrics from %s: %d samples not accepted: %s", source, len(samples), exc)
            return answer(503, {"error": f"samples not accepted, send them again later: {exc}", "accepted": 0},
                           {"Retry-After": str(RETRY_AFTER_S)})
        errors = [{"index": index, "reason": reason} for index, reason in parsed.rejected]
        log.info("metrics from %s: %d accepted, %d rejected", source, len(samples), len(errors))
        return answer(202, {"format": parsed.format, "received": parsed.received, "accepted": len(samples),
                             "rejected": len(errors), "published": len(samples), "errors": errors})

    server.add_url_rule(METRICS_PATH, "push_metrics", push_metrics, methods=["POST"])
