"""What the Grafana dashboards show: the panels of Health, Performance, Capacity and Pulse itself as
plain data (title, PromQL, legend, unit), so the dashboards, the docs and the tests share them.

Every expression reads the metric names Pulse stores (docs/sources.md): Pulse's Prometheus API
answers them, and so does any Prometheus that scraped or received the same metrics. ``$host``,
``$server`` and ``$__rate_interval`` are Grafana's; :func:`concrete` fills them in for a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BUDGET = 0.02  # the self-monitoring overhead budget (core.views.self_monitoring.OVERHEAD_BUDGET)
H, S, RI = '{host=~"$host"}', '{server=~"$server"}', "$__rate_interval"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"  # a Grafana unit id: percentunit, bytes, Bps, s, reqps, short
    kind: Literal["timeseries", "stat"] = "timeseries"
    width: int = 12
    height: int = 8
    description: str = ""
    line_at: float | None = None  # a dashed threshold line (the overhead budget)
    max: float | None = None


@dataclass(frozen=True)
class Board:
    uid: str
    title: str
    description: str
    rows: tuple[tuple[str, tuple[Panel, ...]], ...]
    variables: tuple[tuple[str, str], ...] = field(default=())  # (name, label_values query)


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


HEALTH = Board(
    "pulse-health",
    "Pulse · Health",
    "Are the hosts and MCP servers up and within their limits (mirrors Pulse's Health page)",
    (
        (
            "Status",
            (
                Panel("Hosts up", (q("sum(host_up" + H + ")"),), kind="stat", width=6, height=4),
                Panel("Hosts", (q("count(host_up" + H + ")"),), kind="stat", width=6, height=4),
                Panel("MCP servers up", (q("sum(mcp_server_up" + S + ")"),), kind="stat", width=6, height=4),
                Panel(
                    "MCP servers down",
                    (q("sum(1 - mcp_server_up" + S + ")"),),
                    kind="stat",
                    width=6,
                    height=4,
                ),
            ),
        ),
        (
            "Hosts",
            (
                Panel(
                    "CPU utilisation",
                    (q("max by (host) (host_cpu_utilization_ratio" + H + ")", "{{host}}"),),
                    "percentunit",
                    max=1,
                ),
                Panel(
                    "Memory utilisation",
                    (q("max by (host) (host_memory_utilization_ratio" + H + ")", "{{host}}"),),
                    "percentunit",
                    max=1,
                ),
                Panel(
                    "Disk utilisation (fullest mount)",
                    (q("max by (host) (host_disk_utilization_ratio" + H + ")", "{{host}}"),),
                    "percentunit",
                    max=1,
                ),
                Panel(
                    "Network receive",
                    (q(f"sum by (host) (rate(host_network_receive_bytes_total{H}[{RI}]))", "{{host}}"),),
                    "Bps",
                ),
                Panel(
                    "Network transmit",
                    (q(f"sum by (host) (rate(host_network_transmit_bytes_total{H}[{RI}]))", "{{host}}"),),
                    "Bps",
                ),
            ),
        ),
        (
            "MCP servers",
            (
                Panel(
                    "Servers up and down",
                    (q("sum(mcp_server_up" + S + ")", "up"), q("sum(1 - mcp_server_up" + S + ")", "down")),
                    "short",
                ),
                Panel(
                    "Ping latency, slowest servers",
                    (
                        q(
                            'topk(8, max by (server) (mcp_client_operation_duration_seconds{server=~"$server",mcp_method_name=~"ping|server/discover"}))',
                            "{{server}}",
                        ),
                    ),
                    "s",
                ),
                Panel(
                    "tools/list latency, slowest servers",
                    (
                        q(
                            'topk(8, max by (server) (mcp_client_operation_duration_seconds{server=~"$server",mcp_method_name="tools/list"}))',
                            "{{server}}",
                        ),
                    ),
                    "s",
                ),
                Panel(
                    "Memory of limit",
                    (
                        q(
                            "max by (server) (container_memory_working_set_bytes"
                            + S
                            + " / container_memory_limit_bytes"
                            + S
                            + ")",
                            "{{server}}",
                        ),
                    ),
                    "percentunit",
                ),
            ),
        ),
    ),
    (("host", "label_values(host_up, host)"), ("server", "label_values(mcp_server_up, server)")),
)

CALLS, ERRS = "mcp_server_tool_calls_total" + S, "mcp_server_tool_errors_total" + S
LAT = "mcp_server_operation_duration_seconds"
PERFORMANCE = Board(
    "pulse-performance",
    "Pulse · Performance",
    "Tool calls, errors and latency of the MCP servers (mirrors Pulse's Performance page)",
    (
        (
            "Fleet",
            (
                Panel(
                    "Tool calls per second",
                    (q(f"sum(rate({CALLS}[{RI}]))", "calls/s"),),
                    "reqps",
                    kind="stat",
                    width=8,
                    height=4,
                ),
                Panel(
                    "Error ratio",
                    (q(f"sum(rate({ERRS}[{RI}])) / sum(rate({CALLS}[{RI}]))", "errors"),),
                    "percentunit",
                    kind="stat",
                    width=8,
                    height=4,
                ),
                Panel(
                    "Slowest p95",
                    (q(f'max({LAT}{{server=~"$server",quantile="0.95"}})', "p95"),),
                    "s",
                    kind="stat",
                    width=8,
                    height=4,
                ),
                Panel(
                    "Latency quantiles (slowest tool)",
                    tuple(
                        q(f'max({LAT}{{server=~"$server",quantile="{x}"}})', f"p{x[2:]}")
                        for x in ("0.5", "0.95", "0.99")
                    ),
                    "s",
                ),
                Panel(
                    "Calls and errors per second",
                    (q(f"sum(rate({CALLS}[{RI}]))", "calls"), q(f"sum(rate({ERRS}[{RI}]))", "errors")),
                    "reqps",
                ),
            ),
        ),
        (
            "By server",
            (
                Panel(
                    "Calls per second by server",
                    (q(f"sum by (server) (rate({CALLS}[{RI}]))", "{{server}}"),),
                    "reqps",
                ),
                Panel(
                    "Error ratio by server",
                    (
                        q(
                            f"sum by (server) (rate({ERRS}[{RI}])) / sum by (server) (rate({CALLS}[{RI}]))",
                            "{{server}}",
                        ),
                    ),
                    "percentunit",
                ),
                Panel(
                    "p95 latency by server",
                    (q(f'max by (server) ({LAT}{{server=~"$server",quantile="0.95"}})', "{{server}}"),),
                    "s",
                ),
                Panel(
                    "Busiest tools",
                    (
                        q(
                            f"topk(10, sum by (server, gen_ai_tool_name) (rate({CALLS}[{RI}])))",
                            "{{server}} {{gen_ai_tool_name}}",
                        ),
                    ),
                    "reqps",
                ),
            ),
        ),
    ),
    (("server", "label_values(mcp_server_tool_calls_total, server)"),),
)

CAPACITY = Board(
    "pulse-capacity",
    "Pulse · Capacity",
    "Fleet totals and where they head (mirrors Pulse's capacity aggregates and forecasts)",
    (
        (
            "Fleet",
            (
                Panel(
                    "Mean CPU use of the hosts",
                    (q("avg(host_cpu_utilization_ratio)", "cpu"),),
                    "percentunit",
                    max=1,
                ),
                Panel(
                    "Memory used and total, all hosts",
                    (q("sum(host_memory_used_bytes)", "used"), q("sum(host_memory_total_bytes)", "total")),
                    "bytes",
                ),
                Panel(
                    "Disk used and total, all hosts",
                    (q("sum(host_disk_used_bytes)", "used"), q("sum(host_disk_total_bytes)", "total")),
                    "bytes",
                ),
                Panel(
                    "Container CPU used, requested and limits",
                    (
                        q("sum(container_cpu_usage_cores)", "used"),
                        q("sum(container_cpu_request_cores)", "requested"),
                        q("sum(container_cpu_limit_cores)", "limits"),
                    ),
                    "short",
                ),
                Panel(
                    "Active debug sessions", (q("sum(platform_debug_sessions_active)", "sessions"),), "short"
                ),
                Panel("Active users", (q("sum(platform_active_users)", "users"),), "short"),
            ),
        ),
        (
            "Forecast",
            (
                Panel(
                    "Disk utilisation in 7 days (linear, last 6 h)",
                    (
                        q(
                            "max by (host) (predict_linear(host_disk_utilization_ratio[6h], 7 * 86400))",
                            "{{host}}",
                        ),
                    ),
                    "percentunit",
                    line_at=1.0,
                ),
                Panel(
                    "Tool calls per second, by team",
                    (q(f"sum by (team) (rate(mcp_server_tool_calls_total[{RI}]))", "{{team}}"),),
                    "reqps",
                ),
            ),
        ),
    ),
)

SELF = Board(
    "pulse-self",
    "Pulse · Self-monitoring",
    "What Pulse costs: its processes' CPU against the 2 % budget, memory, database, ingest (Pulse's API only)",
    (
        (
            "Overhead",
            (
                Panel(
                    "Pulse CPU, share of the machine",
                    (
                        q(
                            "sum by (process, node) (rate(pulse_process_cpu_seconds_total[5m]) / on (process, instance, node) pulse_process_machine_cpus)",
                            "{{process}} {{node}}",
                        ),
                    ),
                    "percentunit",
                    line_at=BUDGET,
                    description="CPU seconds of Pulse's own processes per second over the machine's CPUs; the dashed line is the 2 % budget",
                ),
                Panel(
                    "Resident memory",
                    (
                        q(
                            "sum by (process, node) (pulse_process_resident_memory_bytes)",
                            "{{process}} {{node}}",
                        ),
                    ),
                    "bytes",
                ),
                Panel("Database size", (q("max(pulse_db_size_bytes)", "size"),), "bytes"),
                Panel(
                    "Database growth per day",
                    (q("max(deriv(pulse_db_size_bytes[1h])) * 86400", "per day"),),
                    "bytes",
                ),
            ),
        ),
        (
            "Ingest and jobs",
            (
                Panel("Ingest lag", (q("pulse_ingest_lag_seconds", "lag {{node}}"),), "s"),
                Panel(
                    "Job durations",
                    (q("max by (job, node) (pulse_job_duration_seconds)", "{{job}} {{node}}"),),
                    "s",
                ),
                Panel(
                    "Rejected samples",
                    (q("sum by (reason) (increase(pulse_samples_rejected_total[1h]))", "{{reason}}"),),
                    "short",
                ),
                Panel(
                    "Spool and outbox",
                    (
                        q("pulse_spool_samples", "spooled samples {{node}}"),
                        q("max(pulse_notification_outbox)", "outbox"),
                    ),
                    "short",
                ),
            ),
        ),
    ),
)

BOARDS = (HEALTH, PERFORMANCE, CAPACITY, SELF)


def concrete(expr: str, rate_interval: str = "5m") -> str:
    """The expression as Grafana sends it with every variable at "All" (a regex matching any value)."""
    return expr.replace("$__rate_interval", rate_interval).replace("$host", ".*").replace("$server", ".*")
