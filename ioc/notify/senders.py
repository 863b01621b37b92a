"""The channels' senders: a generic webhook (HTTP POST of JSON, HMAC-signed) and e-mail over
SMTP. Blocking (stdlib ``urllib`` and ``smtplib``): the notifier runs them in threads. A failed
send raises :class:`SendFailed` with a one-line reason; retrying is the notifier's job.

Secrets come from the environment variable the channel names (``secret_env``,
``password_env``), read once at start: a missing one is a configuration error naming it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Mapping, Protocol

from ioc.alerts.messages import Message
from ioc.alerts.routing import EmailChannel, WebhookChannel
from ioc.errors import ConfigError

SIGNATURE_HEADER = "X-IOC-Signature"
DELIVERY_HEADER = "X-IOC-Delivery"


class SendFailed(Exception):
    """One try failed; the message says why (status, refusal, timeout)."""


class Sender(Protocol):
    def send(self, message: Message, key: str) -> None: ...


def sign(body: bytes, secret: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes (GitHub-style)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: bytes, signature: str | None) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return bool(signature) and hmac.compare_digest(sign(body, secret), signature or "")


class WebhookSender:
    def __init__(self, channel: WebhookChannel, secret: bytes) -> None:
        self.channel = channel
        self.secret = secret

    def send(self, message: Message, key: str) -> None:
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode()
        request = urllib.request.Request(self.channel.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "ioc-notifier/1",
            SIGNATURE_HEADER: sign(body, self.secret), DELIVERY_HEADER: key})
        try:
            with urllib.request.urlopen(request, timeout=self.channel.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SendFailed(f"HTTP {exc.code} from {self.channel.url}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SendFailed(f"{self.channel.url}: {reason}") from None
        if not 200 <= status < 300:
            raise SendFailed(f"HTTP {status} from {self.channel.url}")


class EmailSender:
    def __init__(self, channel: EmailChannel, password: str | None) -> None:
        self.channel = channel
        self.password = password

    def build(self, message: Message, key: str) -> EmailMessage:
        c = self.channel
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = c.sender
        mail["To"] = ", ".join(c.to)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=c.sender.split("@", 1)[1])
        mail[DELIVERY_HEADER] = key
        mail.set_content(message.text)
        if message.attachment is not None:
            name, data = message.attachment
            mail.add_attachment(data, maintype="image", subtype="jpeg", filename=name)
        return mail

    def send(self, message: Message, key: str) -> None:
        c = self.channel
        mail = self.build(message, key)
        try:
            if c.ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.smtp_host, c.smtp_port, timeout=c.timeout_s,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(c.smtp_host, c.smtp_port, timeout=c.timeout_s)
            with smtp:
                if c.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if c.username:
                    smtp.login(c.username, self.password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPException as exc:
            raise SendFailed(f"SMTP {c.smtp_host}:{c.smtp_port}: {exc.__class__.__name__}: {exc}") from None
        except OSError as exc:
            raise SendFailed(f"SMTP {c.smtp_host}:{c.smtp_port}: {exc}") from None
        if refused:
            raise SendFailed(f"SMTP {c.smtp_host}: refused {', '.join(sorted(refused))}")


def build_senders(channels: Mapping[str, WebhookChannel | EmailChannel],
                  environ: Mapping[str, str]) -> dict[str, Sender]:
    """A sender per channel, with its secret from the environment; ConfigError names a missing one."""
    out: dict[str, Sender] = {}
    for name, spec in channels.items():
        if isinstance(spec, WebhookChannel):
            secret = environ.get(spec.secret_env)
            if not secret:
                raise ConfigError(f"notify.channels.{name}: the environment variable {spec.secret_env} "
                                  "(its HMAC secret) is not set")
            out[name] = WebhookSender(spec, secret.encode())
        else:
            password = None
            if spec.password_env:
                password = environ.get(spec.password_env)
                if not password:
                    raise ConfigError(f"notify.channels.{name}: the environment variable {spec.password_env} "
                                      "(its SMTP password) is not set")
            out[name] = EmailSender(spec, password)
    return out
