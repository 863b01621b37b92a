"""Test data of the public-embed tests: simulated dossiers WITH personal data in their events
(applicant name, ID number, address, contents), folded into the additive per-unit tallies the
live state and the warehouse hold. The public surface must show the aggregates and none of
the personal values, dossier codes or event ids (see ``secrets_of``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ioc.clock import LOCAL_TZ
from ioc.domain.dossier import DossierState, apply_event
from ioc.domain.events import parse_event
from ioc.kpi.indicators import Tally
from ioc.kpi.live import figures_for
from ioc.sim.dossiers import DossierSimulator


@dataclass
class PublicData:
    events: list[dict[str, Any]]
    at: datetime
    per_unit: dict[str, Tally]

    def snapshot(self, partition: int = 0) -> dict[str, Any]:
        """A KPI snapshot message as the stream agents publish it."""
        return {"computed_at": self.at.isoformat(), "partition": partition, "units": self.per_unit}

    def secrets(self) -> set[str]:
        """Every value no public response may contain."""
        out: set[str] = set()
        for e in self.events:
            out |= {e["dossier_code"], e["event_id"], e["applicant_name"], e["id_number"], e["address"], e["contents"]}
        return out


def public_data(at: datetime, days: int = 10, per_day: float = 60.0, seed: int = 7) -> PublicData:
    """Dossiers received over the ``days`` before ``at``, their events up to ``at``."""
    sim = DossierSimulator(seed=seed)
    sim.backfill(at - timedelta(days=days), at, per_day)
    events = []
    for i, event in enumerate(sim.due(at)):
        # What a real source system may send along: personal data the public must never see.
        events.append({**event, "applicant_name": f"Nguyễn Thị Bích Ngọc {i:05d}",
                       "id_number": f"0011{i:08d}", "address": f"Số {i} đường Hùng Vương, phường Việt Trì",
                       "contents": f"Đơn xin cấp phép xây dựng nhà ở riêng lẻ số {i:05d}/GPXD"})
    states: dict[str, DossierState] = {}
    for raw in events:
        ev = parse_event(raw)
        states[ev.dossier_code] = apply_event(states.get(ev.dossier_code), ev)
    return PublicData(events, at, figures_for(states.values(), at))


def test_the_data_has_personal_fields_and_several_units():
    at = datetime(2026, 10, 20, 16, 0, tzinfo=LOCAL_TZ)
    data = public_data(at, days=6, per_day=30)
    assert len(data.events) > 100
    assert all(e["applicant_name"] and e["id_number"] for e in data.events)
    assert len(data.per_unit) >= 3
    assert sum(t.get("received", 0) for t in data.per_unit.values()) > 20
    assert len(data.secrets()) >= 5 * len({e["dossier_code"] for e in data.events})
