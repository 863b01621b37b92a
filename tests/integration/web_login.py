"""Signing a test in: a user in the store of a data directory, then a requests.Session or a
Selenium browser that logs in through /login as a person would (CSRF token included)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import requests

from dashboards.auth.users import add_user, generate_password

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def create_user(data_dir: str | Path, username: str = "lanhdao", roles: Iterable[str] = ("leader",),
                password: str | None = None) -> str:
    """Add a user to ``DATA_DIR/users.json`` (the web process's default store); returns its password.

    Works before ``ioc up`` starts (then no first admin is created) or while it runs."""
    password = password or generate_password()
    add_user(Path(data_dir) / "users.json", username, password, list(roles))
    return password


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def login_session(base: str, username: str, password: str, timeout: float = 10.0) -> requests.Session:
    """A requests.Session signed in as ``username``. It sends ``Origin: base`` on every request,
    as a browser does, so POSTs to Dash callbacks pass the same-origin check."""
    s = requests.Session()
    s.headers["Origin"] = base
    form = s.get(f"{base}/login", timeout=timeout)
    form.raise_for_status()
    r = s.post(f"{base}/login", data={"csrf_token": csrf_token(form.text), "username": username,
                                      "password": password, "next": "/"},
               allow_redirects=False, timeout=timeout)
    assert r.status_code == 303, f"sign-in as {username} failed: {r.status_code} {r.text[:300]}"
    return s


def chromium(width: int = 1920, height: int = 1080, exact: bool = False) -> Any:
    """Headless Debian Chromium through chromedriver, keeping the browser console log (CSP reports).
    ``exact``: the page's viewport is width x height (the window size includes the browser's bars)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    if exact:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return driver


def login_browser(driver: Any, base: str, username: str, password: str, next_path: str = "/",
                  timeout: float = 20.0) -> None:
    """Sign ``driver`` in through the form at /login (Vietnamese), then wait to leave the page."""
    from urllib.parse import quote

    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/login?next={quote(next_path)}")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    try:
        WebDriverWait(driver, timeout).until(lambda d: "/login" not in d.current_url)
    except TimeoutException:
        errors = driver.find_elements(By.ID, "auth-error")
        raise AssertionError(f"still on the sign-in page after {timeout:.0f} s: "
                             f"{errors[0].text if errors else driver.current_url}") from None
