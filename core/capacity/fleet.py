"""What the capacity planner starts from: the fleet's history, capacity and teams, and its forecast.

:func:`read_fleet` reads, through a (team-scoped) Reader, hourly history of the CPU cores and
memory the hosts use (``host_cpu_utilization_ratio`` times each host's cores, the sum of
``host_memory_used_bytes``), the capacity now (hosts seen in the last day with their cores and
memory) and the mean usage of each team's containers. :func:`baseline` forecasts the used cores
and memory with the :class:`AutoForecaster` (once per range; the planner only re-projects it).

Host cores come from ``machine_cpu_cores`` (cAdvisor's name, which the demo and the Prometheus
source export); without it, the count of a host's ``host_cpu_core_utilization_ratio`` series.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import polars as pl

from core.capacity.forecast import AutoForecaster, Forecast
from core.capacity.settings import DAY, HOUR, ForecastSettings
from core.views import Reader

GIB = 2**30
STEP_MS = HOUR * 1000
UTIL, CORES, PER_CORE = "host_cpu_utilization_ratio", "machine_cpu_cores", "host_cpu_core_utilization_ratio"
MEM_USED, MEM_TOTAL = "host_memory_used_bytes", "host_memory_total_bytes"
TEAM_CPU, TEAM_MEM = "container_cpu_usage_cores", "container_memory_working_set_bytes"
TS = pl.Datetime("ms", "UTC")


@dataclass(frozen=True)
class FleetHistory:
    """Hourly usage and today's capacity of the hosts a reader sees."""

    end_ms: int
    usage: pl.DataFrame  # ts, cpu_cores, memory_gib (used, summed over hosts)
    hosts: pl.DataFrame  # host, cores, memory_gib (capacity, hosts seen in the last day)
    teams: pl.DataFrame  # team, cpu_cores, memory_gib (mean use of the team's containers)

    @property
    def cores(self) -> float:
        return float(self.hosts["cores"].sum()) if self.hosts.height else 0.0

    @property
    def memory_gib(self) -> float:
        return float(self.hosts["memory_gib"].sum()) if self.hosts.height else 0.0


@dataclass(frozen=True)
class Baseline:
    """The fleet history and the forecast of its used cores and memory."""

    fleet: FleetHistory
    cpu: Forecast  # used cores
    memory: Forecast  # used GiB

    @property
    def undefined(self) -> str | None:
        """Why nothing can be planned (no hosts, history too short), or None."""
        if self.fleet.hosts.is_empty():
            return "no host reported its CPU cores and memory in the last day"
        for name, fc in (("CPU", self.cpu), ("memory", self.memory)):
            if not fc.defined:
                return f"the {name} forecast is undefined: {fc.undefined}"
        return None


def _latest_by_host(reader: Reader, metric: str, end_ms: int) -> pl.DataFrame:
    df = reader.select(metric, end_ms - DAY * 1000, end_ms, step_ms=STEP_MS, over_time="last")
    if df.is_empty() or "host" not in df.columns:
        return pl.DataFrame(schema={"host": pl.Utf8, "value": pl.Float64})
    return df.sort("ts").group_by("host").agg(pl.col("value").last())


def _cores(reader: Reader, end_ms: int) -> pl.DataFrame:
    cores = _latest_by_host(reader, CORES, end_ms)
    if cores.height:
        return cores.rename({"value": "cores"})
    per_core = reader.series(PER_CORE)
    hosts = [lb.get("host") for lb in per_core["labels"].to_list()] if per_core.height else []
    counted = pl.DataFrame({"host": [h for h in hosts if h]}, schema={"host": pl.Utf8})
    return counted.group_by("host").agg(pl.len().cast(pl.Float64).alias("cores"))


def read_capacity(reader: Reader, end_ms: int) -> pl.DataFrame:
    """host, cores, memory_gib of every host seen (with both) in the day before ``end_ms``."""
    mem = _latest_by_host(reader, MEM_TOTAL, end_ms).select(
        "host", (pl.col("value") / GIB).alias("memory_gib")
    )
    return _cores(reader, end_ms).join(mem, on="host", how="inner").sort("host")


def _hourly(reader: Reader, metric: str, start: int, end: int, **kw: object) -> pl.DataFrame:
    return reader.select(metric, start, end, step_ms=STEP_MS, over_time="avg", **kw)


def read_fleet(reader: Reader, end_ms: int, history_days: int) -> FleetHistory:
    """Hourly used cores and memory over ``history_days`` before ``end_ms`` (whole hours), capacity
    now and each team's mean use."""
    end = end_ms // STEP_MS * STEP_MS  # whole buckets only: the current one is still filling
    start = end - history_days * DAY * 1000
    hosts = read_capacity(reader, end)
    util = _hourly(reader, UTIL, start, end)
    if util.is_empty() or "host" not in util.columns:
        cpu = pl.DataFrame(schema={"ts": TS, "cpu_cores": pl.Float64})
    else:
        cpu = (
            util.join(hosts.select("host", "cores"), on="host", how="inner")
            .group_by("ts")
            .agg((pl.col("value") * pl.col("cores")).sum().alias("cpu_cores"))
        )
    mem = _hourly(reader, MEM_USED, start, end, across="sum")
    mem = mem.select("ts", (pl.col("value") / GIB).alias("memory_gib")) if mem.height else mem
    usage = cpu.join(mem, on="ts", how="inner") if mem.height else cpu.with_columns(memory_gib=pl.lit(None))
    return FleetHistory(end, usage.sort("ts"), hosts, read_teams(reader, start, end))


def read_teams(reader: Reader, start: int, end: int) -> pl.DataFrame:
    """team, cpu_cores, memory_gib: the mean over the hours of the sum over a team's containers."""
    out = pl.DataFrame(schema={"team": pl.Utf8})
    for metric, name, scale in ((TEAM_CPU, "cpu_cores", 1.0), (TEAM_MEM, "memory_gib", 1 / GIB)):
        df = _hourly(reader, metric, start, end, across="sum", by=("team",))
        if df.is_empty() or "team" not in df.columns:
            df = pl.DataFrame(schema={"team": pl.Utf8, name: pl.Float64})
        else:
            df = df.group_by("team").agg((pl.col("value").mean() * scale).alias(name))
        out = out.join(df, on="team", how="full", coalesce=True)
    return out.fill_null(0.0).sort("team")


_forecasters: dict[int, AutoForecaster] = {}
_lock = threading.Lock()


def forecaster(horizon_days: int) -> AutoForecaster:
    """One forecaster per horizon and process: its caches make the next hour's forecast cheap."""
    with _lock:
        if horizon_days not in _forecasters:
            settings = ForecastSettings(step_s=HOUR, horizon_s=horizon_days * DAY)
            _forecasters[horizon_days] = AutoForecaster(settings)
        return _forecasters[horizon_days]


def forecast_fleet(fleet: FleetHistory, horizon_days: int) -> Baseline:
    """The forecast of the fleet's used cores and memory ``horizon_days`` ahead."""
    fc = forecaster(horizon_days)
    usage = fleet.usage
    # the forecaster caches its model choice per key: one key per set of hosts (a team scope)
    scope = hashlib.blake2b(",".join(fleet.hosts["host"].to_list()).encode(), digest_size=6).hexdigest()

    def one(column: str) -> Forecast:
        frame = usage.select("ts", pl.col(column).alias("value")).drop_nulls()
        return (
            fc.forecast_frame(frame.with_columns(resource=pl.lit(f"{column}@{scope}")))[0]
            if frame.height
            else (Forecast.undefined_(column, "no data"))
        )

    return Baseline(fleet, one("cpu_cores"), one("memory_gib"))


def baseline(reader: Reader, end_ms: int, history_days: int, horizon_days: int) -> Baseline:
    """Read the fleet and forecast it: what the page computes once per range (and caches)."""
    return forecast_fleet(read_fleet(reader, end_ms, history_days), horizon_days)
