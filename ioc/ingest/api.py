"""``POST /api/v1/dossier-events`` (contracts.md §5): source systems push dossier events.

``POST /api/v1/pakn-events`` takes petition events (contracts.md §2c) the same way: the same
tokens, body formats, answers, limits and idempotency, its own topic and recent-id memory.

Request: ``Authorization: Bearer TOKEN`` (one token per source system, configured as its
SHA-256 in ``ingest.sources``) and a body that is a JSON array of §2 events, one event
object, or JSONL (``Content-Type: application/x-ndjson``, or detected).

Answers (JSON; ``Cache-Control: no-store``):

* 202 ``{"format", "received", "accepted", "rejected", "published", "duplicates", "errors"}``:
  ``accepted`` valid events, all durable in Kafka when this is sent (``published`` of them
  sent now, ``duplicates`` not sent again because this process published the same
  ``event_id`` recently or it appears twice in the request); ``errors`` is
  ``[{"index", "reason"}]`` for every rejected item, where ``index`` is the 0-based position
  in the array (0 for a single object) or, with ``"format": "jsonl"``, the 1-based line
  number. Valid items are accepted whatever their neighbours hold.
* 400 unreadable body (not UTF-8, not JSON/JSONL, empty); 401 missing or unknown token (with
  ``WWW-Authenticate: Bearer``); 413 more than ``ingest.max_body_bytes`` bytes or
  ``ingest.max_items`` items; 503 Kafka did not acknowledge: nothing is counted as accepted,
  the source should send the same request again (a resend is idempotent).

Idempotency: ``event_id`` is the key. Each web process remembers the ids it published in a
bounded in-memory LRU (``ingest.recent_event_ids``, default 100,000) and does not publish
them again. Across processes (several web instances, a restart, an id evicted from the LRU)
a resent event may be published twice; the stream agents and the warehouse collapse
duplicates by ``event_id``, and that downstream idempotency is what makes it count once.
"""

from __future__ import annotations

import logging
from typing import Any

import flask

from ioc.config import Settings
from ioc.domain.events import parse_event
from ioc.domain.pakn import parse_pakn_event
from ioc.ingest.parsing import Parse, TooManyItems, UnreadableBody, parse_body
from ioc.ingest.publishing import EventPublisher, PublishError, RecentIds
from ioc.ingest.tokens import authenticate

log = logging.getLogger(__name__)

INGEST_PATH = "/api/v1/dossier-events"
PAKN_INGEST_PATH = "/api/v1/pakn-events"
RETRY_AFTER_S = 5


def answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> flask.Response:
    """A JSON answer of the ingest routes (dossier, petition and metrics ones), never cached."""
    response = flask.jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def unauthorized(required: str) -> flask.Response:
    return answer(401, {"error": f"a valid bearer token of {required} is required"},
                  {"WWW-Authenticate": 'Bearer realm="ioc"'})


def bounded_body(request: Any, limit: int) -> bytes | flask.Response:
    """The request's body, or the 413 answer when it is larger than ``limit`` (declared or read)."""
    if request.content_length is not None and request.content_length > limit:
        return answer(413, {"error": f"body of {request.content_length} bytes; the limit is {limit} "
                                     "(ingest.max_body_bytes): send smaller requests"})
    body: bytes = request.stream.read(limit + 1)
    if len(body) > limit:
        return answer(413, {"error": f"body larger than {limit} bytes (ingest.max_body_bytes): "
                                     "send smaller requests"})
    return body


def register_ingest_routes(server: flask.Flask, settings: Settings, publisher: EventPublisher,
                           pakn_publisher: EventPublisher | None = None) -> RecentIds:
    """Add ``POST /api/v1/dossier-events`` to ``server`` (and ``POST /api/v1/pakn-events`` when
    ``pakn_publisher`` is given); returns the process's recent-id LRU of dossier events."""
    cfg = settings.ingest
    sources = dict(cfg.sources)
    recent = RecentIds(cfg.recent_event_ids)
    if not sources:
        log.warning("ingest API: no source system is configured (ingest.sources); every request gets 401")

    def ingest_events(publisher: EventPublisher, recent: RecentIds, parse: Parse) -> flask.Response:
        request = flask.request
        source = authenticate(request.headers.get("Authorization"), sources)
        if source is None:
            return unauthorized("a source system (Authorization: Bearer TOKEN)")
        body = bounded_body(request, cfg.max_body_bytes)
        if isinstance(body, flask.Response):
            return body
        try:
            parsed = parse_body(body, request.content_type, cfg.max_items, publisher.max_message_bytes, parse)
        except UnreadableBody as exc:
            return answer(400, {"error": f"unreadable body: {exc}"})
        except TooManyItems as exc:
            return answer(413, {"error": f"{exc}: send smaller requests"})

        # First occurrence of each event_id in the request, minus those published recently.
        fresh: dict[str, dict[str, Any]] = {}
        for _, event in parsed.accepted:
            fresh.setdefault(event.event_id, event.to_json())
        for event_id in recent.seen(list(fresh)):
            del fresh[event_id]
        try:
            publisher.publish(list(fresh.values()), source=f"api:{source}")
        except PublishError as exc:
            recent.add(exc.acknowledged)  # durable: a resend need not publish them again
            log.warning("ingest from %s: %d events not accepted: %s", source, len(parsed.accepted), exc)
            return answer(503, {"error": f"events not accepted, send them again later: {exc}",
                                 "accepted": 0}, {"Retry-After": str(RETRY_AFTER_S)})
        recent.add(fresh)

        body_out = {
            "format": parsed.format,
            "received": parsed.received,
            "accepted": len(parsed.accepted),
            "rejected": len(parsed.rejected),
            "published": len(fresh),
            "duplicates": len(parsed.accepted) - len(fresh),
            "errors": [{"index": index, "reason": reason} for index, reason in parsed.rejected],
        }
        log.info("ingest from %s: %d accepted (%d published, %d duplicates), %d rejected", source,
                 body_out["accepted"], body_out["published"], body_out["duplicates"], body_out["rejected"])
        return answer(202, body_out)

    def ingest_dossier_events() -> flask.Response:
        return ingest_events(publisher, recent, parse_event)

    server.add_url_rule(INGEST_PATH, "ingest_dossier_events", ingest_dossier_events, methods=["POST"])
    if pakn_publisher is not None:
        pakn_recent = RecentIds(cfg.recent_event_ids)

        def ingest_pakn_events() -> flask.Response:
            return ingest_events(pakn_publisher, pakn_recent, parse_pakn_event)

        server.add_url_rule(PAKN_INGEST_PATH, "ingest_pakn_events", ingest_pakn_events, methods=["POST"])
    return recent
