"""``pulse import openmetrics FILE``: backfill an OpenMetrics / Prometheus text file into the store.

Takes what ``promtool tsdb create-blocks-from openmetrics`` takes: sample lines with timestamps
in seconds (``--ms``: milliseconds, Prometheus' text format), any number of points per series,
``# HELP``/``# TYPE``/``# UNIT`` lines, exemplars (dropped), ``# EOF``. Samples without a timestamp
(an exporter's page scraped once) need ``--at TIME``. The file is checked first: any malformed
line is reported as ``FILE:LINE: problem`` and nothing is imported (``--skip-malformed`` imports
the other lines and still lists the skipped ones). Then it is streamed into the store in batches
with a progress bar, compacting as it goes; samples the store refuses (older than the
out-of-order window behind a series' newest sample, in the future, over the cardinality guard)
are counted by reason. Exit status 0 when every sample was imported, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from core.kernel.errors import ConfigError
from core.kernel.exposition import Bad, Point, read_exposition
from core.kernel.samples import Sample, now_ms
from core.kernel.settings import Settings
from core.kernel.times import parse_time_ms

BATCH = 50_000
COMPACT_EVERY = 2_000_000  # samples between compactions: the head stays small on long files
SHOWN = 20  # malformed lines printed; the rest are counted


def _counted(lines: Iterator[str], read: list[int]) -> Iterator[str]:
    for line in lines:
        read[0] += len(line)
        yield line


def _points(path: Path, ms: bool, at_ms: int | None, read: list[int] | None = None) -> Iterator[Point | Bad]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            for item in read_exposition(f if read is None else _counted(f, read), ms):
                if isinstance(item, Point) and item.ts_ms is None:
                    if at_ms is None:
                        yield Bad(
                            item.line,
                            "sample without a timestamp (give --at TIME to stamp those)",
                            item.metric,
                        )
                        continue
                    item = Point(item.line, item.metric, item.labels, item.value, at_ms)
                yield item
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _report_bad(path: Path, bad: list[Bad], total: int) -> None:
    for b in bad:
        print(f"{path}:{b.line}: {b.problem}: {b.shown()}", file=sys.stderr)
    if total > len(bad):
        print(f"... and {total - len(bad):,} more malformed lines", file=sys.stderr)


def check(path: Path, ms: bool, at_ms: int | None) -> tuple[int, list[Bad], int]:
    """Samples, the first malformed lines, and how many lines are malformed."""
    samples, n_bad = 0, 0
    bad: list[Bad] = []
    for item in _points(path, ms, at_ms):
        if isinstance(item, Bad):
            n_bad += 1
            if len(bad) < SHOWN:
                bad.append(item)
        else:
            samples += 1
    return samples, bad, n_bad


def cmd_import_openmetrics(args: argparse.Namespace, settings: Settings) -> int:
    from core.storage.tsdb import open_store

    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    at_ms = parse_time_ms(args.at, now_ms()) if args.at else None
    started = time.perf_counter()
    if not args.skip_malformed:
        _samples, bad, n_bad = check(path, args.ms, at_ms)
        if n_bad:
            _report_bad(path, bad, n_bad)
            print(
                f"pulse import: {n_bad:,} malformed line(s) in {path}; nothing imported "
                "(fix them, or --skip-malformed to import the other lines)",
                file=sys.stderr,
            )
            return 1
    store = open_store(settings)
    accepted, rejected, n_skipped = 0, Counter[str](), 0
    skipped: list[Bad] = []
    series: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    batch: list[Sample] = []
    since_compact = 0
    bar = tqdm(
        total=path.stat().st_size,
        unit="B",
        unit_scale=True,
        desc=path.name,
        disable=args.quiet,
        file=sys.stderr,
    )

    def flush() -> None:
        nonlocal accepted, since_compact
        result = store.write(batch)
        accepted += result.accepted
        rejected.update(result.rejected)
        since_compact += len(batch)
        if since_compact >= COMPACT_EVERY:
            store.compact()
            since_compact = 0
        batch.clear()

    try:
        with bar:
            read = [0]  # characters read so far (bytes, for ASCII files)
            for item in _points(path, args.ms, at_ms, read):
                if isinstance(item, Bad):
                    n_skipped += 1
                    if len(skipped) < SHOWN:
                        skipped.append(item)
                    continue
                batch.append(Sample(item.metric, item.labels, item.ts_ms or 0, item.value))
                series.add((item.metric, item.labels))
                if len(batch) >= BATCH:
                    flush()
                    bar.update(min(bar.total, read[0]) - bar.n)
            if batch:
                flush()
            bar.update(bar.total - bar.n)
            store.compact()
    finally:
        store.close()
    if n_skipped:
        _report_bad(path, skipped, n_skipped)
    total = accepted + sum(rejected.values())
    why = ", ".join(f"{reason} {k:,}" for reason, k in sorted(rejected.items()))
    print(
        f"pulse import: {accepted:,} of {total:,} samples of {len(series):,} series imported from {path} "
        f"in {time.perf_counter() - started:.1f} s"
        + (f"; rejected by the store: {why}" if why else "")
        + (f"; {n_skipped:,} malformed line(s) skipped" if n_skipped else "")
    )
    return 0 if not rejected and not n_skipped else 1


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="format", required=True, metavar="FORMAT")
    om = sub.add_parser(
        "openmetrics",
        help="an OpenMetrics / Prometheus text file with timestamps (as promtool create-blocks-from takes)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    om.add_argument("file", help="the file to import")
    om.add_argument("--ms", action="store_true", help="timestamps are milliseconds (Prometheus text format)")
    om.add_argument(
        "--at", default=None, metavar="TIME", help="timestamp for samples without one: now, -1h, ISO 8601"
    )
    om.add_argument(
        "--skip-malformed", action="store_true", help="import the well-formed lines; list the malformed ones"
    )
    om.add_argument("--quiet", action="store_true", help="no progress bar")
    om.set_defaults(func=cmd_import_openmetrics)
