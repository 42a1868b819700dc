"""The post-incident report from a real store: sections, charts of the involved metrics, exports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import core.alerts
from core.alerts.loader import load_rule_file
from core.alerts.rules import rule_metrics
from core.incidents.report_charts import chart_data, figures
from core.incidents.report_export import alerts_csv, cell, sparkline, timeline_csv, to_markdown
from core.incidents.service import IncidentService
from core.kernel.samples import Sample, labels_of
from core.kernel.settings.incidents import IncidentSettings
from core.storage.tsdb import Store
from tests.conftest import T0_MS, FakeClock
from tests.core.incidents.conftest import MIN, fire, host_servers, resolved

METRICS = {"HostDown": "host_up", "McpServerDown": "mcp_server_up"}


def write_outage(store: Store, servers: list[dict[str, str]]) -> None:
    """host-04 and its servers down from T0 to T0 + 8 min, up before and after (15 s samples)."""
    out = []
    for t in range(T0_MS - 40 * MIN, T0_MS + 20 * MIN, 15_000):
        up = 0.0 if T0_MS <= t < T0_MS + 8 * MIN else 1.0
        out.append(Sample("host_up", labels_of(host="host-04"), t, up))
        out += [Sample("mcp_server_up", labels_of(**s), t, up) for s in servers]
    store.write(out)


def outage_report(store: Store, clock: FakeClock) -> tuple[IncidentService, int]:
    servers = host_servers("host-04")
    clock.now = (T0_MS + 20 * MIN) / 1000
    write_outage(store, servers)
    service = IncidentService(store.engine, IncidentSettings(report_padding_s=600), clock, metrics=METRICS)
    alerts = [fire("McpServerDown", T0_MS + i * 20_000, **s) for i, s in enumerate(servers)]
    alerts.append(fire("HostDown", T0_MS + MIN, host="host-04"))
    service.ingest(alerts, T0_MS + 2 * MIN)
    inc_id = int(service.list()["id"][0])
    clock.now = (T0_MS + 3 * MIN) / 1000
    service.acknowledge(inc_id, "ana")
    service.add_note(inc_id, "ana", '=HYPERLINK("http://evil.example","click") | pipes too')
    service.ingest([resolved(a, T0_MS + 8 * MIN) for a in alerts], T0_MS + 9 * MIN)
    service.add_action_item(inc_id, "Add a second power feed to host-04", owner="bo")
    done = service.add_action_item(inc_id, "Alert on PDU voltage")
    service.set_action_done(done.id or 0)
    clock.now = (T0_MS + 20 * MIN) / 1000
    return service, inc_id


def test_report_sections_window_and_charts(store: Store, clock: FakeClock) -> None:
    service, inc_id = outage_report(store, clock)
    r = service.report(inc_id)
    assert (r.impact_start_ms, r.impact_end_ms, r.ongoing) == (T0_MS, T0_MS + 8 * MIN, False)
    assert r.time_to_acknowledge_s == 180.0 and r.time_to_resolve_s == 480.0
    assert r.impact.counts() == {"users": 5, "teams": 3, "servers": 6, "hosts": 1}
    assert [(str(c.selector), c.by) for c in r.charts] == [
        ('mcp_server_up{host="host-04"}', "server"),
        ('host_up{host="host-04"}', "host"),
    ]
    assert (r.charts[0].start_ms, r.charts[0].end_ms) == (T0_MS - 10 * MIN, T0_MS + 18 * MIN)
    data = [chart_data(store, c) for c in r.charts]
    assert data[0].frame["server"].n_unique() == 6 and data[1].frame["value"].min() == 0.0
    figs = figures(store, r.charts, r.impact_start_ms, r.impact_end_ms)
    assert [len(f.data) for f in figs] == [6, 1]
    assert all(len(f.layout.shapes) == 1 for f in figs)  # the impact window, shaded

    md = to_markdown(r, data)
    for section in (
        "## Overview",
        "## Impact window",
        "## Affected",
        "## Timeline",
        "## Metrics",
        "## Contributing alerts",
        "## Action items",
    ):
        assert section in md
    assert md.startswith(f"# Incident {inc_id}: HostDown on host-04")
    assert "| time to acknowledge | 3m 00s |" in md and "| time to resolve | 8m 00s |" in md
    assert "From 2023-11-15 00:00:00 UTC to 2023-11-15 00:08:00 UTC (8m 00s)." in md
    assert "| teams | 3 | ml-infra, payments, platform |" in md
    assert "### mcp_server_up on host host-04" in md and "| browser-865f | 0 | 1 |" in md
    assert "\\| pipes too" in md  # a pipe in a note does not break the table
    assert "- [ ] Add a second power feed to host-04 (bo)" in md and "- [x] Alert on PDU voltage" in md
    omitted = to_markdown(r)
    assert "Charts are not embedded" in omitted and 'mcp_server_up{host="host-04"}' in omitted


def test_csv_exports_neutralise_formulas(store: Store, clock: FakeClock) -> None:
    service, inc_id = outage_report(store, clock)
    r = service.report(inc_id)
    rows = list(csv.DictReader(io.StringIO(timeline_csv(r).decode())))
    assert [row["kind"] for row in rows] == ["alert"] * 7 + ["ack", "note"] + ["alert"] * 7 + ["resolve"]
    note = next(row for row in rows if row["kind"] == "note")
    assert note["text"].startswith("'=HYPERLINK(")
    assert rows[0]["time"] == "2023-11-15T00:00:00.000Z"
    alerts = list(csv.DictReader(io.StringIO(alerts_csv(r).decode())))
    assert len(alerts) == 7 and {a["state"] for a in alerts} == {"resolved"}


def test_chart_specs_come_from_the_rule_files_and_failures_are_soft(store: Store, clock: FakeClock) -> None:
    groups = load_rule_file(Path(core.alerts.__file__).with_name("default_rules.yml")).groups
    metrics = rule_metrics(groups)
    assert metrics["HostDown"] == "host_up" and metrics["McpServerDown"] == "mcp_server_up"
    service, inc_id = outage_report(store, clock)
    service.metrics = {"HostDown": 'host_up{job=~"("}'}  # a broken selector: no chart, no crash
    assert service.report(inc_id).charts == ()


def test_markdown_helpers() -> None:
    assert cell("a|b\nc<script>") == "a\\|b c&lt;script>"
    assert sparkline([0, 0.5, 1, None]) == "▁▄█ "
    assert sparkline([]) == ""
