"""The series the demo exposes: metric names, label sets and their fixed order.

Order is metric-major within each family (hosts, servers, tools, teams), then object order;
:class:`collectors.demo.model.Model` returns its value rows in exactly this order.
"""

from __future__ import annotations

from collectors.demo.topology import Topology
from core.kernel.samples import Labels, labels_of

Extra = dict[str, str]

HOST_METRICS: list[tuple[str, Extra]] = [
    ("host_up", {}),
    ("host_cpu_utilization_ratio", {}),
    ("host_load1", {}),
    ("host_memory_used_bytes", {}),
    ("host_memory_total_bytes", {}),
    ("host_memory_utilization_ratio", {}),
    ("host_disk_used_bytes", {"mountpoint": "/"}),
    ("host_disk_total_bytes", {"mountpoint": "/"}),
    ("host_disk_utilization_ratio", {"mountpoint": "/"}),
    ("host_network_receive_bytes_total", {"device": "eth0"}),
    ("host_network_transmit_bytes_total", {"device": "eth0"}),
    ("machine_cpu_cores", {}),  # cAdvisor's name: the host's CPU capacity, for consolidation
]
PROBE = "mcp_client_operation_duration_seconds"
SERVER_METRICS: list[tuple[str, Extra]] = [
    ("mcp_server_up", {}),
    ("container_cpu_usage_cores", {}),
    ("container_cpu_request_cores", {}),
    ("container_cpu_limit_cores", {}),
    ("container_memory_working_set_bytes", {}),
    ("container_memory_request_bytes", {}),
    ("container_memory_limit_bytes", {}),
    ("container_restarts_total", {}),
    ("container_oom_events_total", {}),
    ("container_cpu_cfs_periods_total", {}),
    ("container_cpu_cfs_throttled_periods_total", {}),
    ("mcp_server_deploys_total", {}),
    (PROBE, {"mcp_method_name": "ping"}),
    (PROBE, {"mcp_method_name": "tools/list"}),
]
DURATION = "mcp_server_operation_duration_seconds"
QUANTILES = ("0.5", "0.95", "0.99")
TOOL_METRICS: list[tuple[str, Extra]] = [
    ("mcp_server_tool_calls_total", {}),
    ("mcp_server_tool_errors_total", {}),
    *((DURATION, {"quantile": q}) for q in QUANTILES),
]
TEAM_METRICS: list[tuple[str, Extra]] = [
    ("platform_active_users", {}),
    ("platform_debug_sessions_active", {}),
]
ALWAYS_REPORTED = {"host_up", "mcp_server_up", "platform_active_users", "platform_debug_sessions_active"}


def _object_labels(topology: Topology) -> dict[str, list[Extra]]:
    servers = topology.servers
    return {
        "host": [{"host": h.name} for h in topology.hosts],
        "server": [
            {
                "server": s.name,
                "kind": s.kind,
                "host": s.host,
                "team": s.team,
                "user": s.user,
                "session_id": s.session_id,
            }
            for s in servers
        ],
        "tool": [
            {
                "server": servers[i].name,
                "host": servers[i].host,
                "team": servers[i].team,
                "gen_ai_tool_name": tool,
                "mcp_method_name": "tools/call",
            }
            for i, tool in topology.tools
        ],
        "team": [{"team": team} for team in topology.teams],
    }


def family_layout() -> list[tuple[str, list[tuple[str, Extra]]]]:
    return [
        ("host", HOST_METRICS),
        ("server", SERVER_METRICS),
        ("tool", TOOL_METRICS),
        ("team", TEAM_METRICS),
    ]


def series_keys(topology: Topology) -> list[tuple[str, Labels]]:
    """Every (metric, labels) the demo reports, in row order."""
    objects = _object_labels(topology)
    return [
        (metric, labels_of(**obj, **extra))
        for family, metrics in family_layout()
        for metric, extra in metrics
        for obj in objects[family]
    ]
