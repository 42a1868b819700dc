"""Priority: the documented formula, worked by hand, and the order it gives."""

from __future__ import annotations

import math

import pytest

from core.incidents.priority import (
    alert_priority,
    by_priority,
    impact_of,
    level,
    score,
    worst_severity,
)
from core.incidents.topology import Topology
from core.kernel.records.incidents import Impact
from core.kernel.settings.incidents import IncidentSettings
from tests.core.incidents.conftest import host_servers, labels_for

S = IncidentSettings()


def test_the_formula_by_hand() -> None:
    impact = Impact(users=("a", "b", "c"), teams=("t",), servers=("s1", "s2", "s3"), hosts=("h",))
    # 100 * (1 + 0.5*log2(4) + 1*log2(2) + 0.25*log2(4) + 0.5*log2(2)) = 100 * (1 + 1 + 1 + 0.5 + 0.5)
    assert score("critical", impact, S) == 400.0
    assert score("warning", Impact(hosts=("h",)), S) == 45.0  # 30 * (1 + 0.5)
    assert score("info", Impact(), S) == 10.0
    assert score("bogus", Impact(), S) == 30.0  # an unknown severity weighs as a warning


def test_host_down_with_its_servers_outranks_a_warning_elsewhere() -> None:
    servers = host_servers("host-04")
    down = impact_of(
        [labels_for("HostDown", host="host-04"), *[labels_for("McpServerDown", **s) for s in servers]]
    )
    assert down.counts() == {"users": 5, "teams": 3, "servers": 6, "hosts": 1}
    expected = 100 * (1 + 0.5 * math.log2(6) + math.log2(4) + 0.25 * math.log2(7) + 0.5 * math.log2(2))
    assert score("critical", down, S) == pytest.approx(expected, abs=0.05) == 549.4
    warning = alert_priority(labels_for("HostCPUHigh", host="host-02"), S)
    assert warning == 45.0
    assert level(549.4, S) == "P1" and level(warning, S) == "P5" and level(250, S) == "P2"


def test_a_host_alert_affects_the_servers_known_on_the_host() -> None:
    topo = Topology.from_label_sets(host_servers("host-04"))
    alone = impact_of([labels_for("HostDown", host="host-04")])
    known = impact_of([labels_for("HostDown", host="host-04")], topo)
    assert alone.counts()["servers"] == 0 and known.counts()["servers"] == 6
    assert alert_priority(labels_for("HostDown", host="host-04"), S, topo) == 549.4


def test_sorting_and_severity_ranks() -> None:
    rows = [("b", 45.0, 2), ("a", 549.4, 5), ("c", 45.0, 1)]
    assert [r[0] for r in by_priority(rows, lambda r: r[1], lambda r: r[2])] == ["a", "c", "b"]
    assert worst_severity(["info", "warning", "critical"]) == "critical"
    assert worst_severity(["info", "odd"]) == "info"


def test_weights_are_settings() -> None:
    s = IncidentSettings(severity_weights={"critical": 10, "warning": 1}, impact_weights={"teams": 2})
    assert score("critical", Impact(teams=("a",), hosts=("h",)), s) == 30.0  # 10 * (1 + 2*1); hosts weigh 0
    with pytest.raises(ValueError, match="unknown impact_weights"):
        IncidentSettings(impact_weights={"planets": 1})
