"""The ``pulse`` command line: up, collect, demo, db upgrade, query, users, sources."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.kernel.errors import ConfigError, PulseError
from core.kernel.malloc import tune_malloc
from core.kernel.settings import Settings, load_settings
from core.kernel.times import parse_duration_ms, parse_time_ms

if TYPE_CHECKING:
    from core.storage.tsdb import Store

ROOT = Path(__file__).resolve().parents[2]  # the project folder (app.py)


def _store(settings: Settings) -> Store:
    from core.storage.tsdb import open_store

    return open_store(settings)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from core.storage.engine import current_revision, make_engine, upgrade

    engine = make_engine(settings.url, settings.database)
    upgrade(engine, verbose=True)
    print(f"database schema at revision {current_revision(engine)}")
    return 0


def _alert_history(store: Store, settings: Settings, days: float, progress: bool) -> None:
    """The rules over the history just written: alerts, incidents and (unsent) notifications."""
    from core.runtime.backfill import backfill_demo_alerts

    print("evaluating the alert rules over the demo history ...", flush=True)
    started = time.perf_counter()
    report = backfill_demo_alerts(store, settings, days=days, progress=progress)
    if report is None:
        print("alert history: already evaluated")
        return
    print(
        f"alert history: {report.fired} alerts fired, {len(report.incidents)} incidents, "
        f"{len(report.notifications)} notifications recorded (not sent) "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from core.runtime.backfill import backfill_demo

    store = _store(settings)
    started = time.perf_counter()
    days = settings.demo.days if args.days is None else args.days
    n = backfill_demo(store, settings, days=days, progress=not args.quiet)
    rejected = ", ".join(f"{reason} {k:,}" for reason, k in sorted(store.writer.rejected_total.items()))
    print(
        f"demo: {n:,} samples of {days:g} days written in {time.perf_counter() - started:.1f} s"
        + (f" (rejected, by reason: {rejected})" if rejected else "")
    )
    _alert_history(store, settings, days, progress=not args.quiet)
    return 0


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    import polars as pl

    store = _store(settings)
    now = store.now_ms()
    df = store.select(
        args.selector,
        parse_time_ms(args.start, now),
        parse_time_ms(args.end, now),
        step_ms=parse_duration_ms(args.step) if args.step else None,
        over_time=args.over,
        across=args.across,
        by=tuple(args.by.split(",")) if args.by else (),
        quantile=args.quantile,
        resolution=args.resolution,
    )
    if args.csv:
        from core.kernel.csvsafe import to_csv_bytes

        if args.csv == "-":  # the usual spelling of standard output
            sys.stdout.buffer.write(to_csv_bytes(df))
            sys.stdout.flush()
            return 0
        try:
            Path(args.csv).write_bytes(to_csv_bytes(df))
        except OSError as exc:
            raise PulseError(f"cannot write the CSV file {args.csv!r}: {exc.strerror or exc}") from exc
        print(f"wrote {df.height} rows to {args.csv}")
    elif df.is_empty():
        print("no data: the selector matched no series in that range", file=sys.stderr)
    else:
        with pl.Config(tbl_rows=args.limit, tbl_cols=-1, tbl_width_chars=160):
            print(df)
    return 0


def cmd_collect(args: argparse.Namespace, settings: Settings) -> int:
    from core.runtime.daemon import run_daemon

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run_daemon(settings, stop, run_for_s=args.run_for, metrics_port=args.metrics_port)
    finally:  # when called in-process (tests), the caller's handlers come back
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    """The main job: schema, demo history when the store is empty, the collector daemon, the dashboard."""
    from core.cli.users import bootstrap
    from core.runtime.backfill import backfill_demo

    store = _store(settings)
    bootstrap(settings)  # the first admin, its password printed once
    if "demo" in settings.collectors and store.series_count() == 0:
        print(f"first start: writing {settings.demo.days:g} days of demo history ...", flush=True)
        started = time.perf_counter()
        backfill_demo(store, settings, compact=False)  # the daemon compacts it once it runs
        print(f"demo history written in {time.perf_counter() - started:.1f} s", flush=True)
        _alert_history(store, settings, settings.demo.days, progress=True)
    store.close()
    daemon = subprocess.Popen([sys.executable, "-m", "core.cli", "collect"], cwd=os.getcwd())
    try:
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(args.port),
        ]
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `pulse ... | head`: the reader left; end quietly as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush cannot fail again
        return 141  # 128 + SIGPIPE
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()


# the sub-commands defined in modules of their own: name -> help; each module has configure(parser)
SUBCOMMANDS = {
    "sources": "list the configured sources, or test one",
    "users": "manage dashboard users: list, add, reset-password, ...",
    "channels": "list notification channels, or send a test",
    "rules": "check rule files; export to / import from Prometheus",
    "recommend": "right-sizing, idle, consolidation, regression",
    "profile": "profile a Python process by PID, or a pulse command",
    "audit": "print the audit log: who changed what, when",
    "export": "write Grafana dashboards and provisioning files",
    "import": "backfill samples from a file: import openmetrics FILE",
    "forecast": "forecast series: interval, model, MASE, exhaustion",
    "snapshot": "write the CSV snapshots (usage, forecast, ...) now",
    "settings": "export the settings as one TOML file, or import one (audited)",
}
SUBCOMMAND_MODULES = {"import": "import_openmetrics"}


def _command_of(argv: Sequence[str] | None) -> str | None:
    """The sub-command named on the command line (the first word not an option), or None.

    Only that command's module is imported: each pulls in its own dependencies (bcrypt, plotly,
    the alert loader ...), seconds on a loaded machine that a daemon start should not pay."""
    words = sys.argv[1:] if argv is None else list(argv)
    return next((w for w in words if not w.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pulse", description="MCP Pulse: monitoring for the MCP Debug Host Platform"
    )
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="backfill demo data if empty, start collection and the dashboard")
    up.add_argument("--port", type=int, default=8501)
    up.set_defaults(func=cmd_up)
    col = sub.add_parser("collect", help="run the collectors on their schedule and serve /metrics")
    col.add_argument(
        "--metrics-port", type=int, default=None, help="port of /metrics (default from settings)"
    )
    col.add_argument("--run-for", type=float, default=None, metavar="SECONDS", help="stop after this long")
    col.set_defaults(func=cmd_collect)
    demo = sub.add_parser("demo", help="write N days of simulated platform history")
    demo.add_argument("--days", type=float, default=None, help="default: setting demo.days (7)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)
    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="create or upgrade the schema").set_defaults(func=cmd_db_upgrade)
    q = sub.add_parser("query", help="query stored samples; print a table or write CSV")
    q.add_argument("selector", help='e.g. host_cpu_utilization_ratio{host=~"host-0[12]"}')
    q.add_argument(
        "--start", default="now-1h", help="now-6h (or --start=-6h), ISO 8601 or Unix seconds (default now-1h)"
    )
    q.add_argument("--end", default="now")
    q.add_argument("--step", default=None, help="bucket width, e.g. 1m (default: automatic)")
    q.add_argument(
        "--over", default="avg", help="avg|min|max|sum|count|last|rate|increase|quantile over time"
    )
    q.add_argument("--across", default=None, help="avg|min|max|sum|count|quantile across series")
    q.add_argument("--by", default="", help="labels kept when aggregating across series, comma separated")
    q.add_argument("--quantile", type=float, default=0.95)
    q.add_argument("--resolution", default="auto", choices=["auto", "raw", "1m", "1h"])
    q.add_argument(
        "--csv", default=None, metavar="FILE", help="write CSV instead of printing ('-': to standard output)"
    )
    q.add_argument("--limit", type=int, default=20, help="rows to print")
    q.set_defaults(func=cmd_query)
    wanted = _command_of(argv)
    for name, help_text in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text)
        if wanted in (None, name):  # only the command run is imported: `pulse collect` starts fast
            importlib.import_module(f"core.cli.{SUBCOMMAND_MODULES.get(name, name)}").configure(sp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    tune_malloc()  # numpy's large temporaries reused, not faulted in anew (core/kernel/malloc.py)
    args = build_parser(argv).parse_args(argv)
    try:
        settings = load_settings()
        return int(args.func(args, settings))
    except PulseError as exc:
        # one line, whatever the driver's message holds; only the list of bad settings keeps its lines
        text = str(exc) if isinstance(exc, ConfigError) else " ".join(str(exc).split())
        print(f"pulse: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `pulse ... | head`: the reader left; end quietly as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush cannot fail again
        return 141  # 128 + SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
