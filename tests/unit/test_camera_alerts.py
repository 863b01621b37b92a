"""Camera health changes -> Signal events of the common alert model (camera/alerts.py)."""

from datetime import datetime, timezone

import pytest

from camera.alerts import CONDITIONS, health_signals, startup_clears
from camera.config import CameraConfig
from camera.health import Health
from ioc.alerts.book import AlertBook
from ioc.alerts.model import AlertKind, parse_alert_event

AT = datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc)
CONFIG = CameraConfig(name="Cổng trụ sở", unit="H44.07")


def test_ok_to_frozen_raises_one_camera_signal():
    [s] = health_signals("cong-1", CONFIG, "ok", "frozen", AT)
    assert (s.op, s.source, s.system, s.kind, s.unit) == ("raise", "camera", "cong-1", AlertKind.CAMERA_HEALTH, "H44.07")
    assert s.labels == {"condition": "frozen"}
    assert s.severity == "warning"
    assert "Cổng trụ sở" in s.summary and "đóng băng" in s.summary
    assert s.at == AT


def test_offline_and_tampered_are_critical():
    assert health_signals("c", CONFIG, "ok", "offline", AT)[0].severity == "critical"
    assert health_signals("c", CONFIG, "ok", "tampered", AT)[0].severity == "critical"


def test_one_bad_state_to_another_clears_the_first_and_raises_the_second():
    clear, raise_ = health_signals("c", CONFIG, Health.FROZEN, Health.DARK, AT)
    assert (clear.op, clear.labels["condition"]) == ("clear", "frozen")
    assert (raise_.op, raise_.labels["condition"]) == ("raise", "dark")
    assert clear.fingerprint != raise_.fingerprint
    assert clear.fingerprint == health_signals("c", CONFIG, "ok", "frozen", AT)[0].fingerprint


def test_back_to_ok_clears_and_no_change_says_nothing():
    [s] = health_signals("c", CONFIG, "blurred", "ok", AT)
    assert s.op == "clear" and s.labels == {"condition": "blurred"}
    assert health_signals("c", CONFIG, "dark", "dark", AT) == []


def test_unknown_state_is_an_error():
    with pytest.raises(ValueError):
        health_signals("c", CONFIG, "ok", "melted", AT)


def test_without_name_or_unit_the_id_names_it_at_province_level():
    [s] = health_signals("bai-xe", CameraConfig(), "ok", "dark", AT)
    assert s.unit is None and s.effective_level == "province" and "bai-xe" in s.summary


def test_signals_round_trip_as_json_and_drive_the_alert_book():
    book = AlertBook()
    events = [*health_signals("c", CONFIG, "ok", "frozen", AT), *health_signals("c", CONFIG, "frozen", "ok", AT)]
    for s in events:
        again = parse_alert_event(s.to_json())
        assert again == s
        book.apply(again)
    [alert] = book.alerts()
    assert alert.state == "resolved" and alert.source == "camera" and alert.system == "c"


def test_startup_clears_every_condition_and_resolves_a_stale_alert():
    clears = startup_clears("c", CONFIG, AT)
    assert {s.labels["condition"] for s in clears} == {h.value for h in CONDITIONS} == \
        {"offline", "frozen", "dark", "bright", "blurred", "tampered"}
    assert all(s.op == "clear" for s in clears)
    book = AlertBook()
    book.apply(health_signals("c", CONFIG, "ok", "offline", AT)[0])
    applied = [book.apply(s) for s in clears]
    assert sum(a is not None for a in applied) == 1  # only the open one is logged
    assert book.alerts()[0].state == "resolved"


def test_a_raise_carries_the_cameras_recent_picture_not_identity_and_not_an_old_one():
    import base64

    import numpy as np

    from camera.alerts import with_frame

    [s] = health_signals("cong-1", CONFIG, "ok", "frozen", AT)
    image = np.full((240, 320, 3), 90, np.uint8)
    framed = with_frame(s, image, AT.timestamp() - 2, 320, 70)
    assert framed.frame is not None and base64.b64decode(framed.frame.jpeg_base64)[:2] == b"\xff\xd8"  # a JPEG
    assert framed.frame.captured_at.timestamp() == AT.timestamp() - 2
    assert framed.fingerprint == s.fingerprint  # the picture is not the alert's identity
    back = parse_alert_event(framed.to_json())
    assert back.frame == framed.frame and "frame" not in s.to_json()
    assert with_frame(s, image, AT.timestamp() - 3600, 320, 70).frame is None  # an hour old: says nothing now
    book = AlertBook()
    book.apply(framed)
    assert book.alerts()[0].fingerprint == s.fingerprint
