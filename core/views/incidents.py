"""The Incidents view: the list, one incident's detail (alerts, timeline, action items), the acts
people take on it, MTTA/MTTR and the post-incident report. Thin over IncidentService."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.incidents.report_charts import chart_data
from core.incidents.report_export import alerts_csv, timeline_csv, to_markdown
from core.incidents.service import IncidentService
from core.kernel.records.incidents import IncidentDetail
from core.views import ALL, Filters
from core.views.scope import Reader

TS = pl.Datetime("ms", "UTC")
NO_TEAM = "(no team)"


def touching(df: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """Incidents whose impact touches the filters' teams, servers and hosts (each filter that is set)."""
    for col, wanted in (
        ("teams", filters.teams),
        ("server_names", filters.servers),
        ("host_names", filters.hosts),
    ):
        if wanted:
            df = df.filter(pl.col(col).list.eval(pl.element().is_in(list(wanted))).list.any())
    return df


def incident_list(
    svc: IncidentService,
    teams: frozenset[str] | None,
    states: tuple[str, ...] = (),
    since_ms: int | None = None,
    until_ms: int | None = None,
    filters: Filters = ALL,
) -> pl.DataFrame:
    """Incidents the user may see (team scoping: incidents touching one of their teams), opened in
    [since, until), touching the sidebar's filters."""
    df = svc.list(states=states, teams=sorted(teams or ()), since_ms=since_ms, until_ms=until_ms)
    if teams is not None and not teams:  # a user of no team sees no team's incidents
        df = df.head(0)
    return (
        touching(df, filters)
        .with_columns(
            pl.col("teams").list.join(", ").replace("", NO_TEAM).alias("teams"),
            *(
                pl.col(c).cast(TS).alias(c.removesuffix("_ms"))
                for c in ("opened_ms", "acked_ms", "resolved_ms")
            ),
        )
        .select(
            "id",
            "level",
            "title",
            "state",
            "severity",
            "teams",
            "assignee",
            "opened",
            "acked",
            "resolved",
            "firing_count",
            "alert_count",
            "servers",
            "hosts",
            "users",
            "priority",
        )
    )


@dataclass(frozen=True)
class DetailFrames:
    detail: IncidentDetail
    alerts: pl.DataFrame
    timeline: pl.DataFrame
    actions: pl.DataFrame


def detail_frames(svc: IncidentService, incident_id: int) -> DetailFrames:
    d = svc.get(incident_id)
    alerts = pl.DataFrame(
        [
            {
                "alertname": a.name,
                "severity": a.severity,
                "state": a.state,
                "host": a.labels.get("host"),
                "server": a.labels.get("server"),
                "team": a.labels.get("team"),
                "first": a.first_ms,
                "resolved": a.resolved_ms,
                "summary": a.annotations.get("summary"),
            }
            for a in d.alerts
        ],
        schema={
            "alertname": pl.Utf8,
            "severity": pl.Utf8,
            "state": pl.Utf8,
            "host": pl.Utf8,
            "server": pl.Utf8,
            "team": pl.Utf8,
            "first": pl.Int64,
            "resolved": pl.Int64,
            "summary": pl.Utf8,
        },
    ).with_columns(pl.col("first").cast(TS), pl.col("resolved").cast(TS))
    timeline = pl.DataFrame(
        [{"at": e.at_ms, "kind": e.kind, "actor": e.actor, "text": e.text} for e in d.events],
        schema={"at": pl.Int64, "kind": pl.Utf8, "actor": pl.Utf8, "text": pl.Utf8},
    ).with_columns(pl.col("at").cast(TS))
    actions = pl.DataFrame(
        [{"id": a.id, "text": a.text, "owner": a.owner, "done": a.done} for a in d.actions],
        schema={"id": pl.Int64, "text": pl.Utf8, "owner": pl.Utf8, "done": pl.Boolean},
    )
    return DetailFrames(d, alerts, timeline, actions)


@dataclass(frozen=True)
class ReportFiles:
    markdown: str
    timeline_csv: bytes
    alerts_csv: bytes


def report_files(svc: IncidentService, incident_id: int, reader: Reader | None) -> ReportFiles:
    """The post-incident report as Markdown (charts as value tables when a reader is given) and CSVs."""
    r = svc.report(incident_id)
    charts = [chart_data(reader, spec) for spec in r.charts] if reader is not None else None
    return ReportFiles(to_markdown(r, charts), timeline_csv(r), alerts_csv(r))


def mtta_mttr(
    svc: IncidentService, start_ms: int, end_ms: int, teams: frozenset[str] | None, filters: Filters = ALL
) -> pl.DataFrame:
    df = svc.mtta_mttr(start_ms, end_ms)
    for allowed in (teams, frozenset(filters.teams) if filters.teams else None):
        if allowed is not None and "team" in df.columns:
            df = df.filter(pl.col("team").is_in(sorted(allowed)))
    return df
