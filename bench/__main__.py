"""``python -m bench [names...]``: run the benchmarks and print one table."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench import (
    alerts,
    first_start,
    forecast,
    ingest,
    noise,
    notify_latency,
    optimize,
    overhead,
    pages,
    process,
    promql,
    query,
    scrape,
    storage,
)
from bench.common import Row

SUITES = {
    "ingest": ingest.run,
    "storage": storage.run,
    "query": query.run,
    "overhead": overhead.run,
    "pages": pages.run,
    "alerts": alerts.run,
    "latency": notify_latency.run,
    "process": process.run,
    "noise": noise.run,
    "scrape": scrape.run,
    "promql": promql.run,
    "optimize": optimize.run,
    "forecast": forecast.run,
    "first-start": first_start.run,
}


OPT_IN = {"noise", "first-start"}  # minutes long: run by name (`python -m bench noise`)


def main(argv: list[str]) -> int:
    names = argv or [n for n in SUITES if n not in OPT_IN]
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(SUITES)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="pulse-bench-") as tmp:
        for name in names:
            t0 = time.perf_counter()
            rows += SUITES[name](Path(tmp))
            print(f"[{name}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
    header = Row("benchmark", "figure", "ratio / baseline (same run)", "target", "")
    table = [header, *rows]
    widths = [max(len(getattr(r, f)) for r in table) for f in ("name", "value", "ratio", "target", "verdict")]
    print(
        time.strftime("MCP Pulse benchmarks, %Y-%m-%d, ") + f"{sys.platform}, python {sys.version.split()[0]}"
    )
    for r in table:
        cells = (r.name, r.value, r.ratio, r.target, r.verdict)
        print(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
