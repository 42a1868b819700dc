"""Values of the host and MCP server (container) series, vectorized over (object, time)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from collectors.demo.pressure import Demand, cfs_counters, oom_events
from collectors.demo.schedule import Schedule
from collectors.demo.signals import (
    DAY,
    F64,
    GRID,
    I64,
    TREND_HIGH,
    TREND_LOW,
    U64,
    active,
    counter,
    keys,
    normal,
    rounded,
    season,
    smooth,
    stable_float,
    trend,
    uniform,
)
from collectors.demo.topology import GIB, Topology

Mask = npt.NDArray[np.bool_]
# profile -> (peak CPU as a share of request, working set as a share of request), each a range
USAGE = {
    "normal": ((0.45, 0.85), (0.5, 0.8)),
    "over": ((0.05, 0.15), (0.08, 0.2)),
    "under": ((1.4, 1.8), (1.2, 1.4)),
    "idle": ((0.002, 0.01), (0.08, 0.2)),  # an idle "over" server: almost no CPU, memory held
}
LEAK_CEILING, DISK_CEILING, DISK_GROWTH = 0.97, 0.97, 0.2  # growth: ratio gained over a trend cycle


def col(values: list[float]) -> F64:
    return np.array(values, dtype=np.float64).reshape(-1, 1)


def between(seed: int, names: list[str], purpose: str, lo: float, hi: float) -> F64:
    """A column of per-object constants drawn from [lo, hi)."""
    return col([_within((lo, hi), seed, n, purpose) for n in names])


def _within(bounds: tuple[float, float], seed: int, *parts: object) -> float:
    lo, hi = bounds
    return lo + (hi - lo) * stable_float(seed, *parts)


def activity(base: F64, key: U64, t: I64) -> F64:
    """(N, T) load of each object: the fleet's season and trend, wandering +-12 %."""
    return np.maximum(base * (1.0 + 0.12 * smooth(key, t, 900)), 0.01)


def host_down(schedule: Schedule, n_hosts: int, t: I64) -> Mask:
    """(H, T) whether each host is down."""
    p = schedule.placement("host_down")
    down = np.zeros((n_hosts, t.shape[0]), dtype=bool)
    down[p.host] = active(t, p.offset_s, p.incident.duration_s)[0]
    return down


@dataclass(frozen=True)
class ServerParams:
    host: npt.NDArray[np.intp]
    cpu_req: F64
    cpu_lim: F64
    mem_req: F64
    mem_lim: F64
    cpu_peak: F64
    mem_base: F64
    ping: F64
    list_factor: F64
    k: dict[str, U64]

    @classmethod
    def of(cls, topo: Topology) -> ServerParams:
        seed, servers = topo.seed, topo.servers
        names = [s.name for s in servers]
        cpu_req, mem_req = (
            col([s.cpu_request for s in servers]),
            col([float(s.memory_request) for s in servers]),
        )
        usage = [USAGE["idle" if s.idle else s.profile] for s in servers]
        cpu_share = col([_within(u[0], seed, s.name, "cpu") for s, u in zip(servers, usage, strict=True)])
        mem_share = col([_within(u[1], seed, s.name, "mem") for s, u in zip(servers, usage, strict=True)])
        host_ping = {h.name: 0.0008 + 0.0017 * stable_float(seed, h.name, "ping") for h in topo.hosts}
        return cls(
            host=np.array([topo.host_index(s.host) for s in servers]),
            cpu_req=cpu_req,
            cpu_lim=col([s.cpu_limit for s in servers]),
            mem_req=mem_req,
            mem_lim=col([float(s.memory_limit) for s in servers]),
            cpu_peak=cpu_req * cpu_share,
            mem_base=mem_req * mem_share,
            ping=col([host_ping[s.host] for s in servers]) + between(seed, names, "ping", 0.0003, 0.002),
            list_factor=between(seed, names, "list", 2.0, 5.0),
            k={p: keys(seed, names, p) for p in ("act", "cpu", "mem", "ping", "list")},
        )


def demand(p: ServerParams, t: I64, act: F64) -> tuple[F64, F64]:
    """(S, T) CPU cores and memory bytes each server would use without limits (leak excluded).

    Usage reported is this capped at the limits; where demand exceeds them the server is
    throttled or OOM-killed (``collectors.demo.pressure``). Tests replay recommendations on it.
    """
    cpu = 0.002 + p.cpu_peak * act * (1.0 + 0.05 * normal(p.k["cpu"], t))
    mem = p.mem_base * (0.9 + 0.1 * act + 0.02 * smooth(p.k["mem"], t, 1800))
    return cpu, mem


def _demand_at(p: ServerParams) -> Demand:
    def at(cells: I64) -> tuple[F64, F64]:
        return demand(p, cells, activity(season(cells) * trend(cells), p.k["act"], cells))

    return at


def server_values(p: ServerParams, sched: Schedule, t: I64, base: F64, down: Mask) -> dict[str, F64]:
    """Server series by metric name (probe latencies as ``ping`` and ``tools/list``), each (S, T)."""
    act = activity(base, p.k["act"], t)
    leak = sched.placement("memory_leak")
    pressure = np.zeros_like(act)
    in_leak, progress = active(t, leak.offset_s, leak.incident.duration_s)
    pressure[leak.server] = np.where(in_leak, progress, 0.0)
    cpu, mem = demand(p, t, act)
    cpu = np.minimum(cpu, p.cpu_lim)
    mem = np.minimum(mem + (LEAK_CEILING * p.mem_lim - mem) * pressure, p.mem_lim)
    ping = (
        p.ping
        * (1 + 0.3 * act)
        * (1 + 0.08 * smooth(p.k["ping"], t, 600))
        * (1 + 3 * pressure * pressure * pressure)
    )
    ooms = oom_events(_demand_at(p), p.mem_lim, sched.new_container(t), t)
    listing = ping * p.list_factor * (1 + 0.1 * smooth(p.k["list"], t, 600)) + 0.002
    shape = act.shape
    return {
        "mcp_server_up": (~down[p.host]).astype(np.float64),
        "container_cpu_usage_cores": rounded(np.maximum(cpu, 0.001), 4),
        "container_cpu_request_cores": np.broadcast_to(p.cpu_req, shape),
        "container_cpu_limit_cores": np.broadcast_to(p.cpu_lim, shape),
        "container_memory_working_set_bytes": rounded(mem),
        "container_memory_request_bytes": np.broadcast_to(p.mem_req, shape),
        "container_memory_limit_bytes": np.broadcast_to(p.mem_lim, shape),
        "container_restarts_total": (sched.restart_count(t) + ooms).astype(np.float64),
        "container_oom_events_total": ooms.astype(np.float64),
        **cfs_counters(_demand_at(p), p.cpu_lim, sched.last_reset(t), t),
        "mcp_server_deploys_total": sched.deploy_count(t).astype(np.float64),
        "ping": rounded(np.maximum(ping, 0.0002), 4),
        "tools/list": rounded(listing, 4),
    }


@dataclass(frozen=True)
class HostParams:
    cores: F64
    mem_total: F64
    disk_total: F64
    disk_base: F64
    os_mem: F64
    other_cpu: F64
    other_mem: F64
    net: F64
    k: dict[str, U64]

    @classmethod
    def of(cls, topo: Topology) -> HostParams:
        seed, names = topo.seed, [h.name for h in topo.hosts]
        return cls(
            cores=col([float(h.cpu_cores) for h in topo.hosts]),
            mem_total=col([float(h.memory_bytes) for h in topo.hosts]),
            disk_total=col([float(h.disk_bytes) for h in topo.hosts]),
            disk_base=between(seed, names, "disk", 0.3, 0.55),
            os_mem=rounded(between(seed, names, "os", 2.0, 6.0) * GIB),
            other_cpu=between(seed, names, "other-cpu", 0.08, 0.4),
            other_mem=between(seed, names, "other-mem", 0.1, 0.45),
            net=between(seed, names, "net", 2e6, 1.5e7),
            k={p: keys(seed, names, p) for p in ("cpu", "load", "mem", "disk", "rx", "tx", "rxc", "txc")},
        )


def _per_host(values: F64, host_of: npt.NDArray[np.intp], n_hosts: int) -> F64:
    """Sum server rows into host rows in a fixed order (bit-identical for any number of columns)."""
    total = np.zeros((n_hosts, values.shape[1]))
    for i, h in enumerate(host_of):
        total[h] = total[h] + values[i]
    return total


def _disk_ratio(p: HostParams, sched: Schedule, t: I64) -> F64:
    grown = DISK_GROWTH * (trend(t) - TREND_LOW) / (TREND_HIGH - TREND_LOW)  # archived in the holidays
    logs = 0.01 * ((t % DAY) / DAY)  # logs grow during the day, rotated at midnight
    ratio = p.disk_base + grown + logs + 0.001 * smooth(p.k["disk"], t, 1800)
    fill = sched.placement("disk_filling")
    in_fill, progress = active(t, fill.offset_s, fill.incident.duration_s)
    ratio[fill.host] += (DISK_CEILING - ratio[fill.host]) * np.where(in_fill, progress, 0.0)
    return np.asarray(ratio)


def _network(p: HostParams, sched: Schedule, t: I64, key: str, share: float) -> F64:
    def counts(cells: I64) -> I64:
        rate = (
            share * p.net * (0.15 + season(cells) * trend(cells)) * (1 + 0.2 * smooth(p.k[key], cells, 900))
        )
        n = np.floor(np.maximum(rate, 0.0) * GRID + uniform(p.k[key + "c"], cells))
        return n.astype(np.int64)

    return counter(t, sched.last_boot(t), counts).astype(np.float64)


def host_values(
    p: HostParams,
    sched: Schedule,
    t: I64,
    base: F64,
    down: Mask,
    srv: dict[str, F64],
    host_of: npt.NDArray[np.intp],
) -> dict[str, F64]:
    """Host series by metric name, each (H, T); CPU and memory include the servers' usage."""
    n, shape = p.cores.shape[0], down.shape
    used_cores = 0.3 + p.other_cpu * p.cores * base * (1 + 0.1 * smooth(p.k["cpu"], t, 600))
    used_cores = used_cores + _per_host(srv["container_cpu_usage_cores"], host_of, n)
    util = rounded(np.clip(used_cores / p.cores, 0.0, 1.0), 4)
    load = np.maximum(util * p.cores * (0.9 + 0.1 * smooth(p.k["load"], t, 300)), 0.0)
    mem = p.os_mem + p.other_mem * p.mem_total * (0.7 + 0.3 * base) * (1 + 0.05 * smooth(p.k["mem"], t, 900))
    mem = rounded(
        np.minimum(mem + _per_host(srv["container_memory_working_set_bytes"], host_of, n), p.mem_total)
    )
    disk = rounded(np.clip(_disk_ratio(p, sched, t), 0.0, 1.0) * p.disk_total)
    return {
        "host_up": (~down).astype(np.float64),
        "host_cpu_utilization_ratio": util,
        "host_load1": rounded(load, 2),
        "host_memory_used_bytes": mem,
        "host_memory_total_bytes": np.broadcast_to(p.mem_total, shape),
        "host_memory_utilization_ratio": rounded(mem / p.mem_total, 4),
        "host_disk_used_bytes": disk,
        "host_disk_total_bytes": np.broadcast_to(p.disk_total, shape),
        "host_disk_utilization_ratio": rounded(disk / p.disk_total, 4),
        "host_network_receive_bytes_total": _network(p, sched, t, "rx", 1.0),
        "host_network_transmit_bytes_total": _network(p, sched, t, "tx", 0.6),
        "machine_cpu_cores": np.broadcast_to(p.cores, shape),
    }
