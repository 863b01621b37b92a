"""The public embeds at ``/public/`` (contracts.md §5): anyone, no sign-in, aggregates only.

    /public/                         index: every widget with a live preview and its embed code
    /public/widget/<score|ontime|online>?unit=&period=YYYY-MM&lang=vi|en&theme=auto|light|dark

    params.py     the URL's parameters, validated (a bad one: 400 naming it)
    figures.py    the widget's number from the additive month-to-date tallies
    source.py     live state for this month, warehouse (history.py) for past months
    cache.py      server-side cache of a month's figures for ``public.cache_s``
    ratelimit.py  requests per client address (429 with Retry-After)
    render.py     HTML and inline SVG, rendered on the server (why: see its docstring)
    app.py        routes, CSP frame-ancestors allow-list, Cache-Control; ``mount_public``

No Dash app: the public surface registers no callback at all, and its pages carry no script
that could call one (widgets have none; the index has one of ours, CSP-pinned to this site).
"""

from dashboards.public.app import PublicSurface, csp, mount_public

__all__ = ["PublicSurface", "csp", "mount_public"]
