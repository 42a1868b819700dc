"""``pulse recommend``: right-sizing, idle, consolidation and regression recommendations with
their evidence and risk columns, as a table, CSV (neutralised) or JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.kernel.errors import ConfigError
from core.kernel.settings import Settings
from core.kernel.times import parse_time_ms


def cmd_recommend(args: argparse.Namespace, settings: Settings) -> int:
    import polars as pl

    from core.kernel.csvsafe import safe_frame, to_csv_bytes
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
    store = open_store(settings)
    filters = Filters(teams=(args.team,) if args.team else ())
    kinds = KINDS if args.kind is None else (args.kind,)
    at = parse_time_ms(args.at, store.now_ms())
    frames = {k: recommendations(store, at, k, opt, filters) for k in kinds}
    if args.format == "json":
        out = {k: df.to_dicts() for k, df in frames.items()}
        json.dump(out if args.kind is None else out[args.kind], sys.stdout, indent=1, default=str)
        print()
    elif args.format == "csv":
        for k, df in frames.items():
            if args.kind is None:
                print(f"# {k}")
            sys.stdout.write(to_csv_bytes(df).decode())
    else:
        with pl.Config(tbl_rows=args.limit, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=60):
            for k, df in frames.items():
                print(f"{k}: {df.height} row(s)")
                if not df.is_empty():
                    print(safe_frame(df))
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--team", default=None, help="only this team's servers")
    p.add_argument("--kind", default=None, choices=["rightsizing", "idle", "consolidation", "regression"])
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.add_argument("--strategy", default="simple-limit", help="simple, simple-limit or memory-percentile")
    p.add_argument("--window-days", type=float, default=14, help="usage history read (default 14)")
    p.add_argument(
        "--at", default="now", help="end of the history read: now, now-1d, ISO 8601 or Unix seconds"
    )
    p.add_argument("--limit", type=int, default=50, help="rows printed per table")
    p.set_defaults(func=cmd_recommend)
