"""Issue 14: two ``pulse collect`` daemons on one PostgreSQL each record their own figures (CPU,
memory, job durations, ingest lag) labelled with their node (``cluster.node_name``), and the
self-monitoring read model shows them per node, never added up or mixed in one line."""

from __future__ import annotations

import time
from pathlib import Path

from core.kernel.times import MINUTE, TimeRange
from core.views import self_monitoring as sm
from tests.daemons import Daemon, open_at, wait_for
from tests.faults.cluster import start_pair
from tests.receivers import Receiver

FIRST_TICK_S = 40  # the daemon's self job runs every 15 s (HEALTH_INTERVAL_S): two ticks and slack


def test_two_daemons_self_figures_carry_their_node_and_show_apart(
    pg_schema_url: str,
    tmp_path: Path,
    receiver: Receiver,
    daemons: list[Daemon],
) -> None:
    a, b = start_pair(tmp_path, pg_schema_url, f"{receiver.url}/hook")
    daemons += [a.daemon, b.daemon]
    store = open_at(pg_schema_url)
    try:

        def nodes_of(metric: str) -> set[str]:
            return {lb.get("node", "") for lb in store.series(metric)["labels"].to_list()}

        metrics = (
            sm.MEMORY,
            sm.CPU,
            "pulse_job_duration_seconds",
            "pulse_samples_ingested_total",
            "pulse_spool_samples",
        )
        # every figure of both daemons, each with its node: none written without one
        wait_for(
            lambda: all(nodes_of(m) == {a.node, b.node} for m in metrics),
            timeout=FIRST_TICK_S,
            what="both daemons' own figures, each with its node",
        )
        now = int(time.time() * 1000)
        tr = TimeRange("custom", now - 10 * MINUTE, now + MINUTE, MINUTE)
        mem = sm.memory(store, tr)
        per = {p: mem.filter(mem["process"] == p)["value"].max() for p in mem["process"].unique()}
        assert set(per) == {f"daemon on {a.node}", f"daemon on {b.node}"}
        for pid, who in ((a.daemon.proc.pid, a.node), (b.daemon.proc.pid, b.node)):
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * 4096
            assert 0.5 * rss < per[f"daemon on {who}"] < 2 * rss  # each its own process, not a sum
        jobs = sm.series(store, tr, "pulse_job_duration_seconds", ("job",))
        assert {f"flush on {a.node}", f"flush on {b.node}"} <= set(jobs["job"].unique())
        s = sm.summary(store, tr)
        assert s.daemon_memory is not None and s.daemon_memory > max(per.values())  # the tile adds them
    finally:
        store.close()
        for m in (a, b):
            m.daemon.kill()
            m.target.stop()
