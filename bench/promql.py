"""``python -m bench promql``: Pulse's PromQL engine against Debian's Prometheus 2.42.

The full differential set (every query of tests/core/promql/differential.py at three instants and
two ranges, on a seeded 4-hour dataset), the demo platform's metrics with queries of the kind its
dashboards and rules ask, mismatch reports on stderr, then the time of a range query in Pulse
(in-process, SQLite store) next to the same query over Prometheus' HTTP API.
"""

from __future__ import annotations

import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.common import Row, median_of
from core.kernel.settings import load_settings
from core.promql import Engine, StoreSource
from core.storage.tsdb.store import open_store
from tests.core.promql import differential as diff

RANGE_QUERY = f"sum by (host) (rate({diff.C}[5m]))"


def run(folder: Path) -> list[Row]:
    root = folder / "promql"
    root.mkdir(parents=True, exist_ok=True)
    series = diff.dataset()
    store = open_store(
        load_settings(database_url=f"sqlite:///{root}/pulse.db"), clock=lambda: diff.END_MS / 1000 + 3600
    )
    store.write(diff.to_samples(series))
    engine = Engine(StoreSource(store))
    todo = diff.cases(full=True)
    with diff.prometheus_on(series, root) as url:
        report = diff.compare(url, engine, todo)
        print("\n".join(report.lines()), file=sys.stderr)
        start, end = diff.START_MS, diff.END_MS

        def ours() -> float:
            t0 = time.perf_counter()
            engine.range(RANGE_QUERY, start, end, 15_000)
            return time.perf_counter() - t0

        def theirs() -> float:
            q = {"query": RANGE_QUERY, "start": start / 1000, "end": end / 1000, "step": 15}
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"{url}/api/v1/query_range?{urllib.parse.urlencode(q)}") as resp:
                resp.read()
            return time.perf_counter() - t0

        took, base = median_of(5, ours), median_of(5, theirs)
    store.close()
    demo_report, demo_todo = _demo(root)
    agreed = report.agreed == len(todo)
    return [
        Row(
            f"PromQL differential vs Prometheus 2.42 ({len(todo)} queries x times)",
            f"{report.agreed} agree, {len(report.mismatched)} differ, {len(report.refused)} refused",
            "",
            "all agree",
            "ok" if agreed else "MISS",
        ),
        Row(
            f"PromQL differential on 2 h of demo platform metrics ({len(demo_todo)} queries x times)",
            f"{demo_report.agreed} agree, {len(demo_report.mismatched)} differ, {len(demo_report.refused)} refused",
            "",
            "all agree",
            "ok" if demo_report.agreed == len(demo_todo) else "MISS",
        ),
        Row(
            f"PromQL range query, 4 h at 15 s step, {RANGE_QUERY} (median of 5)",
            f"{took * 1000:.0f} ms",
            f"{took / base:.1f}x Prometheus over HTTP ({base * 1000:.0f} ms)",
        ),
    ]


def _demo(folder: Path) -> tuple[diff.Report, list[diff.Case]]:
    """The same comparison on the demo collector's metrics (the series Pulse shows by default)."""
    root = folder / "demo"
    root.mkdir(exist_ok=True)
    series = diff.demo_dataset()
    store = open_store(
        load_settings(database_url=f"sqlite:///{root}/pulse.db"), clock=lambda: diff.END_MS / 1000 + 3600
    )
    store.write(diff.to_samples(series))
    todo = diff.demo_cases()
    with diff.prometheus_on(series, root) as url:
        report = diff.compare(url, Engine(StoreSource(store)), todo)
    store.close()
    print("\n".join(report.lines()), file=sys.stderr)
    return report, todo
