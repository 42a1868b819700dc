"""The Alerts view: priority order, muting reasons, team scoping, silences from the view, history."""

from __future__ import annotations

import pytest

from core.alerts.inhibit import InhibitRule
from core.kernel.records.alerts import AlertState, Transition, fingerprint
from core.kernel.settings.incidents import IncidentSettings
from core.kernel.settings.inhibit import DEFAULT_INHIBIT_RULES
from core.storage.repos.alert_states import save_states
from core.storage.tsdb import Store
from core.views.alerts import (
    create_silence,
    current_alerts,
    end_silence,
    rule_history,
    silence_matchers,
    silences_table,
)
from tests.conftest import FakeClock

RULES = [InhibitRule.of(r) for r in DEFAULT_INHIBIT_RULES]


def state(rule: str, state: str, at: int, **labels: str) -> AlertState:
    fired = at if state == "firing" else None
    return AlertState(
        rule,
        fingerprint(labels),
        labels,
        {"summary": f"{labels['alertname']}!"},
        state,
        at,
        fired,
        None,
        at,
        1.0,
    )  # type: ignore[arg-type]


def seed(store: Store, now: int) -> list[AlertState]:
    states = [
        state("hosts/HostDown", "firing", now - 60_000, alertname="HostDown", severity="critical", host="h1"),
        state(
            "mcp/McpServerDown",
            "firing",
            now - 50_000,
            alertname="McpServerDown",
            severity="critical",
            host="h1",
            server="s1",
            team="a",
        ),
        state(
            "mcp/McpServerDown",
            "firing",
            now - 40_000,
            alertname="McpServerDown",
            severity="critical",
            host="h2",
            server="s2",
            team="b",
        ),
        state(
            "hosts/HostCPUHigh",
            "pending",
            now - 30_000,
            alertname="HostCPUHigh",
            severity="warning",
            host="h2",
        ),
        state(
            "hosts/HostCPUHigh",
            "firing",
            now - 20_000,
            alertname="HostCPUHigh",
            severity="warning",
            host="h3",
        ),
    ]
    moves = [
        Transition(s.rule, s.fingerprint, s.labels, "inactive", s.state, s.active_at_ms, 1.0) for s in states
    ]
    save_states(store.engine, {s.rule for s in states}, states, moves)
    return states


def test_order_muting_and_counts(store: Store, clock: FakeClock) -> None:
    seed(store, clock.ms)
    view = current_alerts(store.engine, RULES, IncidentSettings(), clock.ms)
    df = view.table
    assert df["state"].to_list() == ["firing"] * 4 + ["pending"]
    assert df["severity"].to_list()[:3] == ["critical"] * 3  # critical first
    assert df.filter(df["alertname"] == "HostDown")["muted"][0] is None  # the source is not muted
    s1 = df.filter(df["server"] == "s1")
    assert s1["muted"][0] == "inhibited by HostDown (h1)"
    assert view.counts == {"firing": 4, "pending": 1, "muted": 1}


def test_team_scope_shows_team_alerts_and_their_hosts_only(store: Store, clock: FakeClock) -> None:
    seed(store, clock.ms)
    df = current_alerts(
        store.engine, RULES, IncidentSettings(), clock.ms, teams=frozenset({"b"}), hosts=frozenset({"h2"})
    ).table
    assert sorted(zip(df["alertname"].to_list(), df["host"].to_list(), strict=True)) == [
        ("HostCPUHigh", "h2"),
        ("McpServerDown", "h2"),
    ]
    assert current_alerts(
        store.engine, RULES, IncidentSettings(), clock.ms, teams=frozenset()
    ).table.is_empty()


def test_silence_from_a_row_mutes_it_and_can_be_ended(store: Store, clock: FakeClock) -> None:
    states = seed(store, clock.ms)
    cpu = states[4]
    matchers = silence_matchers(cpu.labels)
    assert matchers == ['alertname="HostCPUHigh"', 'host="h3"']
    s = create_silence(store.engine, matchers, 60, "ana", "reboot window", clock.ms)
    df = current_alerts(store.engine, RULES, IncidentSettings(), clock.ms).table
    assert df.filter(df["host"] == "h3")["muted"][0] == f"silenced by {s.id[:8]}"
    table = silences_table(store.engine, clock.ms)
    assert table["state"].to_list() == ["active"] and table["created_by"].to_list() == ["ana"]
    assert end_silence(store.engine, s.id, clock.ms + 1000)
    df = current_alerts(store.engine, RULES, IncidentSettings(), clock.ms + 2000).table
    assert df.filter(df["host"] == "h3")["muted"][0] is None
    with pytest.raises(ValueError, match="between 1 minute and 30 days"):
        create_silence(store.engine, matchers, 0, "ana", "x", clock.ms)
    with pytest.raises(ValueError, match="say why"):
        create_silence(store.engine, matchers, 5, "ana", " ", clock.ms)


def test_rule_history(store: Store, clock: FakeClock) -> None:
    seed(store, clock.ms)
    h = rule_history(store.engine, "mcp/McpServerDown", clock.ms - 3_600_000, clock.ms + 1)
    assert h.height == 2 and h["to_state"].to_list() == ["firing", "firing"]
    assert h["at"].is_sorted(descending=True)
