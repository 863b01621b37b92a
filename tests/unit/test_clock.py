"""The one clock (ioc.clock): IOC_NOW pins the start, the clock runs on, children share it."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from ioc import clock
from ioc.app import IocApp
from ioc.cli import main
from ioc.config import load_settings
from ioc.errors import ConfigError

SUNDAY = datetime.fromisoformat("2026-12-13T10:00:00+07:00")


def test_unpinned_is_the_system_clock(monkeypatch):
    monkeypatch.delenv(clock.ENV, raising=False)
    clock.reset()
    try:
        before = datetime.now(timezone.utc)
        now = clock.now()
        assert now.tzinfo is not None and before <= now <= datetime.now(timezone.utc)
        assert abs(clock.time() - time.time()) < 0.5
        assert clock.env() == {}
    finally:
        clock.reset()


def test_pinned_starts_at_the_instant_and_runs_on(pin_clock):
    pin_clock(SUNDAY)
    first = clock.now()
    assert timedelta(0) <= first - SUNDAY < timedelta(seconds=1)
    assert first.utcoffset() == timedelta(0)
    time.sleep(0.05)
    assert clock.now() - first >= timedelta(seconds=0.05)
    assert abs(clock.time() - clock.now().timestamp()) < 0.01
    assert clock.now_local().utcoffset() == timedelta(hours=7)
    assert clock.today().isoformat() == "2026-12-13"


def test_an_anchor_in_the_past_means_the_clock_has_run_since(monkeypatch):
    monkeypatch.setenv(clock.ENV, SUNDAY.isoformat())
    monkeypatch.setenv(clock.ANCHOR_ENV, repr(time.time() - 3600))
    clock.reset()
    try:
        assert timedelta(hours=1) <= clock.now() - SUNDAY < timedelta(hours=1, seconds=1)
    finally:
        clock.reset()


@pytest.mark.parametrize("name, value", [
    (clock.ENV, "yesterday"), (clock.ENV, "2026-12-13T09:00:00"), (clock.ENV, "2026-12-13"),
    (clock.ANCHOR_ENV, "soon"), (clock.ANCHOR_ENV, "nan"),
])
def test_a_bad_value_is_one_line_naming_the_variable(name, value):
    environ = {clock.ENV: SUNDAY.isoformat(), name: value}
    with pytest.raises(ConfigError) as err:
        clock.parse(environ, time.time())
    assert str(err.value).startswith(f"{name}: ") and "\n" not in str(err.value)


def test_the_cli_refuses_a_bad_ioc_now_with_exit_2(monkeypatch, capsys):
    monkeypatch.setenv(clock.ENV, "Monday morning")
    clock.reset()
    try:
        assert main(["kpi", "score", "--indicator", "x", "--numerator", "1", "--denominator", "2"]) == 2
    finally:
        monkeypatch.delenv(clock.ENV)
        clock.reset()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "IOC_NOW" in err


def test_ioc_now_is_not_a_setting():
    env = {clock.ENV: SUNDAY.isoformat(), clock.ANCHOR_ENV: "1.5"}
    assert load_settings(None, environ=env) == load_settings(None, environ={})


def test_a_child_process_reads_the_same_clock(pin_clock):
    pin_clock(SUNDAY - timedelta(days=30))
    before = clock.now()
    out = subprocess.run([sys.executable, "-c", "from ioc import clock; print(clock.now().isoformat())"],
                         env=clock.child_environ(), capture_output=True, text=True, check=True).stdout
    after = clock.now()
    assert before <= datetime.fromisoformat(out.strip()) <= after


def test_child_environ_keeps_a_pin_of_the_callers_own(pin_clock):
    pin_clock(SUNDAY)
    assert clock.child_environ({"PATH": "/bin"}) == {"PATH": "/bin", **clock.env()}
    own = {clock.ENV: "2027-02-08T09:00:00+07:00"}
    assert clock.child_environ(own) == own
    inherited = clock.child_environ()  # this process's IOC_NOW: replaced by the anchored pair
    assert inherited[clock.ENV] == clock.env()[clock.ENV] and inherited[clock.ANCHOR_ENV] == clock.env()[clock.ANCHOR_ENV]


def test_ioc_up_hands_its_clock_to_every_part(pin_clock):
    pin_clock(SUNDAY)
    env = IocApp(settings=load_settings(None, environ={}))._child_env()
    assert {k: env[k] for k in (clock.ENV, clock.ANCHOR_ENV)} == clock.env()
    assert clock.parse(env, 0.0) == clock.parse(clock.env(), 1.0)  # the same instant and anchor
