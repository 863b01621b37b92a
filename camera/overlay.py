"""The annotated live view: a thumbnail with what the analysis saw drawn over it.

Pure (bytes in, bytes out): the camera worker sends the overlay with each thumbnail (moving
objects' boxes, zones, counting lines, health, people; normalised coordinates), and the web
process draws it only when someone looks, so stored thumbnails stay plain pictures.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# BGR. Healthy green, the problems in amber, the blind ones red (as their alert severities).
HEALTH_COLOURS: dict[str, tuple[int, int, int]] = {
    "ok": (80, 200, 80), "frozen": (0, 190, 255), "dark": (0, 190, 255), "bright": (0, 190, 255),
    "blurred": (0, 190, 255), "offline": (60, 60, 230), "tampered": (60, 60, 230),
}
# Drawn with OpenCV's Hershey font, which has no Vietnamese diacritics: ASCII labels.
HEALTH_LABELS: dict[str, str] = {
    "ok": "OK", "offline": "MAT KET NOI / OFFLINE", "frozen": "DONG BANG / FROZEN", "dark": "QUA TOI / DARK",
    "bright": "QUA SANG / BRIGHT", "blurred": "MO / BLURRED", "tampered": "BI CHE, LECH / TAMPERED",
}
BOX = (0, 255, 255)
ZONE = (255, 160, 0)
LINE = (255, 0, 255)


def _points(coords: Any, w: int, h: int) -> np.ndarray:
    return np.array([[round(float(x) * (w - 1)), round(float(y) * (h - 1))] for x, y in coords], np.int32)


def annotate(jpeg: bytes, overlay: dict[str, Any], quality: int = 80) -> bytes:
    """``jpeg`` with ``overlay`` drawn on it, as a JPEG; ValueError if ``jpeg`` is not one."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a JPEG picture")
    h, w = image.shape[:2]
    scale = max(0.35, w / 800)
    counts = overlay.get("counts") or {}
    for name, coords in (overlay.get("zones") or {}).items():
        pts = _points(coords, w, h)
        cv2.polylines(image, [pts], True, ZONE, 1, cv2.LINE_AA)
        label = f"{name}: {counts.get(name)}" if counts.get(name) is not None else str(name)
        cv2.putText(image, label, tuple(int(v) for v in pts[0]), cv2.FONT_HERSHEY_SIMPLEX, scale, ZONE, 1,
                    cv2.LINE_AA)
    for coords in (overlay.get("lines") or {}).values():
        pts = _points(coords, w, h)
        cv2.line(image, tuple(int(v) for v in pts[0]), tuple(int(v) for v in pts[1]), LINE, 1, cv2.LINE_AA)
    for box in overlay.get("boxes") or []:
        x, y, bw, bh = (float(v) for v in box[:4])
        p1 = (round(x * w), round(y * h))
        p2 = (round((x + bw) * w), round((y + bh) * h))
        cv2.rectangle(image, p1, p2, BOX, 1)
        if len(box) > 4 and int(box[4]) > 1:
            cv2.putText(image, str(int(box[4])), (p1[0], max(8, p1[1] - 2)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                        BOX, 1, cv2.LINE_AA)
    health = str(overlay.get("health") or "ok")
    colour = HEALTH_COLOURS.get(health, (200, 200, 200))
    people = overlay.get("people")
    banner = HEALTH_LABELS.get(health, health.upper()) + (f"  nguoi/people: {people}" if people is not None else "")
    bar = max(14, round(22 * scale))
    cv2.rectangle(image, (0, 0), (w, bar), (0, 0, 0), -1)
    cv2.rectangle(image, (0, 0), (6, bar), colour, -1)
    cv2.putText(image, banner, (10, bar - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    if health != "ok":
        cv2.rectangle(image, (0, 0), (w - 1, h - 1), colour, 3)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()
