"""Counters of servers whose demand exceeds their limits: CFS throttling and OOM kills.

Ground truth of right-sizing (see ``collectors.demo.topology._limits``): only servers whose CPU or
memory *demand* (``collectors.demo.fleet.demand``) goes above their limit count anything here,
which in the demo are the two "under" servers at busy hours. Like cAdvisor:

* ``container_cpu_cfs_periods_total`` counts 100 ms CFS periods (600 per minute of the grid);
* ``container_cpu_cfs_throttled_periods_total`` the periods throttled: in a minute where demand
  is ``d`` cores over a limit ``l``, a share ``min(1, 3 * (1 - l / d))`` of them;
* ``container_oom_events_total`` one OOM kill each time memory demand crosses the limit (a
  minute over the limit after a minute under it); each kill also counts as a restart.

Counters restart with the container (daily recycle or deploy), on the same minute grid as the
other demo counters.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from collectors.demo.signals import F64, GRID, I64, counter

PERIODS_PER_CELL = GRID * 10  # 100 ms CFS periods per grid cell
Demand = Callable[[I64], tuple[F64, F64]]  # cell start times -> (cpu cores, memory bytes), each (S, C)


def cfs_counters(demand_at: Demand, cpu_limit: F64, last_reset: I64, t: I64) -> dict[str, F64]:
    """(S, T) CFS periods and throttled periods since each container started."""

    def cells(c: I64) -> I64:
        cpu, _ = demand_at(c)
        share = np.clip(3.0 * (1.0 - cpu_limit / np.maximum(cpu, 1e-9)), 0.0, 1.0)
        throttled = np.floor(PERIODS_PER_CELL * share)
        periods = np.full_like(throttled, PERIODS_PER_CELL)
        return np.concatenate([periods, throttled]).astype(np.int64)

    both = counter(t, np.concatenate([last_reset, last_reset]), cells).astype(np.float64)
    n = last_reset.shape[0]
    return {
        "container_cpu_cfs_periods_total": both[:n],
        "container_cpu_cfs_throttled_periods_total": both[n:],
    }


def oom_events(demand_at: Demand, memory_limit: F64, new_container: I64, t: I64) -> I64:
    """(S, T) OOM kills since each container was created (a kill restarts the process, not the container)."""

    def cells(c: I64) -> I64:
        over_now = demand_at(c)[1] > memory_limit
        over_before = demand_at(c - GRID)[1] > memory_limit
        return (over_now & ~over_before).astype(np.int64)

    return counter(t, new_container, cells)
