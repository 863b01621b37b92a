"""Scene 7: petitions (PAKN: phản ánh, kiến nghị) — how many are open, near their limit and past
it; the month's petitions by category; indicators 5.1-5.3 with their scores; petitions past their
limit by commune on the offline province map (the drawing of the map scene: scenes/map.py and
wall/province_map.py); the units with most petitions past their limit.

Figures come from the live tallies' ``pakn:*`` keys (ioc.kpi.pakn.pakn_figures): a unit's petitions
are summed into its tally by the stream. Petitions carry a commune code, but the tallies are per
unit, so a commune's figures here are those of the agencies serving it (its UBND, its service
centre, ...), as on the map scene; province-wide agencies cannot be placed and are listed."""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from typing import Any

from dash import dcc, html

from dashboards.i18n import t
from dashboards.wall import province_map as pm
from dashboards.wall.data import WallData
from dashboards.wall.formatting import age_badge, fmt_dec, fmt_int, fmt_rate
from dashboards.wall.model import Model, put, put_row, row, slot
from dashboards.wall.scenes.scorecard import indicator_name, reason_text, registry_of
from ioc.kpi.indicators import Tally, sum_tallies
from ioc.kpi.pakn import PAKN_INDICATORS, has_pakn, pakn_figures
from ioc.reference import geometry

CATEGORIES = ("regulation", "procedure", "conduct", "other", "unknown")
FIGURES = (("open", "pk_open"), ("near_limit", "pk_near_limit"), ("overdue", "pk_overdue"),
           ("received", "pk_received"))
TONE = {"near_limit": "warn", "overdue": "bad"}  # a non-zero value needs attention
UNIT_ROWS = 12

# The commune points: coloured by petitions past their limit (none: green, one: amber, two or
# more: red), sized by the open ones.
PAKN_OVERDUE = pm.MapMetric(key="pakn_overdue", label_vi="PAKN quá hạn", label_en="Petitions overdue",
                            vmin=0, vmax=2, higher_is_better=False, percent=False, decimals=0)


@lru_cache(maxsize=8)
def _province_base(province_code: str, lang: str) -> tuple[dict[str, Any], int, tuple[geometry.CommunePoint, ...]]:
    """The province figure without values (as a plain dict: the layout copies only the commune
    trace, not the whole figure), the index of its commune trace, and the communes in order."""
    fig = pm.province_map_figure(province_code, metric=PAKN_OVERDUE, lang=lang)  # type: ignore[arg-type]
    fig.update_traces(selector={"name": "colour bar"}, marker_colorbar_dtick=1)  # whole petitions
    index = next(i for i, tr in enumerate(fig.data) if tr.meta and tr.meta.get("communes_of") == province_code)
    return fig.to_plotly_json(), index, geometry.commune_points(province_code)


def _with_values(base: dict[str, Any], m: Model, cid: str) -> dict[str, Any]:
    """``base`` with the model's values set; the traces the model does not touch are shared."""
    out = {**base, "data": list(base["data"])}
    copied: set[int] = set()
    for spec in m[cid].values():
        i = spec["trace"]
        if i not in copied:
            out["data"][i] = copy.deepcopy(out["data"][i])
            copied.add(i)
        node = out["data"][i]
        *parents, leaf = spec["attr"].split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = spec["value"] if "value" in spec else spec["values"]
    return out


def commune_tallies(d: WallData) -> dict[str, Tally]:
    """Commune code -> the summed tallies of the agencies serving it (those with petitions)."""
    parts: dict[str, list[Tally]] = {}
    for code, tally in d.tallies.items():
        commune = d.directory.info(code).commune
        if commune is not None and has_pakn(tally):
            parts.setdefault(commune, []).append(tally)
    return {c: sum_tallies(ts) for c, ts in parts.items()}


def commune_figures(d: WallData) -> dict[str, dict[str, Any] | None]:
    """Every commune of the province -> its petition figures (None: no petition data)."""
    by_commune = commune_tallies(d)
    return {c.code: pakn_figures(by_commune[c.code]) if c.code in by_commune else None
            for c in geometry.commune_points(d.directory.province_code)}


def unit_rows(d: WallData) -> list[tuple[str, dict[str, Any]]]:
    """Units with petitions, most past their limit first (then near it, then open, then code)."""
    units = [(code, pakn_figures(tally)) for code, tally in d.tallies.items() if has_pakn(tally)]
    return sorted(units, key=lambda cf: (-cf[1]["overdue"], -cf[1]["near_limit"], -cf[1]["open"], cf[0]))


def _overdue(f: dict[str, Any] | None) -> float | None:
    return None if f is None else f["overdue"]


def _marker_size(f: dict[str, Any] | None) -> float:
    if f is None:
        return 7.0
    return round(min(30.0, 10.0 + 3.0 * math.sqrt(f["open"] + f["awaiting_publication"])), 1)


def _hover(name: str, f: dict[str, Any] | None, lang: str) -> str:
    if f is None:
        return f"<b>{name}</b><br>{t('pk_none', lang)}"
    return (f"<b>{name}</b><br>{t('pk_overdue', lang)}: {fmt_int(f['overdue'], lang)}<br>"
            f"{t('pk_open', lang)}: {fmt_int(f['open'], lang)} · {t('pk_near_limit', lang)}: "
            f"{fmt_int(f['near_limit'], lang)}<br>{t('pk_received', lang)}: {fmt_int(f['received'], lang)}")


def model(d: WallData, lang: str) -> Model:
    m: Model = {}
    whole = sum_tallies(d.tallies.values())
    known = has_pakn(whole)
    if known:
        text, cls = age_badge(d.age_s, d.stale_after_s, lang)
    else:
        text, cls = (t("pk_none", lang), "age stale") if d.has_kpi else age_badge(d.age_s, d.stale_after_s, lang)
    put(m, "pk-age", children=text, className=cls)
    f = pakn_figures(whole)
    for key, _ in FIGURES:
        tone = TONE.get(key) if known and f[key] else None
        put(m, f"pk-{key}", children=fmt_int(f[key], lang) if known else "—")
        put(m, f"pk-box-{key}", className=f"card pk-card {tone}" if tone else "card pk-card")
    put(m, "pk-awaiting", children=t("pk_awaiting", lang).format(n=fmt_int(f["awaiting_publication"], lang))
        if known else "")
    counted = sum(f["by_category"].values())
    for c in CATEGORIES:
        n = f["by_category"].get(c, 0)
        put_row(m, f"pk-cat-{c}", [t(f"cat_{c}", lang), fmt_int(n, lang) if known else "—",
                                    fmt_rate(n / counted, lang, 1) if counted else "—"],
                "empty" if c == "unknown" and not n else "")
    # 5.1-5.3 of the province (the live month), as the scorecard shows them.
    registry = registry_of(d)
    view = d.province if d.has_kpi else {}
    for ind in PAKN_INDICATORS:
        s = view.get("indicators", {}).get(ind)
        rule = registry.rule(ind)
        key = ind.replace(".", "_")
        put(m, f"pk-ind-{key}-name", children=indicator_name(rule, lang))
        if s is None:
            why = view.get("missing", {}).get(ind)
            put(m, f"pk-ind-{key}-note", children=f"{t('not_computed', lang)}: {reason_text(why, lang)}" if why
                else t("waiting", lang))
            put(m, f"pk-ind-{key}-ratio", children="—")
            put(m, f"pk-ind-{key}-score", children=t("not_computed", lang))
            put(m, f"pk-ind-{key}", className="ind missing")
            continue
        put(m, f"pk-ind-{key}-note", children=f"{fmt_int(s['numerator'], lang)} / {fmt_int(s['denominator'], lang)}"
            + ("" if rule.scored else " · " + t("monitor_only", lang)))
        put(m, f"pk-ind-{key}-ratio", children=fmt_rate(s.get("ratio"), lang))
        put(m, f"pk-ind-{key}-score", children=t("not_scored", lang) if not rule.scored else
            f"{fmt_dec(s.get('score'), 2, lang)} / {s['max_score']}")
        put(m, f"pk-ind-{key}", className="ind" if rule.scored else "ind monitor")
    # The map.
    code = d.directory.province_code
    _, index, points = _province_base(code, lang)
    figures = commune_figures(d)
    put(m, "pk-map", **{
        "~colour": {"trace": index, "attr": "marker.color",
                    "values": [pm.value_colour(_overdue(figures[c.code]), PAKN_OVERDUE) for c in points]},
        "~size": {"trace": index, "attr": "marker.size", "values": [_marker_size(figures[c.code]) for c in points]},
        "~text": {"trace": index, "attr": "text", "values": [_hover(c.name, figures[c.code], lang) for c in points]}})
    placed = sum(1 for v in figures.values() if v is not None)
    put(m, "pk-placed", children=t("pk_placed", lang).format(n=placed, total=len(points)))
    # The units with most petitions past their limit.
    units = unit_rows(d)
    for i in range(UNIT_ROWS):
        if i < len(units):
            c, uf = units[i]
            put_row(m, f"pk-un-{i}", [d.name(c), fmt_int(uf["open"], lang), fmt_int(uf["near_limit"], lang),
                                      fmt_int(uf["overdue"], lang)], "bad" if uf["overdue"] else "")
        else:
            put_row(m, f"pk-un-{i}", ["", "", "", ""], "empty")
    put(m, "pk-un-note", children="" if not known or f["overdue"] else t("pk_no_overdue", lang))
    return m


def layout(d: WallData, lang: str, m: Model) -> html.Div:
    config: Any = {"displayModeBar": False, "scrollZoom": False}
    fig = _with_values(_province_base(d.directory.province_code, lang)[0], m, "pk-map")
    registry = registry_of(d)
    cards = html.Div([slot(m, f"pk-box-{key}", children=[html.Div(t(label, lang), className="card-title"),
                                                         slot(m, f"pk-{key}", className="card-value")])
                      for key, label in FIGURES], className="cards pakn")
    categories = html.Table([
        html.Thead(html.Tr([html.Th(t("pk_category", lang)), html.Th(t("pk_count", lang)),
                            html.Th(t("pk_share", lang))])),
        html.Tbody([row(m, f"pk-cat-{c}", 3) for c in CATEGORIES])], className="wall-table pk-categories")
    indicators = html.Table([
        html.Colgroup([html.Col(className="c-id"), html.Col(className="c-name"), html.Col(className="c-ratio"),
                       html.Col(className="c-score")]),
        html.Thead(html.Tr([html.Th("", className="ind-id"), html.Th(t("pk_indicators", lang)),
                            html.Th(t("w_ratio", lang), className="ind-ratio"),
                            html.Th(t("w_score", lang), className="ind-score")])),
        html.Tbody([slot(m, f"pk-ind-{ind.replace('.', '_')}", html.Tr, children=[
            html.Td(ind, className="ind-id"),
            html.Td([slot(m, f"pk-ind-{ind.replace('.', '_')}-name", html.Div, className="ind-name"),
                     slot(m, f"pk-ind-{ind.replace('.', '_')}-note", html.Div, className="ind-note")],
                    className="ind-text"),
            slot(m, f"pk-ind-{ind.replace('.', '_')}-ratio", html.Td, className="ind-ratio"),
            slot(m, f"pk-ind-{ind.replace('.', '_')}-score", html.Td, className="ind-score")])
            for ind in PAKN_INDICATORS if ind in registry.indicator_ids])],
        className="wall-table indicators")
    return html.Div([
        html.Div([html.H2([t("scene_pakn", lang), " ", slot(m, "pk-age", html.Span)]), cards,
                  slot(m, "pk-awaiting", html.Div, className="pk-awaiting")], className="panel pk-figures"),
        html.Div([html.H2(t("pk_by_category", lang)), categories], className="panel pk-cat-panel"),
        html.Div([indicators], className="panel pk-ind-panel"),
        html.Div([html.H2([t("pk_map", lang), " ", slot(m, "pk-placed", html.Span, className="muted")]),
                  dcc.Graph(id="pk-map", figure=fig, config=config, className="graph")], className="panel pk-map"),
        html.Div([html.H2(t("pk_units", lang)), slot(m, "pk-un-note", html.Div, className="muted pk-note"),
                  html.Table([html.Thead(html.Tr([html.Th(t("unit", lang)), html.Th(t("pk_open_short", lang)),
                                                  html.Th(t("pk_near_short", lang)),
                                                  html.Th(t("pk_overdue_short", lang))])),
                              html.Tbody([row(m, f"pk-un-{i}", 4) for i in range(UNIT_ROWS)])],
                             className="wall-table pk-units")], className="panel pk-units-panel"),
    ], className="scene scene-pakn")
