"""Widgets of anything on ``/public/766``: an indicator, a group, a ranking, a trend.

``/public/widget/<indicator|group|ranking|trend>/<item>`` with the parameters of the other
widgets (``unit``, ``period``, ``lang``, ``theme``; ``period`` also a quarter or a year). The
same rules as :mod:`dashboards.public.render`'s widgets: one request, no script at all, inline
SVG, the figures of the period's report (the page's own numbers). Pure: views in, text out."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Mapping, Sequence

from dashboards.public.page766 import month_short, num, pct, period_name, trend_label
from dashboards.public.params import ReportQuery
from dashboards.public.render import _bar, _head, fmt_time
from dashboards.public.reports import PeriodReport
from dashboards.public.tables import group_rows, indicator_rows, level_of, rankings, registry_of
from dashboards.public.texts import tx
from dashboards.wall.scenes.scorecard import group_name, indicator_name, reason_text

RANKING_ROWS = 8


@dataclass(frozen=True)
class ItemView:
    query: ReportQuery
    report: PeriodReport
    months: Sequence[PeriodReport]  # trend widgets: the twelve months, oldest first
    names: Mapping[str, str]
    levels: Mapping[str, str]
    province_name: str
    refresh_s: int | None  # the current period reloads itself


def _scope(v: ItemView) -> str:
    return v.names.get(v.query.unit, v.query.unit) if v.query.unit else v.province_name


def _meta(v: ItemView) -> str:
    lang = v.query.lang
    return (f'<p class="w-meta">{escape(period_name(v.report.period, lang))} · '
            f'{escape(tx("as_of", lang).format(time=fmt_time(v.report.at)))}</p>')


def _page(v: ItemView, label: str, body: str, css_kind: str) -> str:
    q = v.query
    return (f'{_head(f"{label} — {_scope(v)}", q.lang, "widget.css", q.theme, v.refresh_s)}<body>'
            f'<main class="widget widget-{css_kind}" id="widget"><p class="w-label">{escape(label)}</p>'
            f'<p class="w-unit">{escape(_scope(v))}</p>{body}{_meta(v)}</main></body></html>')


def indicator_widget(v: ItemView) -> str:
    q, lang = v.query, v.query.lang
    registry = registry_of(q.period)
    rule = registry.rule(q.item)
    line = next(x for x in indicator_rows(v.report.row(q.unit), registry, "") if x["indicator"] == q.item)
    label = f"{rule.id}. {indicator_name(rule, lang)}"
    if line["missing"] is not None:
        body = (f'<p class="w-value w-none" id="widget-value">{escape(tx("w_indicator_none", lang))}</p>'
                f'<p class="w-detail">{escape(reason_text(line["missing"], lang))}</p>')
    else:
        ratio = line["ratio"]
        value = pct(ratio, lang).replace(" %", "") if ratio is not None else "—"
        sign = '<span class="w-sign">%</span>' if ratio is not None else ""
        score = tx("w_of_points", lang, score=num(line["score"], lang), max=line["max_score"])
        body = (f'<p class="w-value" id="widget-value">{value}{sign}</p>'
                + (_bar(ratio, f"{value} %") if ratio is not None else "")
                + f'<p class="w-detail">{num(line["numerator"], lang)} / {num(line["denominator"], lang)} · '
                  f'{escape(score)}</p>')
    return _page(v, label, body, "indicator")


def group_widget(v: ItemView) -> str:
    q, lang = v.query, v.query.lang
    registry = registry_of(q.period)
    g = next(x for x in group_rows(v.report.row(q.unit), registry, "") if x["group"] == q.item)
    label = f"{q.item}. {group_name(registry, q.item, lang)}"
    if g["score"] is None:
        body = f'<p class="w-value w-none" id="widget-value">{escape(tx("no_data", lang))}</p>'
    else:
        body = (f'<p class="w-value" id="widget-value">{num(g["score"], lang)}</p>'
                + _bar(g["score"] / g["max_score"] if g["max_score"] else 0.0, f'{num(g["score"], lang)} / {g["max_score"]}')
                + f'<p class="w-detail">{escape(tx("w_of_points", lang, score=num(g["score"], lang), max=g["max_score"]))}'
                  f' · {escape(tx("w_group_detail", lang, n=g["max_score"], points=g["points"]))}</p>')
    return _page(v, label, body, "group")


def ranking_widget(v: ItemView) -> str:
    q, lang = v.query, v.query.lang
    ranked = rankings(v.report, v.levels)[q.item]
    group = tx(f"ranking_{q.item}", lang)
    shown = ranked[:RANKING_ROWS]
    mine = next((r for r in ranked if r.code == q.unit), None) if q.unit else None
    if mine is not None and mine not in shown:
        shown = [*shown, mine]
    if not shown:
        body = f'<p class="w-value w-none" id="widget-value">{escape(tx("no_data", lang))}</p>'
    else:
        current = ' class="w-mine" aria-current="true"'
        items = "".join(
            f'<li value="{r.rank}"{current if r is mine else ""}><span class="w-r">{r.rank}.</span> '
            f'<span class="w-name">{escape(v.names.get(r.code, r.code))}</span> <span class="w-score">'
            f'{num(r.row["total_score"], lang)}</span></li>' for r in shown)
        body = f'<ol class="w-rank" id="widget-value">{items}</ol>'
    label = tx("w_ranking_title", lang, group=group.lower())
    scope_unit = ReportQuery(None, q.period, q.lang, q.theme, kind=q.kind, item=q.item)
    return _page(ItemView(scope_unit, v.report, v.months, v.names, v.levels, v.province_name, v.refresh_s),
                 label, body, "ranking")


def trend_widget(v: ItemView) -> str:
    from dashboards.public.page766 import spark

    q, lang = v.query, v.query.lang
    registry = registry_of(q.period)
    total = q.item == "total"
    name = tx("w_total_name", lang) if total else f"{q.item}. {indicator_name(registry.rule(q.item), lang)}"
    values: list[tuple[str, float | None]] = []
    for m in v.months:
        row = m.row(q.unit)
        if row is None:
            values.append((month_short(m.period), None))
        elif total:
            values.append((month_short(m.period), row["total_score"] / 100.0))
        else:
            ind = row.get("indicators", {}).get(q.item)
            values.append((month_short(m.period), ind["ratio"] if ind else None))
    last = next(((m, x) for m, x in reversed(values) if x is not None), None)
    label_words = trend_label(values, None if total else name, lang)
    chart = spark(values, label_words, width=300, height=70).replace(
        'class="spark"', 'class="w-trend" preserveAspectRatio="none"')  # fills its frame, any shape
    if last is None:
        headline = f'<p class="w-value w-none" id="widget-value">{escape(tx("no_data", lang))}</p>'
    else:
        shown = num(last[1] * 100, lang) if total else pct(last[1], lang)
        headline = f'<p class="w-value w-small" id="widget-value">{shown} <span class="w-sign">({last[0]})</span></p>'
    ends = (f'<p class="w-ends"><span>{values[0][0]}</span><span>{values[-1][0]}</span></p>' if values else "")
    return _page(v, tx("w_trend_title", lang, name=name), headline + chart + ends, "trend")


RENDER = {"indicator": indicator_widget, "group": group_widget, "ranking": ranking_widget, "trend": trend_widget}


def item_widget(v: ItemView) -> str:
    return RENDER[v.query.kind](v)


__all__ = ["ItemView", "RENDER", "item_widget", "level_of"]
