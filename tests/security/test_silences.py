"""Silences cannot be turned against another team: a lead silences their own teams' alerts only,
cannot widen the team matcher, cannot end another team's silence, and previews only their alerts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.kernel.errors import PermissionDenied
from core.seam import Console
from tests.security.conftest import ADMIN, DEV_A, LEAD_A, LEAD_B, VIEWER_A

AsUser = Callable[..., Console]


def muted(c: Console) -> set[str]:
    table = c.alerts.current().table
    return {str(r["server"] or r["host"]) for r in table.iter_rows(named=True) if r["muted"]}


def test_a_lead_silence_gets_their_team_matcher_and_mutes_only_their_alerts(as_user: AsUser) -> None:
    s = as_user(LEAD_A).alerts.create_silence(['alertname="McpServerDown"'], 60, "maintenance")
    assert [m.label for m in s.matchers] == ["alertname", "team"] and s.matchers[-1].value == "a"
    assert muted(as_user(ADMIN)) == {"s1"}  # team b's identical alert is still notified


@pytest.mark.parametrize(
    "matchers",
    [
        ['team="b"'],
        ['alertname="McpServerDown"', 'team=~"a|b"'],
        ['team=~".+"'],
        ['team=~"a.*"'],
        ['team!="a"', 'alertname="McpServerDown"'],
        ['team!~"a"', 'alertname="McpServerDown"'],
        ['alertname="McpServerDown"', 'team="a"', 'team=~"b|c"'],
    ],
)
def test_a_lead_cannot_reach_another_team(as_user: AsUser, matchers: list[str]) -> None:
    with pytest.raises(ValueError, match="could match alerts of teams other than yours"):
        as_user(LEAD_A).alerts.create_silence(matchers, 60, "trying")
    assert as_user(ADMIN).alerts.silences().is_empty()


def test_a_matcher_set_without_team_is_limited_not_global(as_user: AsUser) -> None:
    as_user(LEAD_A).alerts.create_silence(['severity=~".+"'], 60, "everything of mine")
    assert muted(as_user(ADMIN)) == {"s1"}


def test_developers_and_viewers_cannot_silence(as_user: AsUser) -> None:
    for who in (DEV_A, VIEWER_A):
        with pytest.raises(PermissionDenied):
            as_user(who).alerts.create_silence(['alertname="McpServerDown"'], 60, "no")


def test_only_the_teams_leads_and_admins_end_a_silence(as_user: AsUser) -> None:
    a = as_user(LEAD_A).alerts.create_silence(['alertname="McpServerDown"'], 60, "a's")
    admins = as_user(ADMIN).alerts.create_silence(['alertname="HostCPUHigh"'], 60, "admin's")
    lead_b = as_user(LEAD_B).alerts
    assert not lead_b.may_end(a.id) and not lead_b.may_end(admins.id)
    with pytest.raises(PermissionDenied):
        lead_b.end_silence(a.id)
    with pytest.raises(PermissionDenied):
        as_user(LEAD_A).alerts.end_silence(admins.id)
    assert as_user(LEAD_A).alerts.end_silence(a.id)
    assert as_user(ADMIN).alerts.end_silence(admins.id)


def test_leads_see_only_their_teams_silences(as_user: AsUser) -> None:
    as_user(LEAD_A).alerts.create_silence(['alertname="McpServerDown"'], 60, "a's")
    as_user(LEAD_B).alerts.create_silence(['alertname="McpServerDown"'], 60, "b's")
    as_user(ADMIN).alerts.create_silence(['alertname="HostCPUHigh"'], 60, "admin's")
    assert set(as_user(LEAD_A).alerts.silences()["comment"]) == {"a's"}
    assert set(as_user(ADMIN).alerts.silences()["comment"]) == {"a's", "b's", "admin's"}


def test_the_preview_counts_only_the_users_own_alerts(as_user: AsUser) -> None:
    assert as_user(LEAD_A).alerts.preview_silence(['alertname="McpServerDown"']) == 1
    assert as_user(ADMIN).alerts.preview_silence(['alertname="McpServerDown"']) == 2
