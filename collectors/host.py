"""Host metrics (CPU, load, memory, swap, disks, network, process count) read with psutil.

Every read goes through the injected ``psutil_module``, so tests can hand in a fake. Each metric
group fails on its own: a group that raises is skipped and named in
``health.extra["partial_errors"]``; only when every group fails does ``collect()`` raise.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psutil

from collectors.base import BaseCollector
from core.kernel.errors import CollectorError
from core.kernel.samples import Labels, Sample, labels_of

if TYPE_CHECKING:
    from core.kernel.settings import Settings

# File systems that hold no user data (psutil's all=False already drops most of them).
_PSEUDO_FS_NAMES = (
    "autofs binfmt_misc bpf cgroup cgroup2 configfs debugfs devfs devpts devtmpfs efivarfs fusectl "
    "fuse.lxcfs fuse.gvfsd-fuse hugetlbfs mqueue nsfs overlay proc pstore ramfs rpc_pipefs "
    "securityfs squashfs sysfs tmpfs tracefs"
)
PSEUDO_FS = frozenset(_PSEUDO_FS_NAMES.split())
# Block devices that are not disks, or are partitions of a disk already counted (as node-exporter).
IGNORED_DISK_DEVICES = re.compile(r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p|mmcblk\d+p)\d+$")
CpuTimes = Any  # psutil's scputimes named tuple


def _busy_total(t: CpuTimes) -> tuple[float, float]:
    """Busy and total CPU seconds, computed as psutil.cpu_percent does (guest is inside user)."""
    d = t._asdict()
    total = sum(d.values()) - d.get("guest", 0.0) - d.get("guest_nice", 0.0)
    return total - d.get("idle", 0.0) - d.get("iowait", 0.0), total


def _ratio(before: CpuTimes, after: CpuTimes) -> float | None:
    (b1, t1), (b2, t2) = _busy_total(before), _busy_total(after)
    if t2 - t1 <= 0:
        return None
    return round(min(1.0, max(0.0, (b2 - b1) / (t2 - t1))), 4)


class HostCollector(BaseCollector):
    """One psutil snapshot of this host per tick, labelled ``host``."""

    def __init__(
        self,
        interval: float = 15,
        *,
        psutil_module: Any = psutil,
        host_name: str | None = None,
        clock: Callable[[], float] = time.time,
        partition_refresh_ticks: int = 20,
    ) -> None:
        super().__init__("host", interval)
        self._ps = psutil_module
        self._host = host_name or socket.gethostname()
        self._clock = clock
        self._refresh_ticks = max(1, partition_refresh_ticks)
        self._ticks = 0
        self._mounts: list[str] | None = None
        self._cpu_prev: tuple[CpuTimes, list[CpuTimes]] | None = None
        self._labels = labels_of(host=self._host)
        self._label_cache: dict[tuple[str, str], Labels] = {}

    def _lab(self, key: str, value: str) -> Labels:
        labels = self._label_cache.get((key, value))
        if labels is None:
            labels = self._label_cache[(key, value)] = labels_of(host=self._host, **{key: value})
        return labels

    # -- metric groups: each returns (metric, labels, value) triples --------------------------

    def _cpu(self) -> list[tuple[str, Labels, float]]:
        # Per-instance baseline instead of psutil.cpu_percent(interval=None): that one keeps its
        # baseline per *thread*, so a scheduler thread pool would get 0.0 or mixed intervals.
        now = (self._ps.cpu_times(), self._ps.cpu_times(percpu=True))
        prev, out = self._cpu_prev, list[tuple[str, Labels, float]]()
        if prev is None:  # first tick only primes the baseline; a 0.0 here would be a lie
            self._cpu_prev = now
            return out
        total = _ratio(prev[0], now[0])
        if total is None:  # no CPU time elapsed yet: keep the older baseline
            return out
        self._cpu_prev = now
        out.append(("host_cpu_utilization_ratio", self._labels, total))
        if len(prev[1]) == len(now[1]):  # a CPU hot-plug re-primes the per-core baseline
            for i, (a, b) in enumerate(zip(prev[1], now[1], strict=True)):
                core = _ratio(a, b)
                if core is not None:
                    out.append(("host_cpu_core_utilization_ratio", self._lab("cpu", str(i)), core))
        return out

    def _load(self) -> list[tuple[str, Labels, float]]:
        l1, l5, l15 = self._ps.getloadavg()
        lab = self._labels
        return [("host_load1", lab, l1), ("host_load5", lab, l5), ("host_load15", lab, l15)]

    def _memory(self) -> list[tuple[str, Labels, float]]:
        vm, lab = self._ps.virtual_memory(), self._labels
        ratio = round((vm.total - vm.available) / vm.total, 4) if vm.total else 0.0
        return [
            ("host_memory_used_bytes", lab, int(vm.used)),
            ("host_memory_total_bytes", lab, int(vm.total)),
            ("host_memory_available_bytes", lab, int(vm.available)),
            ("host_memory_utilization_ratio", lab, ratio),
        ]

    def _swap(self) -> list[tuple[str, Labels, float]]:
        sw = self._ps.swap_memory()
        return [
            ("host_swap_used_bytes", self._labels, int(sw.used)),
            ("host_swap_total_bytes", self._labels, int(sw.total)),
        ]

    def _mountpoints(self) -> list[str]:
        """Real mounts, one per device (the shortest mount path wins); re-read every N ticks."""
        if self._mounts is None or self._ticks % self._refresh_ticks == 0:
            parts = sorted(self._ps.disk_partitions(all=False), key=lambda p: len(p.mountpoint))
            seen: set[str] = set()
            mounts = []
            for p in parts:
                if p.fstype in PSEUDO_FS or not p.fstype or p.device in seen:
                    continue
                if p.device.startswith("/dev/loop") or p.mountpoint.startswith(("/snap/", "/var/snap/")):
                    continue
                seen.add(p.device)
                mounts.append(p.mountpoint)
            self._mounts = mounts
        return self._mounts

    def _disk(self) -> list[tuple[str, Labels, float]]:
        out: list[tuple[str, Labels, float]] = []
        for mp in self._mountpoints():
            try:
                du = self._ps.disk_usage(mp)
            except OSError:  # PermissionError included: unreadable or vanished mount
                continue
            lab, avail = self._lab("mountpoint", mp), du.used + du.free  # df's view (root reserve)
            out.append(("host_disk_used_bytes", lab, int(du.used)))
            out.append(("host_disk_total_bytes", lab, int(du.total)))
            out.append(("host_disk_utilization_ratio", lab, round(du.used / avail, 4) if avail else 0.0))
        return out

    def _disk_io(self) -> list[tuple[str, Labels, float]]:
        out: list[tuple[str, Labels, float]] = []
        for dev, c in (self._ps.disk_io_counters(perdisk=True) or {}).items():
            if not IGNORED_DISK_DEVICES.match(dev):
                lab = self._lab("device", dev)
                out.append(("host_disk_read_bytes_total", lab, float(int(c.read_bytes))))
                out.append(("host_disk_written_bytes_total", lab, float(int(c.write_bytes))))
        return out

    def _network(self) -> list[tuple[str, Labels, float]]:
        out: list[tuple[str, Labels, float]] = []
        for nic, c in (self._ps.net_io_counters(pernic=True) or {}).items():
            if nic != "lo":
                lab = self._lab("device", nic)
                out.append(("host_network_receive_bytes_total", lab, float(int(c.bytes_recv))))
                out.append(("host_network_transmit_bytes_total", lab, float(int(c.bytes_sent))))
                out.append(("host_network_receive_errors_total", lab, float(int(c.errin))))
                out.append(("host_network_transmit_errors_total", lab, float(int(c.errout))))
        return out

    def _processes(self) -> list[tuple[str, Labels, float]]:
        return [("host_processes", self._labels, len(self._ps.pids()))]

    # -- the Collector contract ---------------------------------------------------------------

    def collect(self) -> list[Sample]:
        ts = int(self._clock() * 1000)
        groups = {
            "cpu": self._cpu,
            "load": self._load,
            "memory": self._memory,
            "swap": self._swap,
            "disk": self._disk,
            "disk_io": self._disk_io,
            "network": self._network,
            "processes": self._processes,
        }
        triples: list[tuple[str, Labels, float]] = []
        errors: dict[str, str] = {}
        last_exc: Exception | None = None
        for group, read in groups.items():
            try:
                triples.extend(read())
            except Exception as exc:  # fail soft: one broken group must not hide the others
                errors[group], last_exc = f"{type(exc).__name__}: {exc}", exc
        self._ticks += 1
        self.health.extra["partial_errors"] = errors
        if len(errors) == len(groups):
            detail = "; ".join(f"{g}: {e}" for g, e in errors.items())
            msg = f"host collector: every metric group failed ({detail}); check that psutil can read /proc"
            raise CollectorError(msg) from last_exc
        samples = [Sample("host_up", self._labels, ts, 1)]
        samples.extend(Sample(m, lab, ts, v) for m, lab, v in triples)
        return samples


def from_settings(settings: Settings) -> HostCollector:
    """The built-in ``host`` collector as the settings configure it (its registered factory)."""
    return HostCollector(settings.host.interval_s)
