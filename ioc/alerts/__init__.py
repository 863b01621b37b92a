"""One alert model for every source (dossiers, IT services, cameras) and its event-sourced book."""

from ioc.alerts.book import DEFAULT_INHIBIT_RULES, AlertBook, AlertRejected, EscalationPolicy, InhibitRule
from ioc.alerts.model import Action, Alert, AlertEventRejected, AlertKind, HistoryEntry, Signal, fingerprint, parse_alert_event

__all__ = [
    "DEFAULT_INHIBIT_RULES", "Action", "Alert", "AlertBook", "AlertEventRejected", "AlertKind",
    "AlertRejected", "EscalationPolicy", "HistoryEntry", "InhibitRule", "Signal", "fingerprint",
    "parse_alert_event",
]
