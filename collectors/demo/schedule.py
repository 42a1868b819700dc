"""When things happen to each server and host: recycles, deploys, restarts, reboots, incidents.

Containers are recycled daily (new container: counters and restart count start again), deployed
weekly (the latency-regression target instead gets a bad deploy and its fix a day later) and
restarted by incidents (OOM at the end of the memory leak, recovery after host down), which adds
one to ``container_restarts_total`` and resets the other counters. Hosts reboot weekly in a
Sunday-night window and after being down. All times are on the counters' minute grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collectors.demo.incidents import INCIDENTS, Incident
from collectors.demo.signals import (
    DAY,
    GRID,
    HOUR,
    I64,
    MONDAY_SHIFT,
    TREND_ANCHOR,
    WEEK,
    last_at,
    stable_int,
)
from collectors.demo.topology import Topology

NONE = -1  # no event in this column


@dataclass(frozen=True)
class Placement:
    """An incident resolved against a topology: its offset in the cycle and target indices."""

    incident: Incident
    offset_s: int
    host: int
    server: int | None
    tool: int | None

    @property
    def end_s(self) -> int:
        return (self.offset_s + self.incident.duration_s) % WEEK


def place(topology: Topology) -> list[Placement]:
    return [Placement(inc, inc.offset_s(topology.seed), *topology.target_of(inc)) for inc in INCIDENTS]


def _grid(seed: int, *parts: object, span: int, start: int = 0) -> int:
    return start + stable_int(seed, *parts) % (span // GRID) * GRID


def _table(rows: list[list[int]]) -> I64:
    width = max(1, max(len(r) for r in rows))
    return np.array([r + [NONE] * (width - len(r)) for r in rows], dtype=np.int64)


@dataclass(frozen=True)
class Schedule:
    placements: list[Placement]
    rotation: I64  # (S, 1) daily recycle offset within the day
    deploys: I64  # (S, D) deploy offsets within the week, NONE-padded
    restarts: I64  # (S, R) incident restart offsets within the week, NONE-padded
    boots: I64  # (H, B) host reboot offsets within the week, NONE-padded

    def placement(self, kind: str) -> Placement:
        return next(p for p in self.placements if p.incident.kind == kind)

    def new_container(self, t: I64) -> I64:
        """(S, T) start of the current container (daily recycle or deploy)."""
        latest = last_at(t, self.rotation, DAY)
        return np.maximum(latest, _last_of(t, self.deploys))

    def last_reset(self, t: I64) -> I64:
        """(S, T) last time the server process started (counters restart from zero)."""
        return np.maximum(self.new_container(t), _last_of(t, self.restarts))

    def restart_count(self, t: I64) -> I64:
        """(S, T) incident restarts since the current container was created."""
        new = self.new_container(t)
        count = np.zeros(new.shape, dtype=np.int64)
        for col in self.restarts.T:
            valid = (col != NONE)[:, None]
            count += valid & (last_at(t, col[:, None], WEEK) > new)
        return count

    def deploy_count(self, t: I64) -> I64:
        """(S, T) deploys since the anchor: never resets."""
        count = np.zeros((self.deploys.shape[0], t.shape[-1]), dtype=np.int64)
        for col in self.deploys.T:
            done = (t - TREND_ANCHOR - col[:, None]) // WEEK + 1
            count += np.where((col != NONE)[:, None], np.maximum(done, 0), 0)
        return count

    def last_boot(self, t: I64) -> I64:
        """(H, T) last host boot."""
        return _last_of(t, self.boots)


def _last_of(t: I64, offsets: I64) -> I64:
    """(N, T) latest weekly occurrence <= t among each row's offsets (very old if none)."""
    best = np.full((offsets.shape[0], t.shape[-1]), np.iinfo(np.int64).min // 2, dtype=np.int64)
    for col in offsets.T:
        latest = last_at(t, col[:, None], WEEK)
        best = np.where((col != NONE)[:, None], np.maximum(best, latest), best)
    return best


def build_schedule(topology: Topology) -> Schedule:
    seed, servers = topology.seed, topology.servers
    placements = place(topology)
    by_kind = {p.incident.kind: p for p in placements}
    leak, bad, down = by_kind["memory_leak"], by_kind["latency_regression"], by_kind["host_down"]
    rotation, deploys, restarts = [], [], []
    for i, s in enumerate(servers):
        rotation.append(
            leak.offset_s % DAY if i == leak.server else _grid(seed, "rot", s.name, span=6 * HOUR)
        )
        weekday = stable_int(seed, "deploy-day", s.name) % 4  # Monday..Thursday
        routine = _grid(
            seed, "deploy", s.name, span=6 * HOUR, start=(weekday - MONDAY_SHIFT // DAY) % 7 * DAY
        )
        routine += 10 * HOUR
        deploys.append(
            [bad.offset_s, (bad.offset_s + bad.incident.duration_s) % WEEK] if i == bad.server else [routine]
        )
        events = [leak.end_s] if i == leak.server else []
        if topology.host_index(s.host) == down.host:
            events.append(down.end_s)
        restarts.append(events)
    boots = []
    for h in topology.hosts:
        sunday = (6 - MONDAY_SHIFT // DAY) % 7 * DAY + 2 * HOUR
        boots.append([_grid(seed, "boot", h.name, span=3 * HOUR, start=sunday)])
    boots[down.host].append(down.end_s)
    return Schedule(
        placements=placements,
        rotation=np.array(rotation, dtype=np.int64).reshape(-1, 1),
        deploys=_table(deploys),
        restarts=_table(restarts),
        boots=_table(boots),
    )
