"""Human-readable text of a notification, shared by Slack, email and PagerDuty.

The subject follows Alertmanager's default ``__subject`` template, so ``[FIRING:2] HostDown (host-1)``
reads the same whether it came from Alertmanager or from Pulse.
"""

from __future__ import annotations

import html

from core.kernel.records.alerts import Alert, Notification, rfc3339

_SEVERITY_RANK = {"critical": 0, "error": 1, "warning": 2, "info": 3}


def subject(n: Notification) -> str:
    """``[FIRING:<n>] <group label values> (<other common label values>)`` or ``[RESOLVED] ...``."""
    head = f"[FIRING:{len(n.firing)}]" if n.status == "firing" else "[RESOLVED]"
    group = " ".join(v for _, v in sorted(n.group_labels.items()))
    common = n.common_labels
    rest = {k: v for k, v in common.items() if k not in n.group_labels}
    tail = (
        f" ({' '.join(v for _, v in sorted(rest.items()))})"
        if len(common) > len(n.group_labels) and rest
        else ""
    )
    return f"{head} {group}{tail}".strip()


def highest_severity(alerts: list[Alert] | tuple[Alert, ...]) -> str:
    """The most severe ``severity`` label among ``alerts`` (warning when there is none)."""
    if not alerts:
        return "warning"
    return min((a.severity for a in alerts), key=lambda s: _SEVERITY_RANK.get(s, 2))


def title(a: Alert) -> str:
    """One line naming an alert: its summary, else its name and distinguishing labels."""
    summary = a.annotations.get("summary") or a.annotations.get("title")
    if summary:
        return summary
    labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k not in ("alertname", "severity"))
    return f"{a.name} ({labels})" if labels else a.name


def alert_text(a: Alert) -> str:
    """A plain-text block for one alert: title, description, labels, times, links."""
    lines = [f"[{a.status.upper()}] {title(a)}"]
    if a.annotations.get("description"):
        lines.append(a.annotations["description"])
    lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items())))
    when = f"Started: {rfc3339(a.starts_at_ms)}"
    if a.status == "resolved" and a.ends_at_ms is not None:
        when += f"  Ended: {rfc3339(a.ends_at_ms)}"
    lines.append(when)
    if a.value is not None:
        lines.append(f"Value: {a.value:g}")
    if a.annotations.get("runbook_url"):
        lines.append(f"Runbook: {a.annotations['runbook_url']}")
    if a.generator_url:
        lines.append(f"Source: {a.generator_url}")
    return "\n".join(lines)


def text_body(n: Notification) -> str:
    parts = [subject(n), ""]
    firing = n.firing
    resolved = [a for a in n.alerts if a.status == "resolved"]
    if firing:
        parts += [f"{len(firing)} firing:", ""] + [alert_text(a) + "\n" for a in firing]
    if resolved:
        parts += [f"{len(resolved)} resolved:", ""] + [alert_text(a) + "\n" for a in resolved]
    if n.truncated_alerts:
        parts.append(f"... and {n.truncated_alerts} more alert(s) not shown")
    if n.external_url:
        parts.append(f"Open in MCP Pulse: {n.external_url}")
    return "\n".join(parts).rstrip() + "\n"


def _alert_html(a: Alert) -> str:
    e = html.escape
    color = "#d63232" if a.status == "firing" else "#36a64f"
    rows = [f'<b style="color:{color}">[{e(a.status.upper())}]</b> <b>{e(title(a))}</b>']
    if a.annotations.get("description"):
        rows.append(e(a.annotations["description"]))
    rows.append(
        "<small>" + ", ".join(f"{e(k)}=<code>{e(v)}</code>" for k, v in sorted(a.labels.items())) + "</small>"
    )
    rows.append(f"<small>Started {e(rfc3339(a.starts_at_ms))}</small>")
    links = []
    if a.annotations.get("runbook_url"):
        links.append(f'<a href="{e(a.annotations["runbook_url"], quote=True)}">Runbook</a>')
    if a.generator_url:
        links.append(f'<a href="{e(a.generator_url, quote=True)}">Source</a>')
    if links:
        rows.append(" | ".join(links))
    return "<li>" + "<br>".join(rows) + "</li>"


def html_body(n: Notification) -> str:
    e = html.escape
    items = "".join(_alert_html(a) for a in n.alerts)
    more = f"<p>... and {n.truncated_alerts} more alert(s) not shown</p>" if n.truncated_alerts else ""
    link = f'<p><a href="{e(n.external_url, quote=True)}">Open in MCP Pulse</a></p>' if n.external_url else ""
    return (
        "<!DOCTYPE html><html><body>"
        f"<h2>{e(subject(n))}</h2><ul>{items}</ul>{more}{link}"
        "<p><small>Sent by MCP Pulse</small></p></body></html>"
    )
