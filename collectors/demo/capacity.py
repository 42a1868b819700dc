"""Capacity ground truth of the demo: a slow disk fill with a known exhaustion time, team growth.

**Slow disk fill** (``SLOW_FILL``): every 7-day cycle (aligned like the incidents, Thursdays
00:00 UTC) the root disk of host slot 5 (``host-06`` in the default fleet) fills over
``SLOW_FILL_DAYS`` days: its headroom ``1 - ratio`` shrinks linearly to zero, so the disk is
exhausted (ratio 1.0) exactly at :func:`slow_fill_windows`'s window end; then it is cleaned up
(back to its usual ratio). Unlike the 8-hour "Root disk filling up" incident this one is slow
enough to forecast: after 3 days of the fill, 3 days remain.

**Team growth** (:func:`team_growth`): each team grows by its own 0-2 % a week over the demo's
26-week trend cycle (reset in the holiday weeks like :func:`signals.trend`), and one team (picked
from the seed) is onboarded onto the platform at a seeded week of the cycle: its users and
sessions step up by ``ONBOARDING_STEP`` (+50 %) from that week on.
"""

from __future__ import annotations

import numpy as np

from collectors.demo.signals import (
    DAY,
    F64,
    HOUR,
    I64,
    TREND_ANCHOR,
    TREND_CYCLE_WEEKS,
    TREND_GROWTH_WEEKS,
    WEEK,
    active,
    stable_float,
    stable_int,
)

SLOW_FILL_HOST_SLOT, SLOW_FILL_DAYS = 5, 6
ONBOARDING_STEP = 0.5
TEAM_GROWTH_MAX = 0.02  # extra share of users gained per week, per team


def slow_fill_offset_s(seed: int) -> int:
    """Start of the fill in seconds after the cycle start: a seeded hour of the cycle's first day."""
    return stable_int(seed, "slow-fill") % 24 * HOUR


def slow_fill_host(n_hosts: int) -> int:
    return SLOW_FILL_HOST_SLOT % n_hosts


def slow_fill_windows(start_ms: int, end_ms: int, seed: int = 42) -> list[tuple[int, int]]:
    """Fills overlapping [start_ms, end_ms) as (fill start ms, exhaustion ms), by start."""
    offset, dur, week = slow_fill_offset_s(seed) * 1000, SLOW_FILL_DAYS * DAY * 1000, WEEK * 1000
    begin = (start_ms - offset - dur) // week * week + offset
    out = []
    while begin < end_ms:
        if begin + dur > start_ms:
            out.append((begin, begin + dur))
        begin += week
    return out


def slow_fill(ratio: F64, t: I64, seed: int) -> F64:
    """One host's disk ratio (T,) with the fill applied: headroom shrinks linearly to 0 at the end."""
    in_fill, progress = active(t, slow_fill_offset_s(seed), SLOW_FILL_DAYS * DAY)
    return np.asarray(np.where(in_fill, ratio + (1.0 - ratio) * progress, ratio))


def team_growth(seed: int, teams: list[str], t: I64) -> F64:
    """(K, T) multiplier of each team's size: its own weekly growth, and one onboarding step."""
    weeks = ((t - TREND_ANCHOR) % (TREND_CYCLE_WEEKS * WEEK)) / WEEK
    growing = np.where(weeks < TREND_GROWTH_WEEKS, weeks, 0.0)
    rates = np.array([TEAM_GROWTH_MAX * stable_float(seed, "team-growth", k) for k in teams])
    factor = 1.0 + rates[:, None] * growing[None, :]
    onboarded = stable_int(seed, "onboarding-team") % len(teams)
    factor[onboarded] *= 1.0 + ONBOARDING_STEP * (growing >= onboarding_week(seed))
    return np.asarray(factor)


def onboarding_week(seed: int) -> int:
    """The week of the 26-week cycle from which the onboarded team counts its new users."""
    return 4 + stable_int(seed, "onboarding-week") % (TREND_GROWTH_WEEKS - 8)


def onboarded_team(seed: int, teams: list[str]) -> str:
    return teams[stable_int(seed, "onboarding-team") % len(teams)]


def onboarding_ms(seed: int, start_ms: int) -> int:
    """The first onboarding moment at or after start_ms (the cycle repeats every 26 weeks)."""
    cycle = TREND_CYCLE_WEEKS * WEEK * 1000
    first = (TREND_ANCHOR + onboarding_week(seed) * WEEK) * 1000
    return first + -(-(start_ms - first) // cycle) * cycle


def apply_slow_fill(hosts: dict[str, F64], seed: int, t: I64) -> None:
    """Put the slow fill into the host family's disk series (used bytes and ratio), in place."""
    h = slow_fill_host(hosts["host_disk_used_bytes"].shape[0])
    total = hosts["host_disk_total_bytes"][h]
    ratio = slow_fill(hosts["host_disk_used_bytes"][h] / total, t, seed)
    used = np.round(np.clip(ratio, 0.0, 1.0) * total)
    hosts["host_disk_used_bytes"][h] = used
    hosts["host_disk_utilization_ratio"][h] = np.round(used / total, 4)
