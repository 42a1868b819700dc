"""Exports of a post-incident report: Markdown (the whole report) and CSV (timeline, alerts).

Markdown cannot embed the interactive charts: each involved metric becomes a table of its lines
(min, max, value at the start and end of the impact window, and a text sparkline) when the chart
data is given, else the selector and window to open in Pulse. Table cells are escaped (``|``,
newlines, ``<``), so a note cannot break the layout or inject HTML. CSV goes through
``core.kernel.csvsafe.to_csv_bytes``: cells starting with ``=``, ``+``, ``-``, ``@`` are neutralised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl

from core.incidents.report import Report
from core.incidents.report_charts import ChartData
from core.kernel.csvsafe import to_csv_bytes
from core.kernel.units import fmt

SPARK = "▁▂▃▄▅▆▇█"
TS = pl.Datetime("ms", "UTC")


def ts(ms: int | None) -> str:
    if ms is None:
        return "–"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}h {m:02d}m {sec:02d}s" if h else f"{m}m {sec:02d}s"


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace("\r\n", " ")
        .replace("\n", " ")
        .replace("\r", " ")
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return out


def sparkline(values: Sequence[float | None]) -> str:
    nums = [v for v in values if v is not None]
    if not nums:
        return ""
    lo, hi = min(nums), max(nums)
    span = hi - lo or 1.0
    return "".join(" " if v is None else SPARK[int((v - lo) / span * (len(SPARK) - 1))] for v in values)


def _at(df: pl.DataFrame, ms: int) -> float | None:
    before = df.filter(pl.col("ts") <= datetime.fromtimestamp(ms / 1000, UTC))
    return None if before.is_empty() else before["value"][-1]


def _chart_lines(r: Report, data: ChartData) -> list[str]:
    spec = data.spec
    out = [f"### {spec.title}", "", f"`{spec.selector}` from {ts(spec.start_ms)} to {ts(spec.end_ms)}", ""]
    if data.error:
        return [*out, f"Not available: {data.error}", ""]
    if data.frame.is_empty():
        return [*out, "No samples in this window.", ""]
    rows = []
    for name in sorted(data.frame[spec.by].drop_nulls().unique().to_list()) or [None]:
        part = data.frame if name is None else data.frame.filter(pl.col(spec.by) == name)
        part = part.sort("ts")
        vals = part["value"].to_list()
        rows.append(
            [
                name or spec.title,
                fmt(part["value"].min(), spec.unit),  # type: ignore[arg-type]
                fmt(part["value"].max(), spec.unit),  # type: ignore[arg-type]
                fmt(_at(part, r.impact_start_ms), spec.unit),
                fmt(_at(part, r.impact_end_ms), spec.unit),
                sparkline(vals[-60:]),
            ]
        )
    header = [spec.by, "min", "max", "at impact start", "at impact end", "trend"]
    return [*out, *_table(header, rows), ""]


def to_markdown(r: Report, charts: Sequence[ChartData] | None = None) -> str:
    """The report as Markdown; ``charts`` (``chart_data`` of each spec) become tables of values."""
    i = r.incident
    lines = [f"# Incident {i.id if i.id is not None else i.key}: {cell(i.title)}", ""]
    lines += ["## Overview", ""]
    lines += _table(
        ["field", "value"],
        [
            ["key", i.key],
            ["state", i.state],
            ["severity", i.severity],
            ["priority", f"{r.level} ({i.priority:g})"],
            ["opened", ts(i.opened_ms)],
            ["acknowledged", f"{ts(i.acked_ms)} by {i.acked_by}" if i.acked_ms is not None else "–"],
            ["resolved", f"{ts(i.resolved_ms)} by {i.resolved_by}" if i.resolved_ms is not None else "–"],
            ["time to acknowledge", duration(r.time_to_acknowledge_s)],
            ["time to resolve", duration(r.time_to_resolve_s)],
            ["assignee", i.assignee or "–"],
            ["alerts", f"{i.alert_count} ({i.firing_count} firing)"],
        ],
    )
    end = "ongoing" if r.ongoing else ts(r.impact_end_ms)
    lines += [
        "",
        "## Impact window",
        "",
        f"From {ts(r.impact_start_ms)} to {end} ({duration(r.impact_duration_s)}).",
        "",
    ]
    lines += ["## Affected", ""]
    lines += _table(
        ["object", "count", "names"],
        [[k, len(v), ", ".join(v) or "–"] for k, v in r.impact.as_dict().items()],
    )
    lines += ["", "## Timeline", ""]
    lines += _table(
        ["time", "kind", "actor", "what"], [[ts(e.at_ms), e.kind, e.actor, e.text] for e in r.timeline]
    )
    lines += ["", "## Metrics", ""]
    if charts is None:
        lines += ["Charts are not embedded in Markdown; open the incident in Pulse to see them.", ""]
        lines += _table(
            ["metric", "from", "to"], [[str(c.selector), ts(c.start_ms), ts(c.end_ms)] for c in r.charts]
        )
        lines.append("")
    elif not charts:
        lines += ["No charted metrics: the alerts' rules name no Pulse selector.", ""]
    for data in charts or ():
        lines += _chart_lines(r, data)
    lines += ["## Contributing alerts", ""]
    lines += _table(
        ["alert", "severity", "state", "labels", "fired", "resolved", "summary"],
        [
            [
                a.name,
                a.severity,
                a.state,
                ", ".join(
                    f"{k}={v}" for k, v in sorted(a.labels.items()) if k not in ("alertname", "severity")
                ),
                ts(a.first_ms),
                ts(a.resolved_ms),
                a.summary,
            ]
            for a in r.alerts
        ],
    )
    lines += ["", "## Action items", ""]
    if r.actions:
        lines += [
            f"- [{'x' if a.done else ' '}] {cell(a.text)}" + (f" ({cell(a.owner)})" if a.owner else "")
            for a in r.actions
        ]
    else:
        lines.append("None recorded.")
    lines += ["", f"_Generated by MCP Pulse at {ts(r.generated_ms)}._", ""]
    return "\n".join(lines)


def timeline_frame(r: Report) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "time": [datetime.fromtimestamp(e.at_ms / 1000, UTC) for e in r.timeline],
            "kind": [e.kind for e in r.timeline],
            "actor": [e.actor for e in r.timeline],
            "text": [e.text for e in r.timeline],
            "data": [json.dumps(dict(e.data), sort_keys=True, default=str) for e in r.timeline],
        },
        schema={"time": TS, "kind": pl.Utf8, "actor": pl.Utf8, "text": pl.Utf8, "data": pl.Utf8},
    )


def timeline_csv(r: Report) -> bytes:
    """The timeline as injection-safe CSV: time (UTC ISO 8601), kind, actor, text, data (JSON)."""
    return to_csv_bytes(timeline_frame(r))


def alerts_csv(r: Report) -> bytes:
    """The contributing alerts as injection-safe CSV."""
    df = pl.DataFrame(
        {
            "alert": [a.name for a in r.alerts],
            "severity": [a.severity for a in r.alerts],
            "state": [a.state for a in r.alerts],
            "fingerprint": [a.fingerprint for a in r.alerts],
            "labels": [json.dumps(dict(a.labels), sort_keys=True) for a in r.alerts],
            "fired": [datetime.fromtimestamp(a.first_ms / 1000, UTC) for a in r.alerts],
            "resolved": [
                None if a.resolved_ms is None else datetime.fromtimestamp(a.resolved_ms / 1000, UTC)
                for a in r.alerts
            ],
            "summary": [a.summary for a in r.alerts],
        },
        schema={
            "alert": pl.Utf8,
            "severity": pl.Utf8,
            "state": pl.Utf8,
            "fingerprint": pl.Utf8,
            "labels": pl.Utf8,
            "fired": TS,
            "resolved": TS,
            "summary": pl.Utf8,
        },
    )
    return to_csv_bytes(df)
