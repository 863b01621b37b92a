"""The worker's health (ioc/health.py): a one-second Faust timer beats and records, from the
worker's own event loop, whether it is ready:

    assigned    the consumer group gave it partitions
    recovered   its tables are restored from their changelogs and no rebalance is under way
                (Faust's recovery has completed for the current assignment)

so ``/readyz`` answers 200 only once the worker is consuming with its state in place, and
``/livez`` turns 503 when the event loop stops turning (a blocked agent stalls every timer).
"""

from __future__ import annotations

from typing import Any

from ioc.health import Health

WORKER_CONDITIONS = ("assigned", "recovered")
BEAT_INTERVAL_S = 1.0


def worker_ready(app: Any) -> dict[str, bool]:
    """The readiness conditions of the Faust ``app``, read in its event loop."""
    recovery = app.tables.recovery
    return {
        "assigned": bool(app.consumer.assignment()),
        "recovered": recovery.completed.is_set() and not recovery.in_recovery and not app.rebalancing,
    }


def watch_worker(app: Any, health: Health) -> None:
    """Register the timer that keeps ``health`` current (before the worker starts)."""

    @app.timer(BEAT_INTERVAL_S)
    async def worker_health() -> None:
        health.beat()
        for condition, ok in worker_ready(app).items():
            health.set(condition, ok)
