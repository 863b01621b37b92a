"""Notifications, the pure part (ioc.alerts.routing, matchers, silences, messages): routing by
source, unit and severity, one notification per alert and transition, escalation while
unacknowledged, silences and maintenance windows, muted alerts, resolved, at pinned instants."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from ioc.alerts import Action, AlertBook, Signal
from ioc.alerts.matchers import Matchers
from ioc.alerts.messages import render
from ioc.alerts.model import Frame
from ioc.alerts.routing import Delivery, DeliveryLog, Notification, NotifySettings, RetryPolicy, plan
from ioc.alerts.silences import SilenceBook, SilenceRejected, parse_silence_event
from ioc.config import load_settings
from ioc.errors import ConfigError

T0 = datetime(2026, 12, 8, 2, 30, tzinfo=timezone.utc)  # Tuesday 09:30 in Asia/Ho_Chi_Minh

SETTINGS = NotifySettings.model_validate({
    "base_url": "https://ioc.phutho.gov.vn",
    "channels": {
        "oncall": {"type": "webhook", "url": "https://chat.example.vn/hook", "secret_env": "HOOK_SECRET"},
        "province": {"type": "email", "smtp_host": "mail.example.vn", "sender": "ioc@example.vn",
                     "to": ["truc-ca@example.vn"]},
        "xay-dung": {"type": "email", "smtp_host": "mail.example.vn", "sender": "ioc@example.vn",
                     "to": ["so-xd@example.vn"]},
    },
    "routes": [
        {"match": {"source": "service", "severity": "critical"}, "channels": ["oncall"],
         "escalate": [{"after_min": 15, "channels": ["province"]}]},
        {"match": {"source": "dossier", "unit": "H44.07*"}, "channels": ["xay-dung"], "continue": True},
        {"match": {"source": "dossier"}, "channels": ["province"]},
    ],
})


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def down(op: str = "raise", minute: float = 0, system: str = "portal") -> Signal:
    return Signal(op=op, source="service", system=system, kind="system_down", severity="critical", at=at(minute),
                  summary=f"{system}: ngừng hoạt động")


def slo_warning(minute: float = 0, severity: str = "warning") -> Signal:
    return Signal(op="raise", source="service", system="lgsp", kind="slo_burn", severity=severity, at=at(minute),
                  summary="LGSP: SLO", labels={"slo": "availability"})


def overdue(units: tuple[str, ...], minute: float = 0) -> Signal:
    return Signal(op="raise", source="dossier", system="motcua", kind="dossier_overdue", at=at(minute),
                  summary="Hồ sơ quá hạn", units=units)


def keys(notifications: list[Notification]) -> list[str]:
    return [n.key for n in notifications]


def deliver(log: DeliveryLog, notifications: list[Notification], minute: float) -> None:
    for n in notifications:
        log.record(Delivery(n.alert_id, n.transition, n.channel, "sent", at(minute)))


def test_routes_by_source_severity_and_unit_first_match_unless_continue():
    book = AlertBook()
    book.apply(down())
    book.apply(slo_warning())  # service but warning: no route
    book.apply(overdue(("H44.07", "H44.08")))
    book.apply(Signal(op="raise", source="dossier", system="motcua", kind="dossier_at_risk", unit="H44.09",
                      at=at(0), summary="sắp đến hạn"))
    ids = {a.kind.value: a.id for a in book.alerts()}
    due = plan(book.snapshot(), SilenceBook(), DeliveryLog(), SETTINGS, at(0))
    assert sorted(keys(due)) == sorted([
        f"{ids['system_down']}|firing:critical|oncall",
        f"{ids['dossier_overdue']}|firing:warning|xay-dung",  # one of its units is H44.07*, and continue ...
        f"{ids['dossier_overdue']}|firing:warning|province",  # ... to the catch-all dossier route
        f"{ids['dossier_at_risk']}|firing:warning|province",
    ])


def test_one_notification_per_alert_and_transition_repeats_and_restarts_add_nothing():
    book, log = AlertBook(), DeliveryLog()
    book.apply(down(minute=0))
    first = plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(0))
    assert len(first) == 1
    deliver(log, first, 0)
    for minute in (1, 2, 3):  # the rule raises again and again: same alert, same transition
        book.apply(down(minute=minute))
        assert plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(minute)) == []
    restarted = DeliveryLog(Delivery.from_json(d.to_json()) for d in log.of(first[0].alert_id))  # read back
    assert plan(AlertBook.replay(book.log).snapshot(), SilenceBook(), restarted, SETTINGS, at(4)) == []
    # A severity rising is news: a warning that turns critical goes to the critical route.
    book.apply(slo_warning(minute=5))
    assert plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(5)) == []
    book.apply(slo_warning(minute=6, severity="critical"))
    (rose,) = plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(6))
    assert rose.transition == "firing:critical" and rose.channel == "oncall"


def test_escalates_to_the_next_level_while_unacknowledged_and_stops_once_acknowledged():
    book, log = AlertBook(), DeliveryLog()
    book.apply(down(minute=0))
    deliver(log, plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(0.5)), 0.5)  # notified at 0.5
    assert plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(15.4)) == []  # 14.9 min after the page
    (step,) = plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(15.5))
    assert (step.transition, step.channel) == ("escalation:1", "province")
    # Another alert, acknowledged in time: never escalated.
    book.apply(down(minute=20, system="payment"))
    pay = book.open_alert(down(system="payment").fingerprint)
    deliver(log, plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(20)), 20)
    book.apply(Action(action="acknowledge", alert_id=pay.id, actor="dieuhanh", at=at(25)))
    assert [n for n in plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(60)) if n.alert_id == pay.id] == []


def test_resolved_goes_to_every_channel_told_and_only_once():
    book, log = AlertBook(), DeliveryLog()
    book.apply(down(minute=0))
    deliver(log, plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(0)), 0)
    deliver(log, plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(16)), 16)  # escalated to province
    book.apply(down("clear", minute=20))
    resolved = plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(20))
    assert sorted((n.transition, n.channel) for n in resolved) == [("resolved", "oncall"), ("resolved", "province")]
    deliver(log, resolved, 20)
    assert plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(21)) == []
    # An alert that opened and closed while nobody was told: nothing to say.
    book.apply(slo_warning(minute=22))
    book.apply(slo_warning(minute=22).model_copy(update={"op": "clear"}))
    assert plan(book.snapshot(), SilenceBook(), log, SETTINGS, at(23)) == []


def silence(minute: float, **kw) -> object:
    raw = {"op": "create", "at": at(minute).isoformat(), "actor": "dieuhanh", "comment": "Bảo trì cổng",
           "matchers": {"system": "portal"}, "ends_at": at(minute + 60).isoformat(), **kw}
    return parse_silence_event(raw)


def test_a_silenced_alert_is_recorded_not_notified_then_notified_if_still_open_when_it_ends():
    book, log, silences = AlertBook(), DeliveryLog(), SilenceBook()
    created = silence(0)
    assert silences.apply(created)
    book.apply(down(minute=1))  # recorded in the book ...
    assert [a.state for a in book.alerts()] == ["firing"]
    assert plan(book.snapshot(), silences, log, SETTINGS, at(30)) == []  # ... not notified
    assert len(plan(book.snapshot(), silences, log, SETTINGS, at(61))) == 1  # the silence ended, still open
    # Expired early by an operator: due at once.
    book2, silences2 = AlertBook(), SilenceBook.replay([created])
    book2.apply(down(minute=1))
    expire = parse_silence_event({"op": "expire", "silence_id": created.silence_id, "at": at(10).isoformat(),
                                  "actor": "dieuhanh"})
    assert silences2.apply(expire)
    assert silences2.get(created.silence_id).state(at(10)) == "expired"
    assert len(plan(book2.snapshot(), silences2, DeliveryLog(), SETTINGS, at(10))) == 1


def test_a_maintenance_window_silences_only_while_it_runs_and_only_what_it_matches():
    window = silence(0, kind="maintenance", starts_at=at(30).isoformat(), ends_at=at(90).isoformat(),
                     matchers={"system": "portal", "rule": ["system_down", "slo_burn"]})
    silences = SilenceBook.replay([window])
    assert [s.state(at(10)) for s in silences.silences(at(10))] == ["pending"]
    book = AlertBook()
    book.apply(down(minute=10))
    assert len(plan(book.snapshot(), silences, DeliveryLog(), SETTINGS, at(10))) == 1  # not started yet
    assert plan(book.snapshot(), silences, DeliveryLog(), SETTINGS, at(45)) == []  # in the window
    book.apply(down(minute=45, system="payment"))
    assert [n.alert_id.startswith(book.alerts()[1].fingerprint) for n in
            plan(book.snapshot(), silences, DeliveryLog(), SETTINGS, at(45))] == [True]  # payment is not silenced
    assert silences.silences(at(100)) == [] and len(silences.silences(at(100), include_expired=True)) == 1


def test_a_unit_silence_hides_a_grouped_alert_only_when_all_its_units_match():
    silences = SilenceBook.replay([silence(0, matchers={"unit": "H44.07*"})])
    book = AlertBook()
    book.apply(overdue(("H44.07", "H44.07.01")))
    assert plan(book.snapshot(), silences, DeliveryLog(), SETTINGS, at(1)) == []
    book.apply(overdue(("H44.07", "H44.08"), minute=2))  # another unit joined: no longer all silenced
    assert len(plan(book.snapshot(), silences, DeliveryLog(), SETTINGS, at(2))) == 2


def test_muted_alerts_wait_for_their_root_to_resolve():
    book = AlertBook()
    book.apply(down(system="wan"))
    book.apply(Signal(op="raise", source="service", system="wan", kind="slo_burn", severity="critical", at=at(0),
                      labels={"slo": "availability"}))
    due = plan(book.snapshot(), SilenceBook(), DeliveryLog(), SETTINGS, at(1))
    assert [n.alert_id for n in due] == [book.alerts()[0].id]  # the down page only; the burn is muted


@pytest.mark.parametrize("raw, message", [
    ({"matchers": {}, "ends_at": at(60).isoformat(), "comment": "x"}, "matchers: at least one"),
    ({"matchers": {"system": "portal"}, "ends_at": at(60).isoformat()}, "comment: say why"),
    ({"matchers": {"system": "portal"}, "ends_at": at(-1).isoformat(), "comment": "x"}, "ends_at: must be after"),
    ({"matchers": {"system": "portal"}, "ends_at": at(60 * 24 * 40).isoformat(), "comment": "x"}, "at most 31 days"),
    ({"matchers": {"colour": "red"}, "ends_at": at(60).isoformat(), "comment": "x"}, "matchers.colour: Extra inputs"),
    ({"matchers": {"system": "portal"}, "ends_at": "2026-12-08T18:00", "comment": "x"}, "UTC offset"),
])
def test_bad_silences_are_refused_with_the_field_named(raw, message):
    with pytest.raises(SilenceRejected, match=message):
        parse_silence_event({"op": "create", "at": at(0).isoformat(), "actor": "op", **raw})


def test_silence_book_refuses_what_does_not_fit_and_skips_redeliveries():
    book = SilenceBook()
    created = silence(0)
    assert book.apply(created) and not book.apply(created)
    with pytest.raises(SilenceRejected, match="unknown silence"):
        book.check(parse_silence_event({"op": "expire", "silence_id": "nope", "at": at(1).isoformat(), "actor": "a"}))
    late = parse_silence_event({"op": "expire", "silence_id": created.silence_id, "at": at(61).isoformat(), "actor": "a"})
    with pytest.raises(SilenceRejected, match="ended already"):
        book.check(late)


def test_matchers_globs_alternatives_and_unit_modes():
    m = Matchers.model_validate({"system": "pay*", "severity": ["critical", "warning"]})
    assert m.matches({"system": "payment", "severity": "warning"})
    assert not m.matches({"system": "portal", "severity": "warning"})
    grouped = {"unit": None, "units": ["H44.07", "H44.08"], "kind": "dossier_overdue"}
    unit = Matchers(unit=("H44.07",))
    assert unit.matches(grouped, units="any") and not unit.matches(grouped, units="all")
    assert Matchers(rule=("dossier_*",)).matches(grouped) and Matchers().empty
    assert m.describe() == "system=pay*, severity=critical|warning"


def test_retry_backoff_doubles_and_is_capped():
    policy = RetryPolicy(attempts=6, backoff_s=0.5, max_backoff_s=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_settings_name_unknown_channels_and_secrets_never_in_the_file(tmp_path):
    bad = tmp_path / "ioc.yaml"
    bad.write_text("notify:\n  channels: {a: {type: webhook, url: 'https://x.example/h', secret_env: A_SECRET}}\n"
                   "  routes: [{channels: [b]}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown channel 'b'"):
        load_settings(bad, environ={})
    secret_in_file = tmp_path / "secret.yaml"
    secret_in_file.write_text("notify:\n  channels: {a: {type: webhook, url: 'https://x.example/h', secret: s3cr3t}}\n",
                              encoding="utf-8")
    with pytest.raises(ConfigError, match="notify.channels.a.webhook.secret"):
        load_settings(secret_in_file, environ={})
    with pytest.raises(ValidationError, match="IOC_\\* variables are settings"):
        NotifySettings.model_validate({"channels": {"a": {"type": "webhook", "url": "https://x.example/h",
                                                          "secret_env": "IOC_HOOK_SECRET"}}})
    with pytest.raises(ValidationError, match="password_env: required"):
        NotifySettings.model_validate({"channels": {"m": {"type": "email", "smtp_host": "h", "sender": "a@b",
                                                          "to": ["c@d"], "username": "ioc"}}})


def test_message_names_the_rule_links_the_runbook_and_carries_the_camera_picture():
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9").decode()
    book = AlertBook()
    book.apply(Signal(op="raise", source="camera", system="cam-counter", kind="camera_health", unit="H44.06.01",
                      severity="warning", at=at(0), summary="Camera Quầy 1: hình ảnh bị đứng",
                      labels={"condition": "frozen"}, frame=Frame(jpeg_base64=jpeg, captured_at=at(-0.1))))
    alert = book.snapshot()[0]
    n = Notification(alert["id"], "firing:warning", "oncall")
    frame = book.alerts()[0] and Frame(jpeg_base64=jpeg, captured_at=at(-0.1))
    msg = render(n, alert, "https://ioc.phutho.gov.vn/", at(1), frame,
                 {"system_down": "https://wiki.example.vn/down"})
    assert msg.subject == "[IOC] CẢNH BÁO: Camera Quầy 1: hình ảnh bị đứng"
    assert "Hướng dẫn xử lý (runbook): https://ioc.phutho.gov.vn/runbooks/camera_health" in msg.text
    assert "Ảnh camera lúc 09:29:54 08/12/2026 (đính kèm): https://ioc.phutho.gov.vn/camera/cam-counter/thumbnail.jpg" in msg.text
    assert msg.attachment == ("camera-cam-counter-20261208-092954.jpg", base64.b64decode(jpeg))
    assert msg.payload["frame"]["jpeg_base64"] == jpeg and msg.payload["alert"]["rule"] == "camera_health"
    assert msg.payload["key"] == n.key and msg.payload["runbook_url"].endswith("/runbooks/camera_health")
    down_msg = render(Notification("x-1", "escalation:1", "province"),
                      {**alert, "id": "x-1", "kind": "system_down", "severity": "critical"}, "https://h", at(1),
                      runbooks={"system_down": "https://wiki.example.vn/down"})
    assert down_msg.subject.startswith("[IOC] CHUYỂN CẤP 1") and "https://wiki.example.vn/down" in down_msg.text
    assert down_msg.attachment is None and down_msg.payload["frame"] is None


def test_the_warehouse_rows_of_silences_and_deliveries():
    from ioc.warehouse.sink import notification_rows, silence_event_rows

    created = silence(0, kind="maintenance")
    (row,) = silence_event_rows(created.encode())
    assert (row["silence_id"], row["op"], row["kind"], row["actor"]) == (created.silence_id, "create", "maintenance",
                                                                       "dieuhanh")
    assert json.loads(row["matchers"]) == {"system": ["portal"]} and parse_silence_event(row["event"]) == created
    d = Delivery("a-1", "firing:critical", "oncall", "dead", at(1), attempts=5, error="HTTP 500")
    (n,) = notification_rows(json.dumps(d.to_json()).encode())
    assert (n["key"], n["status"], n["attempts"], n["error"]) == ("a-1|firing:critical|oncall", "dead", 5, "HTTP 500")
    with pytest.raises(ValueError):
        notification_rows(json.dumps({**d.to_json(), "status": "maybe"}).encode())


def test_the_notifiers_view_follows_the_three_logs_and_keeps_the_picture_for_later_messages():
    from ioc.alerts.desk import AlertDesk
    from ioc.notify.service import NotifierState

    jpeg = base64.b64encode(b"\xff\xd8picture\xff\xd9").decode()
    settings = NotifySettings.model_validate({**SETTINGS.model_dump(by_alias=True),
                                              "routes": [{"match": {"source": "camera"}, "channels": ["province"]}]})
    desk, state = AlertDesk(), NotifierState(settings)
    raised = Signal(op="raise", source="camera", system="quay-1", kind="camera_health", severity="warning", at=at(0),
                    summary="Camera Quầy 1", labels={"condition": "frozen"}, frame=Frame(jpeg_base64=jpeg, captured_at=at(0)))
    entry = desk.apply(raised).logged
    assert entry is not None and entry.event.frame is not None  # published with the picture ...
    assert desk.book.log[-1].frame is None  # ... not kept in the writer's memory
    state.apply_log(entry.encode())
    state.apply_log(entry.encode())  # read twice (a reconnect): applied once
    assert len(state.book.log) == 1 and state.frames[entry.alert_id].jpeg_base64 == jpeg
    created = silence(0, matchers={"source": "camera"})
    state.apply_silence(created.encode())
    assert state.due(at(1)) == []  # silenced
    state.apply_silence(b"not json")  # skipped with a warning, nothing breaks
    assert [n.key for n in state.due(at(61))] == [f"{entry.alert_id}|firing:warning|province"]  # the silence ended
    sent = Delivery(entry.alert_id, "firing:warning", "province", "sent", at(61))
    state.apply_delivery(json.dumps(sent.to_json()).encode())
    assert state.due(at(62)) == []  # delivered (read back from the notify log): never due again
