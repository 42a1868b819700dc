"""``python -m bench compare --scaling [--quick] [--json PATH]``: Pulse and Prometheus from 100 to 10,000 series.

For 100, 1,000 and 10,000 series x 1 day at 15 s (``--quick``: 100 and 1,000 series x 3 hours),
the seeded dataset of bench/compare_data.py, generated 15 minutes at a time, goes into a Pulse
SQLite store (bench/compare_scaling_pulse.py, in a child process) and into Debian's Prometheus
(one OpenMetrics file written slice by slice, ``promtool tsdb create-blocks-from openmetrics``,
then ``prometheus`` on the blocks, whose first compaction is waited for except with ``--quick``).
Per size: ingest rate (Pulse: Store.write + compact(), i.e. rollups, chunks and rollup chunks;
Prometheus: promtool's block creation), bytes per sample (everything on disk), the p50 of three
queries through each one's HTTP API as bench/compare.py sends them (checked to agree first,
then interleaved timed runs), and peak memory per phase (Pulse: the VmHWM of the ingest child
and of the serving child; Prometheus: promtool's ru_maxrss from ``os.wait4`` and the server's
VmHWM after the queries). Ratios are Pulse / Prometheus for every figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.compare import (
    TOKEN,
    H,
    Q,
    _agree,
    _breakdown,
    _get,
    _params,
    _timed,
    print_aligned,
    queries,
    report,
)
from bench.compare_data import DAY_MS, Dataset
from bench.compare_prom import PromServer
from bench.compare_scaling_pulse import SLICE_MS, run_ingest, serving

SIZES, QUICK_SIZES = (100, 1_000, 10_000), (100, 1_000)
HOURS, QUICK_HOURS = 24.0, 3.0
MB = 1_000_000


def scaling_queries(span_ms: int) -> list[Q]:
    """An instant query, a range query over every series, a rate summed by a label over a range."""
    known = {q.figure: q for q in queries(span_ms)}
    every = known["query_all_series_24h_600s_p50"]
    return [
        known["instant_sum_by_rate_p50"],
        dataclasses.replace(every, figure="query_all_series_p50"),
        Q("query_sum_by_rate_p50", "sum by (team) (rate(bench_requests_total[5m]))", every.range_ms, 300_000),
    ]


def _row(n: int, figure: str, pulse: float, prom: float, unit: str, **extra: object) -> dict[str, object]:
    ratio = pulse / prom if prom else float("inf")
    return {
        "figure": f"scaling_{n}_{figure}",
        "pulse": pulse,
        "prometheus": prom,
        "ratio": ratio,
        "unit": unit,
    } | extra


def measure(
    n: int, hours: float, end_ms: int, folder: Path, runs: int, wait_compaction: bool
) -> tuple[list[dict[str, object]], list[str]]:
    """Every figure for ``n`` series: rows and notes."""
    data = Dataset(hosts=n // 10, days=hours * H / DAY_MS, end_ms=end_ms)
    samples = data.n_samples
    print(f"{n:,} series x {hours:g} h = {samples:,} samples", file=sys.stderr, flush=True)
    prom = PromServer(folder / "prometheus")
    text = prom.root / "data.om.txt"
    text_bytes = data.write_openmetrics_file(text, SLICE_MS)
    prom_s, promtool_peak = prom.backfill_file(text)
    text.unlink()
    pulse = run_ingest(folder, data)
    pulse_s = pulse["write_s"] + pulse["compact_s"]
    notes = [
        f"{n:,} series: Pulse ingest = write {pulse['write_s']:.1f} s + compact() {pulse['compact_s']:.1f} s "
        f"(peak RSS {pulse['peak_write_bytes'] / MB:,.0f} MB before compact()); "
        f"promtool {prom_s:.1f} s on one {text_bytes / MB:,.0f} MB OpenMetrics file",
        f"{n:,} series: Pulse on disk: {_breakdown(folder / 'pulse.db', samples)}",
    ]
    timed: list[dict[str, object]] = []
    prom.start()
    try:
        with serving(folder) as (url, child):
            todo = scaling_queries(int(hours * H))
            agreed = {}
            for q in todo:  # agreement, and a warm-up of both
                path, params = _params(q, end_ms)
                why = _agree(_get(url, path, params, TOKEN), _get(prom.url, path, params, None))
                agreed[q.figure] = why is None
                if why:
                    notes.append(f"{n:,} series: {q.figure}: results differ: {why}")
            compact_s = prom.wait_compacted() if wait_compaction else 0.0
            notes.append(
                f"{n:,} series: Prometheus compacted promtool's blocks in {compact_s:.1f} s after start "
                "(waited for, not counted in its ingest)"
                if wait_compaction
                else f"{n:,} series: Prometheus' first compaction not waited for: its bytes are promtool's 2 h blocks"
            )
            prom_bytes = prom.bytes_on_disk()
            for q in todo:
                path, params = _params(q, end_ms)
                ours, theirs = [], []
                for _ in range(runs):  # interleaved, so both see the same machine load
                    ours.append(_timed(url, path, params, TOKEN))
                    theirs.append(_timed(prom.url, path, params, None))
                p, t = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
                how = {"query": q.query, "range_h": q.range_ms / H, "step_s": q.step_ms / 1000}
                timed.append(_row(n, q.figure, p, t, "ms", agree=agreed[q.figure], **how))
                print(f"  {q.figure}: pulse {p:.1f} ms, prometheus {t:.1f} ms", file=sys.stderr, flush=True)
            prom_query_peak = prom.peak_rss()
    finally:
        prom.stop()
    rows = [
        _row(n, "ingest_samples_per_s", samples / pulse_s, samples / prom_s, "samples/s"),
        _row(n, "bytes_per_sample", pulse["bytes"] / samples, prom_bytes / samples, "B"),
        *timed,
        _row(n, "peak_rss_ingest_mb", pulse["peak_bytes"] / MB, promtool_peak / MB, "MB"),
        _row(n, "peak_rss_query_mb", child.peak_bytes / MB, prom_query_peak / MB, "MB"),
    ]
    return rows, notes


def _fmt(v: object) -> str:
    return f"{v:,.2f}" if isinstance(v, float) and v < 100 else f"{v:,.0f}"


def print_table(rows: list[dict[str, object]], notes: list[str], title: str) -> None:
    head = ("series", "figure", "pulse", "prometheus", "unit", "ratio")
    table: list[tuple[str, ...]] = [head]
    for r in rows:
        _, n, figure = str(r["figure"]).split("_", 2)
        ratio = f"{r['ratio']:.2f}x" + ("" if r.get("agree", True) else " (results differ)")
        table.append((f"{int(n):,}", figure, _fmt(r["pulse"]), _fmt(r["prometheus"]), str(r["unit"]), ratio))
    print_aligned(title, table, notes)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench compare --scaling", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--quick", action="store_true", help="100 and 1,000 series x 3 hours (well under a minute)"
    )
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    ap.add_argument(
        "--series", help="comma-separated series counts, multiples of 10 (default 100,1000,10000)"
    )
    ap.add_argument("--hours", type=float, help="hours of data (default 24, 3 with --quick)")
    ap.add_argument("--runs", type=int, help="timed runs per query, median taken (default 5, 3 with --quick)")
    args = ap.parse_args(argv)
    sizes = (
        [int(s) for s in args.series.split(",")] if args.series else (QUICK_SIZES if args.quick else SIZES)
    )
    hours = args.hours or (QUICK_HOURS if args.quick else HOURS)
    runs = max(3, args.runs or (3 if args.quick else 5))
    end = int(time.time() * 1000) // H * H
    rows: list[dict[str, object]] = []
    notes: list[str] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pulse-scaling-") as tmp:
        for n in sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            got, said = measure(n, hours, end, folder, runs, wait_compaction=not args.quick)
            rows += got
            notes += said
            shutil.rmtree(folder)
    detail = f"{hours:g} h at 15 s, Pulse on SQLite, query medians of {runs}"
    report("bench compare --scaling", detail, t0, rows, notes, args.json, print_table)
    return 0 if all(r.get("agree", True) for r in rows) else 1
