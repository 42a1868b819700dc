"""The state machine with plain data: allowed moves, clear refusals, timestamps kept for MTTA/MTTR."""

from __future__ import annotations

import pytest

from core.incidents import lifecycle
from core.kernel.errors import IncidentError
from core.kernel.records.incidents import Incident, MemberAlert
from core.kernel.settings.incidents import IncidentSettings
from tests.conftest import T0_MS
from tests.core.incidents.conftest import MIN, fire, resolved

INC = Incident(3, "k", "HostDown on host-04", "triggered", "critical", 500.0, T0_MS)


def test_triggered_acknowledged_resolved() -> None:
    acked, ev = lifecycle.acknowledge(INC, "ana", T0_MS + 2 * MIN)
    assert (acked.state, acked.acked_ms, acked.acked_by) == ("acknowledged", T0_MS + 2 * MIN, "ana")
    assert [(e.kind, e.actor, e.text) for e in ev] == [("ack", "ana", "acknowledged by ana")]
    done, ev = lifecycle.resolve(acked, "bo", T0_MS + 9 * MIN, "rebooted the host")
    assert (done.state, done.resolved_ms, done.resolved_by) == ("resolved", T0_MS + 9 * MIN, "bo")
    assert ev[0].text == "resolved by bo: rebooted the host" and ev[0].data == {"from": "acknowledged"}


def test_refusals_say_what_to_do() -> None:
    acked, _ = lifecycle.acknowledge(INC, "ana", T0_MS)
    with pytest.raises(IncidentError, match="already acknowledged by ana"):
        lifecycle.acknowledge(acked, "bo", T0_MS + 1)
    done, _ = lifecycle.resolve(INC, "ana", T0_MS)
    with pytest.raises(IncidentError, match="reopen it before acknowledging"):
        lifecycle.acknowledge(done, "bo", T0_MS + 1)
    with pytest.raises(IncidentError, match="already resolved"):
        lifecycle.resolve(done, "bo", T0_MS + 1)
    with pytest.raises(IncidentError, match="only a resolved incident reopens"):
        lifecycle.reopen(INC, "bo", T0_MS + 1)
    with pytest.raises(IncidentError, match="actor is required"):
        lifecycle.acknowledge(INC, "  ", T0_MS)
    with pytest.raises(IncidentError, match="needs text"):
        lifecycle.note(INC, "ana", " ", T0_MS)
    with pytest.raises(IncidentError, match="already assigned to ana"):
        lifecycle.assign(lifecycle.assign(INC, "ana", "lead", T0_MS)[0], "ana", "lead", T0_MS)


def test_reopen_keeps_the_first_acknowledgement_and_clears_the_resolution() -> None:
    acked, _ = lifecycle.acknowledge(INC, "ana", T0_MS + MIN)
    done, _ = lifecycle.resolve(acked, "ana", T0_MS + 5 * MIN)
    again, ev = lifecycle.reopen(done, "bo", T0_MS + 6 * MIN, "still broken")
    assert (again.state, again.resolved_ms, again.acked_ms) == ("triggered", None, T0_MS + MIN)
    assert ev[0].kind == "reopen" and ev[0].text == "reopened by bo: still broken"
    re_acked, _ = lifecycle.acknowledge(again, "cy", T0_MS + 7 * MIN)
    assert re_acked.acked_ms == T0_MS + MIN and re_acked.acked_by == "cy"


def test_assign_and_unassign() -> None:
    mine, ev = lifecycle.assign(INC, "ana", "lead", T0_MS)
    assert mine.assignee == "ana" and ev[0].text == "assigned to ana by lead"
    none, ev = lifecycle.assign(mine, None, "lead", T0_MS + 1)
    assert none.assignee is None and ev[0].text == "unassigned by lead"


def test_auto_resolution_at_the_last_alert_resolution() -> None:
    a, b = fire("HostDown", T0_MS, host="h"), fire("McpServerDown", T0_MS + MIN, server="s", host="h")
    ma, mb = MemberAlert.of(resolved(a, T0_MS + 8 * MIN)), MemberAlert.of(resolved(b, T0_MS + 6 * MIN))
    out = lifecycle.auto_resolution(INC, [ma, mb], IncidentSettings(), T0_MS + 10 * MIN)
    assert out is not None
    inc, ev = out
    assert (inc.state, inc.resolved_ms, inc.resolved_by) == ("resolved", T0_MS + 8 * MIN, "pulse")
    assert ev[0].text == "all alerts resolved"
    assert lifecycle.auto_resolution(INC, [ma, MemberAlert.of(b)], IncidentSettings(), T0_MS) is None
    assert lifecycle.auto_resolution(INC, [ma, mb], IncidentSettings(auto_resolve=False), T0_MS) is None
