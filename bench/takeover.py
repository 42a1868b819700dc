"""Leader takeover: two ``pulse collect`` daemons on one PostgreSQL schema, the leader killed by SIGKILL.

Two figures per run: kill -> the follower reports ``pulse_leader 1`` (its duties started), and
kill -> the webhook has the notification of an alert that began firing at the moment of the kill
(so it is evaluated and sent by the new leader). Target (issue 14): the takeover within one
evaluation interval (here ``EVAL_S``). PostgreSQL from ``PULSE_TEST_DATABASE_URL`` or 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import signal
import statistics
import time
from pathlib import Path

from bench.common import Row
from core.storage.engine import normalise_url
from tests.conftest import LOCAL_PG, PgSchemas
from tests.core.runtime.test_daemon import wait_for
from tests.faults.cluster import EVAL_S, POLL_S, Target, role_line, start_node, takeover_seconds
from tests.receivers import Receiver

RUNS = 5
DEFAULT_POLL_S = 2.0  # cluster.poll_s by default


def one_run(folder: Path, url: str, receiver: Receiver, poll_s: float) -> tuple[float, float]:
    site_a, site_b = Target(jobs=5), Target(builds=10)
    hook = f"{receiver.url}/hook"
    started = []
    try:
        a = start_node(folder, url, "node-a", "site-a", site_a, hook, poll_s)
        started.append(a)
        assert role_line(a).endswith("is the leader (leader election on PostgreSQL)")
        b = start_node(folder, url, "node-b", "site-b", site_b, hook, poll_s)
        started.append(b)
        role_line(b)
        time.sleep(2)  # both running a while
        receiver.requests.clear()
        a.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        site_b.depths["builds"] = 500
        took = takeover_seconds(b, killed)
        wait_for(lambda: bool(receiver.requests), timeout=30, what="the notification")
        return took, time.monotonic() - killed
    finally:
        for d in started:
            d.kill()
        site_a.stop()
        site_b.stop()


def runs(folder: Path, poll_s: float) -> tuple[list[float], list[float]]:
    server = normalise_url(os.environ.get("PULSE_TEST_DATABASE_URL", LOCAL_PG))
    schemas = PgSchemas(server)
    receiver = Receiver()
    receiver.start()
    takeovers, notices = [], []
    try:
        for i in range(RUNS):
            with schemas.fresh() as url:
                took, notice = one_run(folder / f"takeover-{poll_s:g}-{i}", url, receiver, poll_s)
            takeovers.append(took)
            notices.append(notice)
    finally:
        receiver.stop()
        schemas.admin.dispose()
    return takeovers, notices


def run(folder: Path) -> list[Row]:
    rows = []
    for poll_s in (POLL_S, DEFAULT_POLL_S):
        takeovers, notices = runs(folder, poll_s)
        worst = max(takeovers)
        rows += [
            Row(
                f"SIGKILL of the leader -> follower leads (poll_s {poll_s:g}, {RUNS} runs)",
                f"median {statistics.median(takeovers):.2f} s, worst {worst:.2f} s",
                f"worst = {worst / EVAL_S:.2f}x the {EVAL_S} s evaluation interval",
                "<= one evaluation interval",
                "ok" if worst <= EVAL_S else "MISS",
            ),
            Row(
                f"SIGKILL -> webhook has an alert that began firing at the kill (poll_s {poll_s:g})",
                f"median {statistics.median(notices):.2f} s, worst {max(notices):.2f} s",
                "",
                "takeover + one scrape + evaluation + notify tick",
                "",
            ),
        ]
    return rows
