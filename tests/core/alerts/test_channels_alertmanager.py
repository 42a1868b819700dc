"""Forwarding to a real Alertmanager (Debian prometheus-alertmanager) read back via GET /api/v2/alerts."""

from __future__ import annotations

import time
from datetime import datetime

from core.alerts.channels import AlertmanagerChannel, Dispatcher, RetrySettings, build_channel
from core.alerts.channels.alertmanager import Alertmanager as AlertmanagerForwarder
from core.kernel.records.alerts import Alert, fingerprint
from tests.conftest import FakeClock
from tests.promstack import Alertmanager
from tests.receivers import notification


def _ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def firing(host: str, started_ms: int) -> Alert:
    return Alert(
        labels={"alertname": "HostDown", "severity": "critical", "host": host},
        annotations={"summary": f"{host} is down", "runbook_url": "https://runbooks.example.com/HostDown"},
        status="firing",
        starts_at_ms=started_ms,
        generator_url="http://pulse.example.com/alerts?rule=HostDown",
    )


def forwarder(am: Alertmanager, **kw: object) -> AlertmanagerForwarder:
    ch = build_channel(AlertmanagerChannel(name="am", url=am.url, **kw))  # type: ignore[arg-type]
    assert isinstance(ch, AlertmanagerForwarder)
    return ch


def test_firing_alerts_arrive_with_their_labels_and_fingerprint(alertmanager: Alertmanager) -> None:
    now_ms = int(time.time() * 1000)
    ch = forwarder(alertmanager, resend_interval_s=30)
    n = notification(firing("host-1", now_ms - 60_000), firing("host-2", now_ms - 30_000))
    d = ch.send(n)
    assert (d.ok, d.status_code, d.action) == (True, 200, "trigger"), d.error
    got = sorted(alertmanager.alerts(), key=lambda a: str(a["labels"]))  # type: ignore[index]
    assert [a["labels"] for a in got] == [dict(x.labels) for x in n.alerts]
    assert [a["fingerprint"] for a in got] == [fingerprint(x.labels) for x in n.alerts]
    first = got[0]
    assert first["annotations"] == dict(n.alerts[0].annotations)
    assert first["generatorURL"] == "http://pulse.example.com/alerts?rule=HostDown"
    assert first["status"]["state"] == "active"  # type: ignore[index]
    assert abs(_ms(str(first["startsAt"])) - (now_ms - 60_000)) < 1000
    # endsAt lies four resend intervals ahead, so Alertmanager does not resolve it between resends
    ends = _ms(str(first["endsAt"]))
    assert 110_000 <= ends - now_ms <= 130_000


def test_resolved_alerts_leave_alertmanager(alertmanager: Alertmanager) -> None:
    now_ms = int(time.time() * 1000)
    ch = forwarder(alertmanager)
    up = firing("host-1", now_ms - 60_000)
    assert ch.send(notification(up)).ok
    assert len(alertmanager.alerts()) == 1
    down = Alert(up.labels, up.annotations, "resolved", up.starts_at_ms, ends_at_ms=now_ms - 1000)
    d = ch.send(notification(down))
    assert d.ok and d.action == "resolve"
    assert alertmanager.alerts() == []


def test_firing_alerts_are_resent_while_they_fire(alertmanager: Alertmanager) -> None:
    clock = FakeClock(time.time())  # the dispatcher's schedule; the channel stamps real times
    ch = forwarder(alertmanager, resend_interval_s=30)
    d = Dispatcher([ch], clock=clock)
    now_ms = int(time.time() * 1000)
    n = notification(firing("host-1", now_ms - 5000))
    assert [x.ok for x in d.dispatch("am", n)] == [True]
    first_end = _ms(str(alertmanager.alerts()[0]["endsAt"]))
    clock.advance(29)
    assert d.resend_due() == []
    time.sleep(1.1)  # so that the re-sent endsAt is visibly later
    clock.advance(1)
    (resent,) = d.resend_due()
    assert resent.ok and resent.action == "resend"
    (after,) = alertmanager.alerts()
    assert _ms(str(after["endsAt"])) > first_end
    assert after["fingerprint"] == fingerprint(n.alerts[0].labels)
    clock.advance(30)
    resolved = Alert(
        n.alerts[0].labels, {}, "resolved", n.alerts[0].starts_at_ms, ends_at_ms=int(time.time() * 1000)
    )
    assert [x.action for x in d.dispatch("am", notification(resolved))] == ["resolve"]
    clock.advance(60)
    assert d.resend_due() == []  # a resolved group is no longer re-sent
    assert alertmanager.alerts() == []


def test_an_alertmanager_that_was_down_gets_the_alert_when_back(alertmanager: Alertmanager) -> None:
    clock = FakeClock(time.time())
    ch = forwarder(alertmanager)
    d = Dispatcher([ch], clock=clock, retry=RetrySettings(attempts=1, jitter=0), sleep=clock.advance)
    alertmanager.stop()
    n = notification(firing("host-9", int(time.time() * 1000)))
    (failed,) = d.dispatch("am", n)
    assert not failed.ok and failed.retryable and len(d.pending()) == 1
    alertmanager.start()
    clock.advance(5)
    (ok,) = d.retry_due()
    assert ok.ok and ok.attempt == 2 and not d.pending()
    (got,) = alertmanager.alerts()
    assert got["labels"] == dict(n.alerts[0].labels)


def test_alertmanager_refuses_an_invalid_alert_for_good(alertmanager: Alertmanager) -> None:
    bad = Alert({"alertname": "X", "bad-label": "v"}, {}, "firing", int(time.time() * 1000))
    d = forwarder(alertmanager).send(notification(bad))
    assert (d.ok, d.status_code, d.retryable) == (False, 400, False)
    assert "invalid label set" in d.error and "bad-label" in d.error
