"""Camera settings: a YAML file of ``cameras: {ID: {...}}``, validated strictly.

The tree follows Frigate's (``motion``, ``zones``, ...) so people who know it find their way.
Every model forbids unknown keys and carries its defaults with the reason for them, and
errors name the file, the line and the key (Frigate maps validation errors back to YAML
lines too): a typo never silently falls back to a default.

Coordinates are normalised to the frame: (0, 0) top left, (1, 1) bottom right, so a zone
survives a change of stream resolution.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from ioc.config import read_yaml_mapping
from ioc.errors import ConfigError

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Point = tuple[Unit, Unit]


class CameraModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- motion: background subtraction plugins (analysis.MotionDetector subclasses) ---------------

class MotionBase(CameraModel):
    frame_height: int = Field(
        144, ge=48, le=1080, title="Analysis height (px)",
        description="frames are downscaled to this height before any analysis (Frigate: 100); 144 keeps a "
                    "far pedestrian of vtest.avi at about 3x10 px, enough to count",
    )
    lightning_threshold: float = Field(
        0.8, gt=0.0, le=1.0, title="Recalibrate above",
        description="a frame with more than this fraction in motion (lights, IR switch, camera moved) "
                    "resets the background instead of reporting motion (Frigate's default)",
    )


class RunningAverageConfig(MotionBase):
    """Frigate's detector: absolute difference to a running-average background."""

    type: Literal["running_average"] = "running_average"
    threshold: int = Field(30, ge=1, le=255, description="grey-level difference that counts as motion (Frigate)")
    frame_alpha: float = Field(
        0.01, gt=0.0, le=1.0,
        description="background learning rate per frame (Frigate): someone standing still fades into the "
                    "background in about 100 frames",
    )
    calibration_frames: int = Field(10, ge=0, description="frames learnt fast (alpha 0.2) after a (re)start")


class Mog2Config(MotionBase):
    """OpenCV's Gaussian-mixture subtractor: sturdier against flicker, about 10x the cost."""

    type: Literal["mog2"]
    history: int = Field(500, ge=1)
    var_threshold: float = Field(25.0, gt=0.0)
    detect_shadows: bool = True


class KnnConfig(MotionBase):
    """OpenCV's k-nearest-neighbours subtractor."""

    type: Literal["knn"]
    history: int = Field(500, ge=1)
    dist2_threshold: float = Field(400.0, gt=0.0)
    detect_shadows: bool = True


def _motion_type_default(value: Any) -> Any:
    if isinstance(value, dict) and "type" not in value:
        return {**value, "type": "running_average"}
    return value


MotionConfig = Annotated[
    Union[RunningAverageConfig, Mog2Config, KnnConfig],
    BeforeValidator(_motion_type_default),
    Field(discriminator="type"),
]


# --- objects and people ---------------------------------------------------------------------

class PersonHeight(CameraModel):
    """Height of a standing person as a fraction of the frame height, by where the feet are.

    On a ground plane seen by a fixed camera the apparent height grows linearly with the
    row of the feet. Calibrated on vtest.avi (people 40 px high at row 95, 148 px at row 510
    of 576): top 0.017, bottom 0.29.
    """

    top: float = Field(0.017, ge=0.0, le=1.0, description="feet on the top row of the frame")
    bottom: float = Field(0.29, gt=0.0, le=1.0, description="feet on the bottom row of the frame")


class ObjectsConfig(CameraModel):
    fps: float | None = Field(
        5.0, gt=0.0, le=120.0,
        description="find and count objects at most this often (Frigate's detect fps: 5); motion is still "
                    "measured on every frame. Empty: every frame",
    )
    person_height: PersonHeight = PersonHeight()
    person_fill: float = Field(
        0.5, gt=0.0, le=1.0,
        description="motion-mask area per person / person height squared. A lone walker of vtest.avi "
                    "fills 0.32 (median), but people in a group hide each other; 0.5 per person counted "
                    "best against hand counts (see tests/integration/test_camera_footage.py)",
    )
    min_person_fraction: float = Field(
        0.3, gt=0.0, le=1.0,
        description="a blob smaller than this fraction of a person at its position is noise, not an object",
    )
    max_per_blob: int = Field(8, ge=1, description="people counted in one merged blob at most")


class ZoneConfig(CameraModel):
    coordinates: list[Point] = Field(min_length=3, description="polygon, normalised [x, y] points")
    queue: bool = Field(False, description="report queue length and waiting time for this zone")
    service_rate_per_min: float | None = Field(
        None, gt=0.0,
        description="people served per minute (e.g. dossiers received per minute at this counter); "
                    "the waiting time is queue length / service rate. Can be updated at run time.",
    )


class LineConfig(CameraModel):
    """A counting line from its first point to its second. Side ``a`` is on the left of
    someone walking from the first point to the second as seen on screen, ``b`` on the right."""

    coordinates: tuple[Point, Point]


# --- health ---------------------------------------------------------------------------------

class Debounce(CameraModel):
    raise_s: float = Field(10.0, ge=0.0, description="the condition must hold this long to raise")
    clear_s: float = Field(5.0, ge=0.0, description="...and be gone this long to clear")


class OfflineConfig(Debounce):
    raise_s: float = Field(20.0, ge=0.0, description="no frame for this long (Frigate's watchdog: 20 s)")
    clear_s: float = Field(5.0, ge=0.0)


class FrozenConfig(Debounce):
    max_diff: float = Field(
        0.05, ge=0.0,
        description="mean grey-level difference between checks under which frames are the same: a repeated "
                    "frame gives 0, noise and codec refreshes on vtest.avi's still background 0.03-0.3 "
                    "(median 0.16); a still scene sent by a lazy encoder can come close, hence the 10 s hold",
    )
    raise_s: float = 10.0
    clear_s: float = 3.0


class DarkConfig(Debounce):
    max_brightness: float = Field(30.0, ge=0.0, le=255.0, description="mean grey level under which it is dark")


class BrightConfig(Debounce):
    min_brightness: float = Field(225.0, ge=0.0, le=255.0, description="mean grey level over which it is washed out")


class BlurredConfig(Debounce):
    min_ratio: float = Field(
        0.4, gt=0.0, le=1.0,
        description="variance of the Laplacian under this fraction of the camera's own baseline is blurred "
                    "(vtest.avi varies 0.90-1.06 of its median; a 1.5 px defocus gives 0.3)",
    )
    baseline_s: float = Field(60.0, gt=0.0, description="time constant of the running baseline")


class TamperedConfig(Debounce):
    covered_fraction: float = Field(
        0.75, gt=0.0, le=1.0,
        description="covered when this fraction of the picture is one colour (Frigate issue #1793); "
                    "vtest.avi's largest colour share is 0.24",
    )
    min_similarity: float = Field(
        0.5, ge=0.0, le=1.0,
        description="edge similarity to the reference view under which the view has moved (vtest.avi: "
                    "0.93-1.0 with the edges of moving people left out; panned by 12%: under 0.15)",
    )
    reference_s: float = Field(2.0, gt=0.0, description="the reference view is learnt over the first seconds")
    refresh_s: float = Field(
        600.0, gt=0.0, description="the reference is renewed this often while the camera is healthy (daylight)",
    )
    raise_s: float = 5.0
    clear_s: float = 5.0


class HealthConfig(CameraModel):
    check_every_s: float = Field(
        1.0, gt=0.0, le=10.0,
        description="health checks run this often (source time): they cost about two frames' analysis, and "
                    "debounce times are whole seconds anyway",
    )
    offline: OfflineConfig = OfflineConfig()
    frozen: FrozenConfig = FrozenConfig()
    dark: DarkConfig = DarkConfig()
    bright: BrightConfig = BrightConfig()
    blurred: BlurredConfig = BlurredConfig()
    tampered: TamperedConfig = TamperedConfig()


# --- stream and output ----------------------------------------------------------------------

class StreamConfig(CameraModel):
    open_timeout_s: float = Field(10.0, gt=0.0, description="FFmpeg gives up opening a stream after this")
    read_timeout_s: float = Field(10.0, gt=0.0, description="FFmpeg gives up waiting for a frame after this")
    reconnect_initial_s: float = Field(1.0, gt=0.0, description="first wait before reconnecting; doubles")
    reconnect_max_s: float = Field(30.0, gt=0.0, description="longest wait between reconnections")


class ThumbnailConfig(CameraModel):
    width: int = Field(320, ge=16, le=1920)
    quality: int = Field(70, ge=1, le=100)
    every_s: float = Field(2.0, gt=0.0, description="at most one thumbnail per this many seconds")


class CameraConfig(CameraModel):
    source: str | None = Field(None, description="video file, rtsp://, http(s):// MJPEG or synthetic:?...")
    name: str | None = Field(None, min_length=1, max_length=200,
                             description="shown on the wall and in alerts (Vietnamese); default: the camera id")
    unit: str | None = Field(
        None, min_length=1, max_length=100,
        description="code of the unit (commune, agency) the camera belongs to: its health alerts go to that "
                    "unit's operators first; empty: province level",
    )
    interval_s: float = Field(1.0, gt=0.0, le=3600.0, description="one output line per this much source time")
    fps: float | None = Field(
        None, gt=0.0, le=120.0, description="analyse at most this many frames per second (others are skipped "
                                           "before decoding colour); empty: every frame",
    )
    realtime: bool = Field(False, description="play a file or synthetic source at its frame rate, as a live camera")
    loop: bool = Field(False, description="start a file again at its end")
    motion: MotionConfig = RunningAverageConfig()
    objects: ObjectsConfig = ObjectsConfig()
    zones: dict[Name, ZoneConfig] = Field(default_factory=dict)
    lines: dict[Name, LineConfig] = Field(default_factory=dict)
    health: HealthConfig = HealthConfig()
    stream: StreamConfig = StreamConfig()
    thumbnail: ThumbnailConfig = ThumbnailConfig()


class CamerasFile(CameraModel):
    cameras: dict[Name, CameraConfig] = Field(min_length=1)


# --- loading --------------------------------------------------------------------------------

def _yaml_line(text: str, keys: list[str]) -> int | None:
    """Line (1-based) of the deepest of ``keys`` found in the YAML text."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
            node = node.value[int(key)]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _yaml_keys(data: Any, loc: tuple[Any, ...]) -> list[str]:
    """The path of an error as the user wrote it: pydantic's location without the union tags."""
    keys: list[str] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            keys.append(str(part))
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            keys.append(str(part))
            node = node[part]
        elif last and part != "[key]":
            keys.append(str(part))
    return keys


def load_cameras(path: str | os.PathLike[str]) -> dict[str, CameraConfig]:
    """Read a camera file; ConfigError names the file, the line and the key of a problem."""
    data = read_yaml_mapping(path, "camera file", "a mapping with a 'cameras' section")
    text = Path(path).read_text(encoding="utf-8")
    try:
        return dict(CamerasFile.model_validate(data).cameras)
    except ValidationError as exc:
        err = exc.errors()[0]
        keys = _yaml_keys(data, tuple(err["loc"]))
        line = _yaml_line(text, keys)
        where = f"{path}:{line}" if line else str(path)
        dotted = ".".join(keys) or "(top)"
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{where}: unknown camera setting '{dotted}'") from None
        raise ConfigError(f"{where}: camera setting '{dotted}': {err['msg']}") from None


def select_camera(path: str | os.PathLike[str] | None, camera_id: str | None, source: str) -> tuple[str, CameraConfig]:
    """The camera to run: by ``camera_id`` from the file, its only camera, or defaults."""
    if path is None:
        return camera_id or default_camera_id(source), CameraConfig(source=source)
    cameras = load_cameras(path)
    if camera_id is None:
        if len(cameras) != 1:
            raise ConfigError(f"{path}: {len(cameras)} cameras ({', '.join(cameras)}); choose one with --camera")
        camera_id = next(iter(cameras))
    if camera_id not in cameras:
        raise ConfigError(f"{path}: no camera '{camera_id}' (cameras: {', '.join(cameras)})")
    return camera_id, cameras[camera_id].model_copy(update={"source": source})


def default_camera_id(source: str) -> str:
    """A readable id from a source: the file's stem, the host, or ``synthetic``."""
    import re
    from urllib.parse import urlsplit

    if source.startswith("synthetic:"):
        name = "synthetic"
    elif "://" in source:
        parts = urlsplit(source)
        name = (parts.hostname or "camera") + (parts.path.replace("/", "-") if parts.path not in ("", "/") else "")
    else:
        name = Path(source).stem
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:64]
    return name or "camera"
