"""The whole demo fleet as one pure function: times -> values and presence of every series."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from collectors.demo.calls import ToolParams, team_values, tool_values
from collectors.demo.capacity import apply_slow_fill
from collectors.demo.fleet import HostParams, ServerParams, host_down, host_values, server_values
from collectors.demo.schedule import Schedule, build_schedule
from collectors.demo.series import ALWAYS_REPORTED, PROBE, Extra, family_layout, series_keys
from collectors.demo.signals import F64, I64, season, trend
from collectors.demo.topology import Topology
from core.kernel.samples import Labels

Mask = npt.NDArray[np.bool_]


def _key(metric: str, extra: Extra) -> str:
    """The name a family function uses for a metric: probe methods and quantiles by label value."""
    if metric == PROBE:
        return extra["mcp_method_name"]
    return extra.get("quantile", metric)


class Model:
    """Evaluates every series of a topology at given Unix times (int64 seconds)."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.schedule: Schedule = build_schedule(topology)
        self.keys: list[tuple[str, Labels]] = series_keys(topology)
        self._servers = ServerParams.of(topology)
        self._hosts = HostParams.of(topology)
        self._tools = ToolParams.of(topology, self._servers)

    def evaluate(self, t: I64) -> tuple[F64, Mask]:
        """Values (N, T) in :func:`series_keys` order and whether each series reports at each time."""
        t = np.asarray(t, dtype=np.int64)
        n_hosts = len(self.topology.hosts)
        base = season(t) * trend(t)
        down = host_down(self.schedule, n_hosts, t)
        srv = server_values(self._servers, self.schedule, t, base, down)
        hosts = host_values(self._hosts, self.schedule, t, base, down, srv, self._servers.host)
        apply_slow_fill(hosts, self.topology.seed, t)
        families = {
            "host": hosts,
            "server": srv,
            "tool": tool_values(self._tools, self.schedule, t, base),
            "team": team_values(self.topology, t, base),
        }
        silent = {
            "host": down,
            "server": down[self._servers.host],
            "tool": down[self._tools.host],
            "team": np.zeros((len(self.topology.teams), t.shape[0]), dtype=bool),
        }
        blocks, present = [], []
        for family, metrics in family_layout():
            for metric, extra in metrics:
                blocks.append(families[family][_key(metric, extra)])
                present.append(np.ones_like(silent[family]) if metric in ALWAYS_REPORTED else ~silent[family])
        return np.concatenate(blocks), np.concatenate(present)
