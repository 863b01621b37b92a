"""The service monitor: SLO burn rates, hard downs, WAN links, SOC bursts and incidents, and
live figures per system, over one stream of samples.

Pure (no I/O, no clock): feed it decoded samples and ticks, it returns alert
:class:`~ioc.alerts.model.Signal` events and the figures of every system it has seen. The
Faust agent (streams/services.py) only decodes, feeds and sends; the web reads the same
message shapes (:func:`signal_message`, :func:`figures_message`).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, Iterable, Mapping

from ioc.alerts.model import Signal
from ioc.services.figures import FigureBoard
from ioc.services.model import MetricRejected, ServiceMetric, from_wire
from ioc.services.rules import DownWatch, LinkWatch, SocIncidentWatch, SocWatch
from ioc.services.settings import ServicesSettings
from ioc.services.slo import SloWatch

log = logging.getLogger(__name__)

FIGURES_INTERVAL_S = 1.0
FIGURES_WINDOW_S = 300.0


class ServiceMonitor:
    """SloWatch + DownWatch + LinkWatch + SocWatch + SocIncidentWatch + FigureBoard over one
    stream of samples.

    Time is the samples' own (event time), never decreasing: a sample older than what was
    already evaluated is counted at the latest time seen, because the burn-rate windows only
    move forward.
    """

    def __init__(self, settings: ServicesSettings, commune_names: Mapping[str, str] | None = None,
                 figures_window_s: float = FIGURES_WINDOW_S) -> None:
        self.catalogue = settings.catalogue()
        self.slo = SloWatch.from_settings(settings)
        names = {sid: spec.name_vi for sid, spec in self.catalogue.items()}
        self.down = DownWatch(settings.down_for_s, names)
        self.links = LinkWatch(commune_names=commune_names)
        self.soc = SocWatch()
        self.soc_incidents = SocIncidentWatch(asset_names=names)
        self.board = FigureBoard(window_s=figures_window_s, systems=self.catalogue)
        self.last: datetime | None = None
        self.rejected = 0

    def _clock(self, at: datetime) -> datetime:
        if self.last is None or at > self.last:
            self.last = at
        return self.last

    def observe(self, samples: Iterable[ServiceMetric]) -> list[Signal]:
        """Samples of any systems; each distinct sample time is one tick of the watches."""
        ticks: dict[datetime, list[ServiceMetric]] = {}
        for s in samples:
            ticks.setdefault(s.time, []).append(s)
        signals: list[Signal] = []
        for at in sorted(ticks):
            now = self._clock(at)
            group = ticks[at]
            self.board.observe(group)
            signals += self.down.observe(group, now)
            signals += self.slo.observe(group, now)
            signals += self.links.observe(group, now)
            signals += self.soc.observe(group, now)
            signals += self.soc_incidents.observe(group, now)
        return signals

    def observe_raw(self, items: Iterable[Any]) -> list[Signal]:
        """Compact wire items (:meth:`ServiceMetric.to_wire`); malformed ones are counted and skipped."""
        samples = []
        for item in items:
            try:
                samples.append(from_wire(item))
            except MetricRejected as exc:
                self.rejected += 1
                log.warning("service metrics: rejected a sample: %s", exc.reason)
        return self.observe(samples)

    def tick(self, now: datetime) -> list[Signal]:
        """Evaluate with no new samples: a system that went silent still clears or raises."""
        if self.last is None or now <= self.last:
            return []
        now = self._clock(now)
        return (self.down.observe([], now) + self.slo.observe([], now) + self.links.observe([], now)
                + self.soc.observe([], now) + self.soc_incidents.observe([], now))

    def figures(self, now: datetime) -> dict[str, Any]:
        """Figures per system plus the burn rates of its SLOs (JSON-ready)."""
        at = max(now, self.last) if self.last else now
        out = self.board.figures(at)
        burn = self.slo.burn_rates(at)
        for sid, fig in out["systems"].items():
            fig["burn_rates"] = burn.get(sid, {})
        return out


def signal_message(signal: Signal) -> tuple[bytes, bytes]:
    """(key, value) of a Signal on the alerts topic: keyed by its fingerprint."""
    return signal.fingerprint.encode(), json.dumps(signal.to_json(), ensure_ascii=False).encode()


def figures_message(figures: dict[str, Any]) -> bytes:
    return json.dumps(figures, ensure_ascii=False, separators=(",", ":")).encode()
