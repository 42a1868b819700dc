"""Grouping, timers, dedup across restarts, routes, silences and inhibition, with plain numbers."""

from __future__ import annotations

from core.alerts.grouping import MemoryLog
from core.alerts.inhibit import InhibitRule
from core.alerts.pipeline import AlertPipeline
from core.alerts.routing import build_route
from core.alerts.silences import new_silence
from core.kernel.records.alerts import Alert, Notification
from core.kernel.settings.inhibit import DEFAULT_INHIBIT_RULES
from core.kernel.settings.routing import RouteSettings

S = 1000
ROUTE = {
    "receivers": ["ops"],
    "group_by": ["alertname"],
    "group_wait": "30s",
    "group_interval": "5m",
    "repeat_interval": "4h",
    "routes": [
        {
            "matchers": ['severity="critical"'],
            "receivers": ["pager"],
            "group_by": ["alertname", "host"],
            "continue": True,
        },
        {"matchers": ['team="a"'], "receivers": ["team-a"]},
    ],
}


def alert(
    name: str, host: str, status: str = "firing", severity: str = "warning", team: str = "b", at: int = 0
) -> Alert:
    labels = {"alertname": name, "host": host, "severity": severity, "team": team}
    return Alert(labels, {"summary": f"{name} on {host}"}, status, at, at if status == "resolved" else None)  # type: ignore[arg-type]


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str, Notification]] = []
        self.now = 0

    def __call__(self, receiver: str, n: Notification) -> None:
        self.sent.append((self.now, receiver, n))

    def summary(self) -> list[tuple[int, str, str, list[str]]]:
        return [
            (t // S, r, n.status, sorted(f"{a.labels['host']}:{a.status}" for a in n.alerts))
            for t, r, n in self.sent
        ]


def pipeline(
    log: MemoryLog | None = None, route: dict | None = None, **kw: object
) -> tuple[AlertPipeline, Outbox]:
    out = Outbox()
    p = AlertPipeline(
        build_route(RouteSettings.model_validate(route or ROUTE)), [], log or MemoryLog(), out, **kw
    )  # type: ignore[arg-type]
    return p, out


def run(
    p: AlertPipeline,
    out: Outbox,
    timeline: dict[int, list[Alert]],
    until_s: int,
    step_s: int = 5,
    start_s: int = 0,
) -> None:
    current: list[Alert] = []
    for t in range(start_s, until_s + 1, step_s):
        current = timeline.get(t, current)
        out.now = t * S
        p.tick(current, t * S)


def test_group_wait_batches_then_group_interval_then_resolution() -> None:
    p, out = pipeline()
    a1, a2 = alert("CpuHigh", "h1"), alert("CpuHigh", "h2")
    run(
        p,
        out,
        {
            0: [a1],
            20: [a1, a2],
            100: [a1, a2, alert("CpuHigh", "h3")],
            400: [alert("CpuHigh", "h1", "resolved"), a2, alert("CpuHigh", "h3")],
        },
        1000,
    )
    assert out.summary() == [
        (30, "ops", "firing", ["h1:firing", "h2:firing"]),  # group_wait: both in one notification
        (330, "ops", "firing", ["h1:firing", "h2:firing", "h3:firing"]),  # the next group_interval
        (630, "ops", "firing", ["h1:resolved", "h2:firing", "h3:firing"]),  # a resolution is news too
    ]


def test_repeat_interval_resends_an_unchanged_group() -> None:
    p, out = pipeline(route={**ROUTE, "repeat_interval": "20m"})
    run(p, out, {0: [alert("CpuHigh", "h1")]}, 3000, step_s=30)
    # first at group_wait; then at the first group_interval flush 20 min after the last notification
    assert [t for t, *_ in out.summary()] == [30, 1230, 2430]  # flushes every 5 min: 1230 is 20 min on


def test_a_restart_rebuilds_groups_without_sending_again() -> None:
    log = MemoryLog()
    p, out = pipeline(log)
    run(p, out, {0: [alert("CpuHigh", "h1")]}, 60)
    assert len(out.sent) == 1
    p2, out2 = pipeline(log)  # a new process with the persisted log
    run(p2, out2, {100: [alert("CpuHigh", "h1")]}, 600, start_s=100)
    assert out2.sent == []  # its group_wait passed (at 130) and the log said: already told
    run(p2, out2, {605: [alert("CpuHigh", "h1"), alert("CpuHigh", "h9")]}, 1000, start_s=605)
    assert out2.summary() == [(730, "ops", "firing", ["h1:firing", "h9:firing"])]  # next group_interval


def test_routes_match_depth_first_with_continue_and_own_group_by() -> None:
    p, out = pipeline()
    run(
        p,
        out,
        {
            0: [
                alert("HostDown", "h1", severity="critical", team="a"),
                alert("HostDown", "h2", severity="critical"),
            ]
        },
        40,
    )
    assert sorted(out.summary()) == [
        (30, "pager", "firing", ["h1:firing"]),  # grouped by alertname and host
        (30, "pager", "firing", ["h2:firing"]),
        (30, "team-a", "firing", ["h1:firing"]),  # continue: the next sibling matched too
    ]


def test_a_silence_mutes_and_its_end_lets_the_alert_through() -> None:
    silence = new_silence(['host="h1"'], 0, 100 * S, "ana", "maintenance", 0)
    p, out = pipeline(silences=lambda: [silence])
    result = p.tick([alert("CpuHigh", "h1")], 0)
    assert result.muted == {alert("CpuHigh", "h1").fingerprint: f"silenced by {silence.id}"}
    run(p, out, {0: [alert("CpuHigh", "h1")]}, 200)
    assert out.summary() == [(130, "ops", "firing", ["h1:firing"])]  # 100 s end + 30 s group wait


def test_host_down_inhibits_its_servers_alerts_only() -> None:
    rules = [InhibitRule.of(r) for r in DEFAULT_INHIBIT_RULES]
    p, out = pipeline()
    p.inhibit_rules = rules
    host_down = alert("HostDown", "h1", severity="critical")
    server_down = [alert("McpServerDown", "h1"), alert("McpServerDown", "h2")]
    result = p.tick([host_down, *server_down], 0)
    assert list(result.muted) == [server_down[0].fingerprint]
    assert result.muted[server_down[0].fingerprint].startswith("inhibited by HostDown")
    resolved = alert("HostDown", "h1", "resolved", severity="critical")
    assert p.tick([resolved, *server_down], 10 * S).muted == {}  # a resolved source mutes nothing


def test_silence_validation_messages() -> None:
    import pytest

    for args, problem in [
        (([], 0, 10, "a", "c"), "at least one matcher"),
        ((['host=~".*"'], 0, 10, "a", "c"), "would silence everything"),
        ((['host="h1"'], 10, 5, "a", "c"), "end after it starts"),
        ((['host="h1"'], 0, 10, " ", "c"), "who creates"),
        ((['host="h1"'], 0, 10, "a", ""), "say why"),
        ((["host=h1"], 0, 10, "a", "c"), "bad matcher"),
    ]:
        with pytest.raises(ValueError, match=problem):
            new_silence(*args, now_ms=1)  # type: ignore[misc]
