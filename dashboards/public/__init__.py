"""The public embeds at ``/public/`` (contracts.md §5): anyone, no sign-in, aggregates only.

    /public/                         index: every widget with a live preview and its embed code
    /public/widget/<score|ontime|online>?unit=&period=YYYY-MM&lang=vi|en&theme=auto|light|dark
    /public/widget/<indicator|group|ranking|trend>/<item>?unit=&period=&lang=&theme=
    /public/766[/unit/<code>]?period=YYYY-MM|YYYY-Qn|YYYY&lang=&theme=   the Decision 766 index
    /public/766.csv|.json?table=&period=&unit=                        its tables as open data
    /public/tra-cuu?ma=<dossier code>                                  the dossier lookup

    params.py     the URL's parameters, validated (a bad one: 400 naming it)
    figures.py    the month widgets' number from the additive month-to-date tallies
    reports.py    /public/766: each period's report, `ioc kpi --from-warehouse`'s own, cached
    tables.py     its tables (page, CSV and JSON alike); page766.py, widgets766.py: their HTML
    lookup.py     the dossier lookup (fold and judge one dossier; unknown = hidden)
    texts.py      the words of those pages, and what each indicator measures
    source.py     live state for this month, warehouse (history.py) for past months
    cache.py      server-side cache of a month's figures for ``public.cache_s``
    ratelimit.py  requests per client address (429 with Retry-After)
    render.py     HTML and inline SVG, rendered on the server (why: see its docstring)
    app.py        routes, CSP frame-ancestors allow-list, Cache-Control; ``mount_public``
    bench.py      `ioc bench public`: anonymous visitors against a real web process

No Dash app: the public surface registers no callback at all, and its pages carry no script
that could call one (widgets and the lookup have none; the index and /public/766 have one of
ours each, CSP-pinned to this site, and work without it).
"""

from dashboards.public.app import PublicSurface, csp, mount_public

__all__ = ["PublicSurface", "csp", "mount_public"]
