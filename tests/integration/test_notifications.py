"""Operators who are told, not only shown (issue #16), on a real `ioc up` (embedded broker and
warehouse, the services simulator, the notifier) with real receivers: an HTTP webhook receiver
in this test and an SMTP server (aiosmtpd) in its own process.

* `ioc simulate --incident portal:outage --seconds 120` (the burn rates stay under their page):
  exactly one alert fires within 90 s of the outage's start (the hard-down rule), and none is
  firing after the recovery;
* it is notified once per channel and transition: signed webhooks (one channel answering 500
  twice first: retried with backoff; one unreachable: given up after its tries and
  dead-lettered), an escalation e-mail while nobody acknowledges it, "resolved" to the
  channels that were told and only those;
* a silence made through the API (operator token) keeps an alert recorded but not notified; it
  is notified once the silence is ended (DELETE), still open; both changes are audited events;
* a camera alert carrying a picture is e-mailed with the JPEG attached, once however often it
  is raised.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta

import cv2
import numpy as np
import pytest
import requests

from ioc import clock
from ioc.alerts.model import AlertKind, Frame, Signal
from ioc.config import KafkaSettings
from ioc.notify.senders import SIGNATURE_HEADER, verify
from ioc.process import free_port
from ioc.topics import Topics
from tests.helpers import LOCAL, child_env, poll, produce_raw, read_topic
from tests.integration.notify_servers import SmtpServer, WebhookReceiver
from tests.integration.test_end_to_end import AUTH, OPERATOR_TOKEN, stop_and_check_nothing_left

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "hmac-secret-of-the-test-channels"
OUTAGE_S = 120


def config(path, hook: int, smtp: int, dead: int) -> str:
    path.write_text(f"""
services:
  simulator: {{tick_s: 5, systems: [portal]}}
notify:
  base_url: "http://ioc.test:8050"
  retry: {{attempts: 3, backoff_s: 0.3, max_backoff_s: 1}}
  channels:
    oncall: {{type: webhook, url: "http://127.0.0.1:{hook}/oncall", secret_env: TEST_HOOK_SECRET}}
    flaky: {{type: webhook, url: "http://127.0.0.1:{hook}/flaky", secret_env: TEST_HOOK_SECRET}}
    broken: {{type: webhook, url: "http://127.0.0.1:{dead}/x", secret_env: TEST_HOOK_SECRET, timeout_s: 1}}
    mail: {{type: email, smtp_host: 127.0.0.1, smtp_port: {smtp}, sender: ioc@phutho.gov.vn, to: [truc-ca@phutho.gov.vn]}}
  routes:
    - {{match: {{source: service, severity: critical}}, channels: [oncall, flaky, broken],
       escalate: [{{after_min: 0.5, channels: [mail]}}]}}
    - {{match: {{source: camera}}, channels: [mail]}}
    - {{match: {{system: payment}}, channels: [oncall]}}
""", encoding="utf-8")
    return str(path)


def jpeg() -> str:
    image = np.full((180, 320, 3), 40, np.uint8)
    cv2.putText(image, "QUAY 1", (60, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return base64.b64encode(data.tobytes()).decode()


def deliveries(receiver: WebhookReceiver, path: str, alert_id: str) -> list[str]:
    """Transitions delivered on ``path`` for ``alert_id``, each body's signature checked."""
    out = []
    for r in receiver.at(path):
        assert verify(r.body, SECRET.encode(), r.header(SIGNATURE_HEADER)), "bad X-IOC-Signature"
        if r.json["alert"]["id"] == alert_id:
            out.append(r.json["transition"])
    return out


def mails(smtp: SmtpServer, alert_id: str) -> list[str]:
    return [m["X-IOC-Delivery"].split("|")[1] for m in smtp.messages() if m["X-IOC-Delivery"].startswith(alert_id + "|")]


def test_a_system_down_is_one_alert_at_once_notified_once_escalated_silenced_and_resolved(tmp_path, pin_clock):
    pin_clock(datetime(2026, 12, 8, 9, 30, tzinfo=LOCAL))  # a Tuesday morning: the portal is busy
    receiver = WebhookReceiver(fail_first={"/flaky": 2}).start()
    smtp = SmtpServer(tmp_path).start()
    port, kafka_port = free_port(), free_port()
    bootstrap = f"127.0.0.1:{kafka_port}"
    cfg = config(tmp_path / "ioc.yaml", receiver.port, smtp.port, free_port())
    env = child_env(TEST_HOOK_SECRET=SECRET, IOC_OPERATOR_TOKEN=OPERATOR_TOKEN,
                    IOC_KAFKA__EMBEDDED_PORT=str(kafka_port), IOC_SIMULATOR__RATE="0.05",
                    IOC_SIMULATOR__BACKFILL_DAYS="0", IOC_CAMERA__ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "ioc", "--config", cfg, "up", "--port", str(port),
                             "--data-dir", str(tmp_path / "data")],
                            stdout=open(tmp_path / "up.log", "wb"), stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    topics = Topics.from_settings(KafkaSettings())

    def alerts(state: str | None = None) -> list[dict]:
        url = f"{base}/api/v1/alerts" + (f"?state={state}" if state else "")
        return requests.get(url, headers=AUTH, timeout=5).json()

    try:
        poll(lambda: requests.get(f"{base}/healthz", timeout=5).status_code, lambda s: s == 200, 240,
             f"/healthz (log: {tmp_path / 'up.log'})")
        assert alerts("firing") == []
        assert requests.get(f"{base}/api/v1/silences", timeout=5).status_code == 401  # the operator role, as alerts

        # 1. The outage: one alert within 90 s of its start, nothing else.
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "ioc", "simulate", "--incident", "portal:outage",
                               "--seconds", str(OUTAGE_S)], env=child_env(IOC_KAFKA_BOOTSTRAP=bootstrap),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        firing = poll(lambda: alerts("firing"), lambda a: len(a) > 0, 120, "a firing alert")
        took = time.monotonic() - started
        assert took <= 90, f"the first alert fired {took:.0f} s after the outage started"
        (down,) = firing
        assert (down["system"], down["source"], down["severity"]) == ("portal", "service", "critical")
        assert "ngừng hoạt động" in down["summary"]

        # 2. Notified once per channel: signed, the flaky one after two 500s, the broken one dead-lettered.
        poll(lambda: deliveries(receiver, "/oncall", down["id"]), lambda d: d == ["firing:critical"], 30, "oncall webhook")
        poll(lambda: deliveries(receiver, "/flaky", down["id"]), lambda d: d == ["firing:critical"], 30, "flaky webhook")
        assert receiver.tries[("/flaky", f"{down['id']}|firing:critical|flaky")] == 3
        body = receiver.at("/oncall")[0].json
        assert body["runbook_url"] == "http://ioc.test:8050/runbooks/system_down"
        assert body["alert"]["rule"] == "system_down" and body["alert"]["id"] == down["id"]
        dead = read_topic(bootstrap, topics.deadletter,
                          lambda v: any(d["source_topic"] == "notify:broken" for d in v), timeout=30)
        (broken,) = [d for d in dead if d["source_topic"] == "notify:broken"]
        assert f"{down['id']}|firing:critical|broken" in broken["reason"] and "after 3 tries" in broken["reason"]

        # 3. Nobody acknowledges it: after half a minute the next level (e-mail) is told.
        poll(lambda: mails(smtp, down["id"]), lambda m: m == ["escalation:1"], 90, "escalation e-mail")

        # 4. Recovery resolves it; "resolved" goes to the channels told (not the dead one), once.
        poll(lambda: alerts("firing"), lambda a: a == [], OUTAGE_S + 90, "no firing alert after the recovery")
        assert [a["state"] for a in alerts() if a["id"] == down["id"]] == ["resolved"]
        assert [a["id"] for a in alerts()] == [down["id"]]  # the whole outage: one alert
        poll(lambda: (deliveries(receiver, "/oncall", down["id"]), deliveries(receiver, "/flaky", down["id"]),
                      mails(smtp, down["id"])),
             lambda d: d == (["firing:critical", "resolved"], ["firing:critical", "resolved"],
                             ["escalation:1", "resolved"]), 60, "resolved notifications")
        log = read_topic(bootstrap, topics.notify_log, lambda v: len(v) >= 7, timeout=30)
        assert sorted((d["channel"], d["transition"], d["status"]) for d in log if d["alert_id"] == down["id"]) == [
            ("broken", "firing:critical", "dead"), ("flaky", "firing:critical", "sent"), ("flaky", "resolved", "sent"),
            ("mail", "escalation:1", "sent"), ("mail", "resolved", "sent"), ("oncall", "firing:critical", "sent"),
            ("oncall", "resolved", "sent")]

        # 5. A silence (operator token): the payment alert is recorded, not notified, until the silence ends.
        bad = requests.post(f"{base}/api/v1/silences", headers=AUTH, timeout=10,
                            json={"matchers": {"system": "payment"}, "duration_min": 30})
        assert bad.status_code == 400 and "comment" in bad.json()["error"]
        made = requests.post(f"{base}/api/v1/silences", headers=AUTH, timeout=10, json={
            "matchers": {"system": "payment"}, "duration_min": 30, "comment": "Nâng cấp cổng thanh toán"})
        assert made.status_code == 201, made.text
        silence = made.json()
        assert (silence["state"], silence["created_by"]) == ("active", "operator-token")
        assert [s["id"] for s in requests.get(f"{base}/api/v1/silences", headers=AUTH, timeout=5).json()] == [silence["id"]]
        payment = Signal(op="raise", source="service", system="payment", kind=AlertKind.SLO_BURN, severity="warning",
                         at=clock.now(), summary="Cổng thanh toán: lỗi tăng", labels={"slo": "availability"})
        produce_raw(bootstrap, topics.alerts, [json.dumps(payment.to_json()).encode()])
        (paid,) = poll(lambda: alerts("firing"), lambda a: len(a) == 1, 30, "the silenced alert recorded")
        assert paid["system"] == "payment"
        time.sleep(5)  # the notifier plans every second: it had time to (wrongly) send
        assert deliveries(receiver, "/oncall", paid["id"]) == []
        ended = requests.delete(f"{base}/api/v1/silences/{silence['id']}", headers=AUTH, timeout=10)
        assert ended.status_code == 200 and ended.json()["state"] == "expired", ended.text
        poll(lambda: deliveries(receiver, "/oncall", paid["id"]), lambda d: d == ["firing:warning"], 30,
             "notified once the silence ended")
        audit = read_topic(bootstrap, topics.silences, lambda v: len(v) >= 2, timeout=30)
        assert [(e["op"], e["actor"], e["silence_id"]) for e in audit] == [
            ("create", "operator-token", silence["id"]), ("expire", "operator-token", silence["id"])]
        assert audit[0]["comment"] == "Nâng cấp cổng thanh toán"

        # 6. A camera alert with its picture: e-mailed with the JPEG, once however often raised.
        picture = jpeg()
        camera = Signal(op="raise", source="camera", system="quay-1", kind=AlertKind.CAMERA_HEALTH, unit="H44.06.01",
                        severity="warning", at=clock.now(), summary="Camera Quầy 1: hình ảnh bị đứng (đóng băng)",
                        labels={"condition": "frozen"}, frame=Frame(jpeg_base64=picture, captured_at=clock.now()))
        again = camera.model_copy(update={"event_id": "again-" + camera.event_id, "at": clock.now() + timedelta(seconds=1)})
        produce_raw(bootstrap, topics.alerts, [json.dumps(s.to_json()).encode() for s in (camera, again)])
        cam = poll(lambda: [a for a in alerts("firing") if a["source"] == "camera"], lambda a: len(a) == 1, 30,
                   "the camera alert")[0]
        poll(lambda: mails(smtp, cam["id"]), lambda m: m == ["firing:warning"], 30, "the camera e-mail")
        (mail,) = [m for m in smtp.messages() if m["X-IOC-Delivery"].startswith(cam["id"] + "|")]
        (attached,) = [p for p in mail.walk() if p.get_content_type() == "image/jpeg"]
        assert attached.get_payload(decode=True) == base64.b64decode(picture)
        text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
        assert "http://ioc.test:8050/camera/quay-1/thumbnail.jpg" in text and "/runbooks/camera_health" in text
        time.sleep(4)
        assert mails(smtp, cam["id"]) == ["firing:warning"]  # the second raise: no second e-mail
    finally:
        took = stop_and_check_nothing_left(proc)
        smtp.stop()
        receiver.stop()
    assert took < 10, f"stopping took {took:.1f} s"
    assert proc.returncode == 0, (tmp_path / "up.log").read_text()[-3000:]
