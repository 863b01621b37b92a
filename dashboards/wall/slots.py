"""The wall's scene slots: every scene keeps its own box in the page, so a scene change is a class
change plus what changed in that scene since the browser last showed it, not a whole layout.

The scene box holds one slot per scene (``wall-slot-{scene}``), all hidden but the shown one. A
slot is filled with its scene's layout the first time it is needed: the shown scene at the
page's first render, then the playlist's next scene once a step, in a quiet second of the step
(never around a change, when every screen of the room asks at once) picked by the browser's
own phase, so the screens of a room that loaded together spread those whole layouts over the
step instead of all asking in the same second. The browser's marker (``wall-seen``) holds,
besides the version it shows, the version of each scene it has a layout of: the version it
last showed of that scene, which the server diffs against at the next change. A new language
or period is another page: the slots start again.
"""

from __future__ import annotations

import random
from typing import Any

SLOT_CLASS = "scene-slot"
HIDDEN_CLASS = "scene-slot hidden"
QUIET_AFTER_S = 1.0  # no prefetch in a step's first second: the scene change's burst
QUIET_BEFORE_S = 2.0  # nor in its last two: an answer must land before the next change


def slot_id(scene: str) -> str:
    return f"wall-slot-{scene}"


def slot_class(shown: bool) -> str:
    return SLOT_CLASS if shown else HIDDEN_CLASS


def held_scenes(seen: Any, lang: str, period: str) -> dict[str, str]:
    """Scene -> the version the browser last showed of it, of the slots it holds for this page
    (its language and period); empty when it has none (first render, another language)."""
    if not isinstance(seen, dict) or seen.get("lang") != lang or seen.get("period", "month") != period:
        return {}
    scenes = seen.get("scenes")
    if not isinstance(scenes, dict):
        return {}
    return {s: v for s, v in scenes.items() if isinstance(s, str) and isinstance(v, str)}


def phase_of(seen: Any) -> float:
    """The browser's phase in [0, 1): given at its first render, echoed in its marker."""
    phase = seen.get("phase") if isinstance(seen, dict) else None
    return float(phase) if isinstance(phase, (int, float)) and 0 <= phase < 1 else random.random()


def prefetch(playlist: tuple[str, ...], shown: str, held: dict[str, str] | set[str], into_step: float,
             rotate_s: float, phase: float) -> str | None:
    """The playlist's next scene without a slot yet (the soonest first), if this is the browser's
    quiet second of the step (its ``phase`` of the seconds between the changes)."""
    quiet = rotate_s - QUIET_AFTER_S - QUIET_BEFORE_S
    if shown not in playlist or not 0 <= into_step - QUIET_AFTER_S < quiet:
        return None
    if int(into_step - QUIET_AFTER_S) != min(int(phase * quiet), int(quiet - 1e-9)):
        return None
    start = playlist.index(shown)
    for k in range(1, len(playlist)):
        scene = playlist[(start + k) % len(playlist)]
        if scene not in held:
            return scene
    return None


def marker(version: str, scene: str, lang: str, period: str, held: dict[str, str], phase: float) -> dict[str, Any]:
    """What the browser echoes next tick: the shown version, its slots' versions, its phase."""
    return {"v": version, "scene": scene, "lang": lang, "period": period, "scenes": dict(held),
            "phase": round(phase, 4)}


__all__ = ["HIDDEN_CLASS", "SLOT_CLASS", "held_scenes", "marker", "phase_of", "prefetch", "slot_class", "slot_id"]
