"""The user store, password hashing, roles, the session secret, the sign-in rate limit and
the URL checks (same origin, local ?next=)."""

from __future__ import annotations

import json
import stat
import threading

import pytest

from dashboards.auth.ratelimit import FailedLogins
from dashboards.auth.roles import CONSOLE, WALL, Role, allowed, parse_roles
from dashboards.auth.secret_key import load_or_create_secret
from dashboards.auth.urls import origin_of, safe_next, same_origin
from dashboards.auth.users import (
    UserStore,
    UserStoreError,
    add_user,
    add_user_command,
    ensure_first_admin,
    verify,
)
from ioc.errors import UserInputError

# -- the user store -----------------------------------------------------------------------

def test_passwords_are_stored_hashed_never_plain(tmp_path):
    path = tmp_path / "users.json"
    add_user(path, "lanhdao", "mat-khau-rat-dai", ["leader"])
    text = path.read_text()
    assert "mat-khau-rat-dai" not in text
    record = json.loads(text)["users"]["lanhdao"]
    assert record["password_hash"].startswith("scrypt:")
    assert record["roles"] == ["leader"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_verify_accepts_the_right_password_only(tmp_path):
    path = tmp_path / "users.json"
    add_user(path, "Dieu.Hanh", "mat-khau-rat-dai", ["operator", "leader"])
    user = verify(path, "dieu.hanh", "mat-khau-rat-dai")
    assert user is not None and user.roles == {Role.operator, Role.leader}
    assert verify(path, "DIEU.HANH ", "mat-khau-rat-dai") is not None  # usernames are case-insensitive
    assert verify(path, "dieu.hanh", "mat-khau-rat-dai ") is None
    assert verify(path, "dieu.hanh", "") is None
    assert verify(path, "khong-co", "mat-khau-rat-dai") is None


def test_two_users_with_one_password_get_different_hashes(tmp_path):
    path = tmp_path / "users.json"
    a = add_user(path, "mot", "cung-mot-mat-khau", ["leader"])
    b = add_user(path, "hai", "cung-mot-mat-khau", ["leader"])
    assert a.password_hash != b.password_hash  # salted


@pytest.mark.parametrize("username, password, roles, fragment", [
    ("x", "mat-khau-rat-dai", ["leader"], "username 'x'"),
    ("co dau cach", "mat-khau-rat-dai", ["leader"], "username 'co dau cach'"),
    ("lãnhđạo", "mat-khau-rat-dai", ["leader"], "username 'lãnhđạo'"),
    ("lanhdao", "ngan", ["leader"], "at least 10 characters"),
    ("lanhdaoxyz", "LanhDaoXyz", ["leader"], "must not be the username"),
    ("lanhdao", "mat-khau-rat-dai", ["boss"], "unknown role 'boss'"),
    ("lanhdao", "mat-khau-rat-dai", [], "at least one role"),
])
def test_bad_input_is_refused_naming_what_is_wrong(tmp_path, username, password, roles, fragment):
    path = tmp_path / "users.json"
    with pytest.raises(UserStoreError, match=fragment) as err:
        add_user(path, username, password, roles)
    assert isinstance(err.value, UserInputError)  # the CLI prints one line, exit status 2
    assert not path.exists()


def test_an_existing_user_is_not_overwritten_unless_asked(tmp_path):
    path = tmp_path / "users.json"
    add_user(path, "lanhdao", "mat-khau-thu-nhat", ["leader"])
    with pytest.raises(UserStoreError, match="already exists"):
        add_user(path, "LanhDao", "mat-khau-thu-hai", ["admin"])
    assert verify(path, "lanhdao", "mat-khau-thu-nhat") is not None
    add_user(path, "lanhdao", "mat-khau-thu-hai", ["operator"], replace=True)
    assert verify(path, "lanhdao", "mat-khau-thu-nhat") is None
    assert verify(path, "lanhdao", "mat-khau-thu-hai").roles == {Role.operator}


def test_first_admin_is_created_once_with_a_random_password(tmp_path):
    path = tmp_path / "var" / "users.json"
    created = ensure_first_admin(path)
    assert created is not None
    username, password = created
    assert username == "admin" and len(password) >= 16
    assert verify(path, username, password).roles == {Role.admin}
    assert ensure_first_admin(path) is None
    other = tmp_path / "other.json"
    assert ensure_first_admin(other)[1] != password


def test_first_admin_is_not_created_when_users_exist(tmp_path):
    path = tmp_path / "users.json"
    add_user(path, "lanhdao", "mat-khau-rat-dai", ["leader"])
    assert ensure_first_admin(path) is None
    assert set(UserStore(path).users()) == {"lanhdao"}


def test_concurrent_first_admin_creates_one_account(tmp_path):
    path = tmp_path / "users.json"
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(ensure_first_admin(path))) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    created = [r for r in results if r is not None]
    assert len(created) == 1
    assert verify(path, "admin", created[0][1]) is not None


def test_a_reader_sees_users_added_by_another_writer(tmp_path):
    path = tmp_path / "users.json"
    reader = UserStore(path)
    assert reader.get("lanhdao") is None
    add_user(path, "lanhdao", "mat-khau-rat-dai", ["leader"])  # e.g. `ioc users add` while the web runs
    assert reader.get("lanhdao") is not None


def test_a_corrupt_store_is_named_in_the_error(tmp_path):
    path = tmp_path / "users.json"
    path.write_text('{"version": 1, "users": {"x": {"password_hash": "plain", "roles": ["leader"], '
                    '"created_at": "2026-01-01T00:00:00Z"}}}')
    with pytest.raises(UserStoreError, match=r"users.json: users.x.password_hash"):
        UserStore(path).get("x")
    path.write_text("{not json")
    with pytest.raises(UserStoreError, match="users.json: cannot read"):
        UserStore(path).users()


def test_add_user_command_generates_and_shows_a_password_once(tmp_path):
    path = tmp_path / "users.json"
    line = add_user_command(path, "DieuHanh", "operator, leader")
    assert line.startswith("user 'dieuhanh' (leader, operator) saved in")
    password = line.rsplit("password: ", 1)[1]
    assert verify(path, "dieuhanh", password) is not None
    given = add_user_command(path, "lanhdao", ["leader"], password="mat-khau-rat-dai")
    assert "password" not in given.split(" saved in ")[1]
    with pytest.raises(UserStoreError, match="unknown role 'boss'"):
        add_user_command(path, "khac", "boss")


# -- roles --------------------------------------------------------------------------------

def test_admin_implies_every_role_and_others_only_their_own():
    assert allowed({Role.admin}, CONSOLE) and allowed({Role.admin}, WALL)
    assert allowed({Role.leader}, WALL) and not allowed({Role.leader}, CONSOLE)
    assert allowed({Role.operator}, CONSOLE) and allowed({Role.operator}, WALL)
    assert not allowed(set(), WALL)
    assert parse_roles([" Leader ", "operator"]) == {Role.leader, Role.operator}


# -- session secret -----------------------------------------------------------------------

def test_session_secret_is_created_once_private_and_reused(tmp_path):
    path = tmp_path / "data" / "web-secret.key"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    path.chmod(0o644)
    assert load_or_create_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened
    assert load_or_create_secret(tmp_path / "other.key") != first


# -- failed sign-ins ----------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failed_logins_lock_an_address_for_the_window():
    clock = Clock()
    limiter = FailedLogins(max_failures=3, window_s=60, clock=clock)
    for _ in range(2):
        limiter.failed("10.0.0.1")
        clock.now += 1
    assert limiter.retry_after("10.0.0.1") == 0
    limiter.failed("10.0.0.1")  # third failure at t=1002
    assert limiter.retry_after("10.0.0.1") == pytest.approx(58)
    assert limiter.retry_after("10.0.0.2") == 0  # per address
    clock.now = 1060.5  # the first failure (t=1000) left the window
    assert limiter.retry_after("10.0.0.1") == 0
    limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") > 0
    limiter.succeeded("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 0


def test_failed_logins_memory_is_bounded():
    limiter = FailedLogins(max_failures=2, window_s=60, clock=Clock(), max_addresses=100)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._failures) == 100


# -- URLs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("origin, referer, host, ok", [
    ("http://127.0.0.1:8050", None, "127.0.0.1:8050", True),
    ("https://ioc.example.vn", None, "ioc.example.vn", True),       # TLS proxy keeping Host
    ("https://ioc.example.vn:443", None, "ioc.example.vn", True),
    ("http://evil.example", None, "127.0.0.1:8050", False),
    ("http://127.0.0.1:8051", None, "127.0.0.1:8050", False),       # another port is another origin
    ("null", None, "127.0.0.1:8050", False),
    (None, "http://127.0.0.1:8050/wall?x=1", "127.0.0.1:8050", True),
    (None, "http://evil.example/127.0.0.1:8050", "127.0.0.1:8050", False),
    ("http://evil.example", "http://127.0.0.1:8050/", "127.0.0.1:8050", False),  # Origin decides
    (None, None, "127.0.0.1:8050", False),
    ("javascript:alert(1)", None, "127.0.0.1:8050", False),
])
def test_same_origin(origin, referer, host, ok):
    assert same_origin(origin, referer, host) is ok


def test_trusted_origin_behind_a_proxy_that_rewrites_host():
    assert same_origin("https://ioc.example.vn", None, "10.0.0.5:8050", ("https://ioc.example.vn",))
    assert not same_origin("https://evil.example", None, "10.0.0.5:8050", ("https://ioc.example.vn",))
    assert origin_of("HTTPS://IOC.Example.vn:443/x") == "https://ioc.example.vn"


@pytest.mark.parametrize("target, expected", [
    ("/wall", "/wall"),
    ("/console?unit=H44.07", "/console?unit=H44.07"),
    (None, "/"),
    ("", "/"),
    ("wall", "/"),
    ("https://evil.example/", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("/\tevil", "/"),
    ("/login", "/"),
    ("/logout?x=1", "/"),
])
def test_next_is_a_local_path_only(target, expected):
    assert safe_next(target) == expected
