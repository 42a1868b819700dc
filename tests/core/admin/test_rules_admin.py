"""UI alert rules as an admin changes them (SQLite and PostgreSQL): refused with every reason and
nothing saved, clashes with file rules refused, each change audited with before and after, the
merge the daemon loads, and a Prometheus rule file imported all or nothing."""

from __future__ import annotations

import pytest
import yaml

from core.admin.audit import Actor
from core.admin.rules import RuleAdmin, RuleRefused
from core.alerts.promexport import export_rules
from core.alerts.ui_rules import UI_ORIGIN, load_with_ui_rules
from core.kernel.records.audit import AuditQuery
from core.kernel.settings import load_settings
from core.storage.repos.audit import AuditRepo
from core.storage.repos.ui_rules import UiRuleRepo
from core.storage.tsdb import Store

RULE = "alert: QueueDeep\nquery: queue_depth\nthreshold: 100\nfor: 5m\nannotations:\n  runbook_url: https://r/q\n"
PROM = """groups:
  - name: imported
    interval: 30s
    rules:
      - alert: ApiDown
        expr: up{job="api"} == 0
        for: 1m
        labels: {severity: critical}
      - record: job:up:sum
        expr: sum(up)
"""
BAD_PROM = """groups:
  - name: imported
    rules:
      - alert: Fine
        expr: up == 0
      - alert: Broken
        expr: sum(up
      - alert: HostCPUHigh
        expr: up == 0
"""


@pytest.fixture
def admin(store: Store) -> RuleAdmin:
    settings = load_settings(database_url="sqlite://", collectors=[])
    return RuleAdmin(UiRuleRepo(store.engine), settings, Actor("ada"), store.now_ms)


def test_create_edit_disable_delete_each_audited(admin: RuleAdmin, store: Store) -> None:
    made = admin.create("queues", RULE)
    assert (made.group, made.name, made.author, made.revision) == ("queues", "QueueDeep", "ada", 1)
    edited = admin.update("queues", "QueueDeep", 1, "queues", RULE.replace("100", "200"), True)
    assert edited.revision == 2 and "threshold: 200" in edited.rule_yaml
    off = admin.set_enabled("queues", "QueueDeep", 2, False)
    assert off.revision == 3 and not off.enabled
    with pytest.raises(RuleRefused, match="changed or deleted by someone else"):
        admin.delete("queues", "QueueDeep", 2)  # started from an older revision
    admin.delete("queues", "QueueDeep", 3)
    assert admin.repo.all() == []

    log = AuditRepo(store.engine).read(AuditQuery(object_kind="rule"))
    assert [e.action for e in log] == ["rule.delete", "rule.disable", "rule.update", "rule.create"]
    assert all(e.actor == "ada" and e.object_id == "queues/QueueDeep" for e in log)
    assert log[3].before is None and log[3].after == {
        "group": "queues", "name": "QueueDeep", "rule_yaml": RULE, "enabled": True}  # fmt: skip
    assert log[2].note.startswith("rule_yaml: ")  # what changed
    assert log[1].before["enabled"] is True and log[1].after["enabled"] is False  # type: ignore[index]
    assert log[0].after is None and log[0].before["enabled"] is False  # type: ignore[index]


def test_refused_with_every_reason_and_nothing_saved(admin: RuleAdmin, store: Store) -> None:
    with pytest.raises(RuleRefused) as bad:
        admin.create(" ", "alert: X\nquery: g\nthreshold: high\n")
    assert bad.value.problems[0] == "group: enter the rule group's name"
    assert bad.value.problems[1].startswith("rule:3: threshold: Input should be a valid number")
    with pytest.raises(
        RuleRefused,
        match=r"alert name 'HostCPUHigh' is already a rule of group 'hosts' in .*default_rules.yml",
    ):
        admin.create("mine", "alert: HostCPUHigh\nquery: g\n")
    with pytest.raises(RuleRefused, match="group 'hosts' is defined in .*default_rules.yml"):
        admin.create("hosts", "alert: Mine\nquery: g\n")
    admin.create("mine", "alert: Mine\nquery: g\n")
    with pytest.raises(RuleRefused, match="exists already"):
        admin.create("mine", "alert: Mine\nquery: g\nthreshold: 2\n")
    assert [r.name for r in admin.repo.all()] == ["Mine"]
    assert len(AuditRepo(store.engine).read()) == 1


def test_the_daemon_loads_enabled_ui_rules_beside_the_files(admin: RuleAdmin, store: Store) -> None:
    admin.create("queues", RULE)
    admin.create("queues", "alert: Quiet\nquery: g\n", enabled=False)
    rs = load_with_ui_rules(admin.settings, admin.repo)
    ui = [g for g in rs.groups if rs.files[g.name] == UI_ORIGIN]
    assert [(g.name, [r.alert for r in g.rules]) for g in ui] == [("queues", ["QueueDeep"])]
    assert "hosts" in rs.files and rs.warnings == []
    # a UI rule a file rule now clashes with (turned up later) is left out with a warning
    admin.repo.add(
        [admin.repo.all()[0].__class__("x", "HostDown", "alert: HostDown\nquery: g\n", True, "a", 1)]
    )
    rs = load_with_ui_rules(admin.settings, admin.repo)
    assert "x" not in rs.files and rs.warnings[0].startswith(
        "UI rule x/HostDown left out: alert name 'HostDown'"
    )


def test_prometheus_import_all_or_nothing_with_file_and_line(admin: RuleAdmin, store: Store) -> None:
    bad = admin.import_prometheus("team.rules.yml", BAD_PROM)
    assert bad.records == [] and admin.repo.all() == []
    assert bad.errors[0].startswith("team.rules.yml:6: group 'imported', rule 'Broken': expr: invalid PromQL")
    again = admin.import_prometheus("team.rules.yml", BAD_PROM.replace("sum(up", "sum(up)"))
    assert (
        again.errors
        == [
            "team.rules.yml:8: group 'imported', rule 'HostCPUHigh': alert name 'HostCPUHigh' is already a rule"
            f" of group 'hosts' in {admin.files.files['hosts']}: choose another name (file rules are edited in"
            " their file)"
        ]
        and admin.repo.all() == []
    )

    ok = admin.import_prometheus("team.rules.yml", PROM)
    assert ok.errors == [] and [r.name for r in admin.repo.all()] == ["ApiDown"]
    assert any("1 recording rule(s) not imported: UI rules are alerting rules" in w for w in ok.warnings)
    assert not any("interval" in w for w in ok.warnings)
    stored = yaml.safe_load(admin.repo.all()[0].rule_yaml)
    assert stored == {
        "alert": "ApiDown", "promql": 'up{job="api"} == 0', "for": "1m", "severity": "critical",
        "group_interval": "30s",
    }  # fmt: skip
    assert AuditRepo(store.engine).read()[0].action == "rule.import"
    assert admin.import_prometheus("team.rules.yml", PROM).errors[0].endswith("exists already")


TWO_GROUPS = """groups:
  - name: fast
    interval: 15s
    rules:
      - alert: ApiDown
        expr: up{job="api"} == 0
      - alert: ApiSlow
        expr: api_latency_seconds > 1
  - name: usual
    rules:
      - alert: DiskFull
        expr: disk_ratio > 0.9
"""


def test_group_intervals_survive_import_and_export(admin: RuleAdmin, store: Store) -> None:
    """A group's interval is kept on import and written back on export; a group without one has
    none either way (it runs at the global interval, as in Prometheus)."""
    assert admin.import_prometheus("two.yml", TWO_GROUPS).errors == []
    rs = load_with_ui_rules(admin.settings, admin.repo)
    ui = {g.name: g.interval_s for g in rs.groups if rs.files[g.name] == UI_ORIGIN}
    assert ui == {"fast": 15, "usual": None} and rs.warnings == []
    exported = {g["name"]: g for g in yaml.safe_load(export_rules(rs.groups, "x"))["groups"]}
    assert exported["fast"]["interval"] == "15s" and [r["alert"] for r in exported["fast"]["rules"]] == [
        "ApiDown",
        "ApiSlow",
    ]
    assert "interval" not in exported["usual"]
    assert all("group_interval" not in r for g in exported.values() for r in g["rules"])

    # the export imported again (into other groups) gives the same intervals
    again = export_rules([g for g in rs.groups if rs.files[g.name] == UI_ORIGIN], "x")
    admin.repo.delete("fast", "ApiDown", 1)
    admin.repo.delete("fast", "ApiSlow", 1)
    admin.repo.delete("usual", "DiskFull", 1)
    assert admin.import_prometheus("again.yml", again).errors == []
    rs2 = load_with_ui_rules(admin.settings, admin.repo)
    assert {g.name: g.interval_s for g in rs2.groups if rs2.files[g.name] == UI_ORIGIN} == ui


def test_a_group_interval_is_validated_and_disagreements_are_named(admin: RuleAdmin, store: Store) -> None:
    for bad in ("0s", "500ms", "2d", "soon", "-5", "true"):
        with pytest.raises(RuleRefused) as exc:
            admin.create("queues", RULE + f"group_interval: {bad}\n")
        assert exc.value.problems == [
            f"rule:7: group_interval: a duration from 1s to 1d (e.g. 30s, 2m), not {yaml.safe_load(bad)!r}"
        ]
    assert admin.repo.all() == []
    admin.create("queues", RULE + "group_interval: 20s\n")
    other = "alert: QueueStuck\nquery: queue_age\nthreshold: 1\ngroup_interval: 1m\n"
    assert admin.check("queues", other).warnings == [
        "group_interval: group 'queues': its rules give different group_interval values (QueueDeep: 20s,"
        " QueueStuck: 1m); the group runs every 20s, the shortest: give them all the same one"
    ]
    admin.create("queues", other)
    rs = load_with_ui_rules(admin.settings, admin.repo)
    assert next(g for g in rs.groups if g.name == "queues").interval_s == 20
    assert rs.warnings == [
        "UI group queues: its rules give different group_interval values (QueueDeep: 20s, QueueStuck: 1m);"
        " the group runs every 20s, the shortest: give them all the same one"
    ]
    assert admin.check("queues", other.replace("1m", "20s"), ("queues", "QueueStuck")).warnings == []
