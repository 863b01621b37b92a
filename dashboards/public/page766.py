"""``/public/766``: the province's (or one unit's) Decision 766 index of a period, as one
server-rendered HTML page (pure: views in, text out; every value escaped).

Why server-rendered: the page must work with JavaScript off, print, and load in one request on
a phone (under 100 KB with its stylesheet and script, for the province's ~460 units). Tables
are plain HTML; ``/public/static/tables.js`` (the only script, CSP ``script-src 'self'``) adds
sorting and a search box when it runs. Trends are inline SVG with their values in words
(``aria-label``). Nothing here knows a dossier: the rows are the report's aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Mapping, Sequence

from dashboards.public.params import TABLES, ReportQuery
from dashboards.public.render import fmt_number
from dashboards.public.reports import PeriodReport
from dashboards.public.tables import (
    Ranked,
    group_rows,
    indicator_rows,
    level_of,
    rank_of,
    rankings,
    registry_of,
)
from dashboards.public.texts import explain, tx
from dashboards.wall.scenes.scorecard import flag_text, group_name, indicator_name, reason_text
from ioc.clock import LOCAL_TZ
from ioc.kpi.periods import Period, parse_period
from ioc.kpi.scoring import Registry

STATIC = "/public/static"
PAGE = "/public/766"
TOP_N = 5


# -- formatting --------------------------------------------------------------------------------------


def num(x: float | int | None, lang: str, decimals: int = 2) -> str:
    return "—" if x is None else fmt_number(float(x), decimals, lang)


def pct(ratio: float | None, lang: str) -> str:
    return "—" if ratio is None else fmt_number(ratio * 100, 2, lang) + " %"


def day(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%d/%m/%Y")


def moment(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")


def period_name(period: Period, lang: str) -> str:
    if period.kind == "month":
        y, m = period.label.split("-")
        return tx("label_month", lang, m=m, y=y)
    if period.kind == "quarter":
        y, q = period.label.split("-Q")
        return tx("label_quarter", lang, q=q, y=y)
    return tx("label_year", lang, y=period.label)


def month_short(period: Period) -> str:
    y, m = period.label.split("-")
    return f"{m}/{y}"


def head(title: str, lang: str, theme: str, css: str = "766.css", script: bool = True) -> str:
    js = f'<script src="{STATIC}/tables.js" defer></script>' if script else ""
    return (f'<!doctype html><html lang="{lang}" class="theme-{theme}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="{STATIC}/{css}">{js}</head>')


def spark(points: Sequence[tuple[str, float | None]], label: str, width: int = 110, height: int = 28) -> str:
    """A sparkline of values in [0, 1] (None: no data that month), with every value in words."""
    step = width / max(1, len(points) - 1)
    runs: list[list[tuple[float, float]]] = [[]]
    for i, (_, value) in enumerate(points):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((round(i * step, 1), round(height - 2 - max(0.0, min(1.0, value)) * (height - 4), 1)))
    shapes = []
    for run in runs:
        if len(run) == 1:
            shapes.append(f'<circle cx="{run[0][0]:g}" cy="{run[0][1]:g}" r="1.8"/>')
        elif run:
            shapes.append('<polyline points="' + " ".join(f"{x:g},{y:g}" for x, y in run) + '"/>')
    return (f'<svg class="spark" viewBox="-2 0 {width + 4} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(label)}"><line x1="0" y1="{height - 2}" x2="{width}" '
            f'y2="{height - 2}"/>{"".join(shapes)}</svg>')


# -- the view ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageView:
    query: ReportQuery
    report: PeriodReport
    months: Sequence[PeriodReport]  # the trend, oldest first
    choices: Sequence[Period]  # the period picker
    names: Mapping[str, str]  # unit code -> name
    levels: Mapping[str, str]  # unit code -> province | commune
    province_name: str
    current_month: str  # the default period (left out of links)


def _link(path: str, query: str) -> str:
    return escape(path + (f"?{query}" if query else ""))


def _picker(v: PageView, action: str) -> str:
    q, lang = v.query, v.query.lang
    groups: dict[str, list[Period]] = {"month": [], "quarter": [], "year": []}
    for p in v.choices:
        groups[p.kind].append(p)
    options = "".join(
        f'<optgroup label="{escape(tx(key, lang))}">' + "".join(
            f'<option value="{p.label}"{" selected" if p.label == q.period.label else ""}>'
            f'{escape(period_name(p, lang))}</option>' for p in ps) + "</optgroup>"
        for key, ps in zip(("months", "quarters", "years"), groups.values()))
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(val)}">'
                     for k, val, default in (("lang", q.lang, "vi"), ("theme", q.theme, "auto")) if val != default)
    return (f'<form class="picker" method="get" action="{escape(action)}"><label for="period">'
            f'{escape(tx("period", lang))}</label><select id="period" name="period">{options}</select>{hidden}'
            f'<button type="submit">{escape(tx("show", lang))}</button></form>')


def _summary(v: PageView, row: dict | None, scope: str, registry: Registry) -> str:
    lang, r = v.query.lang, v.report
    meta = tx("meta_period", lang, start=day(r.period.start), end=day(r.period.end - timedelta(microseconds=1)),
              at=moment(r.at), computed=moment(r.computed_at))
    if row is None:
        empty = tx("unit_no_dossier" if v.query.unit else "no_dossier", lang)
        return f'<section class="total" aria-labelledby="h-total"><h2 id="h-total">{escape(tx("total", lang))}' \
               f'</h2><p class="none">{escape(empty)}</p><p class="meta">{escape(meta)}</p></section>'
    band = next((b for b in registry.bands if b.code == row.get("band")), None)
    rating = tx("band", lang, band=band.label_vi if lang == "vi" else band.label_en) if band else tx("no_band", lang)
    rank = ""
    if v.query.unit:
        ranked = rank_of(r, v.levels, v.query.unit)
        if ranked is not None:
            kind = tx(f"ranking_{level_of(v.query.unit, v.levels)}", lang).lower()
            rank = f'<p class="rank">{escape(tx("rank_of", lang, rank=ranked.rank, n=ranked.of, group=kind))}</p>'
    groups = "".join(
        f'<tr><th scope="row">{g["group"]}. {escape(group_name(registry, g["group"], lang))}</th>'
        f'<td>{num(g["score"], lang)}</td><td>{num(g["max_score"], lang)}</td><td>{g["points"]}</td></tr>'
        for g in group_rows(row, registry, scope))
    return (f'<section class="total" aria-labelledby="h-total"><h2 id="h-total">{escape(tx("total", lang))}: '
            f'{escape(period_name(r.period, lang))}</h2><p class="big"><strong>{num(row["total_score"], lang)}</strong>'
            f' / {row["max_score"]}</p><p>{escape(tx("computed_points", lang, n=row["max_score"], total=registry.max_total))}'
            f' · {escape(rating)}</p>{rank}<p class="meta">{escape(meta)}</p>'
            f'<table class="groups"><caption>{escape(tx("groups", lang))}</caption><thead><tr>'
            f'<th scope="col">{escape(tx("group", lang))}</th><th scope="col">{escape(tx("score", lang))}</th>'
            f'<th scope="col">{escape(tx("of_computed", lang))}</th><th scope="col">{escape(tx("points", lang))}</th>'
            f'</tr></thead><tbody>{groups}</tbody></table></section>')


def _trend_values(v: PageView, indicator: str | None) -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = []
    for m in v.months:
        row = m.row(v.query.unit)
        if row is None:
            out.append((month_short(m.period), None))
        elif indicator is None:
            out.append((month_short(m.period), row["total_score"] / 100.0))
        else:
            ind = row.get("indicators", {}).get(indicator)
            out.append((month_short(m.period), ind["ratio"] if ind else None))
    return out


def trend_label(values: Sequence[tuple[str, float | None]], name: str | None, lang: str) -> str:
    none = tx("trend_none", lang)
    if name is None:
        words = "; ".join(f"{m} {num(x * 100, lang) if x is not None else none}" for m, x in values)
        return tx("trend_total_label", lang, values=words)
    words = "; ".join(f"{m} {pct(x, lang) if x is not None else none}" for m, x in values)
    return tx("trend_label", lang, name=name, values=words)


def _indicators(v: PageView, row: dict | None, scope: str, registry: Registry) -> str:
    lang = v.query.lang
    lines = indicator_rows(row, registry, scope)
    groups = {g["group"]: g for g in group_rows(row, registry, scope)}
    body: list[str] = []
    current = None
    labels = [escape(x) for x in (f'{tx("numerator", lang)} / {tx("denominator", lang).lower()}', tx("ratio", lang),
                                  f'{tx("score", lang)} / {tx("max", lang).lower()}', tx("trend", lang))]
    for line in lines:
        rule = registry.rule(line["indicator"])
        if line["group"] != current:
            current = line["group"]
            g = groups[current]
            body.append(f'{"</tbody>" if body else ""}<tbody><tr class="g"><th colspan="5" scope="colgroup">'
                        f'{current}. {escape(group_name(registry, current, lang))}: {num(g["score"], lang)} / '
                        f'{num(g["max_score"], lang)} ({g["points"]})</th></tr>')
        name = indicator_name(rule, lang)
        notes = []
        if line["missing"] is not None:
            notes.append(f'<span class="nc">{escape(tx("not_computed", lang))}: '
                         f'{escape(reason_text(line["missing"], lang))}</span>')
        elif not line["scored"]:
            notes.append(f'<span class="mon">{escape(tx("monitor", lang))}</span>')
        elif line["denominator"] == 0:
            notes.append(f'<span class="mon">{escape(tx("zero_den", lang))}</span>')
        if line["quality"]:
            notes.append(f'<span class="q">{escape(flag_text(line["quality"], lang))}</span>')
        values = _trend_values(v, rule.id)
        computed = line["missing"] is None
        cells = (f'<td data-l="{labels[0]}">{num(line["numerator"], lang)} / {num(line["denominator"], lang)}</td>'
                 f'<td data-l="{labels[1]}">{pct(line["ratio"], lang)}</td>'
                 f'<td data-l="{labels[2]}">{num(line["score"], lang)} / {line["max_score"]}</td>'
                 if computed else f'<td data-l="{labels[0]}">—</td><td data-l="{labels[1]}">—</td>'
                                  f'<td data-l="{labels[2]}">—</td>')
        body.append(
            f'<tr id="i{rule.id}"><th scope="row"><span class="id">{rule.id}</span> {escape(name)}'
            f'<span class="ex">{escape(explain(rule.id, lang))}</span>{"".join(notes)}</th>{cells}'
            f'<td data-l="{labels[3]}">{spark(values, trend_label(values, name, lang))}</td></tr>')
    head_ = "".join(f'<th scope="col">{escape(h)}</th>' for h in (
        tx("indicator", lang), f'{tx("numerator", lang)} / {tx("denominator", lang).lower()}', tx("ratio", lang),
        f'{tx("score", lang)} / {tx("max", lang).lower()}', tx("trend", lang)))
    return (f'<section aria-labelledby="h-ind"><h2 id="h-ind">{escape(tx("indicators", lang))}</h2>'
            f'<div class="scroll" role="region" aria-labelledby="h-ind" tabindex="0"><table class="ind">'
            f'<thead><tr>{head_}</tr></thead>{"".join(body)}</tbody></table></div></section>')


def _quality(v: PageView, row: dict | None, registry: Registry) -> str:
    lang = v.query.lang
    items = []
    for line in indicator_rows(row, registry, ""):
        name = f'{line["indicator"]} {indicator_name(registry.rule(line["indicator"]), lang)}'
        if line["missing"] is not None:
            items.append(f'<li><a href="#i{line["indicator"]}">{escape(name)}</a>: {escape(tx("not_computed", lang).lower())}'
                         f' — {escape(reason_text(line["missing"], lang))}</li>')
        if line["quality"]:
            items.append(f'<li><a href="#i{line["indicator"]}">{escape(name)}</a>: '
                         f'{escape(flag_text(line["quality"], lang))}</li>')
    content = f'<ul>{"".join(items)}</ul>' if items else f'<p>{escape(tx("quality_none", lang))}</p>'
    return f'<section aria-labelledby="h-q"><h2 id="h-q">{escape(tx("quality", lang))}</h2>{content}</section>'


def _unit_href(v: PageView, code: str) -> str:
    q = v.query
    query = ReportQuery(None, q.period, q.lang, q.theme).query_string(default_period=v.current_month)
    return _link(f"{PAGE}/unit/{code}", query)


def _unit_link(v: PageView, code: str) -> str:
    """The unit's name, linked to its page; a unit the province does not know (events filed
    under another province's code) has no page of its own here."""
    name = escape(v.names.get(code, code))
    return f'<a href="{_unit_href(v, code)}">{name}</a>' if code in v.names else name


def _rankings(v: PageView, ranked: dict[str, list[Ranked]]) -> str:
    lang = v.query.lang
    parts = []
    for lv in ("departments", "communes"):
        top = ranked[lv][:TOP_N]
        if not top:
            continue
        items = "".join(f'<li value="{r.rank}">{_unit_link(v, r.code)} {num(r.row["total_score"], lang)}</li>'
                        for r in top)
        parts.append(f'<div><h3>{escape(tx(f"ranking_{lv}", lang))}: {escape(tx("top", lang, n=len(top)))}</h3>'
                     f'<ol>{items}</ol></div>')
    if not parts:
        return ""
    return (f'<section aria-labelledby="h-rank"><h2 id="h-rank">{escape(tx("rankings", lang))}</h2>'
            f'<div class="tops">{"".join(parts)}</div></section>')


def _units(v: PageView, ranked: dict[str, list[Ranked]]) -> str:
    lang = v.query.lang
    out = []
    heads = "".join(f'<th scope="col">{escape(h)}</th>' for h in (
        tx("rank", lang), tx("unit", lang), tx("score", lang), tx("of_computed", lang), tx("ontime", lang),
        tx("received", lang)))
    for lv in ("departments", "communes", "other"):
        rows = ranked[lv]
        if not rows:
            continue
        body = "".join(
            f'<tr><td>{r.rank}</td><td>{_unit_link(v, r.code)} <small>{escape(r.code)}</small></td>'
            f'<td>{num(r.row["total_score"], lang)}</td><td>{r.row["max_score"]}</td>'
            f'<td>{pct((r.row["indicators"].get("2.1") or {}).get("ratio"), lang)}</td>'
            f'<td>{num(r.row["figures"]["received"], lang, 0)}</td></tr>' for r in rows)
        title = f'{tx(f"ranking_{lv}", lang)} ({tx("units_count", lang, n=len(rows))})'
        out.append(f'<h3 id="h-{lv}">{escape(title)}</h3><div class="scroll" role="region" aria-labelledby="h-{lv}" '
                   f'tabindex="0"><table class="units" data-sort data-search="{escape(tx("search", lang))}" '
                   f'data-shown="{escape(tx("shown", lang, n="{n}", total="{total}"))}"><caption class="vh">'
                   f'{escape(title)}</caption><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table></div>')
    if not out:
        return ""
    return (f'<section aria-labelledby="h-units"><h2 id="h-units">{escape(tx("unit", lang))}: '
            f'{escape(tx("rankings", lang).lower())}</h2>{"".join(out)}</section>')


def data_links(v: PageView) -> str:
    """Every table of the page as CSV and JSON (the unit's own tables carry its code)."""
    lang, q = v.query.lang, v.query
    scope = v.names.get(q.unit, q.unit) if q.unit else v.province_name
    items = []
    for table in TABLES:
        scoped = table in ("indicators", "groups", "trend")
        query = "&".join(part for part in (f"table={table}",
                                           f"unit={q.unit}" if scoped and q.unit else "",
                                           f"period={q.period.label}") if part)
        items.append(f'<li>{escape(tx(f"table_{table}", lang, scope=scope))}: '
                     f'<a href="{_link(PAGE + ".csv", query)}">CSV</a> · <a href="{_link(PAGE + ".json", query)}">JSON</a></li>')
    return (f'<section aria-labelledby="h-data"><h2 id="h-data">{escape(tx("open_data", lang))}</h2>'
            f'<p>{escape(tx("open_data_intro", lang))}</p><ul>{"".join(items)}</ul></section>')


def _embeds(v: PageView) -> str:
    lang, q = v.query.lang, v.query
    query = ReportQuery(q.unit, q.period, q.lang, q.theme).query_string(default_period=v.current_month)
    suffix = f"?{query}" if query else ""
    examples = " · ".join(f"<code>{escape(p + suffix)}</code>" for p in (
        "/public/widget/indicator/2.1", "/public/widget/group/2", "/public/widget/ranking/communes",
        "/public/widget/trend/total"))
    month = q.period if q.period.kind == "month" else parse_period(v.current_month)  # the index takes months
    builder = ReportQuery(q.unit, month, q.lang, q.theme).query_string(default_period=v.current_month)
    return (f'<section aria-labelledby="h-emb"><h2 id="h-emb">{escape(tx("embeds_link", lang))}</h2>'
            f'<p>{escape(tx("embed_intro", lang))} {examples}</p>'
            f'<p><a href="{_link("/public/", builder)}">{escape(tx("embeds_link", lang))}</a></p></section>')


def report_page(v: PageView) -> str:
    """The whole page: the province's, or with ``query.unit`` the unit's."""
    q, lang = v.query, v.query.lang
    registry = registry_of(q.period, None)
    scope = q.unit or v.report.province
    row = v.report.row(q.unit)
    scope_name = v.names.get(q.unit, q.unit) if q.unit else v.province_name
    action = f"{PAGE}/unit/{q.unit}" if q.unit else PAGE
    other = "en" if lang == "vi" else "vi"
    switch = ReportQuery(None, q.period, other, q.theme).query_string(default_period=v.current_month)
    title = f"{tx('title_766', lang)} — {scope_name}"
    home = ReportQuery(None, q.period, q.lang, q.theme).query_string(default_period=v.current_month)
    back = f'<p><a href="{_link(PAGE, home)}">{escape(tx("back_province", lang))}</a></p>' if q.unit else ""
    lookup = _link("/public/tra-cuu", "lang=en" if lang == "en" else "")
    nav = (f'<nav aria-label="{escape(tx("nav", lang))}"><a href="{_link(action, switch)}" lang="{other}" '
           f'hreflang="{other}">{escape(tx("other_lang", lang))}</a> <a href="{lookup}">'
           f'{escape(tx("lookup_link", lang))}</a> <a href="#h-data">{escape(tx("open_data", lang))}</a></nav>')
    ranked = rankings(v.report, v.levels)
    units = "" if q.unit else _rankings(v, ranked) + _units(v, ranked)
    return (f'{head(title, lang, q.theme)}<body><a class="skip" href="#main">{escape(tx("skip", lang))}</a>'
            f'<header><p class="brand">{escape(v.province_name)} · {escape(tx("brand", lang))}</p>'
            f'<h1>{escape(tx("title_766", lang))}<span class="scope">{escape(scope_name)}</span></h1>{nav}</header>'
            f'<main id="main">{back}<p class="intro">{escape(tx("intro_766", lang))}</p>{_picker(v, action)}'
            f'{_summary(v, row, scope, registry)}{_indicators(v, row, scope, registry)}{_quality(v, row, registry)}'
            f'{units}{data_links(v)}{_embeds(v)}</main></body></html>')


__all__ = ["PageView", "day", "head", "moment", "num", "pct", "period_name", "report_page", "spark", "trend_label"]
