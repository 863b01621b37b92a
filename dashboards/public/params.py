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

from ioc.clock import LOCAL_TZ
from ioc.kpi.periods import Period, parse_period

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


# -- the Decision 766 pages, their open data, widgets and the dossier lookup --------------------
#
#   /public/766[/unit/<code>]?period=&unit=&lang=&theme=      the index of a period (a unit's)
#   /public/766.csv|.json?table=&period=&unit=                  its tables as open data
#   /public/widget/<indicator|group|ranking|trend>/<item>?unit=&period=&lang=&theme=
#   /public/tra-cuu?ma=<dossier code>&lang=                     the dossier lookup
#
# ``period`` there is a month ``YYYY-MM``, a quarter ``YYYY-Qn`` or a year ``YYYY`` that has
# started (local time); absent: this month. Their figures are replays of the stored events
# (ioc.commands.kpi_warehouse), so a quarter is computed from its dossiers, never summed.

PAGE_PARAMS = ("unit", "period", "lang", "theme")
DATA_PARAMS = ("table", "unit", "period")
LOOKUP_PARAMS = ("ma", "lang")
TABLES = ("indicators", "groups", "units", "unit-indicators", "trend")
ITEM_KINDS = ("indicator", "group", "ranking", "trend")
GROUPS = ("1", "2", "3", "4", "5")
RANKINGS = ("departments", "communes")
TOTAL = "total"  # the trend of the total score
PERIOD_CHOICES = (13, 5, 3)  # the picker: this month and 12 before, this quarter and 4, this year and 2
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")


@dataclass(frozen=True)
class ReportQuery:
    """A Decision 766 page, a data table or a widget of it."""

    unit: str | None
    period: Period
    lang: str = "vi"
    theme: str = "auto"
    table: str = "indicators"  # data only
    kind: str = ""  # widgets only: indicator | group | ranking | trend
    item: str = ""  # widgets only: the indicator id, group, ranking or trend named in the path

    def query_string(self, *, lang: bool = True, theme: bool = True, unit: bool = True,
                     default_period: str | None = None) -> str:
        """The canonical query (defaults left out), for links."""
        parts = []
        if unit and self.unit:
            parts.append(f"unit={self.unit}")
        if self.period.label != default_period:
            parts.append(f"period={self.period.label}")
        if lang and self.lang != "vi":
            parts.append(f"lang={self.lang}")
        if theme and self.theme != "auto":
            parts.append(f"theme={self.theme}")
        return "&".join(parts)


@dataclass(frozen=True)
class LookupQuery:
    code: str | None  # None: the empty form
    lang: str = "vi"


def _check_names(args: Mapping[str, str], allowed: tuple[str, ...], repeated: Mapping[str, int] | None) -> None:
    for name in args:
        if name not in allowed:
            raise ParamError(name, f"tham số không được hỗ trợ (chỉ có: {', '.join(allowed)})",
                             f"unknown parameter (supported: {', '.join(allowed)})")
    for name, count in (repeated or {}).items():
        if count > 1:
            raise ParamError(name, "tham số chỉ được cho một lần", "the parameter may be given only once")


def parse_report_period(value: str | None, now: datetime) -> Period:
    """A month, quarter or year that has started by ``now``; absent: this month."""
    this_month = current_month(now)
    if value is None or value == "":
        return parse_period(this_month)
    try:
        period = parse_period(value)
    except ValueError:
        raise ParamError("period", f"'{_shown(value)}' không phải tháng YYYY-MM, quý YYYY-Qn hay năm YYYY "
                         f"(ví dụ {this_month})",
                         f"'{_shown(value)}' is not a month YYYY-MM, quarter YYYY-Qn or year YYYY "
                         f"(e.g. {this_month})") from None
    if period.start > now:
        raise ParamError("period", f"kỳ {value} chưa bắt đầu (tháng hiện tại: {this_month})",
                         f"the period {value} has not started yet (this month: {this_month})")
    if period.start.year < 2000:
        raise ParamError("period", f"kỳ {value} quá xa", f"the period {value} is too far back")
    return period


def parse_report_query(args: Mapping[str, str], units: Mapping[str, str], now: datetime,
                       repeated: Mapping[str, int] | None = None, unit_in_path: str | None = None) -> ReportQuery:
    """``/public/766`` and ``/public/766/unit/<code>`` (the unit in the path, not also in the query)."""
    _check_names(args, PAGE_PARAMS, repeated)
    if unit_in_path is not None and args.get("unit"):
        raise ParamError("unit", "đơn vị đã có trên đường dẫn", "the unit is already in the path")
    unit = parse_unit(unit_in_path, units) if unit_in_path is not None else parse_unit(args.get("unit"), units)
    if unit_in_path is not None and unit is None:
        raise ParamError("unit", "thiếu mã đơn vị", "the unit code is missing")
    return ReportQuery(unit=unit, period=parse_report_period(args.get("period"), now),
                       lang=_choice("lang", args.get("lang"), LANGS), theme=_choice("theme", args.get("theme"), THEMES))


def parse_data_query(args: Mapping[str, str], units: Mapping[str, str], now: datetime,
                     repeated: Mapping[str, int] | None = None) -> ReportQuery:
    """``/public/766.csv`` and ``.json``: which table, of which period and unit."""
    _check_names(args, DATA_PARAMS, repeated)
    return ReportQuery(unit=parse_unit(args.get("unit"), units), period=parse_report_period(args.get("period"), now),
                       table=_choice("table", args.get("table"), TABLES))


def parse_item_widget(kind: str, item: str, args: Mapping[str, str], units: Mapping[str, str], now: datetime,
                      indicator_ids: tuple[str, ...], repeated: Mapping[str, int] | None = None) -> ReportQuery:
    """``/public/widget/<kind>/<item>``: an indicator, a group, a ranking or a trend."""
    if kind not in ITEM_KINDS:
        raise ParamError("widget", f"'{_shown(kind)}' không có (chọn một trong: {', '.join(ITEM_KINDS)})",
                         f"'{_shown(kind)}' does not exist (one of: {', '.join(ITEM_KINDS)})")
    allowed = {"indicator": indicator_ids, "group": GROUPS, "ranking": RANKINGS,
               "trend": (*indicator_ids, TOTAL)}[kind]
    if item not in allowed:
        name = "indicator" if kind == "trend" else kind
        raise ParamError(name, f"'{_shown(item)}' không có (chọn một trong: {', '.join(allowed)})",
                         f"'{_shown(item)}' does not exist (one of: {', '.join(allowed)})")
    _check_names(args, PARAMS, repeated)
    return ReportQuery(unit=parse_unit(args.get("unit"), units), period=parse_report_period(args.get("period"), now),
                       lang=_choice("lang", args.get("lang"), LANGS), theme=_choice("theme", args.get("theme"), THEMES),
                       kind=kind, item=item)


def parse_lookup(args: Mapping[str, str], repeated: Mapping[str, int] | None = None) -> LookupQuery:
    """``/public/tra-cuu?ma=``: a dossier code's shape only (letters, digits, ``. _ / -``, at
    most 64); whether it exists is the lookup's answer, never a parameter error."""
    _check_names(args, LOOKUP_PARAMS, repeated)
    lang = _choice("lang", args.get("lang"), LANGS)
    value = (args.get("ma") or "").strip()
    if not value:
        return LookupQuery(None, lang)
    if not _CODE.fullmatch(value):
        raise ParamError("ma", f"'{_shown(value)}' không phải mã hồ sơ (chữ, số và . _ / -, tối đa 64 ký tự)",
                         f"'{_shown(value)}' is not a dossier code (letters, digits and . _ / -, at most 64)")
    return LookupQuery(value, lang)


def period_choices(now: datetime) -> list[Period]:
    """The picker's periods, newest first: months, then quarters, then years (all started)."""
    local = now.astimezone(LOCAL_TZ)
    months, quarters, years = PERIOD_CHOICES
    out: list[Period] = []
    year, month = local.year, local.month
    for _ in range(months):
        out.append(parse_period(f"{year:04d}-{month:02d}"))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    year, quarter = local.year, (local.month - 1) // 3 + 1
    for _ in range(quarters):
        out.append(parse_period(f"{year:04d}-Q{quarter}"))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    out += [parse_period(f"{local.year - i:04d}") for i in range(years)]
    return out


def trend_months(period: Period, now: datetime, n: int = 12) -> list[Period]:
    """The ``n`` months ending with the period's last month that has started, oldest first."""
    from datetime import timedelta

    last = min(period.end - timedelta(microseconds=1), now).astimezone(LOCAL_TZ)
    year, month = last.year, last.month
    out = []
    for _ in range(n):
        out.append(parse_period(f"{year:04d}-{month:02d}"))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]
