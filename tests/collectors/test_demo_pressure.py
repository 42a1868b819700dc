"""The demo's right-sizing ground truth: who is throttled, OOM-killed, idle (and nobody else)."""

from __future__ import annotations

import numpy as np

from collectors.demo import DemoCollector
from core.kernel.settings import DemoSettings

WEEK_S = 604_800
START_S = 2959 * WEEK_S  # a cycle boundary of the scripted incidents


def test_only_under_servers_are_throttled_and_oom_killed_and_idle_ones_serve_nothing() -> None:
    demo = DemoCollector(DemoSettings())
    values, _ = demo._model.evaluate(np.arange(START_S, START_S + WEEK_S, 300, dtype=np.int64))
    keys = demo._model.keys

    def rows(metric: str) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i, (m, lb) in enumerate(keys):
            if m == metric:
                server = dict(lb)["server"]
                out[server] = out[server] + values[i] if server in out else values[i]
        return out

    throttled, periods = (
        rows("container_cpu_cfs_throttled_periods_total"),
        rows("container_cpu_cfs_periods_total"),
    )
    ooms, calls = rows("container_oom_events_total"), rows("mcp_server_tool_calls_total")
    for s in demo.topology.servers:
        share = throttled[s.name].max() / periods[s.name].max()
        if s.profile == "under":
            assert share > 0.01 and ooms[s.name].max() >= 1, s.name
            assert s.cpu_limit < 1.3 * s.cpu_request and s.memory_limit < 1.2 * s.memory_request
        else:
            assert throttled[s.name].max() == 0 and ooms[s.name].max() == 0, s.name
        assert (calls[s.name].max() == 0) == s.idle, s.name
    assert sum(s.idle for s in demo.topology.servers) == 2
    assert all(s.profile == "over" for s in demo.topology.servers if s.idle)
