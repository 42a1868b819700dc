"""``pulse recommend --kind database``: index advice for a PostgreSQL database, from a configured
``postgres`` source (``--source NAME``) or a dsn (``--dsn``; ``PULSE_ADVICE_DSN`` keeps it out of
the shell history). Each row carries the statement, its calls and mean time, the planner's cost
before and after a hypothetical index (HypoPG), the index's estimated size and its risks.
"""

from __future__ import annotations

import argparse
import os

import polars as pl

from core.kernel.errors import ConfigError
from core.kernel.settings import Settings


def dsn_of(args: argparse.Namespace, settings: Settings) -> tuple[str, float]:
    """The dsn and timeout to advise on: ``--dsn`` / $PULSE_ADVICE_DSN or the ``--source``."""
    dsn = args.dsn or os.environ.get("PULSE_ADVICE_DSN")
    if dsn:
        return dsn, 10.0
    if args.source:
        src = next((s for s in settings.sources if s.name == args.source), None)
        if src is None or src.kind != "postgres":
            names = ", ".join(s.name for s in settings.sources if s.kind == "postgres") or "none configured"
            raise ConfigError(
                f"--source {args.source!r} is not a postgres source (postgres sources: {names})"
            )
        return src.dsn.get_secret_value(), float(src.timeout_s)
    raise ConfigError(
        "--kind database needs --source NAME (a postgres source) or --dsn (or $PULSE_ADVICE_DSN)"
    )


def database_rows(dsn: str, timeout_s: float, *, min_calls: int, min_mean_ms: float) -> pl.DataFrame:
    """Index advice rows for the database of ``dsn``; ConfigError when it cannot be checked."""
    from collectors.postgres_planner import PostgresPlanner
    from core.kernel.errors import CollectorError
    from core.optimization.database import database_frame
    from core.optimization.index_advice import IndexAdviceSettings

    try:
        settings = IndexAdviceSettings(min_calls=min_calls, min_mean_ms=min_mean_ms)
    except ValueError as exc:
        raise ConfigError(f"--min-calls / --min-mean-ms: {exc}") from exc
    try:
        with PostgresPlanner(dsn, timeout_s=timeout_s) as planner:
            if why := planner.missing():
                raise ConfigError(f"database advice: {why}")
            return database_frame(planner, settings)
    except CollectorError as exc:
        raise ConfigError(str(exc)) from None


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default=None, help="--kind database: the postgres source to advise on")
    p.add_argument("--dsn", default=None, help="--kind database: a libpq dsn or postgresql:// URL instead")
    p.add_argument(
        "--min-calls", type=int, default=5, help="--kind database: statements called fewer times are skipped"
    )
    p.add_argument(
        "--min-mean-ms", type=float, default=1.0, help="--kind database: statements faster are skipped"
    )
