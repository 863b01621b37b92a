"""The user store: a JSON file in the data directory with scrypt password hashes and roles.

    {"version": 1, "users": {"admin": {"password_hash": "scrypt:...", "roles": ["admin"],
                                       "created_at": "2026-10-08T02:00:00Z"}}}

Never a plain password: werkzeug's scrypt hash (salted, memory-hard). The file is written
atomically (temporary file + rename) with 0600 permissions under an exclusive lock, so
``ioc users add`` can run while the web process serves; readers notice the change by the
file's modification stamp and reload it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.security import check_password_hash, generate_password_hash

from dashboards.auth.roles import Role, parse_roles
from ioc.errors import UserInputError

HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
FIRST_ADMIN = "admin"
# Verified against when the user does not exist, so the answer time does not tell whether it does.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16), method=HASH_METHOD)


class UserStoreError(UserInputError):
    """A bad username, password, role or store file; the message names which."""


class User(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    password_hash: str = Field(pattern=r"^(scrypt|pbkdf2):")
    roles: frozenset[Role] = Field(min_length=1)
    created_at: datetime

    @property
    def stamp(self) -> str:
        """Changes when the password does: sessions carry it, so a new password ends old sessions."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]


class UserFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(1, ge=1, le=1)
    users: dict[str, User] = Field(default_factory=dict)


def generate_password() -> str:
    """A random password of 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not re.fullmatch(USERNAME_PATTERN, name):
        raise UserStoreError(f"username '{username}': 2 to 64 characters a-z, 0-9, '.', '_' or '-', "
                             "starting with a letter or digit")
    return name


def check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserStoreError(f"password for '{username}': at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username:
        raise UserStoreError(f"password for '{username}': must not be the username")


class UserStore:
    """Users in one JSON file; safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: dict[str, User] = {}
        self._cache_key: tuple[int, int, int] | None = None

    # -- reading ---------------------------------------------------------------------------

    def users(self) -> dict[str, User]:
        """Every user, re-read when the file changed since the last call."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if key != self._cache_key:
                self._cache = self._read()
                self._cache_key = key
            return dict(self._cache)

    def get(self, username: str) -> User | None:
        return self.users().get(username.strip().lower())

    def verify(self, username: str, password: str) -> User | None:
        """The user when the password is right, else None (same work whether or not the user exists)."""
        user = self.get(username)
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
        return user if ok and user is not None else None

    def _read(self) -> dict[str, User]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UserStoreError(f"{self.path}: cannot read the user store ({exc})") from None
        try:
            return dict(UserFile.model_validate(data).users)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise UserStoreError(f"{self.path}: {where}: {err['msg']}") from None

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, User]]:
        """The users under an exclusive lock (between processes too); changes are saved on exit."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            users = self._read()
            before = dict(users)
            yield users
            if users != before:
                self._write(users)
        finally:
            os.close(fd)  # also releases the lock

    def _write(self, users: dict[str, User]) -> None:
        body = UserFile(users=users).model_dump_json(indent=2)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def add(self, username: str, password: str, roles: Iterable[Role | str], *, replace: bool = False) -> User:
        """Add a user (or, with ``replace``, set an existing one's password and roles)."""
        name = normalise_username(username)
        check_password(name, password)
        try:
            role_set = parse_roles(r.value if isinstance(r, Role) else r for r in roles)
        except ValueError as exc:
            raise UserStoreError(f"user '{name}': {exc}") from None
        user = User(password_hash=generate_password_hash(password, method=HASH_METHOD), roles=role_set,
                    created_at=datetime.now(timezone.utc))
        with self._locked() as users:
            if name in users and not replace:
                raise UserStoreError(f"user '{name}' already exists in {self.path}")
            users[name] = user
        return user

    def ensure_first_admin(self) -> tuple[str, str] | None:
        """Create ``admin`` with a random password when the store has no user at all."""
        password = generate_password()
        with self._locked() as users:
            if users:
                return None
            users[FIRST_ADMIN] = User(password_hash=generate_password_hash(password, method=HASH_METHOD),
                                      roles=frozenset({Role.admin}), created_at=datetime.now(timezone.utc))
        return FIRST_ADMIN, password


def ensure_first_admin(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(username, password) of a new ``admin`` when the store at ``path`` is empty, else None.

    For ``ioc up``: print the pair once; only its hash is stored."""
    return UserStore(path).ensure_first_admin()


def add_user(path: str | os.PathLike[str], username: str, password: str, roles: Iterable[Role | str],
             *, replace: bool = False) -> User:
    return UserStore(path).add(username, password, roles, replace=replace)


def verify(path: str | os.PathLike[str], username: str, password: str) -> User | None:
    return UserStore(path).verify(username, password)


def add_user_command(path: str | os.PathLike[str], username: str, roles: str | Iterable[str],
                     password: str | None = None, *, replace: bool = False) -> str:
    """``ioc users add USERNAME --roles leader,operator [--password-stdin] [--replace]``.

    ``roles`` may be comma-separated. Returns the line to print: with a generated password it
    shows the password (once; only its hash is kept). Raises UserStoreError (exit 2) naming
    the bad username, role or password."""
    names = roles.split(",") if isinstance(roles, str) else list(roles)
    generated = password is None
    secret = generate_password() if password is None else password
    user = add_user(path, username, secret, [n for n in names if n.strip()], replace=replace)
    name = normalise_username(username)
    role_list = ", ".join(sorted(r.value for r in user.roles))
    line = f"user '{name}' ({role_list}) saved in {path}"
    return line + (f"; password: {secret}" if generated else "")


__all__ = [
    "User", "UserStore", "UserStoreError", "add_user", "add_user_command", "ensure_first_admin",
    "generate_password", "verify",
]
