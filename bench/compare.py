"""``python -m bench compare [--quick] [--json PATH] [--hosts N] [--days D]``: Pulse next to a real Prometheus.

The same seeded dataset (bench/compare_data.py: 100 series at 15 s over 30 days, or 100 series x
1 day with ``--quick``) goes into a Pulse SQLite store (``Store.write`` in daily batches with
``compact()`` after each day, as ``pulse demo`` backfills) and into Debian's Prometheus 2.42
(``promtool tsdb create-blocks-from openmetrics`` on one file per day, then ``prometheus`` on the
blocks, which compacts them as it would its own). Then the same PromQL queries are sent to
Pulse's Prometheus API (served in this process on loopback) and to Prometheus' over HTTP,
interleaved, a warm-up then the median of several runs; results are checked to agree (series by
series, relative 1e-9). Ratios: ingest and bytes Pulse / Prometheus, queries Pulse time /
Prometheus time (below 1: Pulse faster), each against the target of issue 16.

``python -m bench compare --scaling [--quick] [--json PATH]`` (bench/compare_scaling.py): the
same comparison at 100, 1,000 and 10,000 series x 1 day (ingest, bytes per sample, three
queries' p50, peak memory of each phase), one row per series count and figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import Row
from bench.compare_data import DAY_MS, STEP_MS, Dataset
from bench.compare_prom import PromServer

if TYPE_CHECKING:
    from core.kernel.settings import Settings
    from core.storage.tsdb import Store

TOKEN = "bench-compare-token-0123456789"
H = 3_600_000


@dataclass
class Q:
    figure: str
    query: str
    range_ms: int  # 0: an instant query at the end
    step_ms: int = 0
    target: float = 1.0


def queries(span_ms: int) -> list[Q]:
    """The dashboard queries of issue 16 plus histogram_quantile and topk; ranges capped at the data."""

    def cap(ms: int) -> int:
        return min(ms, span_ms - H)

    m30, d1, d7 = cap(30 * DAY_MS), cap(DAY_MS), cap(7 * DAY_MS)
    allq = '{__name__=~"bench_.+"}'
    return [
        Q("query_all_series_30d_1000pts_p50", allq, m30, max(STEP_MS, m30 // 1000 // 1000 * 1000), 0.3),
        Q("query_all_series_24h_600s_p50", allq, d1, 600_000),
        Q("query_avg_1h_30d_p50", "avg(avg_over_time(bench_cpu_ratio[1h]))", m30, H),
        Q("query_sum_by_30d_p50", "sum by (team) (bench_cpu_ratio)", m30, 3 * H),
        Q("query_one_series_24h_raw_p50", 'bench_cpu_ratio{host="h000",cpu="0"}', d1, STEP_MS),
        Q("query_rate_7d_p50", "rate(bench_requests_total[5m])", d7, 600_000),
        Q(
            "query_histogram_quantile_24h_p50",
            "histogram_quantile(0.9, sum by (le) (rate(bench_latency_seconds_bucket[5m])))",
            d1,
            300_000,
        ),
        Q("query_topk_1h_p50", "topk(5, rate(bench_requests_total[5m]))", H, STEP_MS),
        Q("instant_sum_by_rate_p50", 'sum by (team) (rate(bench_requests_total{code="200"}[5m]))', 0),
        Q("instant_topk_p50", "topk(3, bench_cpu_ratio)", 0),
        Q(
            "instant_histogram_quantile_p50",
            "histogram_quantile(0.5, sum by (le, team) (rate(bench_latency_seconds_bucket[10m])))",
            0,
        ),
    ]


def _params(q: Q, end_ms: int) -> tuple[str, dict[str, str]]:
    if not q.range_ms:
        return "/api/v1/query", {"query": q.query, "time": f"{end_ms / 1000:.3f}"}
    start = end_ms - q.range_ms
    p = {"query": q.query, "start": f"{start / 1000:.3f}", "end": f"{end_ms / 1000:.3f}"}
    return "/api/v1/query_range", {**p, "step": f"{q.step_ms / 1000:g}"}


def _get(base: str, path: str, params: dict[str, str], token: str | None) -> bytes:
    req = urllib.request.Request(f"{base}{path}?{urllib.parse.urlencode(params)}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=600) as resp:
        return bytes(resp.read())


def _timed(base: str, path: str, params: dict[str, str], token: str | None) -> float:
    t0 = time.perf_counter()
    _get(base, path, params, token)
    return time.perf_counter() - t0


def _agree(pulse: bytes, prom: bytes) -> str | None:
    from tests.core.promql.differential import _normal, difference

    p, o = _normal(json.loads(prom)["data"]), _normal(json.loads(pulse)["data"])
    return difference(p, o, ordered=False)


def pulse_settings(folder: Path, database_url: str | None = None) -> Settings:
    """Pulse's settings for the bench: the store in ``folder`` (or at ``database_url``), the
    Prometheus API on a free loopback port with the bench's token and no sample limit."""
    from core.kernel.settings import load_settings

    tokens = [{"name": "bench", "token": TOKEN}]
    api = {"enabled": True, "port": 0, "tokens": tokens, "max_samples": 500_000_000, "timeout_s": 600}
    url = database_url or f"sqlite:///{folder}/pulse.db"
    return load_settings(database_url=url, data_dir=folder, api=api)


def ingest_pulse(data: Dataset, folder: Path, database_url: str | None = None) -> tuple[float, int, Store]:
    """Seconds of Store.write + compact() for every batch, the bytes on disk, and the store
    (SQLite in ``folder``, or the PostgreSQL ``database_url``)."""
    from core.storage.tsdb import open_store

    store = open_store(pulse_settings(folder, database_url))
    took = 0.0
    for batch in data.sample_batches():
        t0 = time.perf_counter()
        store.write(batch)
        store.compact()
        took += time.perf_counter() - t0
    if database_url:
        from bench.compare_pg import bytes_after_plain_vacuum

        return took, bytes_after_plain_vacuum(database_url), store
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(p.stat().st_size for p in folder.glob("pulse.db*"))
    return took, size, store


def run_compare(
    data: Dataset, folder: Path, runs: int, wait_compaction: bool = True, database_url: str | None = None
) -> tuple[list[dict[str, object]], list[str]]:
    from core.runtime.promapi import start_api

    notes: list[str] = []
    prom = PromServer(folder / "prometheus")
    print(
        f"dataset: {data.n_series} series x {data.days:g} d at 15 s = {data.n_samples:,} samples",
        file=sys.stderr,
    )
    prom_ingest_s = prom.backfill(data)
    prom.start()  # compacts the 2 h blocks promtool wrote while Pulse ingests
    pulse_s, pulse_bytes, store = ingest_pulse(data, folder, database_url)
    n = data.n_samples
    rows: list[dict[str, object]] = []
    if database_url:
        notes.append(
            "Pulse on PostgreSQL: bytes are the schema's tables, indexes and TOAST after a plain VACUUM"
        )
    else:
        notes.append(f"Pulse on disk: {_breakdown(folder / 'pulse.db', data.n_samples)}")
    server = start_api(store.settings.api, store, None)
    try:
        todo = queries(int(data.days * DAY_MS))
        for q in todo:  # agreement (and a warm-up) while Prometheus waits for its compaction cycle
            path, params = _params(q, data.end_ms)
            why = _agree(_get(server.url, path, params, TOKEN), _get(prom.url, path, params, None))
            if why:
                notes.append(f"{q.figure}: results differ: {why}")
        prom_compact_s = prom.wait_compacted() if wait_compaction else 0.0
        prom_bytes = prom.bytes_on_disk()
        if not wait_compaction:
            notes.append(
                "Prometheus' first compaction (a minute after start) not waited for: its bytes are "
                "promtool's 2 h blocks, its ingest time promtool's alone"
            )
        rows = [
            _row(
                "ingest_samples_per_s",
                n / pulse_s,
                n / (prom_ingest_s + prom_compact_s),
                "samples/s",
                2.0,
                True,
            ),
            _row("bytes_per_sample", pulse_bytes / n, prom_bytes / n, "B", 0.8, False),
        ]
        notes.insert(
            0,
            f"ingest: Prometheus = promtool backfill {prom_ingest_s:.1f} s + its own compaction {prom_compact_s:.1f} s; "
            f"Pulse = Store.write + compact() {pulse_s:.1f} s",
        )
        for q in todo:
            path, params = _params(q, data.end_ms)
            ours, theirs = [], []
            for _ in range(runs):  # interleaved, so both see the same machine load
                ours.append(_timed(server.url, path, params, TOKEN))
                theirs.append(_timed(prom.url, path, params, None))
            p, t = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
            rows.append(_row(q.figure, p, t, "ms", q.target, False, q.query, q.range_ms, q.step_ms))
            print(f"  {q.figure}: pulse {p:.0f} ms, prometheus {t:.0f} ms", file=sys.stderr, flush=True)
    finally:
        server.stop()
        store.close()
        prom.stop()
    return rows, notes


def _breakdown(path: Path, n: int) -> str:
    """Bytes by table: raw chunks and head, rollups, indexes, free pages (dbstat)."""
    import sqlite3

    con = sqlite3.connect(path)
    sizes = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    free = con.execute("PRAGMA freelist_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:6]
    live = sum(sizes.values())
    listed = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in top)
    return f"{listed}; free pages {free / 1e6:.1f} MB; without free pages {live / n:.2f} B/sample"


def _row(
    figure: str,
    pulse: float,
    prom: float,
    unit: str,
    target: float,
    higher_better: bool,
    query: str = "",
    range_ms: int = 0,
    step_ms: int = 0,
) -> dict[str, object]:
    ratio = pulse / prom if prom else float("inf")
    ok = ratio >= target if higher_better else ratio <= target
    row: dict[str, object] = {
        "figure": figure,
        "pulse": pulse,
        "prometheus": prom,
        "ratio": ratio,
        "unit": unit,
    }
    row["target"] = f"{'>=' if higher_better else '<='} {target:g}x"
    row["verdict"] = "ok" if ok else "MISS"
    if query:
        row.update(query=query, range_h=range_ms / H, step_s=step_ms / 1000)
    return row


def _fmt(v: object) -> str:
    return f"{v:,.2f}" if isinstance(v, float) and v < 100 else f"{v:,.0f}"


def print_table(rows: list[dict[str, object]], notes: list[str], title: str) -> None:
    head = ("figure", "pulse", "prometheus", "unit", "ratio", "target", "")
    table = [head] + [
        (str(r["figure"]), _fmt(r["pulse"]), _fmt(r["prometheus"]), str(r["unit"]), f"{r['ratio']:.2f}x")
        + (str(r["target"]), str(r["verdict"]))
        for r in rows
    ]
    print_aligned(title, table, notes)


def print_aligned(title: str, table: Sequence[tuple[str, ...]], notes: list[str]) -> None:
    """The title, the table's rows in aligned columns (the first row its head), then the notes."""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print(title)
    for r in table:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    for note in notes:
        print(f"- {note}")


def main(argv: list[str]) -> int:
    if "--scaling" in argv:  # its own options: see bench/compare_scaling.py
        from bench import compare_scaling

        return compare_scaling.main([a for a in argv if a != "--scaling"])
    ap = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="100 series x 1 day, Prometheus' own compaction not waited for (about a minute)",
    )
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    ap.add_argument(
        "--postgres",
        metavar="URL",
        help="run Pulse on this PostgreSQL server (a schema of its own, dropped after) instead of SQLite",
    )
    ap.add_argument("--hosts", type=int, help="hosts of 10 series each (default 10: 100 series)")
    ap.add_argument("--days", type=float, help="days of data (default 30, 1 with --quick)")
    ap.add_argument("--runs", type=int, help="timed runs per query, median taken (default 5, 3 with --quick)")
    args = ap.parse_args(argv)
    from core.kernel.malloc import tune_malloc

    tune_malloc()  # Pulse is served in this process: tuned as the daemon (core.cli.main) tunes it
    days = args.days or (1.0 if args.quick else 30.0)
    end = int(time.time() * 1000) // H * H
    data = Dataset(hosts=args.hosts or 10, days=days, end_ms=end)
    runs = args.runs or (3 if args.quick else 5)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pulse-compare-") as tmp, _database(args.postgres) as url:
        rows, notes = run_compare(data, Path(tmp), runs, wait_compaction=not args.quick, database_url=url)
    detail = (
        f"{data.n_series} series x {days:g} d = {data.n_samples:,} samples, "
        f"Pulse on {'PostgreSQL' if args.postgres else 'SQLite'}, medians of {runs}"
    )
    report("bench compare", detail, t0, rows, notes, args.json, print_table)
    return 0


def report(
    what: str,
    detail: str,
    t0: float,
    rows: list[dict[str, object]],
    notes: list[str],
    json_path: Path | None,
    printer: Callable[[list[dict[str, object]], list[str], str], None],
) -> None:
    """Print the rows under a title (when, where, ``detail``, how long, the load), and write
    them to ``json_path`` if given."""
    title = (
        time.strftime(f"{what}, %Y-%m-%d %H:%M UTC, ", time.gmtime())
        + f"{platform.machine()} ({_cpus()}), python {platform.python_version()}, {detail}, "
        + f"{time.perf_counter() - t0:.0f} s, load average at the end {os.getloadavg()[0]:.1f}"
    )
    printer(rows, notes, title)
    if json_path:
        json_path.write_text(json.dumps({"title": title, "rows": rows, "notes": notes}, indent=1))


@contextlib.contextmanager
def _database(postgres: str | None) -> Iterator[str | None]:
    if not postgres:
        yield None
        return
    from bench.compare_pg import fresh_schema

    with fresh_schema(postgres) as url:
        yield url


def _cpus() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if "model name" in ln), ""
        )
    return f"{os.cpu_count()} x {model}".strip()


def run(folder: Path) -> list[Row]:
    """The quick variant as rows of ``python -m bench compare`` (opt-in)."""
    data = Dataset(hosts=10, days=1.0, end_ms=int(time.time() * 1000) // H * H)
    rows, notes = run_compare(data, folder / "compare", 3, wait_compaction=False)
    print("\n".join(notes), file=sys.stderr)
    return [
        Row(
            str(r["figure"]),
            f"{_fmt(r['pulse'])} {r['unit']}",
            f"{r['ratio']:.2f}x Prometheus",
            str(r["target"]),
            str(r["verdict"]),
        )
        for r in rows
    ]
