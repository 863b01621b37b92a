"""Bearer tokens of the source systems: one per system, only their SHA-256 in the settings.

The settings file (``ingest.sources: {name: sha256-hex}``) holds no secret: a leaked file
does not let anyone send events, as long as the tokens are long random strings (a hash of a
short word can be guessed; :func:`generate_token` makes a good one). A request's token is
hashed and compared with every configured hash in constant time (``hmac.compare_digest``),
so neither the answer time nor the response reveals which part matched; nothing echoes the
token back and nothing logs it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Mapping

MIN_TOKEN_LENGTH = 16


def hash_token(token: str) -> str:
    """The value to store in ``ingest.sources``: SHA-256 of the UTF-8 token, 64 hex digits."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_token() -> str:
    """A new random token (256 bits, URL-safe) to give to a source system."""
    return secrets.token_urlsafe(32)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def authenticate(authorization: str | None, sources: Mapping[str, str]) -> str | None:
    """The name of the source system whose token the header carries, or None.

    Every configured hash is compared (constant time each, no early exit), so the time taken
    does not depend on which source, if any, matched.
    """
    token = bearer_token(authorization)
    if token is None:
        return None
    digest = hash_token(token).encode("ascii")
    found = None
    for name, expected in sources.items():
        if hmac.compare_digest(digest, expected.lower().encode("ascii")) and found is None:
            found = name
    return found
