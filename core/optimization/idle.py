"""Idle servers and sessions holding resources, underused hosts, and the consolidation plan.

* A server is idle when, over the last ``idle_hours``, it served at most ``max_calls`` tool
  calls and its CPU never went above ``max_cpu_cores``, while it still holds its requests.
* A debug session is idle when every one of its servers is idle.
* A host is underused when its p95 CPU and memory utilization stay below the target.
* The consolidation plan packs every server's current load (CPU quantile, memory peak) onto
  the hosts (``machine_cpu_cores`` and ``host_memory_total_bytes`` times the target).
"""

from __future__ import annotations

import polars as pl

from core.optimization.consolidation import Bin, Item, Packing, pack
from core.optimization.model import GIB
from core.optimization.settings import ConsolidationSettings, IdleSettings, PriceSettings, UsageSettings
from core.optimization.strategies import percentile
from core.optimization.usage import KEYS, read_usage
from core.views import Filters, Reader, selector

CALLS = "mcp_server_tool_calls_total"
HOST_CPU, HOST_MEM = "host_cpu_utilization_ratio", "host_memory_utilization_ratio"
CORES, MEM_TOTAL = "machine_cpu_cores", "host_memory_total_bytes"
HOUR = 3_600_000


def _by_server(df: pl.DataFrame, name: str) -> pl.DataFrame:
    if df.is_empty() or "server" not in df.columns:
        return pl.DataFrame(schema={"server": pl.Utf8, name: pl.Float64})
    return df.group_by("server").agg(pl.col("value").sum().alias(name))


def idle_servers(
    reader: Reader,
    end_ms: int,
    settings: IdleSettings | None = None,
    prices: PriceSettings | None = None,
    filters: Filters | None = None,
) -> pl.DataFrame:
    """Servers idle over the look-back: keys, calls, cpu_peak, held cores and GiB, monthly cost."""
    s, prices, f = settings or IdleSettings(), prices or PriceSettings(), filters or Filters()
    window = int(s.idle_hours * HOUR)
    usage = read_usage(reader, end_ms, UsageSettings(window_days=s.idle_hours / 24, step_s=3600), f)
    calls = reader.select(selector(CALLS, f), end_ms - window, end_ms, step_ms=window, over_time="increase")
    out = usage.join(_by_server(calls, "calls"), on="server", how="left").with_columns(
        pl.col("calls").fill_null(0.0)
    )
    idle = out.filter((pl.col("calls") <= s.max_calls) & (pl.col("cpu_peak") <= s.max_cpu_cores))
    return idle.select(
        *KEYS,
        "calls",
        "cpu_peak",
        pl.col("cpu_request").alias("held_cores"),
        (pl.col("memory_request") / GIB).alias("held_gib"),
        pl.lit(s.idle_hours).alias("idle_hours"),
        (
            (
                pl.col("cpu_request").fill_null(0) * prices.cpu_core_hour
                + pl.col("memory_request").fill_null(0) / GIB * prices.memory_gib_hour
            )
            * 730.0
        ).alias("monthly_cost"),
    ).sort("monthly_cost", descending=True)


def idle_sessions(idle: pl.DataFrame, all_servers: pl.DataFrame) -> pl.DataFrame:
    """Sessions all of whose servers are in ``idle`` (``all_servers``: every server with its session)."""
    sizes = all_servers.group_by("session_id").agg(pl.len().alias("servers"))
    got = idle.group_by("session_id", "team").agg(
        pl.len().alias("idle_servers"),
        pl.col("server").sort().str.join(",").alias("server_names"),
        pl.col("held_cores").sum(),
        pl.col("held_gib").sum(),
        pl.col("monthly_cost").sum(),
    )
    both = got.join(sizes, on="session_id", how="left")
    return both.filter(pl.col("idle_servers") == pl.col("servers")).sort("monthly_cost", descending=True)


def underused_hosts(
    reader: Reader, end_ms: int, window_days: float = 7, settings: IdleSettings | None = None
) -> pl.DataFrame:
    """Hosts whose p95 CPU and memory utilization over the window stay below the target."""
    s = settings or IdleSettings()
    start = end_ms - int(window_days * 86_400_000)
    parts = []
    for name, metric in (("cpu_p95", HOST_CPU), ("memory_p95", HOST_MEM)):
        df = reader.select(metric, start, end_ms, step_ms=end_ms - start, over_time="quantile", quantile=0.95)
        if df.is_empty() or "host" not in df.columns:
            return pl.DataFrame(schema={"host": pl.Utf8, "cpu_p95": pl.Float64, "memory_p95": pl.Float64})
        parts.append(df.group_by("host").agg(pl.col("value").max().alias(name)))
    both = parts[0].join(parts[1], on="host", how="full", coalesce=True)
    target = s.host_target_utilization
    return both.filter((pl.col("cpu_p95") < target) & (pl.col("memory_p95") < target)).sort("host")


def host_bins(reader: Reader, end_ms: int, target: float) -> list[Bin]:
    """Each host's CPU cores and memory times ``target``, from their latest values."""
    got: dict[str, dict[str, float]] = {}
    for name, metric in (("cpu", CORES), ("memory", MEM_TOTAL)):
        df = reader.select(metric, end_ms - HOUR, end_ms, step_ms=HOUR, over_time="last")
        for host, value in df.select("host", "value").iter_rows() if "host" in df.columns else []:
            got.setdefault(host, {})[name] = float(value)
    return [Bin(h, v["cpu"] * target, v["memory"] * target) for h, v in sorted(got.items()) if len(v) == 2]


def consolidation_plan(
    reader: Reader,
    end_ms: int,
    usage: pl.DataFrame,
    settings: ConsolidationSettings | None = None,
) -> Packing | str:
    """The packing of ``usage`` (rows of ``read_usage``) onto the hosts, or why there is none."""
    s = settings or ConsolidationSettings()
    bins = host_bins(reader, end_ms, s.target_utilization)
    if not bins:
        return f"no host capacities ({CORES}, {MEM_TOTAL}) in the store"
    rows = [
        u for u in usage.iter_rows(named=True) if u["cpu_p95"] is not None and u["memory_peak"] is not None
    ]
    if not rows:
        return "no container usage in the window"
    items = [
        Item(
            u["server"], percentile(u, "cpu", s.load_quantile * 100), float(u["memory_peak"]), u["host"] or ""
        )
        for u in rows
    ]
    return pack(items, bins, s)
