"""Issue 15 item 6: while a receiver is down, a firing that starts and ends arrives only as
resolved (as with Alertmanager); a channel with ``every_change = true`` gets every state change,
in order, once the receiver is back. A real webhook receiver on loopback, stopped and restarted."""

from __future__ import annotations

import pytest

from core.alerts.channels import Dispatcher, build_channel
from core.kernel.settings.channels import RetrySettings, WebhookChannel
from tests.conftest import T0_MS, FakeClock
from tests.receivers import Receiver, alert, notification


@pytest.mark.parametrize("every_change", [False, True])
def test_changes_made_while_the_receiver_is_down(receiver: Receiver, every_change: bool) -> None:
    clock = FakeClock()
    ch = build_channel(
        WebhookChannel(name="ops", url=receiver.url + "/hook", every_change=every_change, timeout_s=2),
        clock=clock,
    )
    d = Dispatcher([ch], retry=RetrySettings(attempts=1, jitter=0), clock=clock, sleep=lambda s: None)
    receiver.stop()
    firing = notification(alert(starts_at_ms=T0_MS), receiver="ops")
    firing = type(firing)(**{**firing.__dict__, "idempotency_key": "k-firing"})
    resolved = notification(
        alert(status="resolved", starts_at_ms=T0_MS, ends_at_ms=T0_MS + 60_000), receiver="ops"
    )
    resolved = type(resolved)(**{**resolved.__dict__, "idempotency_key": "k-resolved"})
    assert not d.dispatch("ops", firing)[0].ok
    clock.advance(60)
    assert not d.dispatch("ops", resolved)[-1].ok
    receiver.start()
    clock.advance(600)
    d.tick()
    d.tick()
    got = [(b["status"], b.get("idempotencyKey")) for b in receiver.bodies()]
    if every_change:
        assert got == [("firing", "k-firing"), ("resolved", "k-resolved")]
    else:
        assert got == [("resolved", "k-resolved")]  # collapsed: documented in docs/alerting.md
    assert d.pending() == []
    d.close()
