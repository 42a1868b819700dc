"""A small fleet with days of history for the Capacity view (forecasts need days, not hours).

Known values: three hosts (web-1 and web-2 with 16 cores and 64 GiB, gpu-1 with 32 cores and
128 GiB); host CPU utilization with a daily wave; memory used half of each host; five servers, one
per team except platform's two, and a team whose name is a spreadsheet formula (``=1+1``) to check
that tables and CSV files neutralise it. Each server's p95 tool-call latency follows the daily wave
(0.2 s mean), except ``search``'s in the hour that ended two hours before ``now_ms``: 2.5 s, the
anomaly the Performance view's bands must flag.
"""

from __future__ import annotations

import math

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.tsdb import open_store

GIB = 2**30
HOSTS = {"web-1": (16, 64, 0.40), "web-2": (16, 64, 0.30), "gpu-1": (32, 128, 0.50)}  # cores, GiB, mean util
SERVERS = {  # server: (host, team, cores)
    "github": ("web-1", "platform", 1.0),
    "search": ("web-2", "platform", 2.0),
    "postgres": ("web-1", "data", 0.5),
    "files": ("gpu-1", "ml", 3.0),
    "sheet": ("gpu-1", "=1+1", 0.25),
}
FORMULA_TEAM = "=1+1"
LATENCY, HOUR_MS = "mcp_server_operation_duration_seconds", 3_600_000


def seed_capacity(url: str, now_ms: int, days: int = 5, step_s: int = 900) -> None:
    store = open_store(load_settings(database_url=url))
    step = step_s * 1000
    start = now_ms - days * 86_400_000
    batch: list[Sample] = []
    calls: dict[str, float] = {}

    def add(metric: str, value: float, ts: int, **labels: object) -> None:
        batch.append(Sample(metric, labels_of(**labels), ts, float(value)))

    for ts in range(start - start % step, now_ms + 1, step):
        wave = 1 + 0.3 * math.sin(2 * math.pi * (ts % 86_400_000) / 86_400_000)
        for host, (cores, gib, util) in HOSTS.items():
            add("host_cpu_utilization_ratio", util * wave, ts, host=host)
            add("machine_cpu_cores", cores, ts, host=host)
            add("host_memory_total_bytes", gib * GIB, ts, host=host)
            add("host_memory_used_bytes", 0.5 * gib * GIB * (0.9 + 0.1 * wave), ts, host=host)
        for server, (host, team, cores) in SERVERS.items():
            lb = {"server": server, "host": host, "team": team}
            add("mcp_server_up", 1, ts, **lb)
            add("container_cpu_usage_cores", cores * wave, ts, **lb)
            add("container_memory_working_set_bytes", cores * GIB, ts, **lb)
            calls[server] = calls.get(server, 0.0) + 2.0 * step_s * wave
            add("mcp_server_tool_calls_total", calls[server], ts, **lb)
            slow = server == "search" and now_ms - 3 * HOUR_MS <= ts < now_ms - 2 * HOUR_MS
            p95 = 2.5 if slow else 0.2 * wave
            add(LATENCY, p95, ts, quantile="0.95", mcp_method_name="tools/call", **lb)
        for team in {t for _, t, _ in SERVERS.values()}:
            add("platform_active_users", 5 * wave, ts, team=team)
            add("platform_debug_sessions_active", 2 * wave, ts, team=team)
    store.write(batch)
    store.run_rollups()
    store.close()
