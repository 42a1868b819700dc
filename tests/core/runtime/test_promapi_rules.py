"""``/api/v1/rules`` and ``/api/v1/alerts``: one Prometheus rule file evaluated by Pulse (on its own
store) and by Debian's Prometheus 2.42; the two APIs answer with the same shape, states, labels,
annotations and values. Team tokens see their teams' rules and alerts only."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.kernel.settings import Settings, load_settings
from core.runtime.alerting import AlertService
from core.runtime.promapi import ApiServer, start_api
from core.runtime.promapi_rules import go_float_e
from core.storage.tsdb import Store, open_store
from tests.core.runtime.test_promapi import ADMIN, TEAM_A, call
from tests.promstack import PROMETHEUS, Managed, free_port, require_binary

RULES = """\
groups:
  - name: api-shape
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels: {severity: critical, team: a}
        annotations: {summary: "value {{ $value }}"}
      - alert: PendingForAnHour
        expr: vector(0.25)
        for: 1h
        labels: {severity: warning, team: b}
      - alert: NeverFires
        expr: vector(1) < 0
        keep_firing_for: 5m
        labels: {severity: info, team: a}
  - name: second
    interval: 2s
    rules:
      - alert: Untagged
        expr: vector(1234.5)
        labels: {severity: warning}
  - name: recorded
    interval: 1s
    rules:
      - record: job:answer:sum
        expr: vector(42)
        labels: {team: a}
      - record: job:unlabelled
        expr: vector(7)
      - alert: RecordedSeen
        expr: job:answer:sum > 40
        labels: {severity: warning, team: a}
"""


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(RULES)
    return path


@pytest.fixture
def pulse(tmp_path: Path, rule_file: Path) -> Iterator[tuple[ApiServer, AlertService]]:
    tokens = [{"name": "admin", "token": ADMIN}, {"name": "team-a", "token": TEAM_A, "teams": ["a"]}]
    settings: Settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db",
        data_dir=tmp_path,
        api={"enabled": True, "port": 0, "tokens": tokens},
        alerting={
            "enabled": True,
            "default_rules": False,
            "prometheus_rule_files": [{"path": str(rule_file)}],
        },
    )
    store: Store = open_store(settings)
    service = AlertService(settings, store)
    server = start_api(settings.api, store, None, alerting=service)
    yield server, service
    server.stop()
    service.close()
    store.close()


@pytest.fixture
def prometheus(tmp_path: Path, rule_file: Path) -> Iterator[str]:
    require_binary(PROMETHEUS, "prometheus")
    root = tmp_path / "prom"
    root.mkdir()
    config = root / "prometheus.yml"
    config.write_text(f"global: {{evaluation_interval: 1s}}\nrule_files: [{rule_file}]\n")
    port = free_port()
    argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={root / 'data'}"]
    proc = Managed(
        argv + [f"--web.listen-address=127.0.0.1:{port}"], f"http://127.0.0.1:{port}/-/ready", root / "log"
    )
    proc.start()
    yield f"http://127.0.0.1:{port}"
    proc.stop()


def _prom(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=10) as resp:
        return json.load(resp)


def _evaluated(url: str) -> dict[str, Any]:
    """Prometheus' rules once every group has been evaluated (its first cycle runs within a second)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        data = _prom(url, "/api/v1/rules")["data"]
        if all(not g["lastEvaluation"].startswith("0001") for g in data["groups"]):
            return dict(data)
        time.sleep(0.2)
    raise AssertionError(f"Prometheus did not evaluate its rules in 20 s: {data}")


def _shape(value: Any) -> Any:
    """Keys and JSON types, recursively (lists: the distinct shapes of their elements, in any order)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(_shape(v), sort_keys=True) for v in value})
    return "number" if isinstance(value, int | float) else type(value).__name__


def _by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for g in data["groups"] for r in g["rules"]}


def test_rules_and_alerts_match_prometheus(pulse: tuple[ApiServer, AlertService], prometheus: str) -> None:
    server, service = pulse
    for name in service.groups:
        assert not service.evaluate(name).errors
    status, body = call(server, "/api/v1/rules")
    assert status == 200 and body["status"] == "success"
    ours, theirs = body["data"], _evaluated(prometheus)
    assert _shape(ours) == _shape(theirs)
    assert [(g["name"], g["interval"], g["limit"]) for g in ours["groups"]] == [
        (g["name"], g["interval"], g["limit"]) for g in theirs["groups"]
    ]
    assert {g["file"] for g in ours["groups"]} == {g["file"] for g in theirs["groups"]}
    mine, prom = _by_name(ours), _by_name(theirs)
    assert mine.keys() == prom.keys()
    for name, rule in prom.items():
        same = ("state", "query", "duration", "keepFiringFor", "labels", "annotations", "health", "type")
        assert mine[name].keys() == rule.keys(), name
        assert {k: mine[name][k] for k in same if k in rule} == {k: rule[k] for k in same if k in rule}, name
        drop = ("activeAt",)  # each evaluated at its own time
        assert [{k: v for k, v in a.items() if k not in drop} for a in mine[name].get("alerts", [])] == [
            {k: v for k, v in a.items() if k not in drop} for a in rule.get("alerts", [])
        ], name
        assert mine[name]["lastEvaluation"].endswith("Z") and mine[name]["evaluationTime"] >= 0
    status, alerts = call(server, "/api/v1/alerts")
    expected = _prom(prometheus, "/api/v1/alerts")["data"]
    assert status == 200 and _shape(alerts["data"]) == _shape(expected)

    def strip(d: dict[str, Any]) -> list[dict[str, Any]]:
        return sorted(
            ({k: v for k, v in a.items() if k != "activeAt"} for a in d["alerts"]),
            key=lambda a: sorted(a["labels"].items()),
        )

    assert strip(alerts["data"]) == strip(expected)


def test_team_token_sees_its_rules_and_alerts(pulse: tuple[ApiServer, AlertService]) -> None:
    server, service = pulse
    for name in service.groups:
        service.evaluate(name)
    _, body = call(server, "/api/v1/rules", token=TEAM_A)
    assert [(g["name"], [r["name"] for r in g["rules"]]) for g in body["data"]["groups"]] == [
        ("api-shape", ["AlwaysFiring", "NeverFires"]),
        ("recorded", ["job:answer:sum", "RecordedSeen"]),  # the unlabelled record is no team's
    ]
    _, alerts = call(server, "/api/v1/alerts", token=TEAM_A)
    assert [a["labels"]["alertname"] for a in alerts["data"]["alerts"]] == ["AlwaysFiring", "RecordedSeen"]
    _, everything = call(server, "/api/v1/alerts")
    assert {a["labels"]["alertname"] for a in everything["data"]["alerts"]} == {
        "AlwaysFiring",
        "PendingForAnHour",
        "Untagged",
        "RecordedSeen",
    }


def test_type_filter_and_bad_parameters(pulse: tuple[ApiServer, AlertService]) -> None:
    server, _service = pulse
    _, body = call(server, "/api/v1/rules?type=record")
    assert [(g["name"], [r["type"] for r in g["rules"]]) for g in body["data"]["groups"]] == [
        ("api-shape", []),
        ("recorded", ["recording", "recording"]),  # by file, then name, as Prometheus lists them
        ("second", []),
    ]
    _, body = call(server, "/api/v1/rules?type=alert")
    never = _by_name(body["data"])["NeverFires"]  # not evaluated yet
    assert (never["health"], never["lastEvaluation"], never["state"]) == (
        "unknown",
        "0001-01-01T00:00:00Z",
        "inactive",
    )
    status, err = call(server, "/api/v1/rules?type=both")
    assert status == 400 and err["errorType"] == "bad_data" and '"type"' in err["error"]
    assert call(server, "/api/v1/rules", token=None)[0] == 401


@pytest.mark.parametrize(
    ("value", "go"),
    [(1.0, "1e+00"), (0.25, "2.5e-01"), (1234.5, "1.2345e+03"), (-3e-7, "-3e-07"), (0.0, "0e+00")],
)
def test_values_as_go_formats_them(value: float, go: str) -> None:
    assert go_float_e(value) == go
    assert go_float_e(float("nan")) == "NaN" and go_float_e(float("inf")) == "+Inf"
