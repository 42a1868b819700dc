"""Health: status of hosts and MCP servers now, and their resource series over the range.

A status is ``ok``, ``warning`` or ``critical`` with every reason that made it so, worst first
(a host at 95 % CPU reads ``critical: CPU 95% > 90%``). Thresholds are one small settings object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from core.kernel.times import HOUR, MINUTE, TimeRange, pick_step
from core.kernel.units import Unit, fmt_percent, fmt_seconds
from core.views import (
    ALL,
    TS,
    Filters,
    Reader,
    conform,
    counter_increase,
    empty,
    ensure_columns,
    hosts_in_scope,
    latest,
    selector,
)

Level = Literal["ok", "warning", "critical"]
SEVERITY: dict[str, int] = {"ok": 0, "warning": 1, "critical": 2}
SERVER_KEYS = ("server", "host")
SERVER_INFO = ("team", "kind", "user")


@dataclass(frozen=True)
class Thresholds:
    cpu_warning: float = 0.80
    cpu_critical: float = 0.90
    memory_warning: float = 0.85
    memory_critical: float = 0.95
    disk_warning: float = 0.80
    disk_critical: float = 0.90
    ping_warning_s: float = 0.25
    ping_critical_s: float = 1.0
    tools_list_warning_s: float = 1.0
    tools_list_critical_s: float = 3.0
    container_memory_warning: float = 0.90  # working set / limit: close to an OOM kill
    stale_after_ms: int = 5 * MINUTE


@dataclass(frozen=True)
class Panel:
    title: str
    metric: str
    unit: Unit
    across: str | None = None


DEFAULTS = Thresholds()

HOST_PANELS: dict[str, Panel] = {
    "cpu": Panel("CPU utilisation", "host_cpu_utilization_ratio", "ratio"),
    "memory": Panel("Memory utilisation", "host_memory_utilization_ratio", "ratio"),
    "disk": Panel("Disk utilisation (fullest mount)", "host_disk_utilization_ratio", "ratio", "max"),
    "load1": Panel("Load average (1 min)", "host_load1", "count"),
}


def grade(value: float | None, warning: float, critical: float) -> Level:
    if value is None:
        return "ok"
    if value > critical:
        return "critical"
    return "warning" if value > warning else "ok"


def _worst(checks: list[tuple[Level, str]]) -> tuple[Level, str]:
    bad = sorted((c for c in checks if c[0] != "ok"), key=lambda c: -SEVERITY[c[0]])
    if not bad:
        return "ok", ""
    return bad[0][0], "; ".join(reason for _, reason in bad)


def _ratio_check(name: str, value: float | None, warn: float, crit: float) -> tuple[Level, str]:
    level = grade(value, warn, crit)
    limit = crit if level == "critical" else warn
    return level, f"{name} {fmt_percent(value, 0)} > {fmt_percent(limit, 0)}"


def _last_by(
    store: Reader,
    metric: str,
    at_ms: int,
    th: Thresholds,
    hosts: tuple[str, ...] | None,
    agg: str = "max",
    **fixed: str,
) -> pl.DataFrame:
    sel = selector(metric, Filters(hosts=hosts or ()), ("host",), **fixed)
    df = latest(store, sel, at_ms, th.stale_after_ms)
    if df.is_empty():
        return pl.DataFrame(schema={"host": pl.Utf8, metric: pl.Float64})
    expr = pl.col("value").max() if agg == "max" else pl.col("value").min()
    return df.group_by("host").agg(expr.alias(metric))


HOST_STATUS_SCHEMA: dict[str, Any] = {
    "host": pl.Utf8,
    "status": pl.Utf8,
    "reason": pl.Utf8,
    "up": pl.Boolean,
    "cpu": pl.Float64,
    "memory": pl.Float64,
    "disk": pl.Float64,
    "disk_mount": pl.Utf8,
    "load1": pl.Float64,
    "last_seen": TS,
}


def host_status(store: Reader, at_ms: int, filters: Filters = ALL, th: Thresholds = DEFAULTS) -> pl.DataFrame:
    """One row per host as of ``at_ms``: status, reason and the values the rules looked at."""
    hosts = hosts_in_scope(store, filters)
    if hosts == ():
        return empty(HOST_STATUS_SCHEMA)
    known = store.series(selector("host_up", Filters(hosts=hosts or ()), ("host",)))
    names = (
        sorted({lb["host"] for lb in known["labels"].to_list() if "host" in lb})
        if not known.is_empty()
        else []
    )
    if not names:
        return empty(HOST_STATUS_SCHEMA)
    seen = latest(
        store, selector("host_up", Filters(hosts=tuple(names)), ("host",)), at_ms, th.stale_after_ms
    )
    frame = pl.DataFrame({"host": names})
    up = seen.group_by("host").agg(pl.col("value").min().alias("up"), pl.col("ts").max().alias("last_seen"))
    frame = frame.join(up, on="host", how="left")
    for key in ("cpu", "memory", "load1"):
        part = _last_by(store, HOST_PANELS[key].metric, at_ms, th, tuple(names))
        frame = frame.join(part.rename({HOST_PANELS[key].metric: key}), on="host", how="left")
    disk = latest(
        store,
        selector("host_disk_utilization_ratio", Filters(hosts=tuple(names)), ("host",)),
        at_ms,
        th.stale_after_ms,
    )
    if disk.is_empty():
        frame = frame.with_columns(
            pl.lit(None, pl.Float64).alias("disk"), pl.lit(None, pl.Utf8).alias("disk_mount")
        )
    else:
        disk = ensure_columns(disk, ["mountpoint"]).sort("value", descending=True).group_by("host").first()
        frame = frame.join(
            disk.select("host", pl.col("value").alias("disk"), pl.col("mountpoint").alias("disk_mount")),
            on="host",
            how="left",
        )
    rows = []
    for r in frame.iter_rows(named=True):
        checks: list[tuple[Level, str]] = []
        if r["up"] is None:
            checks.append(("critical", f"no data for {th.stale_after_ms // MINUTE} min"))
        elif r["up"] < 1:
            checks.append(("critical", "host down"))
        checks.append(_ratio_check("CPU", r["cpu"], th.cpu_warning, th.cpu_critical))
        checks.append(_ratio_check("memory", r["memory"], th.memory_warning, th.memory_critical))
        checks.append(
            _ratio_check(
                f"disk {r['disk_mount'] or ''}".strip(), r["disk"], th.disk_warning, th.disk_critical
            )
        )
        status, reason = _worst(checks)
        rows.append(
            {**r, "up": None if r["up"] is None else r["up"] >= 1, "status": status, "reason": reason}
        )
    return _by_severity(pl.DataFrame(rows, schema=HOST_STATUS_SCHEMA, orient="row"), "host")


SERVER_STATUS_SCHEMA: dict[str, Any] = {
    "server": pl.Utf8,
    "host": pl.Utf8,
    "team": pl.Utf8,
    "kind": pl.Utf8,
    "user": pl.Utf8,
    "status": pl.Utf8,
    "reason": pl.Utf8,
    "up": pl.Boolean,
    "ping_s": pl.Float64,
    "tools_list_s": pl.Float64,
    "restarts_1h": pl.Float64,
    "memory_of_limit": pl.Float64,
    "cpu_of_limit": pl.Float64,
}


def _server_last(
    store: Reader, metric: str, at_ms: int, filters: Filters, th: Thresholds, **fixed: str
) -> pl.DataFrame:
    df = latest(store, selector(metric, filters, **fixed), at_ms, th.stale_after_ms)
    df = ensure_columns(df, [*SERVER_KEYS, *SERVER_INFO])
    return df.group_by(SERVER_KEYS).agg(
        pl.col("value").max().alias(metric), *[pl.col(c).drop_nulls().last() for c in SERVER_INFO]
    )


def server_status(
    store: Reader, at_ms: int, filters: Filters = ALL, th: Thresholds = DEFAULTS
) -> pl.DataFrame:
    """One row per MCP server (server, host) as of ``at_ms``: up, probe latencies, restarts, limits."""
    up = _server_last(store, "mcp_server_up", at_ms, filters, th)
    if up.is_empty():
        return empty(SERVER_STATUS_SCHEMA)
    frame = up.rename({"mcp_server_up": "up"})
    # servers on MCP protocol 2026-07-28 have no ping: their liveness probe is server/discover
    probes = {"ping_s": ("ping", "server/discover"), "tools_list_s": ("tools/list",)}
    for col, methods in probes.items():
        parts = []
        for i, method in enumerate(methods):
            part = _server_last(
                store, "mcp_client_operation_duration_seconds", at_ms, filters, th, mcp_method_name=method
            )
            parts.append(
                part.select(*SERVER_KEYS, pl.col("mcp_client_operation_duration_seconds").alias(f"{col}{i}"))
            )
            frame = frame.join(parts[-1], on=SERVER_KEYS, how="left")
        names = [f"{col}{i}" for i in range(len(methods))]
        frame = frame.with_columns(pl.coalesce(names).alias(col)).drop(names)
    for metric, limit, col in (
        ("container_memory_working_set_bytes", "container_memory_limit_bytes", "memory_of_limit"),
        ("container_cpu_usage_cores", "container_cpu_limit_cores", "cpu_of_limit"),
    ):
        used = _server_last(store, metric, at_ms, filters, th).select(*SERVER_KEYS, metric)
        cap = _server_last(store, limit, at_ms, filters, th).select(*SERVER_KEYS, limit)
        ratio = used.join(cap, on=SERVER_KEYS).select(
            *SERVER_KEYS, (pl.col(metric) / pl.when(pl.col(limit) > 0).then(pl.col(limit))).alias(col)
        )
        frame = frame.join(ratio, on=SERVER_KEYS, how="left")
    hour = TimeRange("custom", at_ms - HOUR, at_ms, MINUTE)
    restarts = counter_increase(store, selector("container_restarts_total", filters), hour, SERVER_KEYS)
    restarts = restarts.group_by(SERVER_KEYS).agg(pl.col("increase").sum().alias("restarts_1h"))
    frame = frame.join(restarts, on=SERVER_KEYS, how="left")
    rows = []
    for r in frame.iter_rows(named=True):
        checks: list[tuple[Level, str]] = []
        if r["up"] < 1:
            checks.append(("critical", "server down"))
        for col, label, warn, crit in (
            ("ping_s", "ping", th.ping_warning_s, th.ping_critical_s),
            ("tools_list_s", "tools/list", th.tools_list_warning_s, th.tools_list_critical_s),
        ):
            level = grade(r[col], warn, crit)
            if level != "ok":
                checks.append(
                    (
                        level,
                        f"{label} latency {fmt_seconds(r[col])} > {fmt_seconds(crit if level == 'critical' else warn)}",
                    )
                )
        if (r["restarts_1h"] or 0) >= 1:
            checks.append(("warning", f"restarted {r['restarts_1h']:.0f}× in the last hour"))
        if grade(r["memory_of_limit"], th.container_memory_warning, 10.0) != "ok":
            checks.append(("warning", f"memory at {fmt_percent(r['memory_of_limit'], 0)} of limit"))
        status, reason = _worst(checks)
        rows.append({**r, "up": r["up"] >= 1, "status": status, "reason": reason})
    return _by_severity(pl.DataFrame(rows, schema=SERVER_STATUS_SCHEMA, orient="row"), "server")


def _by_severity(df: pl.DataFrame, name: str) -> pl.DataFrame:
    rank = pl.col("status").replace_strict(SEVERITY, default=0)
    return df.sort(rank, name, descending=[True, False])


def status_counts(df: pl.DataFrame) -> dict[str, int]:
    counts = {level: 0 for level in SEVERITY}
    for level, n in df.group_by("status").len().iter_rows():
        counts[level] = n
    return counts


def host_series(store: Reader, tr: TimeRange, filters: Filters, panel: str) -> pl.DataFrame:
    """One line per host of a HOST_PANELS entry: columns ts, host, value."""
    p = HOST_PANELS[panel]
    hosts = hosts_in_scope(store, filters)
    schema: dict[str, Any] = {"ts": TS, "host": pl.Utf8, "value": pl.Float64}
    if hosts == ():
        return empty(schema)
    sel = selector(p.metric, Filters(hosts=hosts or ()), ("host",))
    df = store.select(sel, tr.start_ms, tr.end_ms, step_ms=tr.step_ms, across=p.across or "max", by=("host",))
    return conform(df, schema)


def host_network(store: Reader, tr: TimeRange, filters: Filters) -> pl.DataFrame:
    """Network throughput per host and direction in bytes/s: columns ts, host, direction, value."""
    hosts = hosts_in_scope(store, filters)
    frames = []
    for direction in ("receive", "transmit"):
        if hosts == ():
            break
        sel = selector(f"host_network_{direction}_bytes_total", Filters(hosts=hosts or ()), ("host",))
        df = counter_increase(store, sel, tr, ("host",))
        frames.append(
            df.select("ts", "host", pl.lit(direction).alias("direction"), pl.col("rate").alias("value"))
        )
    if not frames:
        return empty({"ts": TS, "host": pl.Utf8, "direction": pl.Utf8, "value": pl.Float64})
    return pl.concat(frames).sort("host", "direction", "ts")


def utilization_heatmap(
    store: Reader, tr: TimeRange, filters: Filters, panel: str = "cpu", columns: int = 60
) -> pl.DataFrame:
    """Host x time cells (about ``columns`` per host) of a utilisation panel: ts, host, value."""
    coarse = tr.with_step(max(tr.step_ms, pick_step(tr.span_ms, columns)))
    return host_series(store, coarse, filters, panel)


def servers_up_series(store: Reader, tr: TimeRange, filters: Filters) -> pl.DataFrame:
    """How many MCP servers were up and down per bucket (down at any moment counts): ts, state, servers."""
    df = store.select(
        selector("mcp_server_up", filters), tr.start_ms, tr.end_ms, step_ms=tr.step_ms, over_time="min"
    )
    if df.is_empty():
        return empty({"ts": TS, "state": pl.Utf8, "servers": pl.Float64})
    per_ts = df.group_by("ts").agg(
        (pl.col("value") >= 1).sum().cast(pl.Float64).alias("up"),
        (pl.col("value") < 1).sum().cast(pl.Float64).alias("down"),
    )
    return per_ts.unpivot(index="ts", on=["up", "down"], variable_name="state", value_name="servers").sort(
        "state", "ts", descending=[True, False]
    )


def server_latency(
    store: Reader, tr: TimeRange, filters: Filters, method: str = "ping", top: int = 8
) -> pl.DataFrame:
    """Probe latency over time of the ``top`` slowest servers (by mean): ts, server, value (s)."""
    sel = selector("mcp_client_operation_duration_seconds", filters, mcp_method_name=method)
    df = store.select(sel, tr.start_ms, tr.end_ms, step_ms=tr.step_ms, across="max", by=("server",))
    if df.is_empty():
        return empty({"ts": TS, "server": pl.Utf8, "value": pl.Float64})
    worst = (
        df.group_by("server")
        .agg(pl.col("value").mean().alias("m"))
        .sort("m", "server", descending=[True, False])
        .head(top)
    )
    return df.filter(pl.col("server").is_in(worst["server"].implode())).select("ts", "server", "value")
