"""The public pages as plain HTML and inline SVG, rendered on the server.

Why no Dash here: a widget is one number that changes at most once per cache period, so a
server-rendered page is all an iframe needs. It loads in one request with no JavaScript at
all (``script-src 'none'``), works in any embedding site and browser, caches as one response,
and, having no Dash renderer, has no way to reach a Dash callback of the internal wall. The
index page adds one small script of ours (copy to clipboard). Pure: data in, text out; every
value is escaped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Iterable, Mapping, Sequence

from dashboards.public.figures import WidgetFigure
from dashboards.public.params import KINDS, LANGS, PARAMS, THEMES, WidgetQuery
from dashboards.public.texts import tx as t
from ioc.clock import LOCAL_TZ

STATIC = "/public/static"
WIDGET_SIZE = (320, 180)
PARAM_HELP = {  # name -> (Vietnamese, English)
    "unit": ("mã đơn vị (ví dụ H44.07); bỏ trống: toàn tỉnh", "unit code (e.g. H44.07); left out: the whole province"),
    "period": ("tháng YYYY-MM; bỏ trống: tháng này", "month as YYYY-MM; left out: this month"),
    "lang": ("vi (mặc định) hoặc en", "vi (default) or en"),
    "theme": ("auto (theo thiết bị), light hoặc dark", "auto (as the device), light or dark"),
}  # the embed code's default iframe size; the widget fits any size near it


def fmt_number(x: float, decimals: int, lang: str) -> str:
    """Thousands and decimals the Vietnamese way (1.234,5) or the English way (1,234.5)."""
    text = f"{x:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    if lang == "vi":
        text = text.translate(str.maketrans(",.", ".,"))
    return text


def fmt_month(month: str, lang: str) -> str:
    year, mm = month.split("-")
    return t("month_of", lang).format(month=f"{mm}/{year}")


def fmt_time(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")


@dataclass(frozen=True)
class WidgetView:
    query: WidgetQuery
    unit_name: str
    figure: WidgetFigure
    as_of: datetime | None
    refresh_s: int | None  # reload itself this often (the current month); None: a closed month


def _head(title: str, lang: str, css: str, theme: str = "auto", refresh_s: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{int(refresh_s)}">' if refresh_s else ""
    return (f'<!doctype html><html lang="{lang}" class="theme-{theme}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}'
            f'<meta name="robots" content="noindex"><title>{escape(title)}</title>'
            f'<link rel="stylesheet" href="{STATIC}/{css}"></head>')


def _bar(fraction: float, label: str) -> str:
    width = max(0.0, min(100.0, fraction * 100))
    return (f'<svg class="w-bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" '
            f'aria-label="{escape(label)}"><rect class="w-track" width="100" height="6" rx="3"/>'
            f'<rect class="w-fill" width="{width:.2f}" height="6" rx="3"/></svg>')


def widget_page(view: WidgetView) -> str:
    q, f, lang = view.query, view.figure, view.query.lang
    label = t(f"widget_{q.kind}", lang)
    if f.value is None:
        value_html = f'<p class="w-value w-none" id="widget-value">{escape(t("no_data", lang))}</p>'
        detail = ""
        bar = ""
    elif q.kind == "score":
        assert f.maximum is not None
        value_html = f'<p class="w-value" id="widget-value">{fmt_number(f.value, 2, lang)}</p>'
        detail = t("score_out_of", lang).format(max=fmt_number(f.maximum, 2, lang), n=f.indicators)
        bar = _bar(f.value / f.maximum if f.maximum else 0.0, f"{fmt_number(f.value, 2, lang)} / {f.maximum:g}")
    else:
        pct = fmt_number(f.value * 100, 1, lang)
        value_html = f'<p class="w-value" id="widget-value">{pct}<span class="w-sign">%</span></p>'
        detail = t("dossiers_of", lang).format(num=fmt_number(f.numerator or 0, 0, lang),
                                               den=fmt_number(f.denominator or 0, 0, lang))
        bar = _bar(f.value, f"{pct} %")
    meta = fmt_month(q.month, lang)
    if view.as_of is not None:
        meta += " · " + t("as_of", lang).format(time=fmt_time(view.as_of))
    head = _head(f"{label} — {view.unit_name}", lang, "widget.css", q.theme, view.refresh_s)
    return (f'{head}<body><main class="widget widget-{q.kind}" id="widget">'
            f'<p class="w-label">{escape(label)}</p><p class="w-unit">{escape(view.unit_name)}</p>'
            f'{value_html}{bar}'
            + (f'<p class="w-detail">{escape(detail)}</p>' if detail else "")
            + f'<p class="w-meta">{escape(meta)}</p></main></body></html>')


def message_page(title: str, lines: Iterable[str], lang: str = "vi", refresh_s: int | None = None) -> str:
    """A short error page (400, 404, 429, 503), in both languages; ``refresh_s``: it reloads itself."""
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    head = _head(title, lang, "widget.css", refresh_s=refresh_s)
    return f'{head}<body><main class="widget message" id="message"><h1>{escape(title)}</h1>{body}</main></body></html>'


# -- the index ----------------------------------------------------------------------------------


def embed_code(url: str, title: str, size: tuple[int, int] = WIDGET_SIZE) -> str:
    w, h = size
    return (f'<iframe src="{escape(url)}" width="{w}" height="{h}" title="{escape(title)}" '
            f'loading="lazy" style="border:0;max-width:100%"></iframe>')


def _options(pairs: Iterable[tuple[str, str]], chosen: str) -> str:
    return "".join(f'<option value="{escape(v)}"{" selected" if v == chosen else ""}>{escape(label)}</option>'
                   for v, label in pairs)


ITEM_SIZES = {"indicator": (320, 180), "group": (320, 180), "ranking": (360, 300), "trend": (360, 240)}


def index_page(query: WidgetQuery, units: Mapping[str, str], months: list[str], base_url: str,
               widget_query: str, item: str | None = None, items: Sequence[tuple[str, str]] = ()) -> str:
    """Every widget with a live preview (an iframe of the widget itself) and its embed code,
    for the unit, month, language and theme chosen in the form (a plain GET form); with
    ``items`` (path after /public/widget/, label), one more card for the one chosen as ``item``:
    any indicator, group, ranking or trend of /public/766."""
    lang = query.lang
    other = "en" if lang == "vi" else "vi"
    unit_choices = [("", t("whole_province", lang))] + [(c, f"{c} — {n}") for c, n in units.items()]
    form = (
        f'<form class="p-form" method="get" action="/public/" id="public-form">'
        f'<label>{escape(t("unit", lang))}<select name="unit">{_options(unit_choices, query.unit or "")}</select></label>'
        f'<label>{escape(t("month", lang))}<select name="period">'
        f'{_options([(m, fmt_month(m, lang)) for m in months], query.month)}</select></label>'
        f'<label>{escape(t("language", lang))}<select name="lang">'
        f'{_options([("vi", "Tiếng Việt"), ("en", "English")], lang)}</select></label>'
        f'<label>{escape(t("theme", lang))}<select name="theme">'
        f'{_options([(th, t(f"theme_{th}", lang)) for th in THEMES], query.theme)}</select></label>'
        + (f'<label>{escape(t("widget_item", lang))}<select name="widget">{_options(items, item or "")}</select></label>'
           if items else "")
        + f'<button type="submit">{escape(t("show", lang))}</button></form>'
    )
    cards = []
    if items and item:
        path = f"/public/widget/{item}" + (f"?{widget_query}" if widget_query else "")
        title = dict(items).get(item, item)
        w, h = ITEM_SIZES.get(item.split("/")[0], WIDGET_SIZE)
        code = embed_code(base_url + path, title, (w, h))
        cards.append(
            f'<section class="p-card" id="card-item"><h2>{escape(title)}</h2>'
            f'<iframe class="p-preview" id="preview-item" src="{escape(path)}" width="{w}" height="{h}" '
            f'title="{escape(title)}"></iframe>'
            f'<label for="code-item">{escape(t("embed_code", lang))}</label>'
            f'<textarea id="code-item" class="p-code" readonly rows="3">{escape(code)}</textarea>'
            f'<button type="button" class="p-copy" data-target="code-item" data-done="{escape(t("copied", lang))}">'
            f'{escape(t("copy", lang))}</button></section>'
        )
    for kind in KINDS:
        path = f"/public/widget/{kind}" + (f"?{widget_query}" if widget_query else "")
        title = t(f"widget_{kind}", lang)
        code = embed_code(base_url + path, title)
        w, h = WIDGET_SIZE
        cards.append(
            f'<section class="p-card" id="card-{kind}"><h2>{escape(title)}</h2>'
            f'<iframe class="p-preview" id="preview-{kind}" src="{escape(path)}" width="{w}" height="{h}" '
            f'title="{escape(title)}"></iframe>'
            f'<label for="code-{kind}">{escape(t("embed_code", lang))}</label>'
            f'<textarea id="code-{kind}" class="p-code" readonly rows="3">{escape(code)}</textarea>'
            f'<button type="button" class="p-copy" data-target="code-{kind}" data-done="{escape(t("copied", lang))}">'
            f'{escape(t("copy", lang))}</button></section>'
        )
    params = "".join(f"<li><code>{p}</code>: {escape(PARAM_HELP[p][0 if lang == 'vi' else 1])}</li>" for p in PARAMS)
    head = _head(t("public_title", lang), lang, "index.css")
    switch = f'<a class="p-lang" href="/public/?lang={other}">{escape(t("other_lang", lang))}</a>'
    more = (f'<p class="p-links"><a href="/public/766{"?lang=en" if lang == "en" else ""}">{escape(t("page_766", lang))}'
            f'</a> · <a href="/public/tra-cuu{"?lang=en" if lang == "en" else ""}">{escape(t("page_lookup", lang))}</a></p>')
    kinds = ("|".join(KINDS) + "|indicator/ID|group/1-5|ranking/departments|ranking/communes|trend/ID|trend/total")
    return (f'{head}<body class="p-index"><header><h1>{escape(t("public_title", lang))}</h1>{switch}</header>'
            f'{more}<p>{escape(t("public_intro", lang))}</p><p class="p-note">{escape(t("public_embed_note", lang))}</p>'
            f'{form}<div class="p-cards">{"".join(cards)}</div>'
            f'<h2>{escape(t("url_params", lang))}</h2><ul class="p-params">{params}</ul>'
            f'<p class="p-kinds"><code>/public/widget/&lt;{escape(kinds)}&gt;?unit=…&amp;period=YYYY-MM&amp;'
            f'lang={"|".join(LANGS)}&amp;theme={"|".join(THEMES)}</code></p>'
            f'<script src="{STATIC}/copy.js"></script></body></html>')
