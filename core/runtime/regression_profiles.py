"""A short py-spy profile of an MCP server when a latency-regression alert about it fires, stored on
the timeline of the alert's incident (an event of kind ``profile``, the profile as speedscope JSON in
its data), so whoever opens the incident sees where the server spent its time while it was slow.

Which alerts: firing ones with a ``server`` label whose rule queries a latency metric (a name with
``duration_seconds`` or ``latency``, e.g. ``McpToolLatencyJump`` on
``mcp_server_operation_duration_seconds``). Which process: the group of a ``process`` source named
like the server (its pattern matched here against the running processes; the busiest match by CPU
time). A server without such a group is not profiled: Pulse cannot tell which process it is. When
py-spy cannot profile it (no ptrace permission, not a Python process, gone) the event says why.

Bounded: a few seconds at 100 Hz, at most one profile per server per ``cooldown_s``, on a thread of
its own so the alerting tick never waits for it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import psutil

from core.incidents.service import IncidentService
from core.kernel.records.alerts import Alert
from core.kernel.records.incidents import Change
from core.kernel.settings.sources.process import ProcessGroup, ProcessSource
from core.optimization.profiles import Profile, to_speedscope, top_functions
from core.optimization.profiling import ProfilingError, record_pid

log = logging.getLogger(__name__)
LATENCY = re.compile(r"duration_seconds|latency", re.IGNORECASE)
TRIGGERS = frozenset({"opened", "alert_added", "alert_refired", "reopened"})
Recorder = Callable[[int, float, int], Profile]


def latency_server(alert: Alert, rule_metrics: Mapping[str, str]) -> str | None:
    """The server a firing latency-regression alert is about, else None."""
    server = alert.labels.get("server")
    if alert.status != "firing" or not server:
        return None
    return server if LATENCY.search(rule_metrics.get(alert.name, "")) else None


def find_pid(group: ProcessGroup, processes: Iterable[Any]) -> int | None:
    """The busiest running process (CPU time) matching ``group`` as the process source matches it."""
    pattern, best = re.compile(group.pattern), None
    for p in processes:
        try:
            text = p.info["name"] if group.match == "name" else " ".join(p.info["cmdline"] or ())
            if text and pattern.search(text):
                cpu = sum(p.info["cpu_times"][:2]) if p.info.get("cpu_times") else 0.0
                if best is None or cpu > best[0]:
                    best = (cpu, p.info["pid"])
        except (psutil.Error, KeyError, TypeError):
            continue
    return None if best is None else int(best[1])


def event_of(server: str, pid: int, profile: Profile) -> tuple[str, dict[str, Any]]:
    """The timeline text and the event data: the hottest functions and the speedscope document."""
    top = top_functions(profile, 10)
    hottest = f"; hottest {top['function'][0]} ({top['self_pct'][0]:.0f}% self)" if top.height else ""
    text = f"profile of {server} (pid {pid}, {profile.duration_s:.1f} s){hottest}"
    data = {"server": server, "pid": pid, "top": top.to_dicts(), "speedscope": to_speedscope(profile)}
    return text, data


class RegressionProfiler:
    def __init__(
        self,
        incidents: IncidentService,
        sources: Iterable[object],
        rule_metrics: Mapping[str, str],
        *,
        duration_s: float = 5.0,
        rate: int = 100,
        cooldown_s: float = 900.0,
        record: Recorder = record_pid,
        processes: Callable[[], Iterable[Any]] = lambda: psutil.process_iter(
            ["pid", "name", "cmdline", "cpu_times"]
        ),
    ) -> None:
        self.incidents, self.rule_metrics = incidents, dict(rule_metrics)
        self.groups = {
            g.name: g for s in sources if isinstance(s, ProcessSource) and s.enabled for g in s.groups
        }
        self.duration_s, self.rate, self.cooldown_ms = duration_s, rate, int(cooldown_s * 1000)
        self._record, self._processes = record, processes
        self._last: dict[str, int] = {}
        self.threads: list[threading.Thread] = []

    def changed(self, change: Change, alerts: Mapping[str, Alert], now_ms: int) -> threading.Thread | None:
        """Start a profile for ``change`` when it is a latency regression of a known server."""
        alert = alerts.get(change.fingerprint or "")
        if change.kind not in TRIGGERS or alert is None:
            return None
        server = latency_server(alert, self.rule_metrics)
        if server is None or server not in self.groups:
            return None
        if now_ms - self._last.get(server, -(10**15)) < self.cooldown_ms:
            return None
        self._last[server] = now_ms
        t = threading.Thread(target=self._profile, args=(change.incident_id, server), daemon=True)
        t.name = f"pulse-profile-{server}"
        t.start()
        self.threads = [x for x in self.threads if x.is_alive()] + [t]
        return t

    def _profile(self, incident_id: int, server: str) -> None:
        pid = find_pid(self.groups[server], self._processes())
        try:
            if pid is None:
                raise ProfilingError(f"no running process matches the process group {server!r}")
            text, data = event_of(server, pid, self._record(pid, self.duration_s, self.rate))
        except ProfilingError as exc:
            text, data = f"could not profile {server}: {exc}", {"server": server, "pid": pid}
        try:
            self.incidents.record_event(incident_id, "profile", text, data=data)
        except Exception:  # the incident store is gone (shutdown): nothing to attach it to
            log.exception("could not store the profile of %s on incident %s", server, incident_id)
