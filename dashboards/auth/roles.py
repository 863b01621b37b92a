"""Roles of the internal web surfaces and who may do what (contracts.md §5).

``admin`` implies every role; the public embeds need none and live in a separate app.
"""

from __future__ import annotations

from enum import Enum
from typing import Iterable


class Role(str, Enum):
    leader = "leader"      # the wall
    operator = "operator"  # the console (alert triage), and the wall
    admin = "admin"        # everything


ROLE_NAMES = tuple(r.value for r in Role)

WALL = frozenset({Role.leader, Role.operator})
CONSOLE = frozenset({Role.operator})
SIGNED_IN = frozenset(Role)  # any role at all


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Roles from their names; ValueError names the unknown one and lists the valid ones."""
    roles = set()
    for name in names:
        key = name.strip().lower()
        if key not in ROLE_NAMES:
            raise ValueError(f"unknown role '{name}' (roles: {', '.join(ROLE_NAMES)})")
        roles.add(Role(key))
    if not roles:
        raise ValueError(f"at least one role is needed ({', '.join(ROLE_NAMES)})")
    return frozenset(roles)


def allowed(held: Iterable[Role], required: Iterable[Role]) -> bool:
    """True when ``held`` grants one of ``required`` (admin grants everything)."""
    held = set(held)
    return Role.admin in held or bool(held & set(required))
