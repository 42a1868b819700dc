"""Real community rule files (tests/core/alerts/rulefiles/community, verbatim) load as promtool
reads them: names Prometheus takes, empty files and groups, `for: 0`, one alert name per
severity, one group name in several files."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from core.alerts.loader import check_rules, load_rules, parse_rules
from core.alerts.local_promql import local_promql
from core.alerts.remote_promql import promql_reader
from core.alerts.rule_engine import AlertEngine, rule_key
from core.alerts.rules import RuleGroup
from core.kernel.errors import ConfigError
from core.kernel.settings import Settings, load_settings
from core.storage.tsdb import Store
from tests.conftest import FakeClock
from tests.core.alerts.test_rule_engine import put

COMMUNITY = Path(__file__).parent / "rulefiles" / "community"
FILES = sorted(p for p in COMMUNITY.rglob("*") if p.suffix in (".yml", ".yaml"))


def _promtool_count(path: Path) -> int:
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = re.search(r"SUCCESS: (\d+) rules found", done.stdout)
    assert found, done.stdout
    return int(found.group(1))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(COMMUNITY)))
def test_every_file_loads_with_promtools_rule_count(path: Path) -> None:
    rs = check_rules(path.read_text(), str(path))
    assert rs.errors == []
    assert rs.rules + rs.recording == _promtool_count(path)


def _settings(tmp_path: Path, files: list[Path]) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{tmp_path}/p.db",
        data_dir=tmp_path,
        alerting={"prometheus_rule_files": [{"path": str(p)} for p in files]},
    )


def test_a_group_name_of_several_files_is_qualified_by_the_shortest_distinct_path(tmp_path: Path) -> None:
    caddy, cert = (
        COMMUNITY / "awesome/caddy/embedded-exporter.yml",
        COMMUNITY / "awesome/cert-manager/embedded-exporter.yml",
    )
    rs = load_rules(_settings(tmp_path, FILES))
    names = [g.name for g in rs.groups]
    assert len(names) == len(set(names))
    assert "EmbeddedExporter (caddy/embedded-exporter.yml)" in names
    assert "EmbeddedExporter (cert-manager/embedded-exporter.yml)" in names
    assert rs.files["EmbeddedExporter (caddy/embedded-exporter.yml)"] == str(caddy)
    assert rs.files["EmbeddedExporter (cert-manager/embedded-exporter.yml)"] == str(cert)
    assert "alertmanager.rules" in names  # a name of one file only is kept as it is
    keys = [rule_key(g.name, r) for g in rs.groups for r in g.rules]
    assert len(keys) == len(set(keys)) == rs.rules


def test_the_same_file_twice_is_still_refused(tmp_path: Path) -> None:
    jvm = COMMUNITY / "awesome/jvm-exporter.yml"
    with pytest.raises(ConfigError, match="rule group 'JvmExporter .*' is already defined in"):
        load_rules(_settings(tmp_path, [jvm, jvm]))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('      - alert: ""\n', "alert name is empty"),
        ('      - alert: "  "\n', "alert name is empty"),
        ('      - alert: "Disk\\nFull"\n', "alert name 'Disk\\nFull' holds a control character"),
    ],
)
def test_alert_names_refused_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_rules("groups:\n  - name: g\n    rules:\n" + text + "        expr: up == 0\n", "r.yml")
    assert "r.yml:4" in str(err.value) and problem in str(err.value)


def test_rules_of_one_name_per_severity_are_evaluated_apart(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    text = """groups:
  - name: g
    rules:
      - alert: "CpuHigh(>80%)"
        expr: cpu > 0.8
        labels: {severity: warning}
      - alert: "CpuHigh(>80%)"
        expr: cpu > 0.9
        for: 0
        labels: {severity: critical}
"""
    (group,) = parse_rules(text, "r.yml", prometheus_source="pulse").groups
    warning, critical = group.rules
    assert (warning.ordinal, critical.ordinal) == (0, 1)
    assert rule_key("g", warning) == "g/CpuHigh(>80%)" and rule_key("g", critical) == "g/CpuHigh(>80%)#2"
    store = make_store()
    put(store, "cpu", lambda t: 0.85, 5, host="a")
    put(store, "cpu", lambda t: 0.95, 5, host="b")
    engine = AlertEngine(
        store,
        store.engine,
        [RuleGroup(name="g", rules=group.rules)],
        promql_reader([], local_promql(store)),
        clock=clock,
    )
    assert not engine.evaluate("g").errors
    fired = {
        (r.severity, s.labels["host"])
        for r in (warning, critical)
        for s in engine.states[rule_key("g", r)].values()
    }
    assert fired == {("warning", "a"), ("warning", "b"), ("critical", "b")}
