"""The alert book: current alerts as a deterministic fold over the event log.

``apply`` takes one :class:`Signal` or :class:`Action`, checks it against the current state,
and appends it to :attr:`AlertBook.log` numbered (``seq``). ``tick(now)`` turns due
escalations into ``escalate`` actions by the actor ``system`` and applies them, so they too
are in the log. :meth:`AlertBook.replay` of the log (e.g. read back from ClickHouse ordered by
``seq``) rebuilds the same book; nothing here reads the clock.

Choices:

* Deduplication: a raise for a fingerprint with an open alert updates that alert (count,
  last seen, severity, summary); it never opens a second one.
* A clear resolves the open alert (by ``system``); a clear with nothing open is ignored and
  not logged.
* Reopening: once resolved (by a clear or an operator), an alert stays closed; a later raise of
  the same fingerprint opens a NEW incident ``<fingerprint>-<n+1>`` with its own history, so the
  time to resolve each incident stays measurable and a closed incident is never rewritten.
* Inhibition is derived, never stored: an open alert matching an inhibit rule's source mutes
  (reports :meth:`AlertBook.inhibitor`) the open alerts matching its target with equal labels,
  like Alertmanager's ``inhibit_rules``. A muted alert is kept, listed, and not escalated.
* Escalation: an alert still ``firing`` (or ``escalated`` but unacknowledged) for
  ``after_s`` at one level moves to the next level of ``chain`` (commune, then province).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field

from ioc.alerts.model import SEVERITY_RANK, STATES, SYSTEM_ACTOR, Action, Alert, AlertKind, HistoryEntry, Signal

AUTO_ESCALATE_STATES = ("firing", "escalated")


class InhibitRule(BaseModel):
    """Alertmanager-style: open alerts matching ``source_match`` mute open alerts matching
    ``target_match`` whose ``equal`` labels have the same values (fields or labels by name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source_match: dict[str, str] = Field(min_length=1)
    target_match: dict[str, str] = Field(default_factory=dict)
    equal: tuple[str, ...] = ()


DEFAULT_INHIBIT_RULES: tuple[InhibitRule, ...] = (
    # A commune's link down mutes that commune's alerts from every other system.
    InhibitRule(source_match={"kind": AlertKind.LINK_DOWN.value}, equal=("unit",)),
    # The whole WAN burning its SLO mutes the per-commune link alerts it explains.
    InhibitRule(source_match={"system": "wan", "kind": AlertKind.SLO_BURN.value},
                target_match={"kind": AlertKind.LINK_DOWN.value}),
    # A system hard down mutes its own other alerts (its burn rate, its links, its incidents):
    # the page says "down"; the rest follows from it.
    InhibitRule(source_match={"kind": AlertKind.SYSTEM_DOWN.value}, target_match={"source": "service"},
                equal=("system",)),
    # A burst of SOC alerts mutes the single incidents it is made of: one page, the list kept.
    InhibitRule(source_match={"kind": AlertKind.SOC_ALERT.value}, target_match={"kind": AlertKind.SOC_INCIDENT.value}),
)


class EscalationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    after_s: float = Field(900.0, gt=0, description="unacknowledged this long at one level: escalate")
    chain: tuple[str, ...] = Field(("commune", "province"), min_length=1)

    def next_level(self, level: str) -> str | None:
        if level not in self.chain:
            return None
        i = self.chain.index(level)
        return self.chain[i + 1] if i + 1 < len(self.chain) else None


class AlertRejected(ValueError):
    """An action that does not fit the alert's state, or names no known alert."""


def _matches(alert: Alert, match: dict[str, str]) -> bool:
    return all(alert.label(k) == v for k, v in match.items())


class AlertBook:
    def __init__(self, escalation: EscalationPolicy = EscalationPolicy(),
                 inhibit_rules: Iterable[InhibitRule] = DEFAULT_INHIBIT_RULES) -> None:
        self.escalation = escalation
        self.inhibit_rules = tuple(inhibit_rules)
        self.log: list[Signal | Action] = []
        self._alerts: dict[str, Alert] = {}  # by id, in the order they opened
        self._open: dict[str, str] = {}  # fingerprint -> id of its open alert
        self._incidents: dict[str, int] = {}  # fingerprint -> incidents opened so far

    # -- reading ------------------------------------------------------------------------
    def get(self, alert_id: str) -> Alert:
        try:
            return self._alerts[alert_id]
        except KeyError:
            raise AlertRejected(f"unknown alert id {alert_id!r}") from None

    def open_alert(self, fingerprint: str) -> Alert | None:
        alert_id = self._open.get(fingerprint)
        return self._alerts[alert_id] if alert_id else None

    def alerts(self, state: str | None = None, include_inhibited: bool = True) -> list[Alert]:
        if state is not None and state not in STATES:
            raise ValueError(f"state: must be one of {', '.join(STATES)}, got {state!r}")
        out = [a for a in self._alerts.values() if state is None or a.state == state]
        if not include_inhibited:
            out = [a for a in out if self.inhibitor(a) is None]
        return out

    def inhibitor(self, alert: Alert) -> str | None:
        """Id of an open alert that mutes this one, or None."""
        if alert.state == "resolved":
            return None
        for rule in self.inhibit_rules:
            if not _matches(alert, rule.target_match):
                continue
            for source_id in self._open.values():
                source = self._alerts[source_id]
                if (source.id != alert.id and _matches(source, rule.source_match)
                        and all(source.label(k) == alert.label(k) for k in rule.equal)):
                    return source.id
        return None

    def groups(self, include_resolved: bool = False) -> list[dict[str, Any]]:
        """Alerts by group key (system/kind) for the console, worst severity first."""
        groups: dict[str, dict[str, Any]] = {}
        for alert in self._alerts.values():
            if alert.state == "resolved" and not include_resolved:
                continue
            g = groups.setdefault(alert.group_key, {
                "key": alert.group_key, "system": alert.system, "kind": alert.kind.value,
                "severity": alert.severity, "alerts": 0, "inhibited": 0, "alert_ids": []})
            g["alerts"] += 1
            g["inhibited"] += self.inhibitor(alert) is not None
            g["alert_ids"].append(alert.id)
            if SEVERITY_RANK[alert.severity] > SEVERITY_RANK[g["severity"]]:
                g["severity"] = alert.severity
        return sorted(groups.values(), key=lambda g: (-SEVERITY_RANK[g["severity"]], g["key"]))

    def api_view(self, state: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/v1/alerts`` (contracts.md §5), newest first."""
        alerts = sorted(self.alerts(state), key=lambda a: (a.started_at, a.id), reverse=True)
        return [a.api_view() for a in alerts]

    def snapshot(self) -> list[dict[str, Any]]:
        """Everything the book knows, as JSON: equal snapshots mean equal books."""
        return [{**a.model_dump(mode="json"), "inhibited_by": self.inhibitor(a)} for a in self._alerts.values()]

    # -- writing ------------------------------------------------------------------------
    def apply(self, event: Signal | Action) -> Signal | Action | None:
        """Apply one event; returns it numbered as logged (None: a clear with nothing open)."""
        if isinstance(event, Signal):
            changed = self._raise(event) if event.op == "raise" else self._clear(event)
        else:
            changed = self._act(event)
        if not changed:
            return None
        logged = event.model_copy(update={"seq": len(self.log)})
        # A camera's picture goes out with the logged event (to the notifier, the warehouse) but
        # is not kept in memory: it changes nothing in the book, and the log lives for months.
        kept = logged.model_copy(update={"frame": None}) if isinstance(logged, Signal) and logged.frame else logged
        self.log.append(kept)
        return logged

    def tick(self, now: datetime) -> list[Action]:
        """Escalate what waited too long unacknowledged; returns the logged escalations."""
        due: list[Action] = []
        for alert in list(self._alerts.values()):
            nxt = self.escalation.next_level(alert.level)
            if (alert.state in AUTO_ESCALATE_STATES and nxt is not None
                    and (now - alert.level_since).total_seconds() >= self.escalation.after_s
                    and self.inhibitor(alert) is None):
                minutes = round(self.escalation.after_s / 60)
                due.append(Action(
                    event_id=f"escalate:{alert.id}:{nxt}", at=now, action="escalate", alert_id=alert.id,
                    actor=SYSTEM_ACTOR,
                    comment=f"Chưa được xác nhận sau {minutes} phút: chuyển lên cấp {_LEVEL_VI.get(nxt, nxt)}"))
        return [logged for action in due if (logged := self.apply(action)) is not None]  # type: ignore[misc]

    @classmethod
    def replay(cls, events: Iterable[Signal | Action], escalation: EscalationPolicy = EscalationPolicy(),
               inhibit_rules: Iterable[InhibitRule] = DEFAULT_INHIBIT_RULES) -> "AlertBook":
        """Rebuild a book from a logged event list (any order: sorted by ``seq`` when numbered)."""
        events = list(events)
        if all(e.seq is not None for e in events):
            events.sort(key=lambda e: e.seq)  # type: ignore[arg-type, return-value]
        book = cls(escalation, inhibit_rules)
        for event in events:
            book.apply(event)
        return book

    # -- the state machine ----------------------------------------------------------------
    def _raise(self, s: Signal) -> bool:
        fp = s.fingerprint
        alert = self.open_alert(fp)
        if alert is None:
            n = self._incidents.get(fp, 0) + 1
            self._incidents[fp] = n
            alert = Alert(
                id=f"{fp}-{n}", fingerprint=fp, incident=n, source=s.source, system=s.system, kind=s.kind,
                unit=s.unit, level=s.effective_level, level_since=s.at, labels=dict(s.labels),
                severity=s.severity, state="firing", summary=s.summary, started_at=s.at, updated_at=s.at,
                last_seen_at=s.at, units=list(s.units),
                history=[HistoryEntry(at=s.at, actor=SYSTEM_ACTOR, what="raise", comment=s.summary or None)])
            self._alerts[alert.id] = alert
            self._open[fp] = alert.id
            return True
        alert.count += 1
        alert.last_seen_at = max(alert.last_seen_at, s.at)
        alert.updated_at = max(alert.updated_at, s.at)
        if s.summary:
            alert.summary = s.summary
        if s.units:
            alert.units = list(s.units)
        if s.severity != alert.severity:
            alert.history.append(HistoryEntry(at=s.at, actor=SYSTEM_ACTOR, what="severity",
                                              comment=f"{alert.severity} -> {s.severity}"))
            alert.severity = s.severity
        return True

    def _clear(self, s: Signal) -> bool:
        alert = self.open_alert(s.fingerprint)
        if alert is None:
            return False
        self._close(alert, SYSTEM_ACTOR, s.at, "clear", s.summary or None)
        return True

    def _close(self, alert: Alert, actor: str, at: datetime, what: str, comment: str | None) -> None:
        alert.state = "resolved"
        alert.resolved_by = actor
        alert.updated_at = max(alert.updated_at, at)
        alert.history.append(HistoryEntry(at=at, actor=actor, what=what, comment=comment))
        del self._open[alert.fingerprint]

    def _act(self, a: Action) -> bool:
        alert = self.get(a.alert_id)
        if alert.state == "resolved" and a.action != "comment":
            raise AlertRejected(f"cannot {a.action} alert {alert.id}: it is resolved (only comments are accepted)")
        if a.action == "acknowledge":
            if alert.state not in ("firing", "escalated"):
                raise AlertRejected(f"cannot acknowledge alert {alert.id}: it is already {alert.state}"
                                    f" (by {alert.acknowledged_by})")
            alert.state = "acknowledged"
            alert.acknowledged_by = a.actor
        elif a.action == "assign":
            alert.state = "assigned"
            alert.assignee = a.assignee
            alert.acknowledged_by = alert.acknowledged_by or a.actor
        elif a.action == "escalate":
            nxt = self.escalation.next_level(alert.level)
            if nxt is None:
                raise AlertRejected(f"cannot escalate alert {alert.id}: it is already at the highest level ({alert.level})")
            alert.level = nxt
            alert.level_since = a.at
            alert.state = "escalated"
        elif a.action == "resolve":
            self._close(alert, a.actor, a.at, "resolve", a.comment)
            return True
        alert.updated_at = max(alert.updated_at, a.at)
        what = f"escalate:{alert.level}" if a.action == "escalate" else (
            f"assign:{a.assignee}" if a.action == "assign" else a.action)
        alert.history.append(HistoryEntry(at=a.at, actor=a.actor, what=what, comment=a.comment))
        return True


_LEVEL_VI = {"commune": "xã", "province": "tỉnh"}
