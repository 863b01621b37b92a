"""Camera health as alerts of the common model (:mod:`ioc.alerts.model`): pure, no I/O.

Each unhealthy state is its own condition (label ``condition``), so its own fingerprint:
"frozen" then "dark" on one camera are two alerts, and the operator sees which one cleared.
The worker reports one state at a time (``camera.health.PRIORITY``), so a change from one
bad state to another clears the first and raises the second.

A camera process that restarts has forgotten what it raised: :func:`startup_clears` clears
every condition of a camera when it starts (the alert book ignores a clear with nothing open),
and a condition still present is raised again after its debounce time.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

from camera.config import CameraConfig
from camera.health import Health
from ioc.alerts.model import MAX_FRAME_B64, AlertKind, Frame, Severity, Signal

FRAME_MAX_AGE_S = 300.0  # an older picture says nothing about the condition raised now

SOURCE = "camera"
CONDITIONS: tuple[Health, ...] = tuple(h for h in Health if h is not Health.OK)

# A camera that shows nothing usable (offline, covered or turned away) is critical; a picture
# that is still there but degraded is a warning.
SEVERITY: dict[Health, Severity] = {
    Health.OFFLINE: "critical", Health.TAMPERED: "critical", Health.FROZEN: "warning",
    Health.DARK: "warning", Health.BRIGHT: "warning", Health.BLURRED: "warning",
}

# Vietnamese first (the operators' language), English after the slash.
PROBLEM: dict[Health, str] = {
    Health.OFFLINE: "mất kết nối, không nhận được hình ảnh / offline",
    Health.FROZEN: "hình ảnh bị đứng (đóng băng) / frozen picture",
    Health.DARK: "hình ảnh quá tối / too dark",
    Health.BRIGHT: "hình ảnh quá sáng, bị chói / washed out",
    Health.BLURRED: "hình ảnh bị mờ, mất nét / blurred",
    Health.TAMPERED: "ống kính bị che hoặc camera bị xoay lệch góc / covered or moved",
}


def _signal(op: str, camera_id: str, config: CameraConfig, condition: Health, at: datetime) -> Signal:
    label = config.name or camera_id
    if op == "raise":
        summary = f"Camera {label}: {PROBLEM[condition]}"
    else:
        summary = f"Camera {label}: đã hết sự cố ({PROBLEM[condition]})"
    return Signal(op=op, source=SOURCE, system=camera_id, kind=AlertKind.CAMERA_HEALTH, unit=config.unit,
                  severity=SEVERITY[condition], summary=summary, labels={"condition": condition.value}, at=at)


def health_signals(camera_id: str, config: CameraConfig, old: Health | str, new: Health | str,
                   at: datetime) -> list[Signal]:
    """The signals of one health change: clear what was wrong, raise what is wrong now."""
    old, new = Health(old), Health(new)
    if old is new:
        return []
    out = []
    if old is not Health.OK:
        out.append(_signal("clear", camera_id, config, old, at))
    if new is not Health.OK:
        out.append(_signal("raise", camera_id, config, new, at))
    return out


def startup_clears(camera_id: str, config: CameraConfig, at: datetime) -> list[Signal]:
    """Clears of every condition of a camera that (re)starts healthy until proven otherwise."""
    return [_signal("clear", camera_id, config, condition, at) for condition in CONDITIONS]


def with_frame(signal: Signal, image: Any, ts: float, width: int, quality: int) -> Signal:
    """The raise with the camera's newest picture (a JPEG like its thumbnails) attached, when
    that picture is recent and small enough; otherwise the raise as it was."""
    from camera.publish import encode_thumbnail

    captured = datetime.fromtimestamp(ts, timezone.utc)
    if abs((signal.at - captured).total_seconds()) > FRAME_MAX_AGE_S:
        return signal
    data = base64.b64encode(encode_thumbnail(image, width, quality)).decode("ascii")
    if len(data) > MAX_FRAME_B64:
        return signal
    return signal.model_copy(update={"frame": Frame(jpeg_base64=data, captured_at=captured)})
