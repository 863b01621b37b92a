"""The cameras `ioc up` runs: the demo set, its repeating faults, and the camera settings."""


import numpy as np
import pytest

from camera.demo import demo_cameras, find_footage
from camera.sources import FaultySource, open_source
from camera.stack import configured_cameras
from ioc.config import Settings, load_settings
from ioc.errors import ConfigError


def test_demo_set_with_footage_loops_it_in_real_time(tmp_path):
    video = tmp_path / "v.avi"
    video.write_bytes(b"x")
    cameras = demo_cameras(video)
    assert cameras["vtest"].source == str(video) and cameras["vtest"].loop and cameras["vtest"].realtime
    assert len(cameras) >= 3
    for camera_id, config in cameras.items():
        src = open_source(config.source, realtime=config.realtime, loop=config.loop)
        assert src.live, camera_id  # never ends, timed by the clock
        assert config.name
    faulty = [c for c in cameras.values() if isinstance(open_source(c.source), FaultySource)]
    assert faulty, "the demo shows health alerts"


def test_demo_set_without_footage_is_all_synthetic():
    cameras = demo_cameras(None)
    assert "vtest" not in cameras and all(c.source.startswith("synthetic:") for c in cameras.values())


def test_find_footage_relative_to_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "v.avi").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert find_footage("data/v.avi") == (tmp_path / "data" / "v.avi").resolve()
    assert find_footage("data/none.avi") is None
    assert find_footage(tmp_path / "data" / "v.avi") == (tmp_path / "data" / "v.avi").resolve()


def test_repeat_replays_the_fault_schedule():
    src = open_source("synthetic:?people=0&fps=10&size=64x48&seconds=0&fault=dark@1-2&repeat=3")
    src.open()
    dark = []
    for _ in range(70):
        src.grab()
        dark.append(float(np.mean(src.retrieve())) < 5)
    seconds = [i / 10 for i, d in enumerate(dark) if d]
    assert seconds and min(seconds) == pytest.approx(1.0) and any(3.9 < s < 5 for s in seconds)
    assert not any(2.05 < s < 3.95 for s in seconds)


def test_repeat_shorter_than_the_schedule_is_refused():
    from camera.sources import SourceError

    with pytest.raises(SourceError, match="repeat"):
        open_source("synthetic:?fault=dark@10-20&repeat=15")


def test_camera_settings_default_to_the_demo_set_and_read_a_file(tmp_path):
    settings = Settings()
    assert settings.camera.enabled and settings.camera.file is None
    assert configured_cameras(settings)  # the demo set
    f = tmp_path / "cameras.yaml"
    f.write_text("cameras:\n  quay-1:\n    source: 'synthetic:'\n    name: Quầy 1\n    unit: H44.07\n",
                 encoding="utf-8")
    s = load_settings(environ={"IOC_CAMERA__FILE": str(f)})
    [(camera_id, config)] = configured_cameras(s).items()
    assert (camera_id, config.name, config.unit) == ("quay-1", "Quầy 1", "H44.07")


def test_a_camera_without_source_or_an_unknown_key_is_named(tmp_path):
    f = tmp_path / "cameras.yaml"
    f.write_text("cameras:\n  quay-1:\n    name: Quầy 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="quay-1.*no source"):
        configured_cameras(load_settings(environ={"IOC_CAMERA__FILE": str(f)}))
    with pytest.raises(ConfigError, match="camera.enabeld"):
        load_settings(environ={"IOC_CAMERA__ENABELD": "false"})
