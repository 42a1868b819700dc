"""The Alerts view: current alerts by priority, why some are muted, a rule's history, actions.

The dashboard does not evaluate rules (``pulse collect`` does); it reads the alert states the
daemon keeps in the database, mutes them with the same silences and inhibition rules, and
orders them by priority (severity and impact). Team scoping: a team lead sees the alerts
labelled with their teams, and host alerts of the hosts that run their teams' servers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from core.alerts.inhibit import InhibitRule, inhibitor
from core.alerts.pipeline import to_alert
from core.alerts.silences import as_text, limit_to_teams, new_silence, silence_teams, silenced_by
from core.incidents.priority import alert_priority, level
from core.kernel.matchers import matches, parse_matchers
from core.kernel.records.alerts import Alert, AlertState
from core.kernel.records.audit import AuditEntry
from core.kernel.records.notifications import Silence
from core.kernel.settings.incidents import IncidentSettings
from core.storage import Database
from core.storage.repos.alert_states import load_states, read_transitions
from core.storage.repos.notifications import add_silence, expire_silence, list_silences

TS = pl.Datetime("ms", "UTC")
ALERT_SCHEMA: dict[str, Any] = {
    "priority": pl.Float64,
    "level": pl.Utf8,
    "alertname": pl.Utf8,
    "severity": pl.Utf8,
    "state": pl.Utf8,  # pending | firing | resolved
    "muted": pl.Utf8,  # why it is not notified ("silenced by ...", "inhibited by ..."), else null
    "team": pl.Utf8,
    "host": pl.Utf8,
    "server": pl.Utf8,
    "summary": pl.Utf8,
    "value": pl.Float64,
    "since": TS,  # pending: since it became active; firing: since it fired
    "labels": pl.Utf8,
    "rule": pl.Utf8,
    "fingerprint": pl.Utf8,
}
STATE_ORDER = {"firing": 0, "pending": 1, "resolved": 2}
IDENTITY = ("alertname", "host", "server", "gen_ai_tool_name", "mountpoint", "collector", "queue")


def visible(labels: Mapping[str, str], teams: frozenset[str] | None, hosts: frozenset[str]) -> bool:
    """May a user scoped to ``teams`` (None: every team) see an alert with these labels?"""
    if teams is None:
        return True
    if "team" in labels:
        return labels["team"] in teams
    return labels.get("host", "") in hosts


@dataclass(frozen=True)
class AlertsView:
    table: pl.DataFrame
    counts: Mapping[str, int]  # firing, pending, muted


def current_alerts(
    engine: Database,
    inhibit_rules: Sequence[InhibitRule],
    settings: IncidentSettings,
    now_ms: int,
    teams: frozenset[str] | None = None,
    hosts: frozenset[str] = frozenset(),
) -> AlertsView:
    states = [s for per in load_states(engine).values() for s in per.values()]
    silences = list_silences(engine, now_ms)
    firing = [a for s in states if s.state == "firing" and (a := to_alert(s)) is not None]
    rows = []
    for s in states:
        if not visible(s.labels, teams, hosts):
            continue
        rows.append(_row(s, firing, silences, inhibit_rules, settings, now_ms))
    df = pl.DataFrame(rows, schema={**ALERT_SCHEMA, "since": pl.Int64}, orient="row").with_columns(
        pl.col("since").cast(TS)
    )
    order = pl.col("state").replace_strict(STATE_ORDER, default=3, return_dtype=pl.Int64)
    df = df.sort([order, "priority", "since"], descending=[False, True, False])
    return AlertsView(df, counts_of(df))


def counts_of(table: pl.DataFrame) -> dict[str, int]:
    """Firing, pending and muted alerts of an alert table (after whatever filter the page applied)."""
    return {
        "firing": table.filter(pl.col("state") == "firing").height,
        "pending": table.filter(pl.col("state") == "pending").height,
        "muted": table.filter(pl.col("muted").is_not_null() & (pl.col("state") != "resolved")).height,
    }


def _row(
    s: AlertState,
    firing: list[Alert],
    silences: list[Silence],
    inhibit_rules: Sequence[InhibitRule],
    settings: IncidentSettings,
    now_ms: int,
) -> tuple[object, ...]:
    lb = s.labels
    muted = None
    if ids := silenced_by(silences, lb, now_ms):
        muted = "silenced by " + ", ".join(i[:8] for i in ids)
    elif (
        s.state == "firing"
        and (a := to_alert(s)) is not None
        and (src := inhibitor(inhibit_rules, a, firing))
    ):
        muted = f"inhibited by {src.name}" + (f" ({src.labels['host']})" if "host" in src.labels else "")
    score = alert_priority(lb, settings)
    since = s.fired_at_ms if s.state == "firing" and s.fired_at_ms is not None else s.active_at_ms
    shown = ", ".join(f"{k}={v}" for k, v in sorted(lb.items()) if k not in ("alertname", "severity"))
    return (
        round(score, 1),
        level(score, settings),
        lb.get("alertname", ""),
        lb.get("severity", ""),
        s.state,
        muted,
        lb.get("team"),
        lb.get("host"),
        lb.get("server"),
        s.annotations.get("summary"),
        s.value,
        since,
        shown,
        s.rule,
        s.fingerprint,
    )


def rule_history(
    engine: Database,
    rule: str,
    start_ms: int,
    end_ms: int,
    teams: frozenset[str] | None = None,
    hosts: frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """Transitions of one rule's alerts the user may see (newest first): when, labels, from, to, value."""
    df = read_transitions(engine, start_ms, end_ms, rule)
    if teams is not None:
        keep = [visible(json.loads(lb or "{}"), teams, hosts) for lb in df["labels"].to_list()]
        df = df.filter(pl.Series(keep, dtype=pl.Boolean))
    return (
        df.with_columns(pl.col("at_ms").cast(TS).alias("at"))
        .select("at", "from_state", "to_state", "value", "labels")
        .sort("at", descending=True)
    )


def silence_matchers(labels: Mapping[str, str]) -> list[str]:
    """Matchers that pick out this alert (its name and identifying labels), for a silence form."""
    return [f'{k}="{v}"' for k in IDENTITY if (v := labels.get(k))]


def create_silence(
    engine: Database,
    matchers: Iterable[str],
    minutes: float,
    author: str,
    comment: str,
    now_ms: int,
    teams: frozenset[str] | None = None,
    audit: Callable[[Silence], AuditEntry] | None = None,
) -> Silence:
    """Validate and store a silence starting now; ValueError says what to fix. A user scoped to
    ``teams`` (None: an admin) silences only their teams' alerts (``limit_to_teams``). ``audit``
    makes the audit entry of the new silence, written in the same transaction."""
    if not 1 <= minutes <= 30 * 24 * 60:
        raise ValueError("a silence lasts between 1 minute and 30 days")
    texts = list(matchers)
    if teams is not None:
        texts = as_text(limit_to_teams(parse_matchers(texts), teams))
    s = new_silence(texts, now_ms, now_ms + int(minutes * 60_000), author, comment, now_ms)
    add_silence(engine, s, audit(s) if audit is not None else None)
    return s


SILENCE_SCHEMA: dict[str, Any] = {
    "id": pl.Utf8,
    "state": pl.Utf8,
    "matchers": pl.Utf8,
    "starts": TS,
    "ends": TS,
    "created_by": pl.Utf8,
    "comment": pl.Utf8,
}


def silences_of(engine: Database, now_ms: int, teams: frozenset[str] | None = None) -> list[Silence]:
    """Silences active, scheduled or ended in the last day; a user scoped to ``teams`` sees those
    limited to one of their teams."""
    found = list_silences(engine, now_ms - 86_400_000)
    if teams is None:
        return found
    return [s for s in found if (own := silence_teams(s)) is not None and own & teams]


def silences_table(engine: Database, now_ms: int, teams: frozenset[str] | None = None) -> pl.DataFrame:
    rows = [
        (s.id, s.state(now_ms), s.matcher_text, s.starts_ms, s.ends_ms, s.created_by, s.comment)
        for s in silences_of(engine, now_ms, teams)
    ]
    schema = {**SILENCE_SCHEMA, "starts": pl.Int64, "ends": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        pl.col("starts").cast(TS), pl.col("ends").cast(TS)
    )


def end_silence(engine: Database, silence_id: str, now_ms: int, audit: AuditEntry | None = None) -> bool:
    return expire_silence(engine, silence_id, now_ms, audit)


def silence_preview(view: AlertsView, matchers: Iterable[str]) -> int:
    """How many of the alerts in ``view`` (already scoped to the user) a silence would match now."""
    parsed = parse_matchers(list(matchers))
    live = view.table.filter(pl.col("state") != "resolved")
    n = 0
    for shown, name, severity in live.select("labels", "alertname", "severity").iter_rows():
        labels = dict(p.split("=", 1) for p in str(shown).split(", ") if "=" in p)
        labels |= {"alertname": str(name), "severity": str(severity or "")}
        n += matches(parsed, labels)
    return n
