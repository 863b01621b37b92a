"""Server-rendered pages of the sign-in flow (no Dash, no script): the login form, the
sign-out confirmation, "not allowed", and the console placeholder. Vietnamese first, with
a link to the other language; one local stylesheet; every value HTML-escaped."""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlencode

import jinja2

from dashboards.auth.roles import Role
from dashboards.i18n import t

STYLESHEET = "/auth/static/login.css"

_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)

_BASE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ heading }} — {{ site }}</title>
<link rel="stylesheet" href="{{ stylesheet }}">
</head>
<body class="auth-page">
<main class="auth-card">
<div class="auth-site">{{ site }}</div>
<h1>{{ heading }}</h1>
{% if error %}<p class="auth-error" id="auth-error" role="alert">{{ error }}</p>{% endif %}
{% if notice %}<p class="auth-notice" id="auth-notice">{{ notice }}</p>{% endif %}
{{ body }}
<p class="auth-lang"><a id="auth-lang" href="{{ other_lang_href }}"
  hreflang="{{ other_lang }}">{{ other_lang_label }}</a></p>
</main>
</body>
</html>
"""

_LOGIN_FORM = """<form method="post" action="{{ action }}" class="auth-form" id="login-form">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ next }}">
<label for="username">{{ username_label }}</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none"
       spellcheck="false" required autofocus value="{{ username }}">
<label for="password">{{ password_label }}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">{{ submit }}</button>
</form>"""

_LOGOUT_FORM = """<form method="post" action="/logout" class="auth-form" id="logout-form">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
{% if who %}<p>{{ signed_in_as }} <strong>{{ who }}</strong></p>{% endif %}
<button type="submit" id="logout-submit">{{ submit }}</button>
</form>"""

_LINKS = """{% for href, label in links %}<p><a href="{{ href }}">{{ label }}</a></p>{% endfor %}"""


def _other(lang: str) -> str:
    return "en" if lang == "vi" else "vi"


def _page(lang: str, heading: str, body: str, path: str, query: dict[str, str] | None = None,
          error: str | None = None, notice: str | None = None) -> str:
    other = _other(lang)
    href = path + "?" + urlencode({**(query or {}), "lang": other})
    return _env.from_string(_BASE).render(
        lang=lang, heading=heading, site=t("title", lang), stylesheet=STYLESHEET, error=error, notice=notice,
        body=jinja2.utils.markupsafe.Markup(body), other_lang=other, other_lang_href=href,
        other_lang_label=t("other_lang", lang),
    )


def login_page(lang: str, csrf: str, next_url: str, username: str = "", error: str | None = None,
               notice: str | None = None) -> str:
    action = "/login?" + urlencode({"lang": lang})
    form = _env.from_string(_LOGIN_FORM).render(
        action=action, csrf=csrf, next=next_url, username=username, username_label=t("username", lang),
        password_label=t("password", lang), submit=t("sign_in", lang))
    query = {"next": next_url} if next_url != "/" else {}
    return _page(lang, t("login_title", lang), form, "/login", query, error=error, notice=notice)


def logout_page(lang: str, csrf: str, who: str | None) -> str:
    form = _env.from_string(_LOGOUT_FORM).render(csrf=csrf, who=who, signed_in_as=t("signed_in_as", lang),
                                                 submit=t("sign_out", lang))
    return _page(lang, t("sign_out_ask", lang), form, "/logout")


def role_names(roles: Iterable[Role], lang: str) -> str:
    return ", ".join(t(f"role_{r.value}", lang) for r in sorted(roles, key=lambda r: r.value))


def forbidden_page(lang: str, needed: Iterable[Role], path: str) -> str:
    links = _env.from_string(_LINKS).render(links=[
        ("/login?" + urlencode({"next": path, "lang": lang}), t("other_account", lang)),
        ("/", t("back_to_wall", lang)),
    ])
    return _page(lang, t("forbidden", lang), links, path,
                 error=t("need_role", lang).format(roles=role_names(needed, lang)))
