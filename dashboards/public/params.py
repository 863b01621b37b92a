"""What a public widget URL may ask for, validated: a bad value is a :class:`ParamError` that
names the parameter (the view answers 400 with it, in Vietnamese and English).

``/public/widget/<kind>?unit=H44.101&period=2026-11&lang=vi&theme=dark``

* ``kind``: ``score`` (Decision 766 projected score), ``ontime`` (on-time rate, 2.1),
  ``online`` (online share of received dossiers, 3.3);
* ``unit``: an agency or commune code of the province; absent: the whole province;
* ``period``: a month ``YYYY-MM`` (local time), not in the future; absent: this month. Only
  months: the live figures and their history are month-to-date tallies, and a quarter's
  on-time rate is not the sum of its months' (a dossier can be counted in two of them);
* ``lang``: ``vi`` (default) or ``en``; ``theme``: ``auto`` (default, the viewer's setting),
  ``light`` or ``dark``.

Unknown parameters are refused too, so a misspelt one is never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from ioc.kpi.periods import LOCAL_TZ, Period, parse_period

KINDS = ("score", "ontime", "online")
LANGS = ("vi", "en")
THEMES = ("auto", "light", "dark")
PARAMS = ("unit", "period", "lang", "theme")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_SHOWN = 40  # at most this much of a bad value is echoed back


class ParamError(ValueError):
    """A bad parameter: its name and the problem in both languages."""

    def __init__(self, name: str, vi: str, en: str) -> None:
        super().__init__(f"{name}: {en}")
        self.name = name
        self.vi = vi
        self.en = en


@dataclass(frozen=True)
class WidgetQuery:
    kind: str
    unit: str | None  # None: the province
    period: Period
    lang: str = "vi"
    theme: str = "auto"

    @property
    def month(self) -> str:
        return self.period.label

    def cache_key(self) -> tuple[str, str, str, str, str]:
        return (self.kind, self.unit or "", self.month, self.lang, self.theme)

    def query_string(self, current_month: str) -> str:
        """The canonical query of this widget (defaults left out): what the embed code uses."""
        parts = []
        if self.unit:
            parts.append(f"unit={self.unit}")
        if self.month != current_month:
            parts.append(f"period={self.month}")
        if self.lang != "vi":
            parts.append(f"lang={self.lang}")
        if self.theme != "auto":
            parts.append(f"theme={self.theme}")
        return "&".join(parts)


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else value[:_SHOWN] + "…"


def current_month(now: datetime) -> str:
    local = now.astimezone(LOCAL_TZ)
    return f"{local.year:04d}-{local.month:02d}"


def parse_month(value: str | None, now: datetime) -> Period:
    """A month not after the current one (local time); absent: the current month."""
    this_month = current_month(now)
    if value is None or value == "":
        return parse_period(this_month)
    if not _MONTH.fullmatch(value):
        raise ParamError("period", f"'{_shown(value)}' không phải một tháng dạng YYYY-MM (ví dụ {this_month})",
                         f"'{_shown(value)}' is not a month as YYYY-MM (e.g. {this_month})")
    try:
        period = parse_period(value)
    except ValueError:
        raise ParamError("period", f"'{value}' không phải một tháng có thật (tháng 01..12)",
                         f"'{value}' is not a real month (01..12)") from None
    if period.label > this_month:
        raise ParamError("period", f"tháng {value} chưa bắt đầu (tháng hiện tại: {this_month})",
                         f"month {value} has not started yet (this month: {this_month})")
    return period


def parse_unit(value: str | None, units: Mapping[str, str]) -> str | None:
    if value is None or value == "":
        return None
    code = value.strip().upper()
    if code not in units:
        example = next((c for c in units if "." in c), next(iter(units), "H44.07"))
        raise ParamError("unit", f"'{_shown(value)}' không phải mã đơn vị của tỉnh (ví dụ {example}; "
                         "bỏ trống để xem toàn tỉnh)",
                         f"'{_shown(value)}' is not a unit code of the province (e.g. {example}; "
                         "leave it out for the whole province)")
    return code


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str:
    if value is None or value == "":
        return allowed[0]
    if value not in allowed:
        options = ", ".join(allowed)
        raise ParamError(name, f"'{_shown(value)}' không hợp lệ (chọn một trong: {options})",
                         f"'{_shown(value)}' is not valid (one of: {options})")
    return value


def parse_kind(kind: str) -> str:
    """The widget named in the path (``/public/widget/<kind>``)."""
    if kind not in KINDS:
        raise ParamError("widget", f"'{_shown(kind)}' không có (chọn một trong: {', '.join(KINDS)})",
                         f"'{_shown(kind)}' does not exist (one of: {', '.join(KINDS)})")
    return kind


def parse_query(kind: str, args: Mapping[str, str], units: Mapping[str, str], now: datetime,
                repeated: Mapping[str, int] | None = None) -> WidgetQuery:
    """A widget query from the URL's path part ``kind`` and its query parameters."""
    for name in args:
        if name not in PARAMS:
            raise ParamError(name, f"tham số không được hỗ trợ (chỉ có: {', '.join(PARAMS)})",
                             f"unknown parameter (supported: {', '.join(PARAMS)})")
    for name, count in (repeated or {}).items():
        if count > 1:
            raise ParamError(name, "tham số chỉ được cho một lần", "the parameter may be given only once")
    return WidgetQuery(
        kind=parse_kind(kind),
        unit=parse_unit(args.get("unit"), units),
        period=parse_month(args.get("period"), now),
        lang=_choice("lang", args.get("lang"), LANGS),
        theme=_choice("theme", args.get("theme"), THEMES),
    )
