"""What the console shows, as plain values: the alert queue filtered, grouped and turned into
rows, the silences' rows, labels in Vietnamese or English, the silence form made into a request
body. Pure (unit-tested); :mod:`dashboards.console.layout` and :mod:`~dashboards.console.app` use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from dashboards.console.alert_state import SilenceReplica
from dashboards.i18n import t
from ioc.alerts.model import AlertKind
from ioc.clock import LOCAL_TZ
from ioc.services.catalogue import SYSTEMS

OPEN_STATES = ("firing", "acknowledged", "assigned", "escalated")
SOURCES = ("dossier", "service", "camera")
SEVERITIES = ("critical", "warning", "info")
ACTIONS = ("acknowledge", "assign", "comment", "escalate", "resolve")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
RULES = tuple(k.value for k in AlertKind)
SILENCE_MINUTES = (30, 60, 120, 240, 480, 1440, 4320, 10080)


def dropdown_labels(lang: str) -> dict[str, str]:
    """dcc.Dropdown's own texts ("4 selected", "Select All", ...) in the page's language."""
    if lang != "vi":
        return {}
    return {"select_all": "Chọn tất cả", "deselect_all": "Bỏ chọn tất cả",
            "selected_count": "Đã chọn {num_selected}", "search": "Tìm kiếm", "clear_search": "Xóa tìm kiếm",
            "clear_selection": "Bỏ chọn", "no_options_found": "Không có lựa chọn phù hợp"}


def filter_alerts(alerts: Iterable[dict[str, Any]], source: str | None = None, severity: str | None = None,
                  unit: str | None = None, states: Iterable[str] | None = None,
                  group: str | None = None) -> list[dict[str, Any]]:
    """Alerts of :meth:`AlertBook.snapshot` that pass the filters, grouped (group key), worst first."""
    wanted = set(states) if states else None
    out = [a for a in alerts
           if (not source or a["source"] == source) and (not severity or a["severity"] == severity)
           and (not unit or a.get("unit") == unit or unit in (a.get("units") or []))
           and (wanted is None or a["state"] in wanted)
           and (not group or group_key(a) == group)]
    return sorted(out, key=lambda a: (group_key(a), SEVERITY_ORDER.get(a["severity"], 9),
                                      a["started_at"]), reverse=False)


def group_key(alert: dict[str, Any]) -> str:
    return f"{alert['system']}/{alert['kind']}"


def system_name(system_id: str, lang: str) -> str:
    spec = SYSTEMS.get(system_id)
    if spec is None:
        return system_id
    return spec.name_en if lang == "en" else spec.name_vi


def local_time(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).strftime("%H:%M:%S %d/%m")


def label_of(prefix: str, value: str | None, lang: str) -> str:
    if not value:
        return ""
    try:
        return t(f"{prefix}_{value}", lang)
    except KeyError:
        return value


def table_rows(alerts: Iterable[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    return [{
        "id": a["id"],
        "severity": label_of("sev", a["severity"], lang),
        "state": label_of("state", a["state"], lang) + (f" ({t('c_muted', lang)})" if a.get("inhibited_by") else "")
        + (f" ({t('c_silenced', lang)})" if a.get("silenced_by") and a["state"] != "resolved" else ""),
        "group": f"{system_name(a['system'], lang)} — {label_of('kind', a['kind'], lang)}",
        "unit": a.get("unit") or units_text(a.get("units") or []),
        "level": label_of("level", a.get("level"), lang),
        "summary": a.get("summary", ""),
        "count": a.get("count", 1),
        "started": local_time(a["started_at"]),
        "updated": local_time(a["updated_at"]),
        "sev_code": a["severity"], "state_code": a["state"],
    } for a in alerts]


def units_text(units: list[str], shown: int = 3) -> str:
    """The units a grouped rule lists, for a table cell: the first few and how many more."""
    return ", ".join(units[:shown]) + (f" (+{len(units) - shown})" if len(units) > shown else "")


def duration_label(minutes: int, lang: str) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} {'ngày' if lang == 'vi' else 'day' + ('s' if minutes > 1440 else '')}"
    if minutes % 60 == 0:
        return f"{minutes // 60} {'giờ' if lang == 'vi' else 'hour' + ('s' if minutes > 60 else '')}"
    return f"{minutes} {'phút' if lang == 'vi' else 'min'}"


def parse_local_start(text: str | None) -> datetime | None:
    """``dd/mm/yyyy hh:mm`` in Vietnam time (the console's way of writing times); empty: None."""
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=LOCAL_TZ)
        except ValueError:
            continue
    raise ValueError(text)


def silence_body(source: str | None, system: str | None, unit: str | None, severity: str | None,
                 rule: str | None, minutes: int | None, starts: datetime | None, kind: str | None,
                 comment: str | None) -> dict[str, Any]:
    """The body of ``POST /api/v1/silences`` from the console's form."""
    matchers = {k: v.strip() for k, v in (("source", source), ("system", system), ("unit", unit),
                                          ("severity", severity), ("rule", rule)) if v and v.strip()}
    body: dict[str, Any] = {"matchers": matchers, "duration_min": minutes or 60, "comment": (comment or "").strip(),
                            "kind": kind or "silence"}
    if starts is not None:
        body["starts_at"] = starts.isoformat()
    return body


def system_options(lang: str, extra: Iterable[str] = ()) -> list[dict[str, str]]:
    """The systems a silence may name: the catalogue's, the petitions', and ``extra`` (a camera's id)."""
    return [{"label": f"{system_name(sid, lang)} ({sid})" if sid in SYSTEMS else sid, "value": sid}
            for sid in dict.fromkeys((*SYSTEMS, "pakn", *extra))]


def silence_rows(views: Iterable[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    return [{
        "id": v["id"], "kind": t(f"s_kind_{v['kind']}", lang), "state": label_of("sstate", v["state"], lang),
        "matchers": ", ".join(f"{k}={'|'.join(p)}" for k, p in v["matchers"].items()),
        "who": v["created_by"], "why": v["comment"], "from": local_time(v["starts_at"]),
        "until": local_time(v["ends_at"]),
    } for v in views]


def with_silences(alerts: list[dict[str, Any]], silences: SilenceReplica, now: datetime) -> list[dict[str, Any]]:
    """The book's snapshot with ``silenced_by`` (the id of the active silence matching each open alert)."""
    out = []
    for a in alerts:
        s = silences.silencing(a, now) if a["state"] != "resolved" else None
        out.append({**a, "silenced_by": s.id if s else None})
    return out
