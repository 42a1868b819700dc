"""Groups of local processes (one group per MCP server kind, say): count, CPU, memory, threads, fds.

Walking the whole process table on every tick is what makes Glances expensive, so this collector
does not: it walks the table (``process_iter``) only every ``rescan_interval_s`` to *find* the
processes of each group, keeps those ``psutil.Process`` objects, and on every tick reads only them.
A process that exits is noticed at the next tick; a new one at the next walk.

Decisions, each with its reason:

* **Matching.** A group's pattern is searched (``re.search``) in the process name or in its
  command line joined with spaces. A process joins the *first* group that matches, so sums across
  groups never count it twice. Zombies, processes without a command line (kernel threads) for
  ``cmdline`` groups, and Pulse's own process are never matched.
* **Identity.** A cached process is the pair (PID, creation time): ``is_running()`` notices a PID
  that was reused by an unrelated process, which then counts as gone rather than being measured.
  A zombie counts as gone too: the server it was has exited.
* **Vanishing processes never fail a collection.** ``NoSuchProcess`` / ``ZombieProcess`` at any
  point (during the walk or the read) drop the process; ``AccessDenied`` (typically
  ``/proc/PID/fd`` of another user's process) drops only that field and is named in
  ``health.extra["partial_errors"]`` under the group's name, so the source reads "degraded".
* **No partial sums.** A gauge (memory, threads, open fds, CPU usage) of a group is emitted only
  when it could be read for every process of the group: a sum over part of the group would look
  like a real drop. A group matching nothing is not an error: processes 0, up 0, sums 0.
* **CPU.** ``process_group_cpu_seconds_total`` is a counter kept here: it starts at the CPU the
  group's processes had used when first seen and then adds each process's increase (user +
  system) between ticks, plus the whole CPU time of each process that joins later. It never goes
  down when a process exits (the CPU of its last partial interval is lost, as it is for any
  sampler). ``process_group_cpu_usage_cores`` is the increase of the processes seen on both ticks
  divided by the time between the ticks; the first tick has no previous one, so it emits the
  counter only (CPU since start divided by anything would be a made-up rate), and a process that
  just joined adds to the rate from its second tick on.
* **Restarts.** ``process_group_restarts_total`` (a counter kept here, starting at 0) counts a
  restart each time a group gains a process at a walk while a process it lost within
  ``restart_window`` seconds (default 5 walks) is still unmatched. Processes found by the first
  walk are the baseline, not gains. A group that shrinks and grows back later than the window
  (sessions ending and starting) is not counted as restarting.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from collectors.base import SourceCollector
from core.kernel.errors import CollectorError
from core.kernel.samples import Labels, Sample, labels_of
from core.kernel.settings.sources.process import ProcessSource

# Gauge name of each field read per process, in the order they are read.
FIELD_METRICS = {
    "cpu": "process_group_cpu_usage_cores",
    "memory": "process_group_resident_memory_bytes",
    "threads": "process_group_threads",
    "fds": "process_group_open_fds",
}


def _cpu_seconds(times: Any) -> float:
    """User + system CPU seconds of the process itself (its waited-for children are not in it)."""
    return float(times.user + times.system)


@dataclass
class _Tracked:
    """A matched process kept between walks."""

    proc: Any  # psutil.Process
    group: str
    new: bool  # found by this tick's walk (a gain), not by the first walk
    seen: bool = False  # read at least once: only then does its exit count as a loss
    cpu_s: float | None = None  # user + system CPU seconds at the last read


@dataclass
class _Group:
    """One tick's sums for one group; ``failed`` lists, per field, the processes it was not read for."""

    processes: int = 0
    cpu_delta: float = 0.0
    memory: int = 0
    threads: int = 0
    fds: int = 0
    failed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


class ProcessCollector(SourceCollector[ProcessSource]):
    """One ``process`` source: a few groups of local processes, read from a PID cache."""

    def __init__(
        self,
        cfg: ProcessSource,
        *,
        psutil_module: Any = psutil,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        host_name: str | None = None,
    ) -> None:
        """``clock`` stamps the samples; ``monotonic`` drives the walk cadence and the CPU rate.

        Every sample is labelled ``group``, ``source`` (the source's name, as the other sources do),
        ``host`` (this machine, as the host collector does; a ``host`` in the source's ``labels``
        wins, for a container whose hostname means nothing) and the source's ``labels``.
        """
        super().__init__(cfg)
        self._ps = psutil_module
        self._clock = clock
        self._mono = monotonic
        self._groups = [(g.name, re.compile(g.pattern), g.match) for g in cfg.groups]
        self._has_fds = hasattr(psutil_module.Process, "num_fds")  # POSIX only
        self._need_cmdline = any(g.match == "cmdline" for g in cfg.groups)
        base = {"host": host_name or socket.gethostname(), **cfg.labels, "source": cfg.name}
        self._labels: dict[str, Labels] = {g.name: labels_of(**base, group=g.name) for g in cfg.groups}
        # A tick landing a little before the walk is due (scheduler jitter) still walks.
        self._slack = min(1.0, 0.1 * cfg.interval_s)
        self._tracked: dict[int, _Tracked] = {}
        self._last_walk: float | None = None
        self._prev_tick: float | None = None
        self._walks = 0
        self._cpu_total = dict.fromkeys(self._labels, 0.0)
        self._restarts = dict.fromkeys(self._labels, 0)
        self._losses: dict[str, deque[float]] = {g: deque() for g in self._labels}

    # -- finding processes (the expensive part, every rescan_interval_s) ----------------------

    def _match(self, info: dict[str, Any]) -> str | None:
        name = info.get("name") or ""
        cmdline = " ".join(info.get("cmdline") or ())
        for group, pattern, where in self._groups:
            text = name if where == "name" else cmdline
            if text and pattern.search(text):
                return group
        return None

    def _walk(self, now: float) -> None:
        """Rebuild the PID cache from the process table; processes no longer listed are lost."""
        first = self._last_walk is None
        own, zombie = os.getpid(), self._ps.STATUS_ZOMBIE
        attrs = ["name", "status", "cmdline"] if self._need_cmdline else ["name", "status"]
        found: dict[int, _Tracked] = {}
        for p in self._ps.process_iter(attrs, ad_value=None):  # skips processes that vanish
            info = p.info
            if p.pid == own or info.get("status") == zombie:
                continue
            group = self._match(info)
            if group is None:
                continue
            old = self._tracked.get(p.pid)
            if old is not None and old.group == group and old.proc == p:  # (pid, create time)
                found[p.pid] = old
            else:
                found[p.pid] = _Tracked(p, group, new=not first)
        for pid, old in self._tracked.items():
            if old.seen and found.get(pid) is not old:
                self._losses[old.group].append(now)
        self._tracked = found
        self._last_walk = now
        self._walks += 1

    # -- reading the cached processes (every tick) --------------------------------------------

    def _read(self, t: _Tracked) -> dict[str, float | int | Exception] | None:
        """The fields of one process, an exception in place of a field that failed; None if gone."""
        p, ps = t.proc, self._ps
        try:
            if not p.is_running():  # exited, or its PID now belongs to another process
                return None
            with p.oneshot():
                if p.status() == ps.STATUS_ZOMBIE:
                    return None
                out: dict[str, float | int | Exception] = {}
                readers: dict[str, Callable[[], float | int]] = {
                    "cpu": lambda: _cpu_seconds(p.cpu_times()),
                    "memory": lambda: int(p.memory_info().rss),
                    "threads": lambda: int(p.num_threads()),
                }
                if self._has_fds:
                    readers["fds"] = lambda: int(p.num_fds())
                for key, read in readers.items():
                    try:
                        out[key] = read()
                    except ps.NoSuchProcess:  # ZombieProcess included
                        raise
                    except Exception as exc:  # AccessDenied above all: this field only
                        out[key] = exc
                return out
        except ps.NoSuchProcess:
            return None

    def _read_all(self, now: float) -> dict[str, _Group]:
        sums = {g: _Group() for g in self._labels}
        for pid, t in list(self._tracked.items()):
            fields = self._read(t)
            if fields is None:
                del self._tracked[pid]
                if t.seen:  # one listed and gone before its first read was never counted
                    self._losses[t.group].append(now)
                continue
            t.seen = True
            s = sums[t.group]
            s.processes += 1
            for key, value in fields.items():
                if isinstance(value, Exception):
                    s.failed[key].append(f"{pid} ({type(value).__name__})")
                elif key == "cpu":
                    cpu = float(value)
                    if t.cpu_s is None:  # first read: its CPU since start goes to the counter only
                        self._cpu_total[t.group] += cpu
                    else:
                        delta = max(0.0, cpu - t.cpu_s)
                        self._cpu_total[t.group] += delta
                        s.cpu_delta += delta
                    t.cpu_s = cpu
                elif key == "memory":
                    s.memory += int(value)
                elif key == "threads":
                    s.threads += int(value)
                else:
                    s.fds += int(value)
        return sums

    def _count_restarts(self, now: float) -> None:
        window = self.cfg.restart_window
        gained: dict[str, int] = defaultdict(int)
        for t in self._tracked.values():
            if t.new:
                gained[t.group] += 1
                t.new = False
        for group, losses in self._losses.items():
            while losses and now - losses[0] > window:
                losses.popleft()
            paired = min(gained[group], len(losses))
            for _ in range(paired):
                losses.popleft()
            self._restarts[group] += paired

    # -- the Collector contract ---------------------------------------------------------------

    def collect(self) -> list[Sample]:
        now, ts = self._mono(), int(self._clock() * 1000)
        errors: dict[str, str] = {}
        if self._last_walk is None or now - self._last_walk >= self.cfg.rescan_interval_s - self._slack:
            try:
                self._walk(now)
            except Exception as exc:
                if self._last_walk is None:  # nothing cached: nothing to report
                    msg = (
                        f"process source {self.name!r}: cannot list the processes of this host "
                        f"({type(exc).__name__}: {exc}); check that /proc is mounted and readable"
                    )
                    raise CollectorError(msg) from exc
                errors["rescan"] = f"{type(exc).__name__}: {exc} (kept the processes found before)"
        sums = self._read_all(now)
        self._count_restarts(now)
        dt = None if self._prev_tick is None else now - self._prev_tick
        self._prev_tick = now

        samples: list[Sample] = []
        for group, s in sums.items():
            lab = self._labels[group]
            samples.append(Sample("process_group_up", lab, ts, 1 if s.processes else 0))
            samples.append(Sample("process_group_processes", lab, ts, s.processes))
            samples.append(
                Sample("process_group_cpu_seconds_total", lab, ts, round(self._cpu_total[group], 6))
            )
            samples.append(Sample("process_group_restarts_total", lab, ts, float(self._restarts[group])))
            gauges: dict[str, float] = {"memory": s.memory, "threads": s.threads}
            if self._has_fds:
                gauges["fds"] = s.fds
            if dt is not None and dt > 0:
                gauges["cpu"] = round(s.cpu_delta / dt, 6)
            for key, metric in FIELD_METRICS.items():
                if key in gauges and key not in s.failed:
                    samples.append(Sample(metric, lab, ts, gauges[key]))
            if s.failed:
                errors[group] = "; ".join(
                    f"{FIELD_METRICS[k].removeprefix('process_group_')} not read for {len(who)} of "
                    f"{s.processes} process(es): pid {', '.join(who[:5])}"
                    + (" (run Pulse as the processes' user, or as root)" if "AccessDenied" in who[0] else "")
                    for k, who in sorted(s.failed.items())
                )
        self.health.extra["partial_errors"] = errors
        self.health.extra["tracked_processes"] = len(self._tracked)
        self.health.extra["process_walks"] = self._walks
        return samples
