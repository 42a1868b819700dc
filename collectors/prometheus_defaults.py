"""The default PromQL -> Pulse mapping: node-exporter host metrics and cAdvisor container metrics.

Used when a prometheus source sets no ``queries``. Names and labels match the host collector
(``host``, plus ``cpu``, ``mountpoint`` or ``device``) and the demo's container series (``server``,
``host``), so dashboards and alert rules work on either. ``instance`` becomes ``host`` (its
``:port`` dropped, see ``strip_instance_port``); cAdvisor's container ``name`` becomes ``server``,
and the Docker labels ``team`` and ``session_id`` (``container_label_*``) are kept when present.
A query that matches nothing (no cAdvisor scraped, say) yields no samples and is not an error.

Not covered by cAdvisor: ``container_restarts_total`` (map kube-state-metrics'
``kube_pod_container_status_restarts_total`` with a query of your own).
"""

from __future__ import annotations

from core.kernel.settings.sources.prometheus import PromQuery

HOST = {"instance": "host"}
SERVER = {
    "instance": "host",
    "name": "server",
    "container_label_team": "team",
    "container_label_session_id": "session_id",
}
SERVER_KEEP = ["host", "server", "team", "session_id"]
SERVER_BY = "instance, name, container_label_team, container_label_session_id"
# node-exporter's filesystems holding no user data, and the block devices that are not whole
# disks (the same rules as collectors/host.py: PSEUDO_FS, IGNORED_DISK_DEVICES)
FS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|fuse.lxcfs|nsfs|autofs",mountpoint!~"/(var/)?snap/.*"'
DISK = r"device!~`(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p|mmcblk\d+p)\d+`"  # raw string: no escapes
CONTAINER = 'name!=""'


def _host(metric: str, promql: str, *extra: str) -> PromQuery:
    return PromQuery(metric=metric, promql=promql, rename=HOST, keep=["host", *extra])


def _server(metric: str, promql: str) -> PromQuery:
    return PromQuery(metric=metric, promql=promql, rename=SERVER, keep=SERVER_KEEP)


def _busy(by: str, w: str) -> str:
    """Share of CPU time not idle nor waiting for I/O (as psutil.cpu_percent and the host collector)."""
    idle = f'sum by ({by}) (rate(node_cpu_seconds_total{{mode=~"idle|iowait"}}[{w}]))'
    return f"1 - {idle} / sum by ({by}) (rate(node_cpu_seconds_total[{w}]))"


def default_queries(rate_window: str = "2m") -> list[PromQuery]:
    """The mapping, with ``rate_window`` as the range of every rate()."""
    w = rate_window
    used = f"node_filesystem_size_bytes{{{FS}}} - node_filesystem_free_bytes{{{FS}}}"
    return [
        # the node-exporter target answered its last scrape (kept an hour after it disappears)
        _host("host_up", "up and on (instance, job) last_over_time(node_exporter_build_info[1h])"),
        _host("host_cpu_utilization_ratio", _busy("instance", w)),
        _host("host_cpu_core_utilization_ratio", _busy("instance, cpu", w), "cpu"),
        _host("host_load1", "node_load1"),
        _host("host_load5", "node_load5"),
        _host("host_load15", "node_load15"),
        _host("host_memory_total_bytes", "node_memory_MemTotal_bytes"),
        _host("host_memory_available_bytes", "node_memory_MemAvailable_bytes"),
        _host("host_memory_used_bytes", "node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes"),
        _host(
            "host_memory_utilization_ratio",
            "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        ),
        _host("host_swap_total_bytes", "node_memory_SwapTotal_bytes"),
        _host("host_swap_used_bytes", "node_memory_SwapTotal_bytes - node_memory_SwapFree_bytes"),
        _host("host_disk_total_bytes", f"node_filesystem_size_bytes{{{FS}}}", "mountpoint"),
        _host("host_disk_used_bytes", used, "mountpoint"),
        # as df: used / (used + available to non-root), the root reserve left out
        _host(
            "host_disk_utilization_ratio",
            f"({used}) / ({used} + node_filesystem_avail_bytes{{{FS}}})",
            "mountpoint",
        ),
        _host("host_disk_read_bytes_total", f"node_disk_read_bytes_total{{{DISK}}}", "device"),
        _host("host_disk_written_bytes_total", f"node_disk_written_bytes_total{{{DISK}}}", "device"),
        _host("host_network_receive_bytes_total", 'node_network_receive_bytes_total{device!="lo"}', "device"),
        _host(
            "host_network_transmit_bytes_total", 'node_network_transmit_bytes_total{device!="lo"}', "device"
        ),
        _host("host_network_receive_errors_total", 'node_network_receive_errs_total{device!="lo"}', "device"),
        _host(
            "host_network_transmit_errors_total", 'node_network_transmit_errs_total{device!="lo"}', "device"
        ),
        # cAdvisor, one series per container (its name is the MCP server)
        _server(
            "container_cpu_usage_cores",
            f"sum by ({SERVER_BY}) (rate(container_cpu_usage_seconds_total{{{CONTAINER}}}[{w}]))",
        ),
        _server(
            "container_memory_working_set_bytes",
            f"max by ({SERVER_BY}) (container_memory_working_set_bytes{{{CONTAINER}}})",
        ),
        _server(
            "container_cpu_limit_cores",
            f"max by ({SERVER_BY}) (container_spec_cpu_quota{{{CONTAINER}}} / container_spec_cpu_period{{{CONTAINER}}}) > 0",
        ),
        _server(
            "container_memory_limit_bytes",
            f"max by ({SERVER_BY}) (container_spec_memory_limit_bytes{{{CONTAINER}}}) > 0",
        ),
    ]
