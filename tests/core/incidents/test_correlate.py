"""Correlation with plain data: shared labels, topology, windows, thresholds, determinism."""

from __future__ import annotations

import random

from core.incidents.correlate import Group, correlate
from core.incidents.topology import Topology
from core.kernel.settings.incidents import IncidentSettings
from tests.conftest import T0_MS
from tests.core.incidents.conftest import MIN, fire, host_servers

S = IncidentSettings()


def _batches(opened: list[list]) -> list[set[str]]:
    return [
        {a.name + ":" + (a.labels.get("server") or a.labels.get("host", "")) for a in batch}
        for batch in opened
    ]


def test_host_down_and_its_servers_open_one_incident() -> None:
    servers = host_servers("host-04")
    alerts = [fire("McpServerDown", T0_MS + i * 20_000, **s) for i, s in enumerate(servers)]
    alerts.append(fire("HostDown", T0_MS + 60_000, host="host-04"))
    alerts.append(fire("HostCPUHigh", T0_MS + 30_000, host="host-02"))
    out = correlate([], alerts, S)
    assert [len(b) for b in out.opened] == [7, 1]
    assert {a.labels.get("host") for a in out.opened[0]} == {"host-04"}
    assert out.opened[1][0].name == "HostCPUHigh"
    assert out.joined == {} and out.waiting == []


def test_order_of_the_input_does_not_matter() -> None:
    servers = host_servers("host-04")
    alerts = [fire("McpServerDown", T0_MS + i * 20_000, **s) for i, s in enumerate(servers)]
    alerts += [fire("HostDown", T0_MS + 60_000, host="host-04"), fire("HostCPUHigh", T0_MS, host="host-02")]
    first = correlate([], alerts, S)
    for seed in range(5):
        shuffled = alerts[:]
        random.Random(seed).shuffle(shuffled)
        again = correlate([], shuffled, S)
        assert [[a.fingerprint for a in b] for b in again.opened] == [
            [a.fingerprint for a in b] for b in first.opened
        ]


def test_a_new_alert_joins_the_open_incident_sharing_a_label() -> None:
    group = Group(7, {("host", "host-04")}, T0_MS, T0_MS, T0_MS)
    other = Group(8, {("host", "host-02")}, T0_MS, T0_MS, T0_MS)
    a = fire("McpServerDown", T0_MS + 5 * MIN, server="fetch-1", host="host-04", team="search")
    out = correlate([group, other], [a], S)
    assert out.joined == {a.fingerprint: 7} and out.opened == []


def test_outside_the_correlation_window_a_new_incident_opens() -> None:
    group = Group(7, {("host", "host-04")}, T0_MS, T0_MS, T0_MS)
    late = fire("HostCPUHigh", T0_MS + 11 * MIN, host="host-04")
    out = correlate([group], [late], S)
    assert out.joined == {} and len(out.opened) == 1


def test_the_window_slides_with_the_incidents_alerts_until_the_maximum() -> None:
    # alerts every 9 minutes keep joining (window 10 min) until 60 min after the incident opened
    group = Group(1, {("host", "h")}, T0_MS, T0_MS, T0_MS)
    alerts = [fire(f"A{i}", T0_MS + i * 9 * MIN, host="h") for i in range(1, 9)]
    out = correlate([group], alerts, S)
    joined_at = sorted((a.at_ms - T0_MS) // MIN for a in alerts if a.fingerprint in out.joined)
    assert joined_at == [9, 18, 27, 36, 45, 54]  # 63 and 72 minutes are past max_window_s
    assert len(out.opened) == 1 and len(out.opened[0]) == 2  # the two late ones start a new incident


def test_topology_links_a_server_only_alert_to_its_host() -> None:
    topo = Topology()
    topo.learn({"server": "github-1", "host": "host-04", "team": "ml"})
    host = fire("HostDown", T0_MS, host="host-04")
    tool = fire("McpToolErrorRateHigh", T0_MS + MIN, server="github-1")  # no host label on this metric
    assert len(correlate([], [host, tool], S, topo).opened) == 1
    assert len(correlate([], [host, tool], S).opened) == 2  # without the topology they stay apart


def test_team_is_not_a_correlation_label_by_default_but_can_be() -> None:
    a = fire("McpServerDown", T0_MS, server="s1", host="host-01", team="payments")
    b = fire("McpServerDown", T0_MS + MIN, server="s2", host="host-03", team="payments")
    assert len(correlate([], [a, b], S).opened) == 2
    by_team = IncidentSettings(correlate_by=["host", "server", "team"])
    assert len(correlate([], [a, b], by_team).opened) == 1


def test_min_alerts_holds_lonely_alerts_back() -> None:
    s = IncidentSettings(min_alerts=3)
    a = fire("HostCPUHigh", T0_MS, host="h")
    b = fire("HostMemoryHigh", T0_MS + MIN, host="h")
    out = correlate([], [a, b], s)
    assert out.opened == [] and {x.fingerprint for x in out.waiting} == {a.fingerprint, b.fingerprint}
    c = fire("HostDiskHigh", T0_MS + 2 * MIN, host="h")
    out = correlate([], [*out.waiting, c], s)
    assert [len(x) for x in out.opened] == [3] and out.waiting == []


def test_an_alert_bridging_two_forming_groups_merges_them() -> None:
    a = fire("A", T0_MS, host="h1")
    b = fire("B", T0_MS + 1000, server="s9", host="h2")
    bridge = fire("C", T0_MS + 2000, server="s9", host="h1")  # the same server, seen on h1
    out = correlate([], [a, b, bridge], S)
    assert [len(x) for x in out.opened] == [3]


def test_an_alert_without_correlation_labels_stands_alone() -> None:
    a = fire("BudgetExceeded", T0_MS, team="payments")
    b = fire("BudgetExceeded", T0_MS + 1, team="search")
    assert [len(x) for x in correlate([], [a, b], S).opened] == [1, 1]


def test_the_most_specific_incident_wins() -> None:
    wide = Group(1, {("host", "h")}, T0_MS, T0_MS, T0_MS + 3 * MIN)
    narrow = Group(2, {("host", "h"), ("server", "s")}, T0_MS, T0_MS, T0_MS)
    a = fire("McpServerDown", T0_MS + 4 * MIN, server="s", host="h")
    assert correlate([wide, narrow], [a], S).joined == {a.fingerprint: 2}


def test_resolved_alerts_are_not_correlated() -> None:
    from tests.core.incidents.conftest import resolved

    a = fire("HostDown", T0_MS, host="h")
    out = correlate([], [resolved(a, T0_MS + MIN)], S)
    assert out.opened == [] and out.waiting == []
