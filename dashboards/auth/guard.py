"""Sign-in, sessions and role checks of the web process, enforced in Flask's request hooks.

Every request is matched to its URL rule's :class:`Access` (deny by default: a rule nobody
declared answers 403), then:

* open rules (``/healthz``, ``/metrics``, ``/login``, the ingest API with its own tokens) pass;
* no session: pages redirect to ``/login?next=...``, everything else gets 401 JSON; the
  ``/api/v1/*`` read APIs also take ``Authorization: Bearer <web.operator_token>``;
* POST/PUT/PATCH/DELETE must come from our own pages (Origin, else Referer, equal to the
  Host): that, with the SameSite=Lax session cookie, is the CSRF defence for Dash's JSON
  callbacks, which cannot carry a form token; the sign-in and sign-out forms also carry one;
* Dash callbacks (``POST /_dash-update-component``) are allowed per callback: the roles
  declared for its output in :class:`CallbackRoles`; an undeclared callback is refused.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax, Secure when configured), signed
with a key kept in the data directory. A session holds the username, the password stamp and
its expiry; roles are read from the user store on each request, so removing a user, changing
a role or a password takes effect at once. Leaders (wall kiosks) stay signed in for
``web.leader_session_days``; accounts with operator or admin rights for ``web.staff_session_hours``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import dash
import flask
import werkzeug

from dashboards.auth import pages
from dashboards.auth.headers import apply_security_headers, content_security_policy
from dashboards.auth.policy import Access, AccessPolicy, CallbackRoles, Kind, open_access
from dashboards.auth.ratelimit import FailedLogins
from dashboards.auth.roles import CONSOLE, Role, allowed
from dashboards.auth.secret_key import SECRET_FILE, load_or_create_secret
from dashboards.auth.urls import safe_next, same_origin
from dashboards.auth.users import UserStore
from dashboards.clients import request_client
from dashboards.i18n import pick_lang, t
from ioc.config import Settings, WebSettings
from ioc.ingest.tokens import bearer_token

log = logging.getLogger(__name__)

SESSION_COOKIE = "ioc_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATIC_DIR = Path(__file__).parent / "static"
TOKEN_USER = "operator-token"  # who a request with the operator bearer token acts as


@dataclass(frozen=True)
class Principal:
    username: str
    roles: frozenset[Role]


def users_path(settings: Settings) -> Path:
    return settings.web.users_file or settings.data_dir / "users.json"


def session_secret(settings: Settings) -> bytes:
    configured = settings.web.session_secret
    if configured is not None:
        return configured.get_secret_value().encode("utf-8")
    return load_or_create_secret(settings.data_dir / SECRET_FILE)


def session_lifetime_s(web: WebSettings, roles: frozenset[Role]) -> float:
    """Leader-only accounts (wall kiosks) stay long; any operator/admin right keeps it short."""
    if roles <= {Role.leader}:
        return web.leader_session_days * 86_400
    return web.staff_session_hours * 3_600


# flask.redirect gives werkzeug's Response, of which flask's is a subclass.
WebResponse = werkzeug.Response


def _json(status: int, message: str, **extra: Any) -> flask.Response:
    response = flask.jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _html(status: int, body: str, headers: dict[str, str] | None = None) -> flask.Response:
    response = flask.Response(body, status=status, mimetype="text/html")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class WebSecurity:
    """Everything the web process needs to sign users in and check them; see the module doc."""

    def __init__(self, store: UserStore, secret: bytes, web: WebSettings,
                 clock: Callable[[], float] = time.time, trusted_proxy_hops: int | None = None) -> None:
        self.store = store
        self.secret = secret
        self.web = web
        self.clock = clock
        self.policy = AccessPolicy()
        self.callbacks = CallbackRoles()
        # Behind reverse proxies the peer is the proxy: the client is what they recorded.
        self.trusted_proxy_hops = (trusted_proxy_hops if trusted_proxy_hops is not None
                                   else web.trusted_proxy_hops or 0)
        # Keyed by client *and* user name: an attacker locks out only its own guesses at one
        # account, not that account elsewhere nor everyone behind the same proxy or NAT; the
        # per-address budget (larger) stops one address from spraying many user names.
        self.failed_logins = FailedLogins(web.login_max_failures, web.login_window_s)
        self.failed_by_address = FailedLogins(web.login_max_failures_per_address, web.login_window_s)
        self.csp = content_security_policy()

    @classmethod
    def from_settings(cls, settings: Settings) -> "WebSecurity":
        return cls(UserStore(users_path(settings)), session_secret(settings), settings.web,
                   trusted_proxy_hops=settings.trusted_proxy_hops)

    def client_address(self) -> str:
        """The client of the current request (the peer, or behind trusted proxies the address they saw)."""
        return request_client(flask.request, self.trusted_proxy_hops)

    # -- wiring ----------------------------------------------------------------------------

    def install(self, server: flask.Flask) -> None:
        """Session settings, the request hooks and the sign-in routes; call before adding routes."""
        server.config.update(
            SECRET_KEY=self.secret,
            SESSION_COOKIE_NAME=SESSION_COOKIE,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=self.web.cookie_secure,
            # The cookie's own lifetime is the longest a session may live; each session's
            # own expiry (by role) is checked on every request.
            PERMANENT_SESSION_LIFETIME=timedelta(seconds=max(
                session_lifetime_s(self.web, frozenset({Role.leader})),
                session_lifetime_s(self.web, frozenset({Role.admin})))),
            # No Set-Cookie on every wall callback: the session only changes at sign-in and out.
            SESSION_REFRESH_EACH_REQUEST=False,
        )
        server.before_request(self._check_request)
        server.after_request(self._add_headers)
        self._add_login_routes(server)

    def protect_dash(self, server: flask.Flask, app: dash.Dash, roles: frozenset[Role]) -> None:
        """Give every URL rule of ``app`` (created on ``server``) its access: the index and
        catch-all are pages, the bundles and assets static, the callback endpoint per callback,
        the rest (layout, dependencies, reload hash) API for ``roles``."""
        prefix = app.config.routes_pathname_prefix
        assets = prefix + app.config.assets_url_path.strip("/") + "/"
        # Only the app's own rules: its routes, and its assets blueprint's.
        own = set(app.routes) | {r.rule for r in server.url_map.iter_rules()
                                 if r.endpoint.startswith("_dash_assets") and r.rule.startswith(assets)}
        for path in sorted(own):
            if self.policy.for_rule(path) is not None:
                continue
            if path in (prefix, prefix + "<path:path>"):
                access = Access(roles, Kind.page)
            elif path == prefix + "_dash-update-component":
                access = Access(roles, Kind.callback, callbacks=self.callbacks)
            elif path.startswith((prefix + "_dash-component-suites/", assets, prefix + "_favicon.ico")):
                access = Access(roles, Kind.static)
            else:
                access = Access(roles, Kind.api)
            self.policy.declare(path, access)

    def finish(self, server: flask.Flask, *apps: dash.Dash) -> None:
        """After every route and callback exists: the CSP with Dash's inline-script hashes, and
        a log line for anything left undeclared (refused at request time)."""
        hashes: list[str] = []
        for app in apps:
            hashes += [h for h in app.csp_hashes() if h not in hashes]
            for key in self.callbacks.undeclared(app):
                log.error("Dash callback %s has no declared roles: every call to it is refused", key)
        self.csp = content_security_policy(hashes)
        for rule in self.policy.undeclared(server):
            log.error("route %s has no declared access: every request to it is refused", rule)

    # -- sessions --------------------------------------------------------------------------

    def current_principal(self) -> Principal | None:
        session = flask.session
        name = session.get("user")
        if not isinstance(name, str):
            return None
        user = self.store.get(name)
        expired = self.clock() >= float(session.get("exp", 0))
        if user is None or session.get("stamp") != user.stamp or expired:
            for key in ("user", "stamp", "exp"):
                session.pop(key, None)
            return None
        return Principal(name, user.roles)

    def _csrf_token(self) -> str:
        token = flask.session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            flask.session["csrf"] = token
        return token

    def _csrf_ok(self) -> bool:
        sent = flask.request.form.get("csrf_token", "")
        expected = flask.session.get("csrf")
        return isinstance(expected, str) and bool(sent) and hmac.compare_digest(sent, expected)

    def _operator_token_ok(self) -> bool:
        configured = self.web.operator_token
        sent = bearer_token(flask.request.headers.get("Authorization"))
        if configured is None or sent is None:
            return False
        return hmac.compare_digest(sent.encode("utf-8"), configured.get_secret_value().encode("utf-8"))

    def _same_origin(self) -> bool:
        request = flask.request
        return same_origin(request.headers.get("Origin"), request.headers.get("Referer"), request.host,
                           tuple(self.web.trusted_origins))

    # -- the hooks -------------------------------------------------------------------------

    def _check_request(self) -> WebResponse | None:
        request = flask.request
        if request.url_rule is None:
            return None  # no such route: Flask answers 404/405
        access = self.policy.for_rule(request.url_rule.rule)
        if access is None:
            return _json(403, "this route has no declared access and is refused")
        flask.g.access = access
        lang = pick_lang(request.args.get("lang"))
        unsafe = request.method not in SAFE_METHODS
        if access.open:
            if unsafe and access.same_origin and not self._same_origin():
                return self._cross_site(access, lang)
            return None

        principal = self.current_principal()
        by_token = principal is None and access.operator_token and self._operator_token_ok()
        if by_token:
            principal = Principal(TOKEN_USER, frozenset({Role.operator}))
        if principal is None:
            if access.kind is Kind.page and request.method == "GET":
                target = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
                return flask.redirect("/login?" + urlencode({"next": target}), 303)
            return _json(401, "sign in first (POST /login), or send the operator bearer token where accepted",
                         login="/login")
        flask.g.principal = principal
        # A bearer token is never sent by a browser on its own, so it cannot be forged cross-site.
        if unsafe and not by_token and not self._same_origin():
            return self._cross_site(access, lang)

        required = access.roles
        if access.kind is Kind.callback:
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            required = access.callbacks.roles_for(output) if access.callbacks and isinstance(output, str) else None
            if required is None:
                return _json(403, f"callback {output!r} is not declared for any role and is refused")
        assert required is not None
        if not allowed(principal.roles, required):
            if access.kind is Kind.page:
                return _html(403, pages.forbidden_page(lang, required, request.path))
            return _json(403, f"needs one of the roles: {', '.join(sorted(r.value for r in required))}")
        return None

    def _cross_site(self, access: Access, lang: str) -> flask.Response:
        log.warning("refused a cross-site %s %s (Origin %r, Referer %r)", flask.request.method, flask.request.path,
                    flask.request.headers.get("Origin"), flask.request.headers.get("Referer"))
        if access.kind is Kind.page:
            return _html(403, pages.login_page(lang, self._csrf_token(), "/", error=t("cross_site", lang)))
        return _json(403, "cross-site request refused: Origin/Referer is not this site")

    def _add_headers(self, response: flask.Response) -> flask.Response:
        access = flask.g.get("access")
        cacheable = access is not None and access.kind is Kind.static and response.status_code in (200, 304)
        return apply_security_headers(response, self.csp, cacheable, public=access is not None and access.open)

    # -- sign-in pages ---------------------------------------------------------------------

    def _add_login_routes(self, server: flask.Flask) -> None:
        server.add_url_rule("/login", "login", self._login, methods=["GET", "POST"])
        server.add_url_rule("/logout", "logout", self._logout, methods=["GET", "POST"])
        server.add_url_rule("/auth/static/<path:filename>", "auth_static",
                            lambda filename: flask.send_from_directory(STATIC_DIR, filename))
        server.add_url_rule("/console", "console", self._console)
        self.policy.declare("/login", open_access(Kind.page))
        self.policy.declare("/logout", open_access(Kind.page))
        self.policy.declare("/auth/static/<path:filename>", Access(None, Kind.static))
        self.policy.declare("/console", Access(CONSOLE, Kind.page))

    def _login(self) -> WebResponse:
        request = flask.request
        lang = pick_lang(request.args.get("lang"))
        if request.method == "GET":
            notice = t("signed_out", lang) if request.args.get("out") else None
            next_url = safe_next(request.args.get("next"))
            return _html(200, pages.login_page(lang, self._csrf_token(), next_url, notice=notice))

        next_url = safe_next(request.form.get("next"))
        username = request.form.get("username", "").strip()
        address = self.client_address()
        attempt = f"{address} {username.lower()[:64]}"
        wait = max(self.failed_logins.retry_after(attempt), self.failed_by_address.retry_after(address))
        if wait > 0:
            seconds = int(wait) + 1
            return _html(429, pages.login_page(lang, self._csrf_token(), next_url, username,
                                               error=t("too_many_attempts", lang).format(seconds=seconds)),
                         {"Retry-After": str(seconds)})
        if not self._csrf_ok():
            return _html(400, pages.login_page(lang, self._csrf_token(), next_url, username,
                                               error=t("form_expired", lang)))
        password = request.form.get("password", "")
        if not username or not password:
            return _html(400, pages.login_page(lang, self._csrf_token(), next_url, username,
                                               error=t("missing_credentials", lang)))
        user = self.store.verify(username, password)
        if user is None:
            self.failed_logins.failed(attempt)
            self.failed_by_address.failed(address)
            log.warning("failed sign-in for %r from %s", username[:64], address)
            return _html(401, pages.login_page(lang, self._csrf_token(), next_url, username,
                                               error=t("wrong_credentials", lang)))
        self.failed_logins.succeeded(attempt)
        # A fresh session (and CSRF token) at sign-in: nothing set before it carries over.
        session = flask.session
        session.clear()
        session.permanent = True
        session.update(user=username.lower(), stamp=user.stamp, csrf=secrets.token_urlsafe(32),
                       exp=self.clock() + session_lifetime_s(self.web, user.roles))
        log.info("signed in: %s (%s) from %s", username.lower(), ",".join(sorted(r.value for r in user.roles)),
                 address)
        return flask.redirect(next_url, 303)

    def _logout(self) -> WebResponse:
        request = flask.request
        lang = pick_lang(request.args.get("lang"))
        principal = self.current_principal()
        if request.method == "GET":
            if principal is None:
                return flask.redirect("/login?" + urlencode({"lang": lang}), 303)
            return _html(200, pages.logout_page(lang, self._csrf_token(), principal.username))
        if not self._csrf_ok():
            return _html(400, pages.login_page(lang, self._csrf_token(), "/", error=t("form_expired", lang)))
        flask.session.clear()
        return flask.redirect("/login?" + urlencode({"lang": lang, "out": "1"}), 303)

    def _console(self) -> WebResponse:
        # The console itself is a Dash app at /console/ (dashboards/console/app.py).
        query = flask.request.query_string.decode("latin-1")
        return flask.redirect("/console/" + (f"?{query}" if query else ""), 303)


__all__ = ["Principal", "WebSecurity", "session_lifetime_s", "users_path"]
