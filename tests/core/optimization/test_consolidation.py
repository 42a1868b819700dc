"""Bin-packing on small instances whose optimum is known by construction or by enumeration."""

from __future__ import annotations

import itertools

import pytest

from core.optimization.consolidation import Bin, Item, first_fit_decreasing, lower_bound, pack
from core.optimization.settings import ConsolidationSettings

GIB = 2**30


def brute_force_hosts(items: list[Item], bins: list[Bin]) -> int:
    """Fewest bins of any feasible assignment, by trying them all (tiny instances only)."""
    best = len(bins) + 1
    for combo in itertools.product(range(len(bins)), repeat=len(items)):
        cpu, mem = [0.0] * len(bins), [0.0] * len(bins)
        for it, b in zip(items, combo, strict=True):
            cpu[b] += it.cpu
            mem[b] += it.memory
        if all(cpu[b] <= bins[b].cpu + 1e-9 and mem[b] <= bins[b].memory + 1e-9 for b in range(len(bins))):
            best = min(best, len(set(combo)))
    return best


def test_perfect_fit_needs_exactly_the_lower_bound() -> None:
    # six items of 1 core fill three hosts of 2 cores exactly; spread over six hosts today
    bins = [Bin(f"h{k}", 2.0, 8 * GIB) for k in range(6)]
    items = [Item(f"s{k}", 1.0, 1 * GIB, f"h{k}") for k in range(6)]
    got = pack(items, bins)
    assert len(got.hosts_used) == 3 and got.lower_bound == 3 and got.gap == 0.0
    assert len(got.drain) == 3 and got.method == "cp-sat optimal"
    assert set(got.assignment) == {i.name for i in items}


def test_ffd_is_not_optimal_where_cp_sat_is() -> None:
    # FFD puts 5,4 | 3,3,3 | 2 in three bins of 10; {5,3,2},{4,3,3} needs two
    bins = [Bin(f"h{k}", 10.0, 100 * GIB) for k in range(4)]
    sizes = [5, 4, 3, 3, 3, 2]
    items = [Item(f"s{k}", float(v), GIB, "h0") for k, v in enumerate(sizes)]
    assert brute_force_hosts(items, bins) == 2
    assert len(set(first_fit_decreasing(items, bins)[0].values())) == 3
    got = pack(items, bins, ConsolidationSettings(move_cost=0))
    assert len(got.hosts_used) == 2 and got.gap == 0.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_brute_force_on_random_two_dimensional_instances(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    bins = [Bin(f"h{k}", rnd.choice([4.0, 8.0]), rnd.choice([8, 16]) * GIB) for k in range(4)]
    items = [Item(f"s{k}", rnd.uniform(0.5, 3.5), rnd.uniform(1, 7) * GIB, f"h{k % 4}") for k in range(6)]
    got = pack(items, bins)
    best = brute_force_hosts(items, bins)
    assert len(got.hosts_used) == best and got.lower_bound <= best
    for b in bins:  # capacities hold
        placed = [i for i in items if got.assignment[i.name] == b.name]
        assert sum(i.cpu for i in placed) <= b.cpu + 1e-6 and sum(i.memory for i in placed) <= b.memory + 1


def test_moves_are_minimised_among_optimal_packings() -> None:
    # two hosts suffice; the two items already on h0 stay there
    bins = [Bin("h0", 4.0, 16 * GIB), Bin("h1", 4.0, 16 * GIB), Bin("h2", 4.0, 16 * GIB)]
    items = [
        Item("a", 2.0, GIB, "h0"),
        Item("b", 2.0, GIB, "h0"),
        Item("c", 1.0, GIB, "h1"),
        Item("d", 1.0, GIB, "h2"),
    ]
    got = pack(items, bins)
    assert len(got.hosts_used) == 2 and got.assignment["a"] == got.assignment["b"] == "h0"
    assert len(got.moves) == 1 and got.gap == 0.0


def test_fallback_and_gap_when_the_solver_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.optimization.consolidation as mod

    def broken(*_: object) -> None:
        raise ImportError("no ortools")

    monkeypatch.setattr(mod, "_cp_sat", broken)
    bins = [Bin(f"h{k}", 10.0, 100 * GIB) for k in range(4)]
    items = [Item(f"s{k}", float(v), GIB, "h0") for k, v in enumerate([5, 4, 3, 3, 3, 2])]
    got = pack(items, bins)
    ffd, _ = first_fit_decreasing(items, bins)
    assert got.method == "first-fit decreasing" and got.assignment == ffd
    assert got.lower_bound == lower_bound(items, bins) == 2
    assert got.gap == pytest.approx((len(got.hosts_used) - 2) / len(got.hosts_used))


def test_items_larger_than_any_host_are_reported_not_packed() -> None:
    bins = [Bin("h0", 2.0, 4 * GIB)]
    items = [Item("big", 3.0, GIB, "h0"), Item("ok", 1.0, GIB, "h0")]
    got = pack(items, bins)
    assert got.unplaced == ("big",) and got.assignment == {"ok": "h0"}
