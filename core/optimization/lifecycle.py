"""The states a recommendation goes through: open -> applied / dismissed / snoozed, and back to
open. Who, when and why are kept as append-only events (``core.storage.repos.recommendations``);
this module says which changes are allowed and what state an event leaves a recommendation in.
"""

from __future__ import annotations

import re

import polars as pl

from core.kernel.errors import PulseError
from core.kernel.records.recommendations import (
    RECOMMENDATION_STATES,
    RecommendationEvent,
    RecommendationState,
)

TRANSITIONS: dict[RecommendationState, frozenset[RecommendationState]] = {
    "open": frozenset({"applied", "dismissed", "snoozed"}),
    "snoozed": frozenset({"open", "applied", "dismissed"}),
    "applied": frozenset({"open"}),  # reopened: it was rolled back, or did not help
    "dismissed": frozenset({"open"}),
}
MAX_REASON = 2000
NO_TEAM_KINDS = frozenset({"database", "host", "consolidation"})  # about no team's server: admins mark them


class LifecycleError(PulseError):
    """A change of state that is not allowed; the message says why."""


def key_for(kind: str, subject: str) -> str:
    """The stable identity of a recommendation: its kind and what it is about."""
    return f"{kind}:{subject}"


def current(latest: RecommendationEvent | None, now_ms: int) -> RecommendationState:
    """The state ``latest`` leaves the recommendation in at ``now_ms`` (a snooze ends by itself)."""
    if latest is None:
        return "open"
    if latest.state == "snoozed" and latest.until_ms is not None and latest.until_ms <= now_ms:
        return "open"
    return latest.state


def check(
    before: RecommendationState, after: str, reason: str, until_ms: int | None, now_ms: int
) -> RecommendationState:
    """``after`` when the change from ``before`` is allowed, else LifecycleError saying why."""
    if after not in RECOMMENDATION_STATES:
        raise LifecycleError(f"unknown state {after!r}; choose from {', '.join(RECOMMENDATION_STATES)}")
    state: RecommendationState = after
    if state not in TRANSITIONS[before]:
        allowed = ", ".join(sorted(TRANSITIONS[before]))
        raise LifecycleError(f"a recommendation that is {before} can only become: {allowed}")
    if state == "dismissed" and not reason.strip():
        raise LifecycleError("say why it is dismissed: the reason is kept for whoever reads it next")
    if len(reason) > MAX_REASON:
        raise LifecycleError(f"the reason is {len(reason)} characters long; keep it under {MAX_REASON}")
    if state == "snoozed" and (until_ms is None or until_ms <= now_ms):
        raise LifecycleError("a snooze needs an end in the future")
    return state


# -- recommendation rows and their keys ------------------------------------------------------------
QUERYID = re.compile(r"/\* queryid (-?\d+) \*/\s*$")
SUBJECT_COLUMN = {"rightsizing": "server", "idle": "name", "consolidation": "host", "regression": "server"}


def database_subject(queryid: str | int, ddl: str) -> str:
    """An index advice's subject: its DDL with the statement it speeds up as an SQL comment, so the
    subject stays runnable text and the measured before/after knows which statement to follow."""
    return f"{ddl} /* queryid {queryid} */"


def queryid_of(subject: str) -> str | None:
    found = QUERYID.search(subject)
    return found.group(1) if found else None


def subjects(kind: str, rows: pl.DataFrame) -> pl.Expr:
    """The subject of each row of ``kind`` (null where a row recommends nothing to act on)."""
    if kind == "database":
        if not {"ddl", "queryid"} <= set(rows.columns):
            return pl.lit(None, pl.Utf8)
        return (
            pl.when(pl.col("ddl").fill_null("") != "")
            .then(pl.format("{} /* queryid {} */", pl.col("ddl"), pl.col("queryid")))
            .otherwise(None)
        )
    if kind == "idle" and "object" in rows.columns:  # sessions and hosts are not marked: their servers are
        return pl.when(pl.col("object") == "server").then(pl.col("name").cast(pl.Utf8)).otherwise(None)
    column = SUBJECT_COLUMN.get(kind)
    return pl.col(column).cast(pl.Utf8) if column in rows.columns else pl.lit(None, pl.Utf8)


def with_states(kind: str, rows: pl.DataFrame, states: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with ``key`` and ``state`` first: each row's recorded state, ``open`` without one."""
    if rows.is_empty() or not rows.columns:
        return rows
    keyed = rows.with_columns(pl.concat_str(pl.lit(f"{kind}:"), subjects(kind, rows)).alias("key"))
    latest = (
        states.select("key", "state")
        if not states.is_empty()
        else pl.DataFrame(schema={"key": pl.Utf8, "state": pl.Utf8})
    )
    out = keyed.join(latest, on="key", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("key").is_null())
        .then(None)
        .otherwise(pl.col("state").fill_null("open"))
        .alias("state")
    )
    return out.select("key", "state", *[c for c in rows.columns if c not in ("key", "state")])
