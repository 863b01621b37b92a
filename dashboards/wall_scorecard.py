"""Scene 1: the Decision 766 scorecard — projected period score, per-indicator scores, the ranking
of agencies and communes, and the dossiers that will move the score (counts only, no personal data).

"What will move it": a dossier at risk (open, on time, due by the end of the next working day) is
counted as on time today; if it ends late it moves from the 2.1 numerator to the overdue side of
5.4. :func:`late_tally` applies that to a unit's tally, and the province is re-scored with the same
function the live figures use (ioc.kpi.live.wall_view)."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboards.i18n import t
from dashboards.wall_data import WallData
from dashboards.wall_format import age_badge, fmt_dec, fmt_int, fmt_points, fmt_rate
from dashboards.wall_model import Model, put, put_row, row, slot
from ioc.kpi.indicators import Tally, sum_tallies
from ioc.kpi.live import wall_view

# The indicators the stream computes (ioc/kpi/indicators.py), in the portal's order.
INDICATORS: tuple[str, ...] = ("2.1", "2.2", "3.3", "3.6", "4.1", "4.2", "4.3", "4.5b", "5.4")
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
            whatif[k] = wall_view(late_tally(province, k), d.now)  # only this unit's dossiers end late
        view = whatif[k]
        out.append({"unit": code, "at_risk": k, "due_today": tally.get("due_today", 0),
                    "overdue": tally.get("overdue", 0),
                    "rate_delta": None if base["ontime_rate"] is None or view["ontime_rate"] is None
                    else (view["ontime_rate"] - base["ontime_rate"]) * 100,
                    "score_delta": view["score"] - base["score"]})
    return sorted(out, key=lambda m: (m["score_delta"], m["rate_delta"] or 0, -m["at_risk"], m["unit"]))


def _indicator_names(d: WallData) -> dict[str, str]:
    from ioc.kpi.scoring import registry_for

    return {r.id: r.name_vi for r in registry_for(d.now).rules}


def model(d: WallData, lang: str) -> Model:
    m: Model = {}
    p = d.province
    text, cls = age_badge(d.age_s, d.stale_after_s, lang)
    put(m, "sc-age", children=text, className=cls)
    put(m, "sc-score", children=f"{fmt_dec(p['score'], 2, lang)}" if d.has_kpi else "—")
    put(m, "sc-max", children=f"/ {fmt_int(p['max_score'], lang)}" if d.has_kpi else "")
    put(m, "sc-rate", children=fmt_rate(p["ontime_rate"], lang))
    for ind in INDICATORS:
        s = p["indicators"].get(ind)
        key = ind.replace(".", "_")
        put(m, f"sc-ind-{key}-ratio", children=fmt_rate(s["ratio"], lang) if s else "—")
        put(m, f"sc-ind-{key}-score", children=(
            "—" if not s else t("not_scored", lang) if s["score"] is None
            else f"{fmt_dec(s['score'], 2, lang)} / {s['max_score']}"))
    agencies = {c: v for c, v in d.units.items() if d.directory.info(c).level == "province"}
    for kind, views, name in (("ag", agencies, d.name), ("cm", d.communes,
                                                      lambda c: d.directory.commune_names.get(c, c))):
        ranked = ranking(views)
        put(m, f"sc-{kind}-count", children=t("ranked_of", lang).format(n=len(ranked)))
        for i, entry in enumerate(best_and_worst(ranked, RANK_ROWS)):
            if entry is None:
                put_row(m, f"sc-{kind}-{i}", ["", "", "", ""], "empty")
                continue
            rank, code, v = entry
            put_row(m, f"sc-{kind}-{i}", [f"{rank}", name(code), f"{fmt_dec(v['score'], 2, lang)} / {v['max_score']}",
                                          fmt_rate(v["ontime_rate"], lang, 1)], "good" if i < RANK_ROWS else "bad")
    moving = movers(d) if d.has_kpi else []
    at_risk = p.get("at_risk", 0)
    what_if = wall_view(late_tally(sum_tallies(d.tallies.values()), at_risk), d.now) if d.has_kpi else None
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


def layout(d: WallData, lang: str, m: Model) -> html.Div:
    names = _indicator_names(d)
    indicator_rows = [html.Tr([html.Td(ind, className="ind-id"), html.Td(names.get(ind, ind) if lang == "vi"
                                                                          else t(f"ind_{ind}", lang)),
                               slot(m, f"sc-ind-{ind.replace('.', '_')}-ratio", html.Td),
                               slot(m, f"sc-ind-{ind.replace('.', '_')}-score", html.Td)])
                      for ind in INDICATORS]

    def rank_table(kind: str, title: str) -> html.Div:
        head = html.Tr([html.Th("#"), html.Th(t("unit", lang)), html.Th(t("w_score", lang)),
                        html.Th(t("ontime_short", lang))])
        return html.Div([html.H2([title, " ", slot(m, f"sc-{kind}-count", html.Span, className="muted")]),
                         html.Table([html.Thead(head), html.Tbody(
                             [row(m, f"sc-{kind}-{i}", 4) for i in range(2 * RANK_ROWS)])],
                             className="wall-table rank")], className="panel")

    mover_head = html.Tr([html.Th(t("unit", lang)), html.Th(t("at_risk", lang)), html.Th(t("due_today", lang)),
                          html.Th(t("overdue", lang)), html.Th(t("rate_if_late", lang)),
                          html.Th(t("score_if_late", lang))])
    return html.Div([
        html.Div([
            html.H2([t("scene_scorecard", lang), " ", slot(m, "sc-age", html.Span)]),
            html.Div([slot(m, "sc-score", html.Span, className="big-score"),
                      slot(m, "sc-max", html.Span, className="big-max")], className="score-line"),
            html.Div([html.Span(t("ontime_rate", lang) + ": ", className="muted"),
                      slot(m, "sc-rate", html.Span, className="rate")]),
            html.Table([html.Thead(html.Tr([html.Th("", className="ind-id"), html.Th(t("w_indicator", lang)),
                                            html.Th(t("w_ratio", lang)), html.Th(t("w_score", lang))])),
                        html.Tbody(indicator_rows)], className="wall-table indicators"),
        ], className="panel score-panel"),
        rank_table("ag", t("rank_agencies", lang)),
        rank_table("cm", t("rank_communes", lang)),
        html.Div([html.H2(t("w_movers", lang)), slot(m, "sc-move-summary", html.Div, className="move-summary"),
                  html.Table([html.Thead(mover_head), html.Tbody([row(m, f"sc-mv-{i}", 6)
                                                                  for i in range(MOVER_ROWS)])],
                             className="wall-table movers")], className="panel movers-panel"),
    ], className="scene scene-scorecard")
