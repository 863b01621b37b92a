"""The cameras `ioc up` runs when no camera file is configured: a wall with a camera grid on a
laptop. Real footage (vtest.avi, looped at its own pace) when it can be found, and synthetic
scenes whose injected faults repeat, so health alerts rise and clear every few minutes.
"""

from __future__ import annotations

from pathlib import Path

from camera.config import CameraConfig

REPO_ROOT = Path(__file__).resolve().parents[1]

# A queue in front of the reception counters: the lower half of the synthetic hall.
_QUEUE_ZONE = {"coordinates": [(0.05, 0.55), (0.95, 0.55), (0.95, 0.98), (0.05, 0.98)], "queue": True,
               "service_rate_per_min": 1.5}


# The reception counters above it: a counter with someone at it is open (the IT scene's queue card).
_COUNTERS = {f"quay-{i + 1}": {"coordinates": [(0.05 + 0.3 * i, 0.1), (0.3 + 0.3 * i, 0.1), (0.3 + 0.3 * i, 0.5),
                                               (0.05 + 0.3 * i, 0.5)]} for i in range(3)}


def find_footage(path: Path | str) -> Path | None:
    """``path`` as given (absolute), or relative to the working directory, then to the
    repository root (``../shared/data/vtest.avi`` from either); None when it is nowhere."""
    p = Path(path)
    candidates = [p] if p.is_absolute() else [Path.cwd() / p, REPO_ROOT / p]
    return next((c.resolve() for c in candidates if c.is_file()), None)


def _synthetic(seed: int, people: int, faults: str = "", repeat: int = 0) -> str:
    url = f"synthetic:?people={people}&fps=5&size=640x360&seconds=0&seed={seed}&realtime=1"
    if faults:
        url += f"&fault={faults}&repeat={repeat}"
    return url


def demo_cameras(footage: Path | None, counter_unit: str | None = None) -> dict[str, CameraConfig]:
    """The demo set: ids -> configs (all live: real time, never ending). ``counter_unit``: the
    agency whose reception counter the queue camera watches (its waits then use that agency's
    reception rate from the dossier stream)."""
    cameras: dict[str, CameraConfig] = {}
    if footage is not None:
        cameras["vtest"] = CameraConfig(source=str(footage), name="Ngã tư khuôn viên (vtest.avi)",
                                        realtime=True, loop=True, fps=5)
    else:
        cameras["nga-tu"] = CameraConfig(source=_synthetic(seed=5, people=7), name="Ngã tư trung tâm (mô phỏng)")
    cameras["tiep-nhan"] = CameraConfig(
        source=_synthetic(seed=3, people=6), name="Bộ phận Một cửa — quầy tiếp nhận (mô phỏng)",
        zones={"hang-cho": _QUEUE_ZONE, **_COUNTERS}, unit=counter_unit,
    )
    # Faults replayed every few minutes: each raises its alert after its debounce time and clears.
    cameras["cong-tru-so"] = CameraConfig(
        source=_synthetic(seed=7, people=3, faults="frozen@40-70,dark@110-140,covered@180-215,offline@250-285",
                          repeat=330),
        name="Cổng trụ sở (mô phỏng, có sự cố)",
    )
    cameras["bai-xe"] = CameraConfig(
        source=_synthetic(seed=11, people=2, faults="blurred@60-100,bright@150-180", repeat=240),
        name="Bãi đỗ xe (mô phỏng, có sự cố)",
    )
    return cameras
