"""AppTest of Admin > Alert rules: the table of every rule with its source, a rule written as YAML
and saved (audited), refused with the line and field and nothing saved, previewed over stored
history with its chart, disabled and deleted; file rules read-only; a Prometheus file imported;
every other role refused by the page and by the seam."""

from __future__ import annotations

import json

import pytest

from core.access.policy import Principal
from core.alerts.rule_yaml import read_rule
from core.kernel.errors import PermissionDenied
from core.kernel.records.audit import AuditQuery
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.kernel.text import md_text
from core.seam import open_backend
from core.storage.repos.audit import AuditRepo
from core.storage.repos.ui_rules import UiRuleRepo
from core.storage.repos.users import UserRepo
from core.storage.tsdb import open_store
from pages import _keys as K
from tests.pages.conftest import AppFactory

PAGE = "pages/admin_rules.py"
NEW_RULE = "(a new rule)"
RULE = 'alert: GpuBusy\nquery: host_cpu_utilization_ratio{host="gpu-1"}\nthreshold: 0.9\nwindow: 5m\n'


def ui_rules(url: str) -> list:  # type: ignore[type-arg]
    store = open_store(load_settings(database_url=url))
    try:
        return UiRuleRepo(store.engine).all()
    finally:
        store.close()


def audit_actions(url: str) -> list[str]:
    store = open_store(load_settings(database_url=url))
    try:
        return [e.action for e in AuditRepo(store.engine).read(AuditQuery(object_kind="rule"))]
    finally:
        store.close()


def button(at, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def codes(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(c.value for c in at.code)


def test_admin_writes_saves_disables_and_deletes_a_rule(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, PAGE)
    assert not at.exception and at.title[0].value == "Alert rules"
    rows = at.dataframe[0].value.to_dict("records")
    assert {"source": "default pack", "group": "hosts", "alert": "HostCPUHigh"}.items() <= next(
        r for r in rows if r["alert"] == "HostCPUHigh"
    ).items()

    at.text_input(key=K.W_RULE_GROUP).set_value("gpu")
    at.text_area(key=K.W_RULE_YAML).set_value(RULE.replace("0.9", "lots")).run()
    button(at, "Save as a new rule").click().run()
    assert "rule:3: threshold: Input should be a valid number" in codes(at) and ui_rules(empty_url) == []

    at.text_area(key=K.W_RULE_YAML).set_value(RULE.replace("GpuBusy", "HostCPUHigh")).run()
    button(at, "Save as a new rule").click().run()
    assert "alert name 'HostCPUHigh' is already a rule of group 'hosts'" in codes(at)
    assert ui_rules(empty_url) == []

    at.text_area(key=K.W_RULE_YAML).set_value(RULE).run()
    button(at, "Save as a new rule").click().run()
    assert not at.exception and md_text("Rule saved.") in [s.value for s in at.success]
    [saved] = ui_rules(empty_url)
    assert (saved.group, saved.name, saved.author, saved.enabled) == ("gpu", "GpuBusy", "admin", True)
    row = next(r for r in at.dataframe[0].value.to_dict("records") if r["alert"] == "GpuBusy")
    assert (row["source"], row["state"], row["author"]) == ("UI", "ok", "admin")

    at.selectbox(key=K.W_RULE_PICK).set_value("UI · gpu/GpuBusy").run()
    assert at.text_area(key=K.W_RULE_YAML).value == RULE
    button(at, "Disable").click().run()
    assert not ui_rules(empty_url)[0].enabled
    at.selectbox(key=K.W_RULE_PICK).set_value("UI · gpu/GpuBusy").run()
    button(at, "Delete").click().run()
    assert ui_rules(empty_url) == []
    assert audit_actions(empty_url) == ["rule.delete", "rule.disable", "rule.create"]


def test_file_rules_are_read_only_and_preview_counts_firings(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, PAGE)
    at.selectbox(key=K.W_RULE_PICK).set_value("default pack · hosts/HostCPUHigh").run()
    assert any("read-only here; edit the file" in i.value for i in at.info)
    assert [b.label for b in at.button if b.label in ("Disable", "Delete")] == []
    at.text_area(key=K.W_RULE_YAML).set_value(RULE).run()
    button(at, "Preview").click().run()
    assert not at.exception
    [metric] = at.metric
    assert metric.label == "Would have fired in the last 7 days" and metric.value == "1 time"
    [chart] = at.get("plotly_chart")
    fig = json.loads(chart.proto.spec)
    assert fig["layout"]["shapes"][0]["type"] == "line"  # the threshold
    assert any(s.get("fillcolor") for s in fig["layout"]["shapes"][1:])  # the firing span
    assert fig["data"][0]["name"] == '{host="gpu-1"}'


def test_a_prometheus_file_is_imported_or_refused_whole(empty_url: str) -> None:
    backend = open_backend(load_settings(database_url=empty_url))
    try:
        admin = backend.console(Principal.of(UserRepo(backend.store.engine).get("admin")))  # type: ignore[arg-type]
        bad = admin.rules.import_prometheus(
            "x.yml", "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up ==\n"
        )
        assert bad.errors[0].startswith("x.yml:4: group 'a', rule 'A': expr: invalid PromQL")
        assert (
            admin.rules.import_prometheus(
                "x.yml", "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up == 0\n"
            ).errors
            == []
        )
        assert "alert: A" in admin.rules.export_prometheus()
    finally:
        backend.store.close()


@pytest.mark.parametrize("who", ["lead", "dev", "viewer"])
def test_other_roles_are_refused_by_the_page_and_the_seam(app: AppFactory, empty_url: str, who: str) -> None:
    at = app(empty_url, PAGE, user=who)
    assert any("may not open" in e.value for e in at.error)
    assert not at.dataframe and not at.text_area
    backend = open_backend(load_settings(database_url=empty_url))
    try:
        console = backend.console(Principal.of(UserRepo(backend.store.engine).get(who)))  # type: ignore[arg-type]
        for call in (
            lambda: console.rules.table(),
            lambda: console.rules.create("g", RULE),
            lambda: console.rules.preview(RULE),
            lambda: console.rules.export_prometheus(),
            lambda: console.rules.import_prometheus("x.yml", "groups: []"),
            lambda: console.rules.delete("g", "GpuBusy", 1),
        ):
            with pytest.raises(PermissionDenied):
                call()
    finally:
        backend.store.close()


def test_the_form_writes_the_yaml_that_is_saved(app: AppFactory, empty_url: str) -> None:
    store = open_store(load_settings(database_url=empty_url))
    store.write([Sample("host_disk_utilization_ratio", labels_of(host="a"), store.now_ms(), 0.5)])
    store.close()
    at = app(empty_url, PAGE)
    k = K.W_RULE_PREFIX
    at.text_input(key=k + "alert").set_value("DiskFull")
    at.selectbox(key=k + "metric").set_value("host_disk_utilization_ratio")
    at.number_input(key=k + "threshold").set_value(0.9)
    at.text_input(key=k + "team").set_value("core")
    at.text_input(key=k + "runbook").set_value("https://runbooks/disk")
    at.text_area(key=k + "annotations").set_value("summary={{ $labels.host }} is full")
    at.button(key="FormSubmitter:rules.form-Write YAML").click().run()
    assert not at.exception
    text = at.text_area(key=K.W_RULE_YAML).value
    assert text == (
        "alert: DiskFull\nquery: host_disk_utilization_ratio\nwindow: 5m\nop: '>'\nthreshold: 0.9\nfor: 5m\n"
        "severity: warning\nlabels:\n  team: core\nannotations:\n  summary: '{{ $labels.host }} is full'\n"
        "  runbook_url: https://runbooks/disk\n"
    )
    at.text_input(key=K.W_RULE_GROUP).set_value("disks").run()
    button(at, "Save as a new rule").click().run()
    [saved] = ui_rules(empty_url)
    assert (saved.group, saved.name, saved.rule_yaml) == ("disks", "DiskFull", text)
    assert at.selectbox(key=K.W_RULE_PICK).value == "UI · disks/DiskFull"  # the saved rule stays open


PROMQL_RULE = 'alert: GpuBusy\npromql: avg_over_time(host_cpu_utilization_ratio{host="gpu-1"}[5m]) > 0.9\n'


def test_a_promql_rule_is_previewed_over_history(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, PAGE)
    at.text_input(key=K.W_RULE_GROUP).set_value("gpu")
    at.text_area(key=K.W_RULE_YAML).set_value(PROMQL_RULE).run()
    button(at, "Preview").click().run()
    assert not at.exception and not at.info
    [metric] = at.metric
    assert metric.label == "Would have fired in the last 7 days" and metric.value == "1 time"
    assert any("expression evaluated every 60 s" in c.value for c in at.caption)
    [chart] = at.get("plotly_chart")
    fig = json.loads(chart.proto.spec)
    assert fig["data"][0]["name"].endswith('host="gpu-1"}') and fig["data"][0]["y"]
    assert [s["type"] for s in fig["layout"]["shapes"]] == ["rect"]  # the firing span, no threshold line

    at.text_area(key=K.W_RULE_YAML).set_value(PROMQL_RULE + "source: prom\n").run()
    button(at, "Preview").click().run()
    assert not at.metric and any("cannot be replayed" in i.value for i in at.info)
    at.text_area(key=K.W_RULE_YAML).set_value(RULE + "condition: forecast\n").run()
    button(at, "Preview").click().run()
    assert not at.metric and any("fits a model per evaluation" in i.value for i in at.info)


def test_a_group_interval_is_written_checked_saved_and_shown(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, PAGE)
    k = K.W_RULE_PREFIX
    at.text_input(key=k + "alert").set_value("QueueDeep")
    at.radio(key=k + "kind").set_value("PromQL")
    at.text_input(key=k + "expr").set_value("queue_depth > 100")
    at.text_input(key=k + "group_interval").set_value("0s")
    at.button(key="FormSubmitter:rules.form-Write YAML").click().run()
    assert at.text_area(key=K.W_RULE_YAML).value.endswith("group_interval: 0s\n")
    at.text_input(key=K.W_RULE_GROUP).set_value("queues").run()
    button(at, "Save as a new rule").click().run()
    assert "rule:5: group_interval: a duration from 1s to 1d (e.g. 30s, 2m), not '0s'" in codes(at)
    assert ui_rules(empty_url) == []

    at.text_area(key=K.W_RULE_YAML).set_value(
        at.text_area(key=K.W_RULE_YAML).value.replace("0s", "30s")
    ).run()
    button(at, "Save as a new rule").click().run()
    assert not at.exception and [r.name for r in ui_rules(empty_url)] == ["QueueDeep"]
    rows = at.dataframe[0].value.to_dict("records")
    assert next(r for r in rows if r["alert"] == "QueueDeep")["every"] == "30s"
    assert all(r["every"] for r in rows)  # the default pack's groups: their own, or "... (global)"
    assert at.text_area(key=K.W_RULE_YAML).value.endswith("group_interval: 30s\n")  # open in the editor

    at.selectbox(key=K.W_RULE_PICK).set_value(NEW_RULE).run()
    at.text_input(key=K.W_RULE_GROUP).set_value("queues")
    at.text_area(key=K.W_RULE_YAML).set_value(
        "alert: QueueOld\npromql: queue_age > 60\ngroup_interval: 1m\n"
    ).run()
    button(at, "Save as a new rule").click().run()
    [done] = at.success
    assert done.value.startswith(md_text("Rule saved. group_interval: group 'queues'"))
    assert md_text("the group runs every 30s, the shortest") in done.value


OPENED = (
    "alert: QueueDeep\nquery: host_load1{host=\"web-1\"}\nwindow: 10m\nop: '>='\nthreshold: 4.0\nfor: 2m\n"
    "severity: critical\nlabels:\n  team: core\n  tier: '1'\nannotations:\n  summary: deep\n"
    "  runbook_url: https://runbooks/queue\ngroup_interval: 30s\n"
)


def test_an_opened_rule_fills_the_form_and_an_edit_keeps_its_group_interval(
    app: AppFactory, empty_url: str
) -> None:
    at = app(empty_url, PAGE)
    at.text_input(key=K.W_RULE_GROUP).set_value("queues")
    at.text_area(key=K.W_RULE_YAML).set_value(OPENED).run()
    button(at, "Save as a new rule").click().run()
    assert not at.exception and [r.name for r in ui_rules(empty_url)] == ["QueueDeep"]
    k = K.W_RULE_PREFIX
    at.selectbox(key=K.W_RULE_PICK).set_value(NEW_RULE).run()
    assert at.text_input(key=k + "group_interval").value == "" and at.text_input(key=k + "alert").value == ""
    at.selectbox(key=K.W_RULE_PICK).set_value("UI · queues/QueueDeep").run()
    assert not at.exception
    shown = {
        name: at.text_input(key=k + name).value
        for name in ("alert", "window", "for", "group_interval", "team", "runbook")
    }
    assert shown == {"alert": "QueueDeep", "window": "10m", "for": "2m", "group_interval": "30s",
                     "team": "core", "runbook": "https://runbooks/queue"}  # fmt: skip
    assert at.selectbox(key=k + "metric").value == 'host_load1{host="web-1"}'
    assert (at.selectbox(key=k + "op").value, at.number_input(key=k + "threshold").value) == (">=", 4.0)
    assert at.selectbox(key=k + "severity").value == "critical" and at.radio(key=k + "kind").value == "Metric"
    assert at.text_area(key=k + "labels").value == "tier=1"
    assert at.text_area(key=k + "annotations").value == "summary=deep"
    at.number_input(key=k + "threshold").set_value(6.0)
    at.button(key="FormSubmitter:rules.form-Write YAML").click().run()
    assert "threshold: 6.0" in at.text_area(key=K.W_RULE_YAML).value
    button(at, "Save").click().run()
    assert not at.exception
    [saved] = ui_rules(empty_url)
    assert "group_interval: 30s" in saved.rule_yaml and "threshold: 6.0" in saved.rule_yaml
    edited, expected = (
        read_rule(saved.rule_yaml),
        read_rule(OPENED.replace("threshold: 4.0", "threshold: 6.0")),
    )
    assert (edited.rule, edited.interval_s) == (expected.rule, 30.0)  # every other value kept
    assert at.text_input(key=k + "group_interval").value == "30s"  # reopened after the save


def test_an_opened_file_rule_names_what_the_form_cannot_hold(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, PAGE)
    at.selectbox(key=K.W_RULE_PICK).set_value("default pack · hosts/HostDown").run()
    k = K.W_RULE_PREFIX
    assert (at.text_input(key=k + "alert").value, at.text_input(key=k + "group_interval").value) == (
        "HostDown",
        "1m",
    )
    assert any("no field for over of the rule" in c.value for c in at.caption), [c.value for c in at.caption]


def test_the_recording_rules_of_the_files_are_counted(
    app: AppFactory, empty_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "records.yml"
    path.write_text(
        "groups:\n  - name: r\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n"
    )
    monkeypatch.setenv("PULSE_ALERTING__PROMETHEUS_RULE_FILES", json.dumps([{"path": str(path)}]))
    at = app(empty_url, PAGE)
    assert not at.exception
    assert "The rule files also hold 1 recording rules (not listed here)." in at.caption[0].value
