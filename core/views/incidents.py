"""The Incidents view: the list, one incident's detail (alerts, timeline, action items), the acts
people take on it, MTTA/MTTR and the post-incident report. Thin over IncidentService."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import polars as pl

from core.incidents.plan import root_alert
from core.incidents.priority import impact_of
from core.incidents.report_charts import chart_data
from core.incidents.report_export import alerts_csv, timeline_csv, to_markdown
from core.incidents.service import IncidentService
from core.kernel.records.incidents import Event, Impact, IncidentDetail
from core.views import ALL, Filters
from core.views.alerts import visible
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


def as_seen_by(d: IncidentDetail, teams: frozenset[str] | None, hosts: frozenset[str]) -> IncidentDetail:
    """The incident as a user scoped to ``teams`` (None: every team) sees it.

    Alerts correlate across teams (two teams' servers on one host make one incident); a user sees
    only its alerts they may see on the Alerts page (``core.views.alerts.visible``: their teams',
    and team-less ones of ``hosts``, the hosts that run their teams' servers) and the timeline lines
    of those alerts. Its title, teams, servers, hosts, users and alert counts are recomputed from
    them, so no other team's name shows; severity, priority and state stay the incident's (everyone
    works the same incident).
    """
    if teams is None:
        return d
    shown = tuple(a for a in d.alerts if visible(a.labels, teams, hosts))
    if len(shown) == len(d.alerts) and set(d.incident.teams) <= teams:
        return d
    inc = d.incident
    named = impact_of(a.labels for a in shown)
    # a host alert affects the servers of every team on the host: of those, only the user's teams
    impact = Impact(
        named.users, tuple(sorted(set(named.teams) | (set(inc.teams) & teams))), named.servers, named.hosts
    )
    inc = replace(
        inc,
        title=root_alert(shown).summary if shown else f"Incident {inc.id if inc.id is not None else inc.key}",
        impact=impact,
        labels={k: v for k, v in inc.labels.items() if shown and all(a.labels.get(k) == v for a in shown)},
        alert_count=len(shown),
        firing_count=sum(a.state == "firing" for a in shown),
    )
    events = tuple(_as_seen(e) for e in d.events if _event_visible(e, teams, hosts))
    return replace(d, incident=inc, alerts=shown, events=events)


_TEAM_IN_KEY = re.compile(r'team="((?:[^"\\]|\\.)*)"')


def _event_visible(e: Event, teams: frozenset[str], hosts: frozenset[str]) -> bool:
    """Timeline lines about one alert (fired, resolved) follow that alert; a notification follows
    the teams its group key names (a group of another team's alerts is theirs); the others
    (people's acknowledgements, notes, resolutions) are the incident's."""
    if e.kind == "notification":
        return set(_TEAM_IN_KEY.findall(str(e.data.get("group_key", "")))) <= teams
    labels = e.data.get("labels") if e.kind == "alert" else None
    return not isinstance(labels, dict) or visible(labels, teams, hosts)


def _as_seen(e: Event) -> Event:
    """A notification line without its group key (it may name servers and alerts of a group the
    user sees only in part); the text says the channel, the outcome and the count."""
    if e.kind != "notification" or "group_key" not in e.data:
        return e
    return replace(e, data={k: v for k, v in e.data.items() if k != "group_key"})


def _narrowed_rows(
    svc: IncidentService, df: pl.DataFrame, teams: frozenset[str], hosts: frozenset[str]
) -> pl.DataFrame:
    """The list's rows of incidents that touch another team or host, recomputed as ``as_seen_by``."""
    rows = df.to_dicts()
    for row in rows:
        if set(row["teams"]) <= teams and set(row["host_names"]) <= hosts:
            continue
        inc = as_seen_by(svc.get(int(row["id"])), teams, hosts).incident
        counts = inc.impact.counts()
        row.update(
            title=inc.title,
            teams=list(inc.impact.teams),
            alert_count=inc.alert_count,
            firing_count=inc.firing_count,
            users=counts["users"],
            servers=counts["servers"],
            hosts=counts["hosts"],
            server_names=list(inc.impact.servers),
            host_names=list(inc.impact.hosts),
        )
    return pl.DataFrame(rows, schema=df.schema)


def incident_list(
    svc: IncidentService,
    teams: frozenset[str] | None,
    states: tuple[str, ...] = (),
    since_ms: int | None = None,
    until_ms: int | None = None,
    filters: Filters = ALL,
    hosts: frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """Incidents the user may see (team scoping: incidents touching one of their teams, each as
    :func:`as_seen_by` shows it), opened in [since, until), touching the sidebar's filters."""
    df = svc.list(states=states, teams=sorted(teams or ()), since_ms=since_ms, until_ms=until_ms)
    if teams is not None and not teams:  # a user of no team sees no team's incidents
        df = df.head(0)
    if teams is not None and not df.is_empty():
        df = _narrowed_rows(svc, df, teams, hosts)
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


def detail_frames(
    svc: IncidentService,
    incident_id: int,
    teams: frozenset[str] | None = None,
    hosts: frozenset[str] = frozenset(),
) -> DetailFrames:
    """One incident's facts and frames as a user scoped to ``teams`` sees it (:func:`as_seen_by`)."""
    d = as_seen_by(svc.get(incident_id), teams, hosts)
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


def report_files(
    svc: IncidentService,
    incident_id: int,
    reader: Reader | None,
    teams: frozenset[str] | None = None,
    hosts: frozenset[str] = frozenset(),
) -> ReportFiles:
    """The post-incident report as Markdown (charts as value tables when a reader is given) and
    CSVs, of the incident as a user scoped to ``teams`` sees it (:func:`as_seen_by`)."""
    r = svc.report(incident_id, as_seen_by(svc.get(incident_id), teams, hosts))
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
