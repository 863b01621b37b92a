"""The service centre's queue for the wall: the cameras' queue zones joined with the dossier intake.

A queue camera reports, per queue zone, its length and an estimated wait (the length over the
counters' reception rate, which camera/service_rate.py takes from the dossier stream); its
other zones are the counters (a counter with someone at it is open). :class:`QueueCameraState`
keeps those per camera beside what :class:`~dashboards.wall.camera_state.CameraState` keeps;
:func:`service_queue` sums them for the wall, with the unit's dossiers received today.
"""

from __future__ import annotations

from typing import Any, Mapping

from dashboards.wall.camera_state import CameraState


class QueueCameraState(CameraState):
    """The camera state the web reads, plus each camera's newest queues and zone counts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queues: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def apply_record(self, record: dict[str, Any]) -> None:
        super().apply_record(record)
        if record.get("event") is None and isinstance(record.get("queues"), dict) and record["queues"]:
            with self._lock:
                self._queues[str(record["camera"])] = (dict(record["queues"]), dict(record.get("zones") or {}))

    def tiles(self) -> list[dict[str, Any]]:
        tiles = super().tiles()
        with self._lock:
            for tile in tiles:
                queues, zones = self._queues.get(tile["camera_id"], ({}, {}))
                if queues and not tile["stale"]:
                    tile["queues"], tile["zones"] = queues, zones
        return tiles


def service_queue(cameras: list[dict[str, Any]], units: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """Waiting, estimated wait (the longest), counters open of total and dossiers received today
    at the units the queue cameras watch; None without a live queue camera."""
    waiting, waits, open_, counters, received = 0, [], 0, 0, 0
    watched: set[str] = set()
    seen = False
    for cam in cameras:
        queues = cam.get("queues")
        if not isinstance(queues, dict) or not queues:
            continue
        seen = True
        for q in queues.values():
            if isinstance(q, dict):
                waiting += int(q.get("length") or 0)
                if isinstance(q.get("wait_s"), (int, float)):
                    waits.append(float(q["wait_s"]))
        for name, people in (cam.get("zones") or {}).items():
            if name not in queues:
                counters += 1
                open_ += isinstance(people, (int, float)) and people >= 1
        unit = cam.get("unit")
        if isinstance(unit, str) and unit not in watched:
            watched.add(unit)
            received += int(units.get(unit, {}).get("received_today") or 0)
    if not seen:
        return None
    return {"waiting": waiting, "wait_s": max(waits) if waits else None, "counters_open": open_,
            "counters_total": counters, "received_today": received if watched else None}
