"""Sign-in, roles and server-side enforcement for the web process (contracts.md §5).

    store      users.py       JSON user store, scrypt hashes; ensure_first_admin, add_user, verify
    roles      roles.py       leader, operator, admin (admin implies all)
    policy     policy.py      access per URL rule and roles per Dash callback, deny by default
    guard      guard.py       WebSecurity: Flask hooks, /login, /logout, /console placeholder
    headers    headers.py     CSP and the other security headers
    helpers    urls.py, ratelimit.py, secret_key.py, pages.py

A public Dash app (``/public/``) is a separate ``dash.Dash`` on the same server: create it
inside ``security.policy.claim(server, open_access(...))`` and register no internal
callback on it; a view that sets its own Content-Security-Policy (frame-ancestors allow-list)
keeps it.
"""

from dashboards.auth.guard import Principal, WebSecurity, session_lifetime_s, users_path
from dashboards.auth.policy import Access, AccessPolicy, CallbackRoles, Kind, open_access
from dashboards.auth.roles import CONSOLE, SIGNED_IN, WALL, Role, allowed
from dashboards.auth.users import (
    User,
    UserStore,
    UserStoreError,
    add_user,
    add_user_command,
    ensure_first_admin,
    verify,
)

__all__ = [
    "Access", "AccessPolicy", "CONSOLE", "CallbackRoles", "Kind", "Principal", "Role", "SIGNED_IN", "User",
    "UserStore", "UserStoreError", "WALL", "WebSecurity", "add_user", "add_user_command", "allowed",
    "ensure_first_admin", "open_access", "session_lifetime_s", "users_path", "verify",
]
