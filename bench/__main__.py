"""``python -m bench [names...]``: run the benchmarks and print one table."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench import (
    alerts,
    audit,
    bigtarget,
    capacity,
    common,
    compare,
    db_advice,
    first_start,
    forecast,
    ingest,
    load,
    noise,
    notify_latency,
    optimization_view,
    optimize,
    overhead,
    pages,
    process,
    promql,
    query,
    rss,
    rules,
    scrape,
    selfmon,
    settings,
    storage,
    takeover,
    usage,
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
    "optimization-view": optimization_view.run,
    "forecast": forecast.run,
    "capacity": capacity.run,
    "first-start": first_start.run,
    "db-advice": db_advice.run,
    "audit": audit.run,
    "rules": rules.run,
    "settings": settings.run,
    "selfmon": selfmon.run,
    "usage": usage.run,
    "compare": compare.run,
    "takeover": takeover.run,
    "load": load.run,
    "rss": rss.run,
    "bigtarget": bigtarget.run,
}


# minutes long: run by name (`python -m bench noise`)
OPT_IN = {"bigtarget", "noise", "first-start", "db-advice", "compare", "takeover", "overhead", "load", "rss"}


def _load_options(argv: list[str]) -> list[str]:
    """Take bench load's ``--browsers N`` and ``--ui-processes N`` and bench rss's ``--minutes N``
    and ``--warmup N`` out of ``argv``."""
    rest = list(argv)
    options = (
        ("--browsers", load, "BROWSERS", 0, load.SESSIONS),
        ("--ui-processes", load, "UI_PROCESSES", 1, 16),
        ("--minutes", rss, "MINUTES", 2, 24 * 60),
        ("--warmup", rss, "WARMUP", 1, 24 * 60),
    )
    for flag, module, attr, low, high in options:
        if flag in rest:
            at = rest.index(flag)
            value = rest[at + 1] if at + 1 < len(rest) else ""
            if not value.isdigit() or not low <= int(value) <= high:
                raise ValueError(f"{flag} takes a number ({low}-{high})")
            setattr(module, attr, int(value))
            del rest[at : at + 2]
    return rest


def main(argv: list[str]) -> int:
    if argv[:1] == ["compare"]:  # its own options: --quick, --json PATH, --scaling (see bench/compare.py)
        return compare.main(argv[1:])
    if "-h" in argv or "--help" in argv:  # also after a name: `python -m bench load --help`
        print(f"usage: python -m bench [NAME ...] [--quick]   (default: all but {', '.join(sorted(OPT_IN))})")
        print("       python -m bench load [--quick] [--browsers N] [--ui-processes N]   (see bench/load.py)")
        print("       python -m bench rss [--quick] [--minutes N] [--warmup N]   (see bench/rss.py)")
        print(
            "       python -m bench compare [--quick] [--json PATH]   (see --help)\n"
            "       python -m bench compare --scaling [--quick] [--json PATH]   (100 to 10,000 series)\n"
            f"names: {', '.join(SUITES)}"
        )
        return 0
    common.QUICK = "--quick" in argv  # short windows of the long benchmarks (overhead, load, optimize)
    argv = [a for a in argv if a != "--quick"]
    try:
        argv = _load_options(argv)
        rss.plan()  # --warmup shorter than --minutes
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
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
