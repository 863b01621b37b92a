"""Who is told about which alert, when, and only once: routing, deduplication, escalation.

Pure (no I/O, no clock): :func:`plan` takes the alerts as the book has them, the silences, the
notifications already delivered and "now", and returns the notifications due. The notifier
(:mod:`ioc.notify`) sends them and records each outcome; asking again returns only what is
still due, so a restart, a redelivered log entry or a repeated raise never notifies twice.

* **Routes** (``notify.routes``): matchers (:mod:`ioc.alerts.matchers`, on source, system,
  unit, severity, rule, level) -> channels. The first route that matches wins, unless it says
  ``continue: true`` (then the next matching ones add theirs), as in Alertmanager.
* **Transitions, the deduplication key**: a notification is ``(alert id, transition, channel)``.
  Transitions: ``firing:<severity>`` (the alert opened, or its severity rose: a warning that
  turns critical is news; a repeated raise is not), ``escalation:<n>`` (the route's n-th step:
  still unacknowledged ``after_min`` minutes after it was first notified) and ``resolved``
  (sent to every channel that was told it fired, and only to those).
* **Silenced or muted** (inhibited) alerts are recorded in the book and not notified; what
  they missed is due when the silence ends or the muting alert resolves, if they are still
  open. ``resolved`` is never held back: whoever was paged learns that it is over.
* **Escalation** stops once an operator acknowledges or assigns the alert. The alert book's own
  escalation (commune -> province, ``services.escalation``) changes the alert's ``level``:
  a route matching ``level: province`` then adds the province's channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Iterable, Literal, Mapping, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ioc.alerts.matchers import Matchers
from ioc.alerts.silences import SilenceBook

UNACKNOWLEDGED = ("firing", "escalated")
ChannelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
def _not_a_setting(name: str) -> str:
    if name.startswith("IOC_"):
        raise ValueError(f"{name}: IOC_* variables are settings (IOC_SECTION__KEY); name the secret's variable "
                         "otherwise, e.g. ONCALL_WEBHOOK_SECRET")
    return name


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$"), AfterValidator(_not_a_setting)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookChannel(StrictModel):
    """POST of the notification as JSON; ``X-IOC-Signature: sha256=<hex>`` is the HMAC-SHA256 of
    the body with the secret read from the environment variable ``secret_env`` (never from the
    settings file or the repository)."""

    type: Literal["webhook"]
    url: Url
    secret_env: EnvName = Field(description="the environment variable holding this channel's HMAC secret")
    timeout_s: float = Field(5.0, gt=0, le=60)


class EmailChannel(StrictModel):
    """An e-mail over SMTP (STARTTLS or TLS when set; login when ``username`` is set, with the
    password from the environment variable ``password_env``)."""

    type: Literal["email"]
    smtp_host: str = Field(min_length=1, max_length=255)
    smtp_port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = Field(False, description="SMTP over TLS from the first byte (port 465)")
    username: str | None = None
    password_env: EnvName | None = None
    sender: Email
    to: tuple[Email, ...] = Field(min_length=1)
    timeout_s: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _login(self) -> "EmailChannel":
        if self.username and not self.password_env:
            raise ValueError("password_env: required with username (the variable holding the SMTP password)")
        if self.starttls and self.ssl:
            raise ValueError("starttls and ssl: choose one")
        return self


Channel = Annotated[Union[WebhookChannel, EmailChannel], Field(discriminator="type")]


class EscalationStep(StrictModel):
    after_min: float = Field(gt=0, le=7 * 24 * 60, description="still unacknowledged this many minutes after "
                             "the alert was first notified")
    channels: tuple[ChannelName, ...] = Field(min_length=1)


class Route(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str | None = Field(None, max_length=100)
    match: Matchers = Matchers()
    channels: tuple[ChannelName, ...] = ()
    escalate: tuple[EscalationStep, ...] = ()
    continue_: bool = Field(False, alias="continue", description="let the next matching routes add their channels")

    @model_validator(mode="after")
    def _steps_in_order(self) -> "Route":
        times = [s.after_min for s in self.escalate]
        if times != sorted(times) or len(set(times)) != len(times):
            raise ValueError("escalate: steps must come in increasing after_min")
        if not self.channels and not self.escalate:
            raise ValueError("a route needs channels, escalate steps, or both")
        return self


class RetryPolicy(StrictModel):
    attempts: int = Field(5, ge=1, le=20, description="tries per notification before it is dead-lettered")
    backoff_s: float = Field(1.0, gt=0, le=600, description="wait after the first failure; doubled each time")
    max_backoff_s: float = Field(60.0, gt=0, le=3600)

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed try (1, 2, ...): exponential, capped."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** max(0, failures - 1))


class NotifySettings(StrictModel):
    """The ``notify`` section. Example::

        notify:
          base_url: https://ioc.phutho.gov.vn        # links in messages (console, runbooks, camera)
          channels:
            oncall: {type: webhook, url: "https://chat.example.vn/hooks/ioc", secret_env: ONCALL_WEBHOOK_SECRET}
            so-ttt: {type: email, smtp_host: mail.phutho.gov.vn, smtp_port: 587, starttls: true,
                     username: ioc, password_env: SMTP_PASSWORD, sender: ioc@phutho.gov.vn,
                     to: [truc-ca@phutho.gov.vn]}
          routes:
            - {match: {source: service, severity: critical}, channels: [oncall],
               escalate: [{after_min: 15, channels: [so-ttt]}]}
            - {match: {source: dossier, unit: "H44.07*"}, channels: [so-ttt]}
    """

    channels: dict[ChannelName, Channel] = Field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    base_url: Url | None = Field(None, description="public address of the web (links in messages); default: "
                                 "http://web.host:web.port")
    runbooks: dict[str, Url] = Field(default_factory=dict, description="rule -> runbook URL (default: "
                                     "BASE_URL/runbooks/RULE, served by the web)")
    send_resolved: bool = True

    @model_validator(mode="after")
    def _known_channels(self) -> "NotifySettings":
        for i, route in enumerate(self.routes):
            for name in route.channels + tuple(c for s in route.escalate for c in s.channels):
                if name not in self.channels:
                    known = ", ".join(sorted(self.channels)) or "none defined"
                    raise ValueError(f"routes[{i}]: unknown channel {name!r} (channels: {known})")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.channels and self.routes)


@dataclass(frozen=True)
class Notification:
    alert_id: str
    transition: str  # firing:<severity> | escalation:<n> | resolved
    channel: str

    @property
    def key(self) -> str:
        return f"{self.alert_id}|{self.transition}|{self.channel}"


@dataclass(frozen=True)
class Delivery:
    """One outcome in the notification log: ``sent``, or ``dead`` (every try failed: dead-lettered)."""

    alert_id: str
    transition: str
    channel: str
    status: Literal["sent", "dead"]
    at: datetime
    attempts: int = 1
    error: str | None = None

    @property
    def key(self) -> str:
        return f"{self.alert_id}|{self.transition}|{self.channel}"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "alert_id": self.alert_id, "transition": self.transition, "channel": self.channel,
                "status": self.status, "at": self.at.isoformat(), "attempts": self.attempts, "error": self.error}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Delivery":
        status = data["status"]
        if status not in ("sent", "dead"):
            raise ValueError(f"status: must be sent or dead, got {status!r}")
        return cls(str(data["alert_id"]), str(data["transition"]), str(data["channel"]), status,
                   datetime.fromisoformat(data["at"]), int(data.get("attempts", 1)), data.get("error"))


class DeliveryLog:
    """What has been delivered (or given up), by key and by alert."""

    def __init__(self, deliveries: Iterable[Delivery] = ()) -> None:
        self._by_key: dict[str, Delivery] = {}
        self._by_alert: dict[str, list[Delivery]] = {}
        for d in deliveries:
            self.record(d)

    def record(self, d: Delivery) -> None:
        if d.key in self._by_key:
            return
        self._by_key[d.key] = d
        self._by_alert.setdefault(d.alert_id, []).append(d)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self._by_key)

    def of(self, alert_id: str) -> list[Delivery]:
        return list(self._by_alert.get(alert_id, ()))

    def first_firing(self, alert_id: str) -> datetime | None:
        sent = [d.at for d in self._by_alert.get(alert_id, ()) if d.status == "sent" and d.transition.startswith("firing:")]
        return min(sent) if sent else None


def matching_routes(alert: Mapping[str, Any], routes: Iterable[Route]) -> list[Route]:
    """The routes an alert (as JSON) goes to: the first match, and the next ones while ``continue``."""
    out: list[Route] = []
    for route in routes:
        if route.match.matches(alert, units="any"):
            out.append(route)
            if not route.continue_:
                break
    return out


def plan(alerts: Iterable[Mapping[str, Any]], silences: SilenceBook, delivered: DeliveryLog,
         settings: NotifySettings, now: datetime) -> list[Notification]:
    """The notifications due now, in a stable order. ``alerts``: the book's snapshot
    (:meth:`AlertBook.snapshot`: each alert as JSON with ``inhibited_by``)."""
    out: list[Notification] = []
    seen: set[str] = set()

    def due(n: Notification) -> None:
        if n.key not in delivered and n.key not in seen:
            seen.add(n.key)
            out.append(n)

    for alert in alerts:
        alert_id = str(alert["id"])
        if alert["state"] == "resolved":
            if settings.send_resolved:
                told = sorted({d.channel for d in delivered.of(alert_id)
                               if d.status == "sent" and d.transition != "resolved"})
                for channel in told:
                    due(Notification(alert_id, "resolved", channel))
            continue
        if alert.get("inhibited_by") or silences.silencing(alert, now) is not None:
            continue  # recorded, not notified (yet)
        routes = matching_routes(alert, settings.routes)
        firing = f"firing:{alert['severity']}"
        for route in routes:
            for channel in route.channels:
                due(Notification(alert_id, firing, channel))
        if alert["state"] not in UNACKNOWLEDGED:
            continue
        since = delivered.first_firing(alert_id)
        if since is None:
            if any(route.channels for route in routes):
                continue  # its first notification has not gone out yet: the escalation clock starts then
            since = _time(alert["started_at"])  # routes with escalation steps only
        waited = now - since
        for route in routes:
            for n, step in enumerate(route.escalate, start=1):
                if waited >= timedelta(minutes=step.after_min):
                    for channel in step.channels:
                        due(Notification(alert_id, f"escalation:{n}", channel))
    return out


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

