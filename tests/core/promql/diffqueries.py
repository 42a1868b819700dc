"""The queries of the differential tests: a quick set (pytest), the full set and the demo set (bench)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.core.promql.diffdata import END_MS, START_MS

# -- queries ---------------------------------------------------------------------------------
C, G, F, B = "demo_requests_total", "demo_temperature_celsius", "demo_flaky", "demo_latency_seconds_bucket"
M = "demo_memory_bytes"
QUICK = [
    G,
    f'{G}{{host="h1"}}',
    f'{C}{{host=~"h[12]",code!="500"}}',
    f'{G}{{host!~"h1|h3"}}',
    f"{G} offset 10m",
    F,
    f"rate({C}[5m])",
    f"rate({C}[1m])",
    f"increase({C}[10m])",
    f"irate({C}[2m])",
    f"delta({G}[10m])",
    f"idelta({G}[5m])",
    f"deriv({M}[10m])",
    f"predict_linear({M}[30m], 3600)",
    f"resets({C}[30m])",
    f"changes({F}[10m])",
    f"avg_over_time({G}[5m])",
    f"min_over_time({F}[10m])",
    f"max_over_time({F}[10m])",
    f"count_over_time({F}[5m])",
    f"quantile_over_time(0.9, {G}[30m])",
    f"stddev_over_time({G}[15m])",
    f"last_over_time({F}[10m])",
    f"holt_winters({G}[10m], 0.5, 0.3)",
    f"absent_over_time({F}{{host='h1'}}[1m])",
    f"sum by (dc) (rate({C}[5m]))",
    f"avg without (host) ({G})",
    f"max by (dc) ({G})",
    f"count by (code) ({C})",
    f"topk(2, {G})",
    f"quantile by (dc) (0.5, {G})",
    f"stddev({M})",
    f"{C} / ignoring(code) group_left sum without (code) ({C})",
    f'rate({C}{{code="500"}}[5m]) / on(host) rate({C}{{code="200"}}[5m])',
    f"{G} > 20",
    f"{G} > bool 20",
    f"{G} > on(host) {F}",
    f"{F} and on(host) {G} > 20",
    f"{F} or {G}",
    f"{G} unless on(host) {F}",
    f"histogram_quantile(0.9, sum by (le) (rate({B}[5m])))",
    f"histogram_quantile(0.5, rate({B}[10m]))",
    f"max_over_time(rate({C}[1m])[10m:1m])",
    f"avg_over_time({G}[30m:45s] offset 5m)",
    f"round({G}, 0.5)",
    f"clamp({G}, 18, 22)",
    f"abs(-{G})",
    f"scalar(sum({G})) * 2",
    f"timestamp({G})",
    f"hour(timestamp({G}))",
    f'label_replace({G}, "h", "$1", "host", "h(.*)")',
    f"sort_desc(sum by (host) ({G}))",
    f"{G} @ end()",
    'absent(nonexistent{job="x"})',
    "time() - 5",
]

FULL_EXTRA = [
    '{__name__=~"demo_temp.*"}',
    f"{G} offset 1h",
    f"{F} offset 3m",
    f"rate({C}[30s])",
    f"rate({C}[15m] offset 5m)",
    f"increase({C}[1h])",
    f"irate({C}[15s])",
    f"delta({M}[3m])",
    f"deriv({G}[2m])",
    f"predict_linear({G}[5m], 600)",
    f"changes({G}[30m])",
    f"resets({B}[1h])",
    f"sum_over_time({C}[2m])",
    f"stdvar_over_time({M}[30m])",
    f"present_over_time({F}[2m])",
    f"quantile_over_time(0.1, {F}[20m])",
    f"avg_over_time({M}[1h])",
    f"min by (host) (rate({C}[5m]))",
    f"group by (dc) ({C})",
    f'count_values("v", round({G}))',
    f"bottomk(3, rate({C}[5m]))",
    f"topk by (dc) (1, {M})",
    f"sum without (le) (rate({B}[5m]))",
    f"stdvar by (dc) ({G})",
    f"avg by (code) (increase({C}[30m]))",
    f"{G} - on(host, dc) {F}",
    f"{G} * on(host) group_left(code) {C}",
    f"{C} / on(host, dc) group_right() ... ",
    f"{G} == bool on(host) {G}",
    f"{G} != 20",
    f"{G} < 19",
    f"{G} >= bool 21",
    f"2 * {G} + 1",
    f"{G} % 3",
    f"{G} ^ 2",
    f"1 / {F}",
    f"{G} atan2 {G}",
    f"{F} unless {G}",
    f"{G} and {F}",
    f"histogram_quantile(0.99, sum by (le, dc) (rate({B}[5m])))",
    f"histogram_quantile(0.25, sum by (le) (increase({B}[30m])))",
    f"min_over_time({G}[1h:5m])",
    f"rate({C}[5m:30s])",
    f"max_over_time(deriv({G}[5m])[30m:])",
    f"ceil({G})",
    f"floor({G})",
    f"sqrt({M})",
    f"ln({M})",
    f"log2({M})",
    f"log10({M})",
    f"exp({G} / 10)",
    f"sgn(delta({G}[5m]))",
    f"clamp_min({G}, 20)",
    f"clamp_max({G}, 20)",
    "vector(3)",
    "day_of_week()",
    f"day_of_month(timestamp({G}))",
    f"minute(timestamp({F}))",
    "month()",
    "year()",
    "days_in_month()",
    f'label_join({G}, "hd", "-", "host", "dc")',
    f"sort({G})",
    f"rate({C}[5m] @ start())",
    f"{G} @ {END_MS // 1000 - 3600}",
    f"absent({G})",
    "absent_over_time(nonexistent[5m])",
    f"-{G}",
    f"sum(rate({C}[5m])) by (host) > 30",
    f"quantile(0.95, rate({C}[5m]))",
    f"sum by (host) ({G}) * on(host) group_right {C}",
    f"{G} offset -5m",
    f"rate({C}[5m] @ end())",
    f"sum_over_time({G}[10m:1m] @ {END_MS // 1000 - 1800})",
    f"max_over_time({G}[20m:2m] offset 7m)",
    f'rate({{__name__=~"{G}|{M}"}}[5m])',
    f"{G} + on(dc) {G}",
    f"{G} + on(host) group_left {C}",
    '{__name__=~".+_total", code="500"}',
    f'label_replace({C}, "__name__", "renamed_$1", "code", "(.*)")',
    f"count by (dc) (count by (host, dc) ({F}))",
    f"sum(increase({C}[1h])) / sum(increase({C}[1h] offset 1h))",
    f"deriv(sum by (dc) ({M})[15m:1m])",
    f"changes(max_over_time({G}[2m])[30m:30s])",
    f"{F} > bool on(host) group_left sum by (host) ({F}) / 4",
    f"irate({C}[5m] offset 1m)",
    f"delta({F}[10m])",
    f"last_over_time({G}[1m] @ start())",
    f"holt_winters({C}[15m], 0.1, 0.9)",
    f"sum by (dc) (holt_winters({M}[20m] offset 5m, 0.2, 0.4))",
    f"holt_winters(rate({C}[1m])[10m:1m], 0.5, 0.5)",
]
FULL_EXTRA = [q for q in FULL_EXTRA if "..." not in q]
INSTANT_AT = [START_MS + 90 * 60_000 + 7_300, END_MS - 23_000, START_MS + 3 * 3_600_000]
RANGES = [(START_MS + 3_600_000, END_MS - 600_000 + 3_000, 60_000), (END_MS - 3_600_000, END_MS, 37_000)]


@dataclass
class Case:
    query: str
    kind: str  # "instant" or "range"
    times: tuple[int, ...]


def cases(full: bool) -> list[Case]:
    out = []
    queries = QUICK + (FULL_EXTRA if full else [])
    for q in queries:
        for t in INSTANT_AT if full else INSTANT_AT[:2]:
            out.append(Case(q, "instant", (t,)))
        for r in RANGES if full else RANGES[:1]:
            out.append(Case(q, "range", r))
    return out


# -- the demo platform's own metrics (collectors/demo.py) ----------------------------------------
DEMO_QUERIES = [
    "sum by (team) (rate(mcp_server_tool_calls_total[5m]))",
    "sum by (team) (rate(mcp_server_tool_errors_total[5m])) / sum by (team) (rate(mcp_server_tool_calls_total[5m]))",
    "topk(5, container_memory_working_set_bytes / container_memory_limit_bytes)",
    "container_cpu_usage_cores / on(server, host, session_id) group_left container_cpu_request_cores",
    "avg_over_time(host_cpu_utilization_ratio[10m])",
    "max by (host) (host_load1) > 1",
    'quantile by (team) (0.9, mcp_server_operation_duration_seconds{quantile="0.99"})',
    "increase(container_restarts_total[30m])",
    "predict_linear(host_disk_used_bytes[30m], 86400) > host_disk_total_bytes",
    "count by (team) (mcp_server_up == 1)",
    "changes(mcp_server_deploys_total[1h])",
    'absent(host_up{host="nope"})',
    "sum(platform_active_users) by (team)",
    "deriv(host_memory_used_bytes[15m])",
    "rate(host_network_receive_bytes_total[1m]) * 8",
    "irate(mcp_server_tool_calls_total[1m])",
    "max_over_time(mcp_client_operation_duration_seconds[10m])",
    "stddev by (host) (container_cpu_usage_cores)",
    "bottomk(3, sum by (server) (rate(mcp_server_tool_calls_total[10m])))",
    "host_up == 0 or host_memory_utilization_ratio > 0.8",
    "count_values('mountpoint_count', count by (host) (host_disk_used_bytes))",
    "sum by (team, user) (container_cpu_usage_cores) unless on(team) platform_active_users == 0",
]


def demo_cases() -> list[Case]:
    out = []
    for q in DEMO_QUERIES:
        out += [Case(q, "instant", (END_MS - 7_000,)), Case(q, "range", (END_MS - 3_600_000, END_MS, 60_000))]
    return out
