"""The alerts as the web process knows them, folded from the alerts agent's topics; thread-safe.

* :class:`AlertReplica`: the alert book rebuilt from the agent's log (``{prefix}.alert.log``), in
  ``seq`` order, for ``GET /api/v1/alerts`` and the console.
* :class:`SilenceReplica`: the silences and maintenance windows, the fold of ``{prefix}.alert.silences``.
* :class:`ServiceHealth`: the newest live figures of every IT system (``{prefix}.service.figures``)
  with the age of their newest sample, for the wall's IT scene and ``GET /api/v1/services``; here
  because the alerts feed's one consumer reads that topic beside the log.

No I/O: :mod:`dashboards.console.alert_feed` feeds them. The web never changes the book itself:
an action goes to the alerts agent (the single writer) and shows up here once the agent logged it.
"""

from __future__ import annotations

import copy
import logging
import threading
from datetime import datetime
from typing import Any, Iterable

from ioc import clock
from ioc.alerts.book import AlertBook, EscalationPolicy, InhibitRule
from ioc.alerts.desk import LogEntry, decode_log_entry
from ioc.alerts.model import Action, AlertEventRejected
from ioc.alerts.silences import Silence, SilenceBook, SilenceEvent, SilenceRejected, parse_silence_event

log = logging.getLogger(__name__)

CONFIRM_WAIT_S = 5.0  # how long an operator's action (API or console) waits to be logged by the alerts agent


class AlertReplica:
    def __init__(self, escalation: EscalationPolicy = EscalationPolicy(),
                 inhibit_rules: Iterable[InhibitRule] | None = None) -> None:
        rules = tuple(inhibit_rules) if inhibit_rules is not None else None
        self.book = AlertBook(escalation, rules) if rules is not None else AlertBook(escalation)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.logged_ids: set[str] = set()
        self.gaps = 0

    def apply(self, entry: LogEntry) -> bool:
        """Apply one log entry in order; an entry seen before (redelivery) is skipped."""
        with self.changed:
            seq = entry.event.seq or 0
            if seq < len(self.book.log):
                return False
            if seq > len(self.book.log):
                self.gaps += 1  # should not happen with one writer; apply anyway, and say so
                log.warning("alert log: seq %d after %d: entries missing", seq, len(self.book.log))
            self.book.apply(entry.event)
            self.logged_ids.add(entry.event.event_id)
            self.changed.notify_all()
            return True

    def apply_raw(self, value: bytes | None) -> bool:
        try:
            return self.apply(decode_log_entry(value or b""))
        except (ValueError, AlertEventRejected) as exc:
            log.warning("alert log: unreadable entry: %s", exc)
            return False

    @property
    def length(self) -> int:
        with self.lock:
            return len(self.book.log)

    def api_view(self, state: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return self.book.api_view(state)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return self.book.snapshot()

    def groups(self, include_resolved: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            return self.book.groups(include_resolved)

    def check(self, action: Action) -> None:
        """Raise AlertRejected when the book as known here would refuse ``action``."""
        with self.lock:
            trial = copy.deepcopy(self.book)
        trial.apply(action)

    def wait_logged(self, event_id: str, timeout: float) -> bool:
        """Block until the agent has logged ``event_id`` (True) or ``timeout`` passed (False)."""
        with self.changed:
            return self.changed.wait_for(lambda: event_id in self.logged_ids, timeout)


class SilenceReplica:
    """The silences as the web knows them (the fold of the silences topic); thread-safe."""

    def __init__(self) -> None:
        self.book = SilenceBook()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)

    def apply_raw(self, value: bytes | None) -> bool:
        try:
            event = parse_silence_event(value or b"")
        except SilenceRejected as exc:
            log.warning("silences: unreadable event: %s", exc)
            return False
        with self.changed:
            applied = self.book.apply(event)
            self.changed.notify_all()
            return applied

    def check(self, event: SilenceEvent) -> None:
        with self.lock:
            self.book.check(event)

    def get(self, silence_id: str) -> Silence | None:
        with self.lock:
            return self.book.get(silence_id)

    def views(self, now: datetime, state: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/v1/silences``: not ended ones by default; ``state`` active, pending, expired or all."""
        with self.lock:
            silences = self.book.silences(now, include_expired=state in ("expired", "all"))
        views = [s.view(now) for s in silences]
        return [v for v in views if state in (None, "all") or v["state"] == state]

    def silencing(self, alert: dict[str, Any], now: datetime) -> Silence | None:
        with self.lock:
            return self.book.silencing(alert, now)

    def wait_seen(self, event_id: str, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: event_id in self.book.seen, timeout)


class ServiceHealth:
    """Newest figures per system; several workers may each report some systems."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._systems: dict[str, tuple[datetime, dict[str, Any]]] = {}

    def apply(self, payload: dict[str, Any]) -> None:
        at = datetime.fromisoformat(payload["at"])
        with self.lock:
            for sid, figures in payload.get("systems", {}).items():
                old = self._systems.get(sid)
                if old is None or old[0] <= at:
                    self._systems[sid] = (at, figures)

    def latest(self, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """``{system_id: {"figures", "at", "age_s"}}``: the age is of the newest sample behind them."""
        now = now or clock.now()  # the samples were stamped by the project clock
        with self.lock:
            items = list(self._systems.items())
        return {sid: {"figures": fig, "at": at.isoformat(), "age_s": max(0.0, (now - at).total_seconds())}
                for sid, (at, fig) in sorted(items)}
