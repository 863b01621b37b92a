"""The key that signs session cookies: generated once, kept in the data directory (0600).

Several web instances behind a load balancer must share it: set ``web.session_secret``
(``IOC_WEB__SESSION_SECRET``) on all of them instead.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from ioc.errors import ConfigError

log = logging.getLogger(__name__)

SECRET_FILE = "web-secret.key"
MIN_SECRET_LENGTH = 32


def load_or_create_secret(path: str | os.PathLike[str]) -> bytes:
    """The secret stored at ``path``, created (64 hex digits, mode 0600) if it does not exist.

    Created by a hard link from a private temporary file, so two processes starting at once
    agree on one secret and neither reads a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: use its secret
        finally:
            tmp.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by other users (mode %o): set to 0600", path, mode)
        os.chmod(path, 0o600)
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path}: the session secret is shorter than {MIN_SECRET_LENGTH} characters; "
                         "delete the file to generate a new one")
    return value.encode("ascii")
