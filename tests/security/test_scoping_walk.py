"""Every read a page or an export makes, walked as team a's lead: nothing of team b comes back.

The reads go through the seam (core.seam.Console), the one place scoping is applied. Team b's
server is s2 on host h2; any frame, record or file that names them is a leak.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from core.kernel.errors import PermissionDenied
from core.kernel.times import TimeRange, TimeSpec
from core.seam import Console
from core.usage import frames
from core.views import ALL, Filters, label_values
from core.views import health as hv
from core.views import performance as pv
from tests.security.conftest import ADMIN, DEV_A, LEAD_A, VIEWER_A

AsUser = Callable[..., Console]
FOREIGN = ("s2", "h2", '"b"', "team=b", "of b")


def text_of(value: Any) -> str:
    if isinstance(value, pl.DataFrame):
        return value.write_json()
    if isinstance(value, bytes):
        return value.decode()
    return json.dumps(value, default=lambda o: getattr(o, "__dict__", str(o)))


def assert_no_team_b(what: str, value: Any) -> None:
    text = text_of(value)
    for mark in FOREIGN:
        assert mark not in text, f"{what} leaks {mark!r}: {text[:300]}"


def reads(c: Console, tr: TimeRange) -> dict[str, Any]:
    out: dict[str, Any] = {
        "host_status": c.read(hv.host_status, tr.as_of_ms, ALL),
        "server_status": c.read(hv.server_status, tr.as_of_ms, ALL),
        "host_series": c.read(hv.host_series, tr, ALL, "cpu"),
        "servers_up": c.read(hv.servers_up_series, tr, ALL),
        "tool_buckets": c.read(pv.tool_buckets, tr, ALL),
        "teams": c.read(label_values, "mcp_server_up", "team"),
        "servers": c.read(label_values, "mcp_server_up", "server"),
        "hosts": c.read(label_values, "host_up", "host"),
        "alerts": c.alerts.current().table,
        "history_mcp": c.alerts.rule_history("mcp/McpServerDown", tr.start_ms, tr.end_ms),
        "silences": c.alerts.silences(),
        "incidents": c.incidents.listing(),
        "mtta": c.incidents.mtta_mttr(tr.start_ms, tr.end_ms),
        "usage": list(frames(c.usage.report(tr.start_ms, tr.end_ms)).values()),
    }
    for iid in c.incidents.listing()["id"].to_list():
        out[f"incident {iid}"] = c.incidents.detail(iid).alerts
        files = c.incidents.report_files(iid)
        out[f"report {iid}"] = [files.markdown, files.timeline_csv, files.alerts_csv]
    return out


@pytest.fixture
def tr(as_user: AsUser) -> TimeRange:
    now = as_user(ADMIN).now_ms()
    return TimeSpec("1h").resolve(now)


def test_the_admin_sees_both_teams(as_user: AsUser, tr: TimeRange) -> None:
    seen = text_of(list(reads(as_user(ADMIN), tr).values()))
    assert "s1" in seen and "s2" in seen  # the walk does reach team b's data when allowed


def test_a_team_lead_sees_nothing_of_another_team(as_user: AsUser, tr: TimeRange) -> None:
    as_user(ADMIN).alerts.create_silence(['alertname="McpServerDown"', 'team="b"'], 60, "of b")
    got = reads(as_user(LEAD_A), tr)
    assert "s1" in text_of(got["server_status"])  # their own team is there
    for what, value in got.items():
        assert_no_team_b(what, value)


def test_a_link_naming_another_team_widens_nothing(as_user: AsUser, tr: TimeRange) -> None:
    c = as_user(LEAD_A)
    wide = Filters(teams=("b",), servers=("s2",), hosts=("h2",))
    for fn, args in ((hv.server_status, (tr.as_of_ms, wide)), (pv.tool_buckets, (tr, wide))):
        assert_no_team_b(fn.__name__, c.read(fn, *args))


def test_another_teams_incident_cannot_be_opened_or_acted_on(as_user: AsUser) -> None:
    ids = set(as_user(ADMIN).incidents.listing()["id"].to_list())
    own = set(as_user(LEAD_A).incidents.listing()["id"].to_list())
    foreign = ids - own
    assert own and foreign
    c = as_user(LEAD_A)
    for iid in foreign:
        for act in (
            c.incidents.detail,
            c.incidents.report,
            c.incidents.report_files,
            c.incidents.acknowledge,
        ):
            with pytest.raises(PermissionDenied):
                act(iid)


def test_usage_snapshots_are_for_admins_and_usage_not_for_viewers(as_user: AsUser, tr: TimeRange) -> None:
    for who in (LEAD_A, DEV_A, VIEWER_A):
        with pytest.raises(PermissionDenied):
            as_user(who).usage.snapshot_now()
    with pytest.raises(PermissionDenied):
        as_user(VIEWER_A).usage.report(tr.start_ms, tr.end_ms)
    # a developer sees their own series only: none of the seeded ones carries their user label
    mine = as_user(DEV_A).usage.report(tr.start_ms, tr.end_ms)
    assert mine.servers.is_empty() and mine.teams.is_empty()
