"""``pulse recommend``: right-sizing, idle, consolidation and regression recommendations with
their evidence and risk columns, as a table, CSV (neutralised) or JSON; ``--kind database`` gives
index advice for a PostgreSQL database (``core/cli/dbadvice.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.cli import dbadvice
from core.cli import recommend_lifecycle as lifecycle_cli
from core.kernel.errors import ConfigError
from core.kernel.settings import Settings
from core.kernel.times import parse_time_ms

# the table format of --kind database: what and why (the CSV and JSON have every column)
DATABASE_TABLE = (
    "status",
    "table",
    "columns",
    "calls",
    "mean_ms",
    "cost_before",
    "cost_after",
    "cost_cut",
    "risks",
    "reason",
)


def cmd_recommend(args: argparse.Namespace, settings: Settings) -> int:
    if args.action in lifecycle_cli.STATE_OF:
        return lifecycle_cli.cmd_mark(args, settings)
    if args.action == "impact":
        frame = lifecycle_cli.impact_frame(args, settings)
        if frame.is_empty():
            print("too early to tell: the window after it was applied is still too short")
            return 0
        return _print({"impact": frame}, args, "impact")
    if args.key is not None:
        raise ConfigError(f"{args.action} takes no key (impact, apply, dismiss, snooze and reopen do)")
    if args.action == "states":
        return _print({"states": lifecycle_cli.states_frame(settings)}, args, "states")
    return cmd_list(args, settings)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """The recommendations of one kind or all, each row with its key and recorded state."""
    import polars as pl

    from core.optimization.lifecycle import with_states
    from core.optimization.service import KINDS, OptimizationSettings, recommendations
    from core.optimization.settings import UsageSettings
    from core.optimization.strategies import make_strategy
    from core.storage.tsdb import open_store
    from core.views import Filters

    try:
        opt = OptimizationSettings(
            strategy=make_strategy(args.strategy), usage=UsageSettings(window_days=args.window_days)
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    frames: dict[str, pl.DataFrame] = {}
    if args.kind != "database":
        store = open_store(settings)
        filters = Filters(teams=(args.team,) if args.team else ())
        kinds = KINDS if args.kind is None else (args.kind,)
        at = parse_time_ms(args.at, store.now_ms())
        frames = {k: recommendations(store, at, k, opt, filters) for k in kinds}
    if args.kind == "database" or (args.kind is None and (args.source or args.dsn)):
        dsn, timeout_s = dbadvice.dsn_of(args, settings)
        frames["database"] = dbadvice.database_rows(
            dsn, timeout_s, min_calls=args.min_calls, min_mean_ms=args.min_mean_ms
        )
    states = lifecycle_cli.states_frame(settings)
    frames = {k: with_states(k, df, states) for k, df in frames.items()}
    return _print(frames, args, args.kind)


def _print(frames: dict[str, Any], args: argparse.Namespace, only: str | None) -> int:
    import polars as pl

    from core.kernel.csvsafe import safe_frame, to_csv_bytes

    if args.format == "json":
        out = {k: df.to_dicts() for k, df in frames.items()}
        json.dump(out if only is None else out[only], sys.stdout, indent=1, default=str)
        print()
    elif args.format == "csv":
        for k, df in frames.items():
            if only is None:
                print(f"# {k}")
            sys.stdout.write(to_csv_bytes(df).decode())
    else:
        with pl.Config(tbl_rows=args.limit, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=60):
            for k, df in frames.items():
                print(f"{k}: {df.height} row(s)")
                if not df.is_empty():
                    print(
                        safe_frame(
                            df.select([c for c in ("key", "state", *DATABASE_TABLE) if c in df.columns])
                            if k == "database"
                            else df
                        )
                    )
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--team", default=None, help="only this team's servers")
    p.add_argument(
        "--kind", default=None, choices=["rightsizing", "idle", "consolidation", "regression", "database"]
    )
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.add_argument("--strategy", default="simple-limit", help="simple, simple-limit or memory-percentile")
    p.add_argument("--window-days", type=float, default=14, help="usage history read (default 14)")
    p.add_argument(
        "--at", default="now", help="end of the history read: now, now-1d, ISO 8601 or Unix seconds"
    )
    p.add_argument("--limit", type=int, default=50, help="rows printed per table")
    dbadvice.configure(p)
    lifecycle_cli.configure(p)
    p.set_defaults(func=cmd_recommend)
