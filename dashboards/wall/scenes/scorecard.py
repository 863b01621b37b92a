"""Scene 1: the Decision 766 scorecard — the projected score of the period, the five groups and
every indicator of the index (numerator/denominator, ratio, score; what is not computed and why),
the national portal's last published score and rank beside it, the ranking of agencies and
communes, and the dossiers that will move the score (counts only, no personal data).

Periods (``?period=``): the month to date is live (the stream's tallies, ``data.province``); the
quarter and the year to date are replayed from the warehouse in the background
(dashboards/wall/period_reports.py, ``data.period_reports``) and the scene says so while the first
result is being computed. The rankings and the movers stay live (this month): they are about
what the operators can still act on.

"What will move it": a dossier at risk (open, on time, due by the end of the next working day) is
counted as on time today; if it ends late it moves from the 2.1 numerator to the overdue side of
5.4. :func:`late_tally` applies that to a unit's tally, and the province is re-scored with the same
function, scope and sources the live figures use (ioc.kpi.live.wall_view)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from dash import dcc, html

from dashboards.i18n import TEXT, t
from dashboards.wall.data import WallData, cached_view
from dashboards.wall.formatting import age_badge, fmt_dec, fmt_int, fmt_points, fmt_rate
from dashboards.wall.model import Model, put, put_row, row, slot
from ioc.clock import LOCAL_TZ
from ioc.kpi.indicators import PORTAL_GROUP, Scope, Tally, carried_by, sum_tallies
from ioc.kpi.national import NationalScore, latest_for
from ioc.kpi.periods import period_of, period_to_date
from ioc.kpi.scoring import Kind, Registry, registry_for

PERIODIC = True  # the scene takes ``period`` (dashboards/wall/app.py scene_args)
PERIODS = ("month", "quarter", "year")
GROUPS = ("1", "2", "3", "4", "5")
COLUMNS = (("1", "2", "3"), ("4", "5"))  # the indicator groups of each half of the table
RANK_ROWS = 5  # best and worst five of each list
MOVER_ROWS = 6


def late_tally(t: Tally, k: int) -> Tally:
    """The tally if ``k`` of its on-time open dossiers end late."""
    out = dict(t)
    k = min(k, out.get("good", 0), out.get("in_progress_on_time", 0))
    out["good"] = out.get("good", 0) - k
    out["in_progress_on_time"] = out.get("in_progress_on_time", 0) - k
    out["in_progress_overdue"] = out.get("in_progress_overdue", 0) + k
    out["counted_overdue"] = out.get("counted_overdue", 0) + k
    return out


def ranking(views: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Units with counted dossiers, best first: projected score share, then on-time rate, then code."""
    scored = [(c, v) for c, v in views.items() if v.get("ontime_rate") is not None and v.get("max_score")]
    return sorted(scored, key=lambda cv: (-cv[1]["score"] / cv[1]["max_score"], -cv[1]["ontime_rate"], cv[0]))


def best_and_worst(ranked: list[tuple[str, dict[str, Any]]], n: int) -> list[tuple[int, str, dict[str, Any]] | None]:
    """2n rows (rank, code, view): the n best then the n worst, None where there are too few."""
    rows: list[tuple[int, str, dict[str, Any]] | None] = [(i + 1, c, v) for i, (c, v) in enumerate(ranked[:n])]
    rows += [None] * (n - len(rows))
    tail_start = max(n, len(ranked) - n)
    tail = [(i + 1, c, v) for i, (c, v) in enumerate(ranked) if i >= tail_start]
    return rows + tail + [None] * (n - len(tail))


def _province_whatif(d: WallData, tally: Tally) -> dict[str, Any]:
    """The province's view of a changed tally, scored exactly as ``d.province`` was (same scope,
    sources and instant), so that the difference is only the change."""
    at = d.now if d.age_s is None else datetime.fromtimestamp(d.now.timestamp() - d.age_s, LOCAL_TZ)
    scope = Scope(d.directory.province_code, frozenset(d.tallies))
    return cached_view(tally, at, scope, d.index_sources, carried_by(sum_tallies(d.tallies.values())))


def movers(d: WallData) -> list[dict[str, Any]]:
    """Units whose at-risk dossiers would lower the province's score most if they ended late."""
    province = sum_tallies(d.tallies.values())
    base = d.province
    out = []
    # The province's what-if depends only on how many dossiers end late: score each count once.
    whatif: dict[int, dict[str, Any]] = {}
    for code, tally in d.tallies.items():
        k = tally.get("at_risk", 0)
        if not k:
            continue
        if k not in whatif:
            whatif[k] = _province_whatif(d, late_tally(province, k))  # only this unit's dossiers end late
        view = whatif[k]
        out.append({"unit": code, "at_risk": k, "due_today": tally.get("due_today", 0),
                    "overdue": tally.get("overdue", 0),
                    "rate_delta": None if base["ontime_rate"] is None or view["ontime_rate"] is None
                    else (view["ontime_rate"] - base["ontime_rate"]) * 100,
                    "score_delta": view["score"] - base["score"]})
    return sorted(out, key=lambda m: (m["score_delta"], m["rate_delta"] or 0, -m["at_risk"], m["unit"]))


# --- the index: groups, indicators, names, reasons -----------------------------------------------


def registry_of(d: WallData, period: str = "month") -> Registry:
    """The scoring profile the period's figures were scored with (the sources' profile, else the
    one in force at the period's end)."""
    try:
        return d.index_sources.registry(period_of(d.now, period))  # type: ignore[arg-type]
    except (AttributeError, ValueError):
        return registry_for(d.now)


def indicator_rules(registry: Registry) -> dict[str, list[Any]]:
    """Portal group ("1".."5") -> the registry's indicators shown on the wall, in the portal's
    order. 2.2 (an average shown by the portal only for one procedure) is left out."""
    out: dict[str, list[Any]] = {g: [] for g in GROUPS}
    for rule in registry.rules:
        if rule.kind is not Kind.MONITOR_AVERAGE:
            out[PORTAL_GROUP[rule.group]].append(rule)
    return out


def indicator_name(rule: Any, lang: str) -> str:
    """The indicator's full name: the registry's (Vietnamese), or the English of dashboards/i18n."""
    if lang == "vi":
        return rule.name_vi
    entry = TEXT.get(f"ind_{rule.id}")
    return entry["en"] if entry and "en" in entry else rule.name_vi


def group_name(registry: Registry, group: str, lang: str) -> str:
    """The portal group's name; group 3 joins the registry's online services and online payment."""
    names = [g.name_vi if lang == "vi" else g.name_en for g in registry.groups if PORTAL_GROUP[g.key] == group]
    if not names:
        return group
    joined = names[0] + "".join((" và " if lang == "vi" else " and ") + n[:1].lower() + n[1:] for n in names[1:])
    return joined


_WHY = (  # the engine's reasons (ioc.kpi.indicators, ioc.kpi.catalogue_indicators) -> i18n keys
    (re.compile(r"no procedure catalogue given"), "why_no_catalogue"),
    (re.compile(r"no dossier processed in the period carries a rating"), "why_no_rating"),
    (re.compile(r"no dossier processed in the period"), "why_no_dossier"),
    (re.compile(r"shown only for one procedure"), "why_one_procedure"),
    (re.compile(r"no dossier carries dvcqg_synced_at"), "why_no_sync"),
    (re.compile(r"no petitions \(PAKN\) given"), "why_no_pakn"),
    (re.compile(r"no dossier of the input carries (?P<field>\S+)"), "why_no_field"),
    (re.compile(r"no categorised petition"), "why_no_categorised"),
    (re.compile(r"no procedure of the catalogue has (a |an )?(?P<field>\S+)"), "why_catalogue_field"),
    (re.compile(r"the unit receives no procedure of the catalogue"), "why_receives_none"),
    (re.compile(r"not applicable at commune level"), "why_not_commune"),
    (re.compile(r"not applicable with a procedure filter"), "why_procedure_filter"),
)


def reason_text(why: str, lang: str) -> str:
    """Why an indicator is not computed, in the wall's language (the engine's text if unknown)."""
    for pattern, key in _WHY:
        m = pattern.search(why)
        if m:
            return t(key, lang).format(**m.groupdict())
    return why


def flag_text(flag: str, lang: str) -> str:
    if flag.startswith("sync ratio not applied"):
        return t("flag_no_sync_ratio", lang)
    key = f"flag_{flag}"
    return t(key, lang) if key in TEXT else flag


def _count(x: Any, lang: str) -> str:
    if x is None:
        return "—"
    return fmt_int(x, lang) if float(x) == int(x) else fmt_dec(float(x), 2, lang)


def _points(x: float | None, lang: str) -> str:
    """A score as the portal shows it: two decimals."""
    return fmt_dec(x, 2, lang)


def short_number(x: float, lang: str) -> str:
    """88.5 -> "88,5"; 90.0 -> "90"; 88.25 -> "88,25" (a published score, as printed)."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "vi" else text


# --- the national portal's published score --------------------------------------------------------


def _normal(name: str) -> str:
    text = unicodedata.normalize("NFC", name).casefold().strip()
    for prefix in ("tỉnh ", "thành phố ", "tp. ", "tp.", "tp "):
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    return " ".join(text.split())


def province_names(code: str) -> set[str]:
    """The names the national table may use for the province: its code, full and short names."""
    names = {code}
    try:
        from ioc.reference.units import province

        p = province(code)
        names |= {p.name, p.short_name}
    except Exception:  # an unknown code: match by code only
        pass
    return names


def national_of(d: WallData) -> tuple[NationalScore | None, int]:
    """The province's latest published score and how many provinces that period's table has."""
    if not d.national:
        return None, 0
    names = province_names(d.directory.province_code)
    wanted = {_normal(n) for n in names}
    aliases = {s.province for s in d.national if _normal(s.province) in wanted}
    latest = latest_for(d.national, names | aliases)
    if latest is None:
        return None, len({s.province for s in d.national})
    return latest, len({s.province for s in d.national if s.period == latest.period})


def national_text(d: WallData, lang: str) -> tuple[str, str]:
    """(text, className) of the line beside the score; quiet when nothing was imported."""
    latest, n = national_of(d)
    if latest is None:
        if not d.national:
            return t("national_none", lang), "national none"
        names = province_names(d.directory.province_code)
        short = sorted(names - {d.directory.province_code}, key=len)
        return t("national_not_ours", lang).format(province=short[0] if short else d.directory.province_code), \
            "national none"
    return t("national_published", lang).format(score=short_number(latest.score, lang), rank=latest.rank, n=n,
                                               period=latest.period), "national"


# --- the period shown -----------------------------------------------------------------------------


def period_state(d: WallData, period: str, lang: str) -> tuple[dict[str, Any] | None, str, str, str]:
    """(the province's view for the period or None, the period's caption, its className, and
    when there is no view, why: the line every indicator shows)."""
    local = d.now.astimezone(LOCAL_TZ)
    if period not in ("quarter", "year"):
        caption = t("period_is_month", lang).format(month=f"{local.month:02d}", year=local.year)
        return (d.province if d.has_kpi else None), caption, "period", t("waiting", lang)
    label = period_to_date(d.now, period).label  # type: ignore[arg-type]
    name = t(f"period_{period}", lang).lower() + " " + (label.replace("-Q", "/Q") if period == "quarter" else label)
    result = d.period_reports.get(period)
    if result is None or getattr(result, "label", None) != label:
        if result is not None and getattr(result, "error", None) and getattr(result, "province", None) is None:
            failed = t("period_failed", lang).format(period=name, why=result.error)
            return None, failed, "period failed", failed
        computing = t("period_computing", lang).format(period=name)
        return None, computing, "period computing", computing
    if result.province is None and result.error:
        failed = t("period_failed", lang).format(period=name, why=result.error)
        return None, failed, "period failed", failed
    at = result.at.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m")
    quarter = (local.month - 1) // 3 + 1
    caption = t(f"period_is_{period}", lang).format(q=quarter, year=local.year, time=at)
    if result.error:
        caption += " — " + t("period_stale_failed", lang).format(why=result.error)
    if result.province is None:
        caption += " — " + t("period_no_dossier", lang)
    return result.province, caption, "period" + (" failed" if result.error else ""), \
        f"{t('not_computed', lang)}: {t('period_no_dossier', lang).lower()}"


def _row_key(ind: str) -> str:
    return ind.replace(".", "_")


def index_model(m: Model, view: dict[str, Any] | None, registry: Registry, lang: str, absent: str = "") -> None:
    """The headline numbers, the groups and every indicator of ``view`` (None: nothing yet, and
    ``absent`` says why on every indicator's line)."""
    v = view or {}
    computed = v.get("max_score", 0) if view else 0
    put(m, "sc-score", children=_points(v.get("score"), lang) if view else "—")
    put(m, "sc-max", children=f"/ {fmt_int(computed, lang)}" if view else "")
    put(m, "sc-computed", children=t("computed_of", lang).format(n=fmt_int(computed, lang),
                                                                 total=fmt_int(registry.max_total, lang)))
    band = v.get("band")
    label = next((b.label_vi if lang == "vi" else b.label_en for b in registry.bands if b.code == band), band)
    put(m, "sc-band", children=t("band_label", lang).format(band=label) if band else "",
        className="band" if band else "band hidden")
    put(m, "sc-rate", children=fmt_rate(v.get("ontime_rate"), lang))
    put(m, "sc-profile", children=t("sc_profile", lang).format(profile=v.get("profile") or registry.label))
    groups = v.get("groups", {})
    indicators, missing, quality = v.get("indicators", {}), v.get("missing", {}), v.get("quality", {})
    for g, rules in indicator_rules(registry).items():
        gv = groups.get(g)
        points = sum(r.max_points for r in rules if r.scored)
        put(m, f"sc-grp-{g}-name", children=f"{g}. {group_name(registry, g, lang)}")
        # Nothing of the group computed reads "— / 18", not a score of 0; part of it, "đã tính n/18".
        computed_any = gv is not None and gv.get("max_score", 0) > 0
        score = f"{_points(gv['score'], lang)} / {fmt_int(gv.get('points', points), lang)}" if computed_any else \
            f"— / {fmt_int(gv.get('points', points) if gv else points, lang)}"
        part = computed_any and gv.get("max_score", 0) < gv.get("points", points)
        put(m, f"sc-grp-{g}-score", children=score)
        put(m, f"sc-grp-{g}-part", children=t("computed_of", lang).format(
            n=fmt_int(gv["max_score"], lang), total=fmt_int(gv.get("points", points), lang)) if part else "")
        for rule in rules:
            key = _row_key(rule.id)
            s = indicators.get(rule.id)
            notes: list[str] = []
            if s is None:
                why = reason_text(missing.get(rule.id, ""), lang) if view else absent or t("waiting", lang)
                ratio, cls = "—", "missing"
                points_text = f"— / {fmt_int(rule.max_points, lang)}" if rule.scored else "—"
                notes.append(f"{t('not_computed', lang)}: {why}" if view else why)
            else:
                notes.append(f"{_count(s['numerator'], lang)} / {_count(s['denominator'], lang)}")
                if not s["denominator"]:
                    notes.append(t("zero_den", lang))
                ratio = fmt_rate(s.get("ratio"), lang)
                if not rule.scored:
                    points_text, cls = t("not_scored", lang), "monitor"
                    notes.append(t("monitor_only", lang))
                else:
                    points_text = f"{_points(s['score'], lang) if s.get('score') is not None else '—'} / " \
                                  f"{fmt_int(s['max_score'], lang)}"
                    cls = ""
            if rule.id in quality:
                notes.append("⚠ " + flag_text(quality[rule.id], lang))
            elif not rule.scored and s is None:
                notes.append(t("monitor_only", lang))
                cls = "missing monitor"
            note = " · ".join(notes)
            put(m, f"sc-ind-{key}", className=f"ind {cls}".strip(), title=note)
            put(m, f"sc-ind-{key}-name", children=indicator_name(rule, lang))
            put(m, f"sc-ind-{key}-note", children=note)
            put(m, f"sc-ind-{key}-ratio", children=ratio)
            put(m, f"sc-ind-{key}-score", children=points_text)


def model(d: WallData, lang: str, period: str = "month") -> Model:
    m: Model = {}
    period = period if period in PERIODS else "month"
    registry = registry_of(d, period)
    text, cls = age_badge(d.age_s, d.stale_after_s, lang)
    put(m, "sc-age", children=text, className=cls)
    view, caption, caption_cls, absent = period_state(d, period, lang)
    put(m, "sc-period", children=caption, className=caption_cls)
    put(m, "sc-rate-label", children=t("ontime_rate_of", lang).format(period=t(f"period_{period}", lang).lower())
        + ": ")
    index_model(m, view, registry, lang, absent)
    national, national_cls = national_text(d, lang)
    put(m, "sc-national", children=national, className=national_cls)
    agencies = {c: v for c, v in d.units.items() if d.directory.info(c).level == "province"}
    for kind, views, name in (("ag", agencies, d.name), ("cm", d.communes,
                                                      lambda c: d.directory.commune_names.get(c) or c)):
        ranked = ranking(views)
        put(m, f"sc-{kind}-count", children=t("ranked_of", lang).format(n=len(ranked)))
        for i, entry in enumerate(best_and_worst(ranked, RANK_ROWS)):
            if entry is None:
                put_row(m, f"sc-{kind}-{i}", ["", "", "", ""], "empty")
                continue
            rank, code, v = entry
            put_row(m, f"sc-{kind}-{i}", [f"{rank}", name(code), f"{fmt_dec(v['score'], 2, lang)} / {v['max_score']}",
                                          fmt_rate(v["ontime_rate"], lang, 1)], "good" if i < RANK_ROWS else "bad")
    p = d.province
    moving = movers(d) if d.has_kpi else []
    at_risk = p.get("at_risk", 0)
    what_if = _province_whatif(d, late_tally(sum_tallies(d.tallies.values()), at_risk)) if d.has_kpi else None
    put(m, "sc-move-summary", children=t("move_summary", lang).format(
        n=fmt_int(at_risk, lang), r0=fmt_rate(p["ontime_rate"], lang), r1=fmt_rate(what_if["ontime_rate"], lang),
        s0=fmt_dec(p["score"], 2, lang), s1=fmt_dec(what_if["score"], 2, lang)) if what_if and at_risk
        else t("move_none", lang) if d.has_kpi else t("waiting", lang))
    for i in range(MOVER_ROWS):
        if i < len(moving):
            mv = moving[i]
            put_row(m, f"sc-mv-{i}", [
                d.name(mv["unit"]), fmt_int(mv["at_risk"], lang), fmt_int(mv["due_today"], lang),
                fmt_int(mv["overdue"], lang), fmt_points(mv["rate_delta"], lang), fmt_points(mv["score_delta"], lang)])
        else:
            put_row(m, f"sc-mv-{i}", [""] * 6, "empty")
    return m


# --- layout ---------------------------------------------------------------------------------------


def period_href(period: str, lang: str) -> str:
    """The scorecard pinned to ``period`` (the same URL parameters as dashboards/wall/app.py view_href)."""
    query = ["scene=scorecard", "pin=1"] + (["lang=en"] if lang == "en" else []) + \
        ([f"period={period}"] if period != "month" else [])
    return "/?" + "&".join(query)


def _indicator_table(m: Model, registry: Registry, groups: tuple[str, ...], lang: str) -> html.Table:
    rules = indicator_rules(registry)
    body: list[Any] = []
    for g in groups:
        body.append(html.Tr([html.Td([slot(m, f"sc-grp-{g}-name", html.Span),
                                      slot(m, f"sc-grp-{g}-part", html.Span, className="grp-part")], colSpan=3),
                             slot(m, f"sc-grp-{g}-score", html.Td)], className="grp", id=f"sc-grp-{g}"))
        for rule in rules[g]:
            key = _row_key(rule.id)
            body.append(slot(m, f"sc-ind-{key}", html.Tr, children=[
                html.Td(rule.id, className="ind-id"),
                html.Td([slot(m, f"sc-ind-{key}-name", html.Div, className="ind-name"),
                         slot(m, f"sc-ind-{key}-note", html.Div, className="ind-note")], className="ind-text"),
                slot(m, f"sc-ind-{key}-ratio", html.Td, className="ind-ratio"),
                slot(m, f"sc-ind-{key}-score", html.Td, className="ind-score")]))
    head = html.Tr([html.Th("", className="ind-id"), html.Th(t("w_indicator", lang)),
                    html.Th(t("w_ratio", lang), className="ind-ratio"),
                    html.Th(t("w_score", lang), className="ind-score")])
    return html.Table([html.Colgroup([html.Col(className="c-id"), html.Col(className="c-name"),
                                      html.Col(className="c-ratio"), html.Col(className="c-score")]),
                       html.Thead(head), html.Tbody(body)], className="wall-table indicators")


def layout(d: WallData, lang: str, m: Model, period: str = "month") -> html.Div:
    period = period if period in PERIODS else "month"
    registry = registry_of(d, period)
    # Rankings and movers stay live (this month) whatever the period: say so first, where the
    # heading cannot be cut.
    live: list[Any] = [html.Span(t("live_month", lang), className="live-tag"), " "] if period != "month" else []

    def rank_table(kind: str, title: str) -> html.Div:
        head = html.Tr([html.Th("#"), html.Th(t("unit", lang)), html.Th(t("w_score", lang)),
                        html.Th(t("ontime_short", lang))])
        return html.Div([html.H2([*live, title, " ", slot(m, f"sc-{kind}-count", html.Span, className="muted")]),
                         html.Table([html.Thead(head), html.Tbody(
                             [row(m, f"sc-{kind}-{i}", 4) for i in range(2 * RANK_ROWS)])],
                             className="wall-table rank")], className=f"panel rank-panel sc-{kind}-panel")

    switch = html.Div([dcc.Link(t(f"period_{p}", lang), href=period_href(p, lang), id=f"sc-per-{p}",
                                className="switch on" if p == period else "switch") for p in PERIODS],
                      className="period-switch")
    mover_head = html.Tr([html.Th(t("unit", lang)), html.Th(t("at_risk", lang)), html.Th(t("due_today", lang)),
                          html.Th(t("overdue", lang)), html.Th(t("rate_if_late", lang)),
                          html.Th(t("score_if_late", lang))])
    return html.Div([
        html.Div([
            html.Div([html.H2([t("scene_scorecard", lang), " ", slot(m, "sc-age", html.Span)]),
                      slot(m, "sc-period", html.Div), switch], className="head-line"),
            html.Div([
                html.Div([slot(m, "sc-score", html.Span, className="big-score"),
                          slot(m, "sc-max", html.Span, className="big-max")], className="score-line"),
                html.Div([slot(m, "sc-computed", html.Div, className="computed"),
                          slot(m, "sc-band", html.Div),
                          html.Div([slot(m, "sc-rate-label", html.Span, className="muted"),
                                    slot(m, "sc-rate", html.Span, className="rate")])], className="score-side"),
                html.Div([slot(m, "sc-national", html.Div),
                          slot(m, "sc-profile", html.Div, className="profile")], className="score-national"),
            ], className="score-head"),
        ], className="panel score-panel"),
        html.Div(_indicator_table(m, registry, COLUMNS[0], lang), className="panel ind-panel ind-a"),
        html.Div(_indicator_table(m, registry, COLUMNS[1], lang), className="panel ind-panel ind-b"),
        html.Div([
            rank_table("ag", t("rank_agencies", lang)),
            rank_table("cm", t("rank_communes", lang)),
            html.Div([html.H2([*live, t("w_movers", lang)]),
                      slot(m, "sc-move-summary", html.Div, className="move-summary"),
                      html.Table([html.Thead(mover_head), html.Tbody([row(m, f"sc-mv-{i}", 6)
                                                                      for i in range(MOVER_ROWS)])],
                                 className="wall-table movers")], className="panel movers-panel"),
        ], className="sc-side"),
    ], className="scene scene-scorecard")
