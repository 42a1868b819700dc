"""The scripted incidents of the demo fleet and where they fall in time.

Each incident repeats every 7 days on a cycle aligned to the Unix epoch (cycles start on
Thursdays 00:00 UTC); its offset in the cycle is derived from the seed and the whole window
(with its quiet lead-in) lies inside the cycle, so any 7-day span contains every incident once.
Targets are slots (host, server on that host, tool of that server) taken modulo the fleet size.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.demo.signals import DAY, HOUR, MINUTE, MONDAY_SHIFT, WEEK, stable_int

WEEKDAYS, ALL_DAYS = (0, 1, 2, 3, 4), (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Incident:
    """One scripted failure: what happens, to which slot, for how long, and when it may start."""

    name: str
    kind: str
    host_slot: int
    server_slot: int | None = None  # None: the incident hits the host itself
    tool_slot: int | None = None  # None: every tool of the server
    duration_s: int = HOUR
    lead_s: int = 0  # quiet time kept before the window inside the cycle
    weekdays: tuple[int, ...] = ALL_DAYS  # allowed start days, 0 = Monday
    hours: tuple[int, int] = (0, 24)  # allowed start hours (UTC), end exclusive

    @property
    def target(self) -> str:
        """Which object the incident hits: host, server or tool."""
        if self.server_slot is None:
            return "host"
        return "server" if self.tool_slot is None else "tool"

    def offset_s(self, seed: int) -> int:
        """Start of the window in seconds after the cycle start, on the minute grid."""
        starts = [
            day * DAY + hour * HOUR
            for day in range(7)
            for hour in range(*self.hours)
            if (day + MONDAY_SHIFT // DAY) % 7 in self.weekdays
            and day * DAY + hour * HOUR >= self.lead_s
            and day * DAY + hour * HOUR + HOUR + self.duration_s <= WEEK
        ]
        if not starts:
            raise ValueError(f"incident {self.name!r} cannot fit in a 7-day cycle")
        pick = stable_int(seed, "incident", self.name)
        return starts[pick % len(starts)] + MINUTE * (pick // len(starts) % 60)


INCIDENTS: list[Incident] = [
    Incident(
        "Memory leak until OOM restart", "memory_leak", host_slot=0, server_slot=1, duration_s=10 * HOUR
    ),
    Incident(
        "Latency regression after deploy",
        "latency_regression",
        host_slot=1,
        server_slot=0,
        duration_s=DAY,
        lead_s=6 * HOUR,
        weekdays=(0, 1, 2, 3),
        hours=(9, 17),
    ),
    Incident("Root disk filling up", "disk_filling", host_slot=2, duration_s=8 * HOUR),
    Incident(
        "Tool error spike",
        "error_spike",
        host_slot=3,
        server_slot=2,
        tool_slot=0,
        duration_s=40 * MINUTE,
        weekdays=WEEKDAYS,
        hours=(8, 18),
    ),
    Incident("Host down", "host_down", host_slot=4, duration_s=20 * MINUTE, hours=(1, 23)),
]


def incident_windows(
    start_ms: int, end_ms: int, seed: int = 42, incidents: list[Incident] | None = None
) -> list[tuple[Incident, int, int]]:
    """Every occurrence overlapping [start_ms, end_ms) as (incident, start_ms, end_ms), by start."""
    found = []
    for inc in INCIDENTS if incidents is None else incidents:
        offset_ms, dur_ms, week_ms = inc.offset_s(seed) * 1000, inc.duration_s * 1000, WEEK * 1000
        cycle = (start_ms - offset_ms - dur_ms) // week_ms
        while (begin := cycle * week_ms + offset_ms) < end_ms:
            if begin + dur_ms > start_ms:
                found.append((inc, begin, begin + dur_ms))
            cycle += 1
    return sorted(found, key=lambda w: (w[1], w[0].name))
