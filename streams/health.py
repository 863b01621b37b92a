"""The worker's health (ioc/health.py), kept by a small service that the Faust worker starts
before the app (``faust.Worker(app, WorkerHealth(app, health))``): every second, in the worker's
own event loop, it beats and records whether the worker is ready:

    assigned    the consumer group gave it partitions
    recovered   its tables are restored from their changelogs and no rebalance is under way
                (Faust's recovery has completed for the current assignment)

so ``/readyz`` answers 200 only once the worker is consuming with its state in place, and
``/livez`` turns 503 when the event loop stops turning (a blocked agent stalls it). Not a Faust
timer: the app starts those only after the first recovery, and a worker restoring a large
changelog is alive, not hung.
"""

from __future__ import annotations

from typing import Any

import mode

from ioc.health import Health

WORKER_CONDITIONS = ("assigned", "recovered")
BEAT_INTERVAL_S = 1.0


def worker_ready(app: Any) -> dict[str, bool]:
    """The readiness conditions of the Faust ``app``, read in its event loop."""
    recovery = app.tables.recovery
    recovered = recovery.completed.is_set() and not recovery.in_recovery and not app.rebalancing
    # The consumer exists once the first recovery has completed; not created early from here.
    assigned = recovery.completed.is_set() and bool(app.consumer.assignment())
    return {"assigned": assigned, "recovered": recovered}


class WorkerHealth(mode.Service):
    """Beats ``health`` and updates its conditions every second, from the worker's start."""

    def __init__(self, app: Any, health: Health, **kwargs: Any) -> None:
        self.app = app
        self.health = health
        super().__init__(**kwargs)

    @mode.Service.timer(BEAT_INTERVAL_S)
    async def _beat(self) -> None:
        self.health.beat()
        for condition, ok in worker_ready(self.app).items():
            self.health.set(condition, ok)

    async def on_start(self) -> None:
        self.health.beat()
