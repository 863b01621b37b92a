"""``/public/tra-cuu?ma=<code>``: where a dossier stands, for whoever holds its code.

What is shown: the handling unit, the status and current step, the reception, appointment and
end dates, and whether it is on time, judged now by the engine's own rules (the fold
:func:`ioc.commands.kpi_replay.fold` of :func:`ioc.domain.dossier.apply_event`, and
:func:`ioc.domain.outcome.classify` with the working calendar, as ``ioc kpi`` judges). Never a
name, an address, a document or an event's other fields: the answer is built from the folded
state's statuses and dates only.

What is not shown, answered exactly as an unknown code (same status 404, same page, the same
work done before answering): a dossier of a unit outside the province, and the dossiers of the
procedures listed in ``public.lookup_hidden_procedures``. Every answer to a code takes at least
:data:`FLOOR_S`, so the time to answer does not tell the cases apart either; codes are tried at
most ``public.lookup_rate_per_minute`` a minute per client (dashboards/public/app.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Collection, Iterable, Mapping

from dashboards.public.page766 import head, moment
from dashboards.public.params import LookupQuery
from dashboards.public.texts import outcome_text, status_text, tx
from ioc.domain.calendar import WorkingCalendar
from ioc.domain.events import DossierEvent, Status
from ioc.domain.outcome import classify, deadline, deadline_rule, end_of_processing

FLOOR_S = 0.05  # every answer to a code takes at least this long (found, unknown or hidden alike)
PATH = "/public/tra-cuu"
_ENDS = ((Status.RETURNED, "returned"), (Status.FINISHED, "finished"), (Status.STOPPED, "stopped"),
         (Status.WITHDRAWN, "withdrawn"))


@dataclass(frozen=True)
class Answer:
    """One dossier as the public may see it (statuses and dates only)."""

    code: str
    unit: str
    state: str  # submitted | refused | processing | finished | returned | stopped | withdrawn
    step: int  # the latest status
    step_at: datetime
    received: datetime | None
    due: datetime | None
    ended: datetime | None
    outcome: str  # ioc.domain.outcome.Outcome value
    at: datetime


def look_up(events: Iterable[DossierEvent], code: str, now: datetime, units: Collection[str],
            hidden_procedures: Collection[str], calendar: WorkingCalendar | None = None) -> Answer | None:
    """The answer for ``code`` from its stored events, or None: unknown, or not to be shown
    (both None, decided after the same fold)."""
    from ioc.domain.dossier import fold

    calendar = calendar or WorkingCalendar()
    states = [s for s in fold(events, now) if s.dossier_code == code]
    state = states[0] if states else None
    visible = (state is not None and bool(state.facts) and state.unit_code in units
               and state.procedure_code not in hidden_procedures)
    if state is None or not visible:
        return None

    rule = deadline_rule(calendar)
    latest = max(state.facts, key=lambda f: (f.at, f.status))
    end = end_of_processing(state)
    received = state.received_at
    if end is not None:
        kind = next(name for status, name in _ENDS if state.first(status) is not None)
    elif received is not None:
        kind = "processing"
    elif state.first(Status.REFUSED) is not None:
        kind = "refused"
    else:
        kind = "submitted"
    return Answer(code=code, unit=state.unit_code, state=kind, step=latest.status, step_at=latest.at,
                  received=received, due=deadline(state, rule), ended=end,
                  outcome=classify(state, now, rule).value, at=now)


def lookup_page(query: LookupQuery, answer: Answer | None, names: Mapping[str, str], province_name: str,
                per_minute: int) -> str:
    """The form, and the answer (``query.code`` set): the facts, or the one not-found message."""
    lang = query.lang
    other = "en" if lang == "vi" else "vi"
    switch = f"{PATH}?lang=en" if other == "en" else PATH
    home = "/public/766" + ("?lang=en" if lang == "en" else "")
    hidden = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    value = escape(query.code or "")
    form = (f'<form class="lookup" method="get" action="{PATH}" role="search"><label for="ma">'
            f'{escape(tx("lookup_code", lang))}</label><input id="ma" name="ma" value="{value}" maxlength="64" '
            f'autocomplete="off" spellcheck="false" placeholder="H44.xx-yymmdd-nnnn">{hidden}'
            f'<button type="submit">{escape(tx("lookup_submit", lang))}</button></form>')
    result = ""
    if query.code is not None and answer is None:
        result = (f'<section aria-labelledby="h-res"><h2 id="h-res">{escape(tx("lookup_result", lang, code=query.code))}'
                  f'</h2><p class="none" role="status">{escape(tx("lookup_not_found", lang))}</p></section>')
    elif answer is not None:
        unknown = tx("unknown_date", lang)
        good = answer.outcome in ("early", "on_time", "in_progress_on_time")
        facts = [
            (tx("l_unit", lang), escape(names.get(answer.unit, answer.unit))),
            (tx("l_state", lang), escape(tx(f"state_{answer.state}", lang))),
            (tx("l_step", lang), f"{escape(status_text(answer.step, lang))} ({moment(answer.step_at)})"),
            (tx("l_received", lang), moment(answer.received) if answer.received else unknown),
            (tx("l_due", lang), moment(answer.due) if answer.due else unknown),
        ]
        if answer.ended is not None:
            facts.append((tx("l_ended", lang), moment(answer.ended)))
        facts.append((tx("l_timeliness", lang), f'<span class="{"ok" if good else "late"}">'
                      f'{escape(outcome_text(answer.outcome, lang))}</span>'))
        rows = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in facts)
        result = (f'<section aria-labelledby="h-res"><h2 id="h-res">{escape(tx("lookup_result", lang, code=answer.code))}'
                  f'</h2><dl class="facts">{rows}</dl><p class="meta">{escape(tx("l_as_of", lang, time=moment(answer.at)))}'
                  f'</p></section>')
    return (f'{head(tx("lookup_title", lang), lang, "auto", script=False)}<body><a class="skip" href="#main">'
            f'{escape(tx("skip", lang))}</a><header><p class="brand">{escape(province_name)} · {escape(tx("brand", lang))}'
            f'</p><h1>{escape(tx("lookup_title", lang))}</h1><nav aria-label="{escape(tx("nav", lang))}">'
            f'<a href="{escape(switch)}" lang="{other}" hreflang="{other}">{escape(tx("other_lang", lang))}</a> '
            f'<a href="{escape(home)}">{escape(tx("index_link", lang))}</a></nav></header><main id="main">'
            f'<p class="intro">{escape(tx("lookup_intro", lang))}</p>{form}'
            f'<p class="meta">{escape(tx("lookup_limit", lang, n=per_minute))}</p>{result}</main></body></html>')


__all__ = ["Answer", "FLOOR_S", "look_up", "lookup_page"]
