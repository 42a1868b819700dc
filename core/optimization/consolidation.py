"""Bin-packing the current load onto as few hosts as possible: CP-SAT, first-fit decreasing fallback.

Items are servers with a CPU load (cores) and a memory load (bytes); bins are hosts with their
capacity times a target utilization. CP-SAT (OR-Tools) minimises the hosts kept, then the
servers moved, within a time limit; when it finds nothing in time (or is not installed) first-fit
decreasing packs instead. The result names the hosts to drain, the moves, the lower bound on
hosts and the gap between the hosts used and that bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from core.optimization.settings import ConsolidationSettings

SCALE_CPU, SCALE_MEM = 1000, 1 / 2**20  # millicores, MiB: CP-SAT wants integers


@dataclass(frozen=True)
class Item:
    name: str
    cpu: float  # cores
    memory: float  # bytes
    host: str  # where it runs now


@dataclass(frozen=True)
class Bin:
    name: str
    cpu: float  # capacity in cores (already times the target utilization)
    memory: float  # bytes


@dataclass(frozen=True)
class Packing:
    assignment: dict[str, str]  # item -> host
    hosts_used: tuple[str, ...]
    drain: tuple[str, ...]  # hosts left empty
    moves: tuple[tuple[str, str, str], ...]  # (item, from host, to host)
    lower_bound: int
    gap: float  # (hosts used - lower bound) / hosts used
    method: str  # "cp-sat optimal", "cp-sat feasible", "first-fit decreasing"
    seconds: float
    unplaced: tuple[str, ...] = ()  # items larger than any host

    @property
    def optimal(self) -> bool:
        return self.gap == 0.0


def lower_bound(items: Sequence[Item], bins: Sequence[Bin]) -> int:
    """Fewest hosts whose capacities cover the total load in each dimension (largest hosts first)."""
    need = 0
    for dim in ("cpu", "memory"):
        total = sum(getattr(i, dim) for i in items)
        caps = sorted((getattr(b, dim) for b in bins), reverse=True)
        k, acc = 0, 0.0
        while acc < total - 1e-9 and k < len(caps):
            acc, k = acc + caps[k], k + 1
        need = max(need, k)
    return need


def first_fit_decreasing(items: Sequence[Item], bins: Sequence[Bin]) -> tuple[dict[str, str], list[str]]:
    """FFD by the larger normalised size; hosts opened largest first, current hosts preferred."""
    cap_cpu = max((b.cpu for b in bins), default=1.0) or 1.0
    cap_mem = max((b.memory for b in bins), default=1.0) or 1.0
    order = sorted(items, key=lambda i: -max(i.cpu / cap_cpu, i.memory / cap_mem))
    load = {b.name: [0.0, 0.0] for b in bins}
    bins_by_size = sorted(bins, key=lambda b: (-(b.cpu / cap_cpu + b.memory / cap_mem), b.name))
    opened: list[Bin] = []
    out, unplaced = {}, []
    for it in order:
        for b in opened + [b for b in bins_by_size if b not in opened]:
            used = load[b.name]
            if used[0] + it.cpu <= b.cpu + 1e-9 and used[1] + it.memory <= b.memory + 1e-9:
                used[0], used[1] = used[0] + it.cpu, used[1] + it.memory
                out[it.name] = b.name
                if b not in opened:
                    opened.append(b)
                break
        else:
            unplaced.append(it.name)
    return out, unplaced


def _cp_sat(
    items: Sequence[Item], bins: Sequence[Bin], s: ConsolidationSettings, hint: dict[str, str]
) -> tuple[dict[str, str], str, int] | None:
    """(assignment, status name, best bound on hosts) or None when no solution was found in time."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    x = {(i, b): m.new_bool_var(f"x{i}_{b}") for i in range(len(items)) for b in range(len(bins))}
    y = [m.new_bool_var(f"y{b}") for b in range(len(bins))]
    for i, it in enumerate(items):
        m.add_exactly_one(x[i, b] for b in range(len(bins)))
        for b in range(len(bins)):
            m.add_implication(x[i, b], y[b])
            m.add_hint(x[i, b], hint.get(it.name) == bins[b].name)
    for b, bn in enumerate(bins):
        m.add(
            sum(math.ceil(it.cpu * SCALE_CPU) * x[i, b] for i, it in enumerate(items))
            <= int(bn.cpu * SCALE_CPU) * y[b]
        )
        m.add(
            sum(math.ceil(it.memory * SCALE_MEM) * x[i, b] for i, it in enumerate(items))
            <= int(bn.memory * SCALE_MEM) * y[b]
        )
    weight = len(items) + 1  # one host outweighs moving every server at the default move cost
    moves = [x[i, b] for i, it in enumerate(items) for b, bn in enumerate(bins) if bn.name != it.host]
    per_move = max(1, round(s.move_cost * weight)) if s.move_cost > 0 else 0
    m.minimize(weight * sum(y) + per_move * sum(moves))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = s.time_limit_s
    solver.parameters.num_workers = 2
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    out = {
        it.name: bins[b].name for i, it in enumerate(items) for b in range(len(bins)) if solver.value(x[i, b])
    }
    optimal = status == cp_model.OPTIMAL
    if optimal and per_move * len(items) < weight:  # moves cannot outweigh a host: host count optimal
        bound = len(set(out.values()))
    else:  # every move costs at most per_move * len(items) of the bound
        bound = math.ceil((solver.best_objective_bound - per_move * len(items)) / weight - 1e-9)
    return out, "cp-sat optimal" if optimal else "cp-sat feasible", bound


def pack(
    items: Sequence[Item], bins: Sequence[Bin], settings: ConsolidationSettings | None = None
) -> Packing:
    """Pack ``items`` onto as few of ``bins`` as possible; see the module docstring."""
    s = settings or ConsolidationSettings()
    started = time.perf_counter()
    ffd, unplaced = first_fit_decreasing(items, bins)
    fits = [it for it in items if it.name not in unplaced]
    assignment, method, bound = ffd, "first-fit decreasing", 0
    if fits:
        try:
            got = _cp_sat(fits, bins, s, ffd)
        except ImportError:  # OR-Tools missing: the fallback stands
            got = None
        if got is not None:
            assignment, method, bound = got
    used = tuple(sorted(set(assignment.values())))
    lb = max(lower_bound(fits, bins), bound)
    moves = tuple(
        sorted((it.name, it.host, assignment[it.name]) for it in fits if assignment[it.name] != it.host)
    )
    return Packing(
        assignment=assignment,
        hosts_used=used,
        drain=tuple(sorted(b.name for b in bins if b.name not in used)),
        moves=moves,
        lower_bound=lb,
        gap=(len(used) - lb) / len(used) if used else 0.0,
        method=method,
        seconds=time.perf_counter() - started,
        unplaced=tuple(sorted(unplaced)),
    )
