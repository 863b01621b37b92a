"""The text and JSON of a notification: pure, so a webhook and an e-mail say the same thing.

Vietnamese first, for the duty operator (English in brackets where a term is technical). Every
message links the rule's runbook and the console; a camera alert carrying a picture
(:class:`~ioc.alerts.model.Frame`) has it attached (e-mail) or inlined (webhook JSON), with a
link to the camera's picture on the web.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from ioc.alerts.model import Frame
from ioc.alerts.routing import Notification
from ioc.alerts.runbooks import RUNBOOKS, runbook_url
from ioc.clock import LOCAL_TZ

SEVERITY_VI = {"critical": "NGHIÊM TRỌNG", "warning": "CẢNH BÁO", "info": "THÔNG TIN"}
SOURCE_VI = {"dossier": "Hồ sơ TTHC", "service": "Hệ thống CNTT", "camera": "Camera"}
STATE_VI = {"firing": "đang cảnh báo", "acknowledged": "đã xác nhận", "assigned": "đã giao xử lý",
            "escalated": "đã chuyển cấp", "resolved": "đã xử lý"}
PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    payload: dict[str, Any]  # the webhook's JSON body
    attachment: tuple[str, bytes] | None = None  # (file name, JPEG) for e-mail


def _local(value: Any) -> str:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.astimezone(LOCAL_TZ).strftime("%H:%M:%S %d/%m/%Y")


def _headline(n: Notification, alert: Mapping[str, Any]) -> str:
    if n.transition == "resolved":
        return "ĐÃ XỬ LÝ"
    if n.transition.startswith("escalation:"):
        return f"CHUYỂN CẤP {n.transition.split(':', 1)[1]} — chưa được xác nhận"
    return SEVERITY_VI.get(str(alert["severity"]), str(alert["severity"]).upper())


def render(n: Notification, alert: Mapping[str, Any], base_url: str, now: datetime,
           frame: Frame | None = None, runbooks: Mapping[str, str] | None = None) -> Message:
    """The message of ``n`` about ``alert`` (the book's JSON of it)."""
    base = base_url.rstrip("/")
    rule = str(alert["kind"])
    runbook = runbook_url(rule, base, dict(runbooks or {}))
    console = f"{base}/console/"
    units = list(alert.get("units") or [])
    where = alert.get("unit") or (", ".join(units[:20]) + (f" (+{len(units) - 20})" if len(units) > 20 else "")
                                  if units else "toàn tỉnh")
    summary = str(alert.get("summary") or alert["id"])
    subject = f"[IOC] {_headline(n, alert)}: {summary}"
    lines = [
        summary,
        "",
        f"Mức độ: {SEVERITY_VI.get(str(alert['severity']), alert['severity'])}"
        f" · Trạng thái: {STATE_VI.get(str(alert['state']), alert['state'])}",
        f"Nguồn: {SOURCE_VI.get(str(alert['source']), alert['source'])} · Hệ thống: {alert['system']}"
        f" · Quy tắc: {RUNBOOKS.get(rule, (rule,))[0]} ({rule})",
        f"Đơn vị: {where} · Cấp: {alert.get('level', '')}",
        f"Bắt đầu: {_local(alert['started_at'])} · Cập nhật: {_local(alert['updated_at'])} · Số lần: {alert.get('count', 1)}",
        f"Hướng dẫn xử lý (runbook): {runbook}",
        f"Bàn điều hành: {console}",
    ]
    frame_view: dict[str, Any] | None = None
    attachment = None
    if frame is not None:
        link = f"{base}/camera/{alert['system']}/thumbnail.jpg"
        lines.append(f"Ảnh camera lúc {_local(frame.captured_at)} (đính kèm): {link}")
        frame_view = {"captured_at": frame.captured_at.isoformat(), "jpeg_base64": frame.jpeg_base64, "url": link}
        attachment = (f"camera-{alert['system']}-{frame.captured_at.astimezone(LOCAL_TZ):%Y%m%d-%H%M%S}.jpg",
                      base64.b64decode(frame.jpeg_base64))
    lines += ["", f"Mã cảnh báo: {alert['id']} · Thông báo: {n.transition} · Kênh: {n.channel}"]
    payload = {
        "version": PAYLOAD_VERSION, "key": n.key, "transition": n.transition, "channel": n.channel,
        "sent_at": now.isoformat(), "subject": subject,
        "alert": {k: alert.get(k) for k in ("id", "source", "system", "unit", "units", "severity", "state", "summary",
                                            "started_at", "updated_at", "level", "labels", "count")}
        | {"rule": rule},
        "runbook_url": runbook, "console_url": console, "frame": frame_view,
    }
    return Message(subject=subject, text="\n".join(lines), payload=payload, attachment=attachment)
