"""HostCollector against the real psutil of this machine, plus thin wrappers for edge cases."""

from __future__ import annotations

import os
import socket
import time
from collections import Counter, namedtuple
from typing import Any

import psutil
import pytest

from collectors.base import Collector
from collectors.host import HostCollector
from core.kernel.errors import CollectorError
from core.kernel.samples import Sample, labels_of
from tests.collectors.conftest import Scheduled

Part = namedtuple("Part", "device mountpoint fstype opts")
Usage = namedtuple("Usage", "total used free percent")
DiskIO = namedtuple("DiskIO", "read_bytes write_bytes")

HOST_ONLY = {
    "host_up",
    "host_cpu_utilization_ratio",
    "host_load1",
    "host_load5",
    "host_load15",
    "host_memory_used_bytes",
    "host_memory_total_bytes",
    "host_memory_available_bytes",
    "host_memory_utilization_ratio",
    "host_swap_used_bytes",
    "host_swap_total_bytes",
    "host_processes",
}
EXTRA_LABEL = {
    "host_cpu_core_utilization_ratio": "cpu",
    "host_disk_used_bytes": "mountpoint",
    "host_disk_total_bytes": "mountpoint",
    "host_disk_utilization_ratio": "mountpoint",
    "host_disk_read_bytes_total": "device",
    "host_disk_written_bytes_total": "device",
    "host_network_receive_bytes_total": "device",
    "host_network_transmit_bytes_total": "device",
    "host_network_receive_errors_total": "device",
    "host_network_transmit_errors_total": "device",
}
COUNTERS = {m for m in EXTRA_LABEL if m.endswith("_total")}


class Wrapped:
    """The real psutil module, counting attribute look-ups; ``overrides`` replace single functions."""

    def __init__(self, **overrides: Any) -> None:
        self.calls: Counter[str] = Counter()
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return self._overrides[name] if name in self._overrides else getattr(psutil, name)


class Broken:
    """A psutil whose every function raises."""

    def __getattr__(self, name: str) -> Any:
        def fail(*_a: Any, **_k: Any) -> Any:
            raise OSError(f"{name} is unavailable")

        return fail


def burn(seconds: float = 0.1) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def two_ticks(c: HostCollector) -> tuple[list[Sample], list[Sample]]:
    first = c.collect()
    burn()
    return first, c.collect()


def by_key(samples: list[Sample]) -> dict[tuple[str, tuple], float]:
    return {(s.metric, s.labels): s.value for s in samples}


def values(samples: list[Sample], metric: str) -> dict[tuple, float]:
    return {s.labels: s.value for s in samples if s.metric == metric}


def test_is_a_collector_and_constructing_does_no_io() -> None:
    c = HostCollector(psutil_module=Broken())  # would raise on any psutil call
    assert isinstance(c, Collector)
    assert (c.name, c.interval) == ("host", 15)
    assert HostCollector().collect()[0].labels == labels_of(host=socket.gethostname())


def test_first_tick_primes_cpu_then_every_metric_is_present() -> None:
    first, second = two_ticks(HostCollector(host_name="h1"))
    assert not {"host_cpu_utilization_ratio", "host_cpu_core_utilization_ratio"} & {s.metric for s in first}
    assert {s.metric for s in second} == HOST_ONLY | set(EXTRA_LABEL)
    assert len(values(second, "host_cpu_core_utilization_ratio")) == psutil.cpu_count()
    keys = [(s.metric, s.labels) for s in second]
    assert len(keys) == len(set(keys)), "a series appears twice in one tick"


def test_labels_are_canonical_and_carry_the_right_names() -> None:
    _, samples = two_ticks(HostCollector(host_name="h1"))
    for s in samples:
        labels = dict(s.labels)
        assert s.labels == labels_of(**labels)
        assert labels.pop("host") == "h1"
        assert list(labels) == ([EXTRA_LABEL[s.metric]] if s.metric in EXTRA_LABEL else []), s
    cores = {dict(lab)["cpu"] for lab in values(samples, "host_cpu_core_utilization_ratio")}
    assert cores == {str(i) for i in range(psutil.cpu_count())}
    assert "lo" not in {dict(s.labels).get("device") for s in samples}
    assert not any(dict(s.labels).get("device", "").startswith(("loop", "ram", "zram")) for s in samples)


def test_values_are_sane() -> None:
    _, samples = two_ticks(HostCollector(host_name="h1"))
    for s in samples:
        if s.metric.endswith("_ratio"):
            assert 0.0 <= s.value <= 1.0 and round(s.value, 4) == s.value, s
        if s.metric.endswith("_bytes"):
            assert isinstance(s.value, int) and s.value >= 0, s
        if s.metric in COUNTERS:
            assert isinstance(s.value, float) and s.value == int(s.value) and s.value >= 0, s
    one = {s.metric: s.value for s in samples if s.metric in HOST_ONLY}
    assert one["host_up"] == 1
    assert 0 < one["host_memory_used_bytes"] <= one["host_memory_total_bytes"]
    assert one["host_memory_available_bytes"] <= one["host_memory_total_bytes"]
    assert one["host_swap_used_bytes"] <= one["host_swap_total_bytes"]
    assert one["host_load1"] >= 0 and one["host_load15"] >= 0
    assert abs(one["host_processes"] - len(psutil.pids())) < 50
    used, total = values(samples, "host_disk_used_bytes"), values(samples, "host_disk_total_bytes")
    assert used and used.keys() == total.keys(), "expected at least one real mount"
    assert all(total[k] > 0 and used[k] <= total[k] for k in used)


def test_counters_do_not_decrease_between_collects() -> None:
    c = HostCollector(host_name="h1")
    before = by_key(c.collect())
    with open(os.devnull, "wb") as sink:  # some traffic and IO of our own
        sink.write(b"x" * 1_000_000)
    after = by_key(c.collect())
    common = [k for k in before if k[0] in COUNTERS and k in after]
    assert common
    assert all(after[k] >= before[k] for k in common)


def test_partition_list_is_read_only_every_n_ticks_and_no_process_walk() -> None:
    ps = Wrapped()
    c = HostCollector(psutil_module=ps, host_name="h1")
    for _ in range(21):
        c.collect()
    assert ps.calls["disk_partitions"] == 2  # ticks 0 and 20
    assert ps.calls["disk_usage"] == 21 * len(values(c.collect(), "host_disk_used_bytes"))
    assert ps.calls["pids"] == 22 and ps.calls["process_iter"] == 0
    ps5 = Wrapped()
    c5 = HostCollector(psutil_module=ps5, partition_refresh_ticks=5)
    for _ in range(11):
        c5.collect()
    assert ps5.calls["disk_partitions"] == 3


def test_mount_filtering_dedup_and_unreadable_mounts() -> None:
    parts = [
        Part("/dev/sdb1", "/data/bind", "ext4", "rw"),
        Part("/dev/sdb1", "/data", "ext4", "rw"),  # same device: the shorter mount path wins
        Part("tmpfs", "/run", "tmpfs", "rw"),
        Part("/dev/loop3", "/snap/core/1", "squashfs", "ro"),
        Part("/dev/loop4", "/mnt/img", "ext4", "ro"),
        Part("/dev/sdc1", "/snap/thing", "ext4", "ro"),
        Part("/dev/sdd1", "/secret", "ext4", "rw"),
        Part("/dev/sde1", "/gone", "ext4", "rw"),
        Part("/dev/sda1", "/", "ext4", "rw"),
    ]

    def usage(path: str) -> Usage:
        if path == "/secret":
            raise PermissionError(13, "Permission denied", path)
        if path == "/gone":
            raise FileNotFoundError(2, "No such file", path)
        return Usage(1000, 250, 250, 50.0)

    ps = Wrapped(disk_partitions=lambda all=False: parts, disk_usage=usage)
    c = HostCollector(psutil_module=ps, host_name="h1")
    samples = c.collect()
    used = values(samples, "host_disk_used_bytes")
    assert set(used) == {labels_of(host="h1", mountpoint=m) for m in ("/", "/data")}
    # df's view: used / (used + free available to users), not used / total
    assert set(values(samples, "host_disk_utilization_ratio").values()) == {0.5}
    assert c.health.extra["partial_errors"] == {}


def test_disk_io_skips_loop_ram_and_partitions_and_tolerates_none() -> None:
    names = ["loop0", "ram0", "zram0", "sda", "sda1", "nvme0n1", "nvme0n1p2", "mmcblk0", "mmcblk0p1", "dm-0"]
    counters = {n: DiskIO(10, 20) for n in names}
    samples = HostCollector(psutil_module=Wrapped(disk_io_counters=lambda perdisk: counters)).collect()
    devices = {dict(lab)["device"] for lab in values(samples, "host_disk_read_bytes_total")}
    assert devices == {"sda", "nvme0n1", "mmcblk0", "dm-0"}
    c = HostCollector(psutil_module=Wrapped(disk_io_counters=lambda perdisk: None))
    samples = c.collect()
    assert not values(samples, "host_disk_read_bytes_total")
    assert c.health.extra["partial_errors"] == {} and values(samples, "host_memory_total_bytes")


def test_one_failing_group_is_skipped_and_recorded_then_cleared() -> None:
    def broken(perdisk: bool = False) -> Any:
        raise RuntimeError("diskstats unreadable")

    ps = Wrapped(disk_io_counters=broken)
    c = HostCollector(psutil_module=ps, host_name="h1")
    samples = c.collect()
    metrics = {s.metric for s in samples}
    assert not metrics & {"host_disk_read_bytes_total", "host_disk_written_bytes_total"}
    assert {"host_up", "host_memory_total_bytes", "host_disk_used_bytes", "host_processes"} <= metrics
    assert c.health.extra["partial_errors"] == {"disk_io": "RuntimeError: diskstats unreadable"}
    assert c.health.ok and c.health.state == "degraded"  # part of it failed
    del ps._overrides["disk_io_counters"]
    assert "host_disk_read_bytes_total" in {s.metric for s in c.collect()}
    assert c.health.extra["partial_errors"] == {}
    assert c.health.state == "up"


def test_everything_failing_raises_collector_error(scheduled: Scheduled) -> None:
    c = HostCollector(psutil_module=Broken(), host_name="h1")
    with pytest.raises(CollectorError, match="every metric group failed") as info:
        c.collect()
    assert "disk_partitions is unavailable" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert c.health.ok and c.health.consecutive_failures == 0  # the collector books nothing itself
    assert scheduled(c) == [] and type(scheduled.error) is CollectorError
    assert not c.health.ok and c.health.consecutive_failures == 1  # booked once, by the scheduler
    assert c.health.last_error == str(scheduled.error)  # in the collector's own words
    assert set(c.health.extra["partial_errors"]) >= {"cpu", "memory", "disk", "network", "processes"}


def test_cpu_hotplug_drops_per_core_for_one_tick() -> None:
    real = psutil.cpu_times(percpu=True)
    per_cpu = [real]
    ps = Wrapped(cpu_times=lambda percpu=False: per_cpu[-1] if percpu else psutil.cpu_times())
    c = HostCollector(psutil_module=ps)
    c.collect()
    burn()
    per_cpu.append(real + real)  # twice as many CPUs now
    samples = c.collect()
    assert values(samples, "host_cpu_utilization_ratio")
    assert not values(samples, "host_cpu_core_utilization_ratio")


def test_clock_injection_sets_ts(scheduled: Scheduled) -> None:
    c = HostCollector(host_name="h1", clock=lambda: 1_700_000_000.1234)
    samples = c.collect()
    assert {s.ts for s in samples} == {1_700_000_000_123}
    assert c.health.last_success_ms is None  # collect() books nothing; the scheduler does, by its clock
    scheduled.clock = lambda: 1_700_000_000.1234
    assert {s.ts for s in scheduled(c)} == {1_700_000_000_123}
    assert c.health.last_success_ms == 1_700_000_000_123
