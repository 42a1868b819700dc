"""Silences created and ended through the seam are audited: who, when, the silence before and after."""

from __future__ import annotations

from collections.abc import Callable

from core.kernel.records.audit import AuditQuery
from core.seam import Backend, Console
from core.storage.repos.audit import AuditRepo
from tests.security.conftest import ADMIN, LEAD_A, LEAD_B

AsUser = Callable[..., Console]


def test_silences_created_and_ended_are_audited(as_user: AsUser, seam_backend: Backend) -> None:
    lead = as_user(LEAD_A)
    s = lead.alerts.create_silence(['alertname="McpServerDown"'], 60, "maintenance")
    log = AuditRepo(seam_backend.store.engine)
    [created] = log.read(AuditQuery(action="silence.create"))
    assert (created.actor, created.source, created.object_id, created.before) == ("lead-a", "ui", s.id, None)
    assert created.after["matchers"] == s.matcher_text and 'team="a"' in s.matcher_text
    assert created.after["comment"] == "maintenance" and created.at_ms == s.created_ms

    assert not as_user(LEAD_B).alerts.may_end(s.id)  # refused before anything is written
    admin = as_user(ADMIN)
    assert admin.alerts.end_silence(s.id)
    [ended] = log.read(AuditQuery(action="silence.end"))
    assert ended.actor == "root" and ended.object_id == s.id
    assert ended.before["ends_ms"] == s.ends_ms and ended.after["ends_ms"] == admin.now_ms()
    assert ended.note.startswith("ends_ms: ")
    assert not admin.alerts.end_silence(s.id)  # already ended: no second entry
    assert len(log.read(AuditQuery(action="silence.end"))) == 1
