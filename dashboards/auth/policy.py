"""Who may call what: an access rule for every Flask URL rule and a role set for every
internal Dash callback. Both deny by default: a route or callback nobody declared is refused.
Pure bookkeeping; ``dashboards.auth.guard`` enforces it on each request.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Iterator

import dash
import flask

from dashboards.auth.roles import Role


class Kind(str, Enum):
    page = "page"          # a browser page: anonymous -> redirect to /login
    api = "api"            # JSON for programs and Dash internals: anonymous -> 401
    static = "static"      # library code and CSS: cacheable, anonymous -> 401
    callback = "callback"  # POST /_dash-update-component: roles per callback


@dataclass(frozen=True)
class Access:
    roles: frozenset[Role] | None  # None: anyone, no sign-in (monitoring, the login form, public)
    kind: Kind = Kind.api
    operator_token: bool = False   # also accept ``Authorization: Bearer <web.operator_token>``
    same_origin: bool = True       # POSTs must come from our own pages (CSRF); off for bearer-token APIs
    callbacks: "CallbackRoles | None" = None

    @property
    def open(self) -> bool:
        return self.roles is None


def open_access(kind: Kind = Kind.api, same_origin: bool = True) -> Access:
    return Access(None, kind, same_origin=same_origin)


class CallbackRoles:
    """Roles per Dash callback, keyed as Dash keys its callback map (the output spec string
    that the browser sends as ``output``)."""

    def __init__(self) -> None:
        self._roles: dict[str, frozenset[Role]] = {}

    @contextlib.contextmanager
    def declare(self, app: dash.Dash, roles: Iterable[Role]) -> Iterator[None]:
        """Every callback ``app`` gains inside the block may be called by ``roles``."""
        granted = frozenset(roles)
        before = set(app.callback_map)
        yield
        for key in set(app.callback_map) - before:
            self._roles[key] = granted

    def roles_for(self, output: str) -> frozenset[Role] | None:
        return self._roles.get(output)

    def undeclared(self, app: dash.Dash) -> list[str]:
        return sorted(k for k in app.callback_map if k not in self._roles)

    def __len__(self) -> int:
        return len(self._roles)


class AccessPolicy:
    """Access per Flask URL rule (its pattern, e.g. ``/_dash-component-suites/<...>``)."""

    def __init__(self) -> None:
        self._rules: dict[str, Access] = {}

    def declare(self, rule: str, access: Access) -> None:
        self._rules[rule] = access

    @contextlib.contextmanager
    def claim(self, server: flask.Flask, access: Access) -> Iterator[None]:
        """Rules added to ``server`` inside the block (e.g. by ``dash.Dash(...)``) get ``access``."""
        before = {r.rule for r in server.url_map.iter_rules()}
        yield
        for rule in server.url_map.iter_rules():
            if rule.rule not in before:
                self._rules.setdefault(rule.rule, access)

    def for_rule(self, rule: str) -> Access | None:
        return self._rules.get(rule)

    def undeclared(self, server: flask.Flask) -> list[str]:
        return sorted({r.rule for r in server.url_map.iter_rules()} - set(self._rules))

    def rules(self) -> dict[str, Access]:
        return dict(self._rules)
