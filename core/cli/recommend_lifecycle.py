"""``pulse recommend apply|dismiss|snooze|reopen KEY`` and ``pulse recommend states``: the
recommendation lifecycle from the command line, through the same ``core.optimization.marks`` as the
Optimization page's Lifecycle tab (the same allowed changes, the same event history) and audited
like it, with the source ``cli`` and the operating-system user (``cli:<user>``) as the actor.

Whoever runs ``pulse`` can read the database, so the command acts with an admin's rights, as
``pulse users`` does. A key is ``<kind>:<subject>`` as ``pulse recommend --format json`` prints it
in its ``key`` column, e.g. ``rightsizing:srv-a``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from core.kernel.errors import ConfigError, QueryError
from core.kernel.settings import Settings
from core.kernel.times import fmt_utc, parse_duration_ms, parse_time_ms

if TYPE_CHECKING:
    import polars as pl

    from core.optimization.marks import Marks
    from core.storage.tsdb import Store

ACTIONS = ("list", "states", "impact", "apply", "dismiss", "snooze", "reopen")
STATE_OF = {"apply": "applied", "dismiss": "dismissed", "snooze": "snoozed", "reopen": "open"}
KINDS = ("rightsizing", "idle", "consolidation", "regression", "database")


def cli_marks(store: Store) -> Marks:
    """The lifecycle as the command line changes it: an admin named ``cli:<os user>``, audited
    with the source ``cli``."""
    from core.access.policy import Principal, Role
    from core.admin import audit
    from core.optimization.marks import Marks
    from core.storage.repos.recommendations import RecommendationRepo

    actor = audit.Actor.cli()

    def entry(action: str, oid: str, at: int, before: Any, after: Any) -> Any:
        return audit.entry(actor, action, oid, at, before, after)

    principal = Principal(actor.name, Role.ADMIN)
    return Marks(RecommendationRepo(store.engine), store, principal, store.now_ms, entry)


def split_key(key: str | None) -> tuple[str, str]:
    """``rightsizing:srv-a`` -> ("rightsizing", "srv-a"); ConfigError naming the problem otherwise."""
    if not key:
        raise ConfigError(
            "give the recommendation's key, e.g. rightsizing:srv-a (the key column of the list)"
        )
    kind, sep, subject = key.partition(":")
    if not sep or not subject.strip():
        raise ConfigError(f"key {key!r}: write it as <kind>:<subject>, e.g. rightsizing:srv-a")
    if kind not in KINDS:
        raise ConfigError(f"key {key!r}: unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    return kind, subject


def until_ms(text: str | None, now_ms: int) -> int | None:
    """``--until``: ``7d`` / ``+7d`` / ``now+7d`` from now, an ISO 8601 time or Unix seconds."""
    if text is None:
        return None
    t = text.strip()
    try:
        for prefix in ("now+", "+"):
            if t.startswith(prefix):
                return now_ms + parse_duration_ms(t[len(prefix) :])
        if t[:1].isdigit() and t[-1:].isalpha():  # "7d"
            return now_ms + parse_duration_ms(t)
        return parse_time_ms(t, now_ms)
    except (QueryError, ValueError) as exc:
        raise ConfigError(f"--until {text!r}: {exc}") from None


def cmd_mark(args: argparse.Namespace, settings: Settings) -> int:
    """Apply, dismiss, snooze or reopen one recommendation; prints what it recorded."""
    from core.kernel.errors import PulseError
    from core.storage.tsdb import open_store

    kind, subject = split_key(args.key)
    state = STATE_OF[args.action]
    if args.until is not None and state != "snoozed":
        raise ConfigError(f"--until is for snooze only, not {args.action}")
    store = open_store(settings)
    try:
        end = until_ms(args.until, store.now_ms())
        try:
            e = cli_marks(store).mark(kind, subject, state, args.reason or "", end)
        except PulseError as exc:
            raise ConfigError(f"{args.action} {args.key}: {exc}") from None
    finally:
        store.close()
    until = f" until {fmt_utc(e.until_ms)}" if e.until_ms is not None else ""
    print(f"{e.key} is now {e.state}{until} (by {e.username}, team {e.team or '-'})")
    return 0


def impact_frame(args: argparse.Namespace, settings: Settings) -> pl.DataFrame:
    """The measured before/after of an applied recommendation (``--window-hours`` each side)."""
    from core.kernel.errors import PulseError
    from core.optimization.impact import ImpactSettings
    from core.storage.tsdb import open_store

    split_key(args.key)
    from pydantic import ValidationError

    try:
        s = ImpactSettings(window_hours=args.window_hours)
    except ValidationError as exc:
        why = "; ".join(e["msg"] for e in exc.errors())
        raise ConfigError(f"--window-hours {args.window_hours:g}: {why}") from None
    store = open_store(settings)
    try:
        return cli_marks(store).impact(args.key, s)
    except PulseError as exc:
        raise ConfigError(f"impact {args.key}: {exc}") from None
    finally:
        store.close()


def states_frame(settings: Settings) -> pl.DataFrame:
    """Every recorded recommendation state (polars frame), newest first."""
    from core.storage.tsdb import open_store

    store = open_store(settings)
    try:
        return cli_marks(store).states()
    finally:
        store.close()


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=ACTIONS,
        help="list (default): the recommendations with their state; states: the recorded states; "
        "impact KEY: the measured before/after of an applied one; "
        "apply / dismiss / snooze / reopen KEY: change one's state",
    )
    p.add_argument(
        "key", nargs="?", default=None, help="impact/apply/dismiss/snooze/reopen: <kind>:<subject>"
    )
    p.add_argument("--window-hours", type=float, default=72, help="impact: hours compared before and after")
    p.add_argument("--reason", default=None, help="why (required to dismiss; kept with the event)")
    p.add_argument("--until", default=None, help="snooze: until when, e.g. 7d, now+12h, 2026-12-24T00:00:00Z")
