"""The notification senders against real receivers: a webhook POST signed with HMAC-SHA256 to an
HTTP server, an e-mail with the camera's JPEG to an SMTP server (aiosmtpd, its own process);
failures are one-line reasons; a missing secret is a configuration error naming the variable."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from email.header import decode_header, make_header

import cv2
import numpy as np
import pytest

from ioc.alerts.messages import render
from ioc.alerts.model import Frame
from ioc.alerts.routing import EmailChannel, Notification, WebhookChannel
from ioc.errors import ConfigError
from ioc.notify.senders import SIGNATURE_HEADER, EmailSender, SendFailed, WebhookSender, build_senders, sign, verify
from ioc.process import free_port
from tests.integration.notify_servers import SmtpServer, WebhookReceiver

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 12, 8, 2, 30, tzinfo=timezone.utc)
ALERT = {"id": "abc-1", "source": "camera", "system": "quay-1", "unit": "H44.06.01", "units": [], "kind": "camera_health",
         "severity": "warning", "state": "firing", "summary": "Camera Quầy 1: hình ảnh bị đứng (đóng băng)",
         "started_at": NOW.isoformat(), "updated_at": NOW.isoformat(), "level": "commune", "labels": {}, "count": 1}


def jpeg_frame() -> Frame:
    image = np.zeros((90, 160, 3), np.uint8)
    cv2.rectangle(image, (20, 20), (120, 70), (0, 200, 255), -1)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return Frame(jpeg_base64=base64.b64encode(data.tobytes()).decode(), captured_at=NOW)


def test_webhook_body_is_signed_and_failures_say_why():
    receiver = WebhookReceiver(fail_first={"/down": 99}).start()
    try:
        secret = b"s3cret-for-the-test"
        message = render(Notification("abc-1", "firing:warning", "hook"), ALERT, "https://ioc.example.vn", NOW, jpeg_frame())
        WebhookSender(WebhookChannel(type="webhook", url=f"http://127.0.0.1:{receiver.port}/hook",
                                     secret_env="X"), secret).send(message, "abc-1|firing:warning|hook")
        (got,) = receiver.at("/hook")
        assert verify(got.body, secret, got.header(SIGNATURE_HEADER))
        assert not verify(got.body, b"another secret", got.header(SIGNATURE_HEADER))
        assert got.header(SIGNATURE_HEADER) == sign(got.body, secret)
        assert got.json["alert"]["summary"] == ALERT["summary"] and got.json["frame"]["jpeg_base64"]
        assert got.header("X-IOC-Delivery") == "abc-1|firing:warning|hook"
        with pytest.raises(SendFailed, match="HTTP 500 from http://127.0.0.1"):
            WebhookSender(WebhookChannel(type="webhook", url=f"http://127.0.0.1:{receiver.port}/down",
                                         secret_env="X"), secret).send(message, "k")
        with pytest.raises(SendFailed, match="Connection refused"):
            WebhookSender(WebhookChannel(type="webhook", url=f"http://127.0.0.1:{free_port()}/x", secret_env="X",
                                         timeout_s=2), secret).send(message, "k")
    finally:
        receiver.stop()


def test_email_carries_the_text_and_the_cameras_jpeg(tmp_path):
    smtp = SmtpServer(tmp_path).start()
    try:
        channel = EmailChannel(type="email", smtp_host="127.0.0.1", smtp_port=smtp.port, sender="ioc@phutho.gov.vn",
                               to=("truc-ca@phutho.gov.vn", "so-tttt@phutho.gov.vn"))
        frame = jpeg_frame()
        message = render(Notification("abc-1", "firing:warning", "mail"), ALERT, "https://ioc.example.vn", NOW, frame)
        EmailSender(channel, None).send(message, "abc-1|firing:warning|mail")
        (mail,) = smtp.messages()
        assert "Camera Quầy 1" in str(make_header(decode_header(mail["Subject"])))
        assert mail["X-IOC-Delivery"] == "abc-1|firing:warning|mail"
        parts = list(mail.walk())
        text = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
        assert "Hướng dẫn xử lý (runbook): https://ioc.example.vn/runbooks/camera_health" in text
        (picture,) = [p for p in parts if p.get_content_type() == "image/jpeg"]
        assert picture.get_payload(decode=True) == base64.b64decode(frame.jpeg_base64)
        assert picture.get_filename() == "camera-quay-1-20261208-093000.jpg"
        with pytest.raises(SendFailed, match="SMTP 127.0.0.1"):
            EmailSender(channel.model_copy(update={"smtp_port": free_port(), "timeout_s": 2}), None).send(message, "k")
    finally:
        smtp.stop()


def test_a_missing_secret_names_its_variable():
    hook = WebhookChannel(type="webhook", url="https://h.example.vn/x", secret_env="HOOK_SECRET")
    with pytest.raises(ConfigError, match="HOOK_SECRET"):
        build_senders({"oncall": hook}, {})
    assert isinstance(build_senders({"oncall": hook}, {"HOOK_SECRET": "x"})["oncall"], WebhookSender)
