"""The service-metrics Faust agent: decodes samples, feeds the pure
:class:`~ioc.services.monitor.ServiceMonitor` and sends what it says: Signals to
``{prefix}.alerts`` keyed by fingerprint, figures to ``{prefix}.service.figures`` every second.

Metrics are keyed by system id, so every sample of a system reaches the same worker: one
worker's monitor sees whole systems, and several workers split the systems between them.
"""

from __future__ import annotations

import logging
from typing import Any

from ioc import clock
from ioc.alerts.model import Signal
from ioc.services.monitor import FIGURES_INTERVAL_S, ServiceMonitor, figures_message, signal_message
from ioc.wire import UndecodableMessage, decode_batch

log = logging.getLogger(__name__)

__all__ = ["register_service_agents", "signal_message"]


def register_service_agents(app: Any, settings: Any) -> None:
    """The Faust agent and its timer (``app``: faust.App, ``settings``: ioc.config.Settings)."""
    import faust

    from ioc.topics import Topics

    topics = Topics.from_settings(settings.kafka)
    source = app.topic(topics.service_metrics, key_serializer="raw", value_serializer="raw",
                       partitions=settings.kafka.partitions.service_metrics)
    alerts = app.topic(topics.alerts, key_serializer="raw", value_serializer="raw")
    figures_topic = app.topic(topics.service_figures, value_serializer="raw")
    names = commune_names(settings.province.code)
    monitor = ServiceMonitor(settings.services, names)

    async def send(signals: list[Signal]) -> None:
        for signal in signals:
            key, value = signal_message(signal)
            await alerts.send(key=key, value=value)

    @app.agent(source, name="service-agent")
    async def service_agent(stream: faust.StreamT) -> None:
        async for value in stream:
            try:
                items = decode_batch(value)
            except UndecodableMessage as exc:
                monitor.rejected += 1
                log.warning("service metrics: %s", exc)
                continue
            await send(monitor.observe_raw(items))

    @app.timer(FIGURES_INTERVAL_S)
    async def emit_service_figures() -> None:
        now = clock.now()
        await send(monitor.tick(now))
        if monitor.last is not None:
            await figures_topic.send(value=figures_message(monitor.figures(now)))


def commune_names(province_code: str) -> dict[str, str]:
    """Commune code -> name for alert summaries; codes alone when the reference data lacks them."""
    try:
        from datetime import date

        from ioc.reference.units import communes

        return {c.code: c.name for c in communes(province_code, date(2025, 7, 1))}
    except Exception:  # names are cosmetic; never stop the agent for them
        return {}
