"""Pulse rules exported as Prometheus rules: promtool accepts them, and they mean what Pulse means.

Three levels: ``promtool check rules`` on every export (the default pack and one rule of every
condition and aggregation); golden PromQL for a few rules; and semantics, two ways: (1) one
synthetic history fed both to Pulse's engine (a real SQLite store) and to ``promtool test rules``
with the alerts Pulse fired as the expected alerts, minute by minute (threshold with hysteresis
and ``for``, ratios across series, change, absent, predict, anomaly); (2) a real Prometheus
scraping node-exporter, the exported expressions queried through its HTTP API and compared with
Pulse's evaluation of the same raw samples.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.alerts.conditions import Cycle, rule_values
from core.alerts.loader import load_rule_file, parse_rules
from core.alerts.promexport import duration, export_rules, number, selector, to_promql
from core.alerts.rule_engine import AlertEngine
from core.alerts.rules import Rule, RuleGroup
from core.kernel.samples import Sample
from core.storage.tsdb import Store
from tests.conftest import FakeClock
from tests.promstack import (
    NODE_EXPORTER,
    PROMETHEUS,
    PROMTOOL,
    NodeExporter,
    Prometheus,
    cleanup,
    require_binary,
)

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ROOT / "core" / "alerts" / "default_rules.yml"


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    require_binary(PROMTOOL, "prometheus")
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def check_rules(text: str, tmp_path: Path) -> str:
    path = tmp_path / "exported.yml"
    path.write_text(text)
    done = promtool("check", "rules", str(path))
    assert done.returncode == 0, f"promtool refused the export:\n{done.stdout}{done.stderr}\n{text}"
    return done.stdout


def rule(**kw: Any) -> Rule:
    return Rule.model_validate({"alert": "A", "query": "m", **kw})


# One rule of every condition, aggregation over time, aggregation across series and option.
TABLE: list[dict[str, Any]] = [
    *({"over": o, "window": "5m", "threshold": 1} for o in ("avg", "min", "max", "sum", "count", "last")),
    {"over": "quantile", "quantile": 0.99, "window": "10m", "threshold": 0.5},
    {"over": "rate", "query": "c_total", "window": "5m", "threshold": 3},
    {"over": "increase", "query": "c_total", "window": "1h", "threshold": 100},
    *(
        {"across": a, "by": ["host", "team"], "threshold": 2}
        for a in ("avg", "min", "max", "sum", "count", "quantile")
    ),
    {"across": "sum", "threshold": 2},
    {"over": "quantile", "across": "quantile", "quantile": 0.9, "by": ["team"], "threshold": 1},
    {"query": 'errs_total{code=~"5..",path!="/x\\"y"}', "divide_by": "calls_total", "over": "rate"},
    {"divide_by": "n", "across": "sum", "by": ["team"], "over": "increase", "op": "<", "threshold": 1},
    {"threshold": 0.9, "resolve_threshold": 0.8, "labels": {"team": "a", "owner": "{{ $labels.x }}"}},
    {"op": "<", "threshold": 0.1, "resolve_threshold": 0.2},
    {"op": ">", "threshold": 0.8, "resolve_threshold": 0.9},  # stricter resolve: the exact form
    {"op": "!=", "threshold": 1, "resolve_threshold": 2},
    {"condition": "absent", "query": 'm{host="a",team=~"b.*"}', "window": "10m"},
    {"condition": "change", "change_window": "1d", "threshold": 0.5, "window": "30m"},
    {"condition": "change", "divide_by": "n", "across": "max", "by": ["host"], "op": "<", "threshold": -0.5},
    {"condition": "predict", "window": "6h", "horizon": "1d", "op": ">=", "threshold": 1},
    {"condition": "predict", "over": "max", "window": "1h", "horizon": "4h", "threshold": 1},
    {"condition": "predict", "across": "sum", "by": ["host"], "window": "90m"},
    {"condition": "anomaly", "window": "5m", "baseline": "7d", "threshold": 3},
    {"condition": "anomaly", "over": "rate", "query": "c_total", "across": "sum", "by": ["server"]},
    {"condition": "anomaly", "op": "<", "threshold": -3, "resolve_threshold": -2},
    {"condition": "forecast", "window": "7d", "horizon": "14d", "threshold": 0.9},
    {"condition": "anomaly_score", "over": "rate", "query": "c_total", "baseline": "7d", "threshold": 6},
    {"for": "1h30m", "keep_firing_for": "10m", "severity": "critical", "threshold": 1},
    {"query": None, "promql": 'sum by (job) (up{job="x"}) == 0', "source": "prom"},
    {"annotations": {"summary": "{{ $labels.host }} at {{ $value | humanizePercentage }}"}},
]


def table_group() -> RuleGroup:
    rules = [rule(**{"alert": f"Rule{i}", **spec}) for i, spec in enumerate(TABLE)]
    return RuleGroup(name="table", interval_s=60, rules=tuple(rules))


def test_promtool_accepts_the_exported_default_pack(tmp_path: Path) -> None:
    rs = load_rule_file(DEFAULT)
    out = check_rules(export_rules(rs.groups, "from the default pack"), tmp_path)
    assert f"SUCCESS: {rs.rules} rules found" in out


def test_promtool_accepts_a_rule_of_every_condition_and_aggregation(tmp_path: Path) -> None:
    group = table_group()
    out = check_rules(export_rules([group]), tmp_path)
    assert f"SUCCESS: {len(TABLE)} rules found" in out


def test_the_exported_file_keeps_names_durations_labels_and_annotations() -> None:
    group = table_group()
    doc = yaml.safe_load(export_rules([group, RuleGroup(name="other", interval_s=90)]))
    assert [g["name"] for g in doc["groups"]] == ["table", "other"]
    assert [g["interval"] for g in doc["groups"]] == ["1m", "1m30s"]
    by_name = {r["alert"]: r for r in doc["groups"][0]["rules"]}
    timed = by_name[f"Rule{len(TABLE) - 3}"]
    assert (timed["for"], timed["keep_firing_for"]) == ("1h30m", "10m")
    assert timed["labels"] == {"severity": "critical"}
    assert "for" not in by_name["Rule0"] and "keep_firing_for" not in by_name["Rule0"]
    assert by_name[f"Rule{len(TABLE) - 2}"]["expr"] == 'sum by (job) (up{job="x"}) == 0'
    last = by_name[f"Rule{len(TABLE) - 1}"]
    assert last["annotations"] == {"summary": "{{ $labels.host }} at {{ $value | humanizePercentage }}"}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"over": "min", "window": "2m", "op": "<", "threshold": 1}, "min_over_time(m[2m]) < 1"),
        (
            {"over": "quantile", "quantile": 0.99, "across": "max", "by": ["host"], "threshold": 0.5},
            "max by (host) (quantile_over_time(0.99, m[5m])) > 0.5",
        ),
        (
            {"across": "quantile", "quantile": 0.5, "over": "last", "window": "1m", "threshold": 2},
            "quantile(0.5, last_over_time(m[1m])) > 2",
        ),
        (
            {"query": "e_total", "divide_by": "c_total", "over": "rate", "threshold": 0.1},
            "rate(e_total[5m]) / (rate(c_total[5m]) != 0) > 0.1",
        ),
        ({"condition": "absent", "query": 'm{host="a"}'}, 'absent_over_time(m{host="a"}[5m])'),
        (
            {"condition": "change", "window": "30m", "change_window": "7d", "threshold": 0.5},
            "(avg_over_time(m[30m]) - avg_over_time(m[30m] offset 7d))"
            " / (abs(avg_over_time(m[30m] offset 7d)) > 0) > 0.5",
        ),
        (
            {"condition": "predict", "window": "6h", "horizon": "24h", "op": ">=", "threshold": 1},
            "predict_linear(m[6h], 86400) >= 1",
        ),
        (
            {"condition": "predict", "over": "max", "window": "1h", "horizon": "2h", "threshold": 1},
            "predict_linear((max_over_time(m[2m]))[1h:2m], 7200) > 1",
        ),
        (
            {"condition": "anomaly", "window": "5m", "baseline": "7d", "threshold": 3},
            "(avg_over_time(m[5m]) - avg_over_time((avg_over_time(m[5m]))[7d:5m] offset 5m))"
            " / (stddev_over_time((avg_over_time(m[5m]))[7d:5m] offset 5m) > 0) > 3"
            " and count_over_time((avg_over_time(m[5m]))[7d:5m] offset 5m) >= 10",
        ),
        (
            {"alert": "CpuHigh", "threshold": 0.9, "resolve_threshold": 0.8, "labels": {"team": "a"}},
            "(avg_over_time(m[5m]) > 0.9) or (avg_over_time(m[5m]) > 0.8 and ignoring(alertname,"
            ' alertstate, severity, team) ALERTS{alertname="CpuHigh", alertstate="firing",'
            ' severity="warning", team="a"})',
        ),
        (
            {"alert": "B", "op": "<", "threshold": 0.2, "resolve_threshold": 0.1},
            "(avg_over_time(m[5m]) < 0.2 unless ignoring(alertname, alertstate, severity)"
            ' ALERTS{alertname="B", alertstate="firing", severity="warning"}) or'
            " (avg_over_time(m[5m]) < 0.1 and ignoring(alertname, alertstate, severity)"
            ' ALERTS{alertname="B", alertstate="firing", severity="warning"})',
        ),
    ],
)
def test_golden_promql(spec: dict[str, Any], expected: str) -> None:
    assert to_promql(rule(**spec)) == expected


def test_durations_numbers_and_selectors_in_prometheus_syntax() -> None:
    assert [duration(s) for s in (300, 5400, 604_800, 90, 0.5, 86_400 + 1)] == [
        "5m",
        "1h30m",
        "7d",
        "1m30s",
        "500ms",
        "1d1s",
    ]
    assert [number(v) for v in (1.0, 0.9, 5000, 1e-9, -2.5, math.inf)] == [
        "1",
        "0.9",
        "5000",
        "1e-09",
        "-2.5",
        "+Inf",
    ]
    assert selector(r'm{a="x\"y",b=~"\d+"}') == r'm{a="x\"y", b=~"\\d+"}'


def test_promql_rules_survive_import_then_export_unchanged(tmp_path: Path) -> None:
    prom = (
        "groups:\n  - name: node\n    interval: 15s\n    rules:\n"
        "      - record: job:up:sum\n        expr: sum by (job) (up)\n"
        '      - alert: NodeDown\n        expr: up{job="node"} == 0\n        for: 2m\n'
        "        keep_firing_for: 1m\n        labels: {severity: critical, team: infra}\n"
        "        annotations: {summary: '{{ $labels.instance }} is down ({{ $value }})'}\n"
        '      - alert: Busy\n        expr: |\n          rate(node_cpu_seconds_total{mode!="idle"}[5m])\n'
        "            > 0.9\n"
    )
    imported = parse_rules(prom, "p.yml", prometheus_source="prom")
    assert imported.warnings == [] and imported.recording == 1
    out = export_rules(imported.groups)
    check_rules(out, tmp_path)
    src, dst = yaml.safe_load(prom)["groups"][0], yaml.safe_load(out)["groups"][0]
    assert dst["interval"] == "15s"
    assert dst["rules"][0] == {"record": "job:up:sum", "expr": "sum by (job) (up)"}  # no source in Prometheus
    exported = {r["alert"]: r for r in dst["rules"][1:]}
    for r in src["rules"][1:]:
        assert exported[r["alert"]]["expr"] == r["expr"]
    assert exported["NodeDown"]["labels"] == {"severity": "critical", "team": "infra"}
    assert (exported["NodeDown"]["for"], exported["NodeDown"]["keep_firing_for"]) == ("2m", "1m")
    assert exported["NodeDown"]["annotations"] == src["rules"][1]["annotations"]


# --- semantics (1): Pulse's engine and promtool's rule evaluation on one synthetic history ---------

# Window edges: Pulse reads [now - w, now), Prometheus 2.x [now - w, now]; a sample exactly on an
# edge is seen by one and not the other (a convention, not a meaning). Pulse is evaluated 1 ms
# after each minute and every window is a few seconds short of a multiple of STEP_S, so no sample
# sits on an edge and both see the same samples.
STEP_S, MINUTES = 10, 40


def _series() -> dict[tuple[str, tuple[tuple[str, str], ...]], list[float | None]]:
    """metric, labels -> a value every STEP_S seconds from minute 0 to MINUTES (None: no sample)."""
    n = MINUTES * 60 // STEP_S + 1
    minute = [i * STEP_S / 60 for i in range(n)]

    def phase(points: list[tuple[float, float]]) -> list[float | None]:
        """Piecewise constant: (from minute, value); value NaN means no sample."""
        out: list[float | None] = []
        for m in minute:
            v = [val for start, val in points if m >= start][-1]
            out.append(None if math.isnan(v) else v)
        return out

    def counter(rates: list[tuple[float, float]]) -> list[float | None]:
        total, out = 0.0, []
        for i, _ in enumerate(minute):
            out.append(total)
            rate = [r for start, r in rates if minute[i] >= start][-1]
            total += rate * STEP_S
        return list(out)

    nan = math.nan
    return {
        # hysteresis: over 0.9 fires, stays firing down to 0.85, resolves at 0.7, no refire at 0.85
        ("cpu", (("host", "a"),)): phase(
            [(0, 0.5), (5, 0.95), (12, 0.85), (18, 0.7), (24, 0.85), (30, 0.95)]
        ),
        ("cpu", (("host", "b"),)): phase([(0, 0.3), (20, 0.99)]),
        # errors / calls per team, summed across servers: team x fails 20 %, then 2 %
        ("err_total", (("server", "s1"), ("team", "x"))): counter([(0, 1.0), (20, 0.1)]),
        ("err_total", (("server", "s2"), ("team", "x"))): counter([(0, 1.0), (20, 0.1)]),
        ("calls_total", (("server", "s1"), ("team", "x"))): counter([(0, 5.0)]),
        ("calls_total", (("server", "s2"), ("team", "x"))): counter([(0, 5.0)]),
        ("err_total", (("server", "s3"), ("team", "y"))): counter([(0, 0.0)]),
        ("calls_total", (("server", "s3"), ("team", "y"))): counter([(0, 5.0)]),
        # latency doubles at minute 25 (change over 10 minutes)
        ("latency_seconds", (("server", "s1"),)): phase([(0, 1.0), (25, 2.0)]),
        ("latency_seconds", (("server", "s2"),)): phase([(0, 1.0), (25, 1.1)]),
        # a source that stops reporting from minute 10 to 20
        ("collector_up", (("collector", "c"),)): phase([(0, 1.0), (10, nan), (20, 1.0)]),
        # a disk filling linearly: predicted full within 10 minutes from minute 17.5 on
        ("disk_ratio", (("host", "a"),)): [0.5 + m * 60 / 3300 for m in minute],
        # steady load alternating 1.0 / 1.2 by minute, then a spike from minute 38
        ("load", (("host", "a"),)): phase([(m, 1.0 + 0.2 * (m % 2)) for m in range(38)] + [(38, 3.0)]),
    }


SEMANTIC_RULES: list[dict[str, Any]] = [
    {
        "alert": "CpuHigh",
        "query": "cpu",
        "window": "25s",
        "threshold": 0.9,
        "resolve_threshold": 0.8,
        "for": "2m",
        "annotations": {"summary": "CPU of {{ $labels.host }} is high"},
    },
    {
        "alert": "TeamErrorRatio",
        "query": "err_total",
        "divide_by": "calls_total",
        "over": "rate",
        "window": "55s",
        "across": "sum",
        "by": ["team"],
        "threshold": 0.1,
    },
    {
        "alert": "LatencyUp",
        "query": "latency_seconds",
        "condition": "change",
        "window": "55s",
        "change_window": "10m",
        "threshold": 0.5,
    },
    {"alert": "NoCollector", "query": 'collector_up{collector="c"}', "condition": "absent", "window": "55s"},
    {
        "alert": "DiskFull",
        "query": "disk_ratio",
        "condition": "predict",
        "window": "295s",
        "horizon": "10m",
        "op": ">=",
        "threshold": 1,
    },
    {
        "alert": "DiskFullByHost",
        "query": "disk_ratio",
        "condition": "predict",
        "across": "max",
        "by": ["host"],
        "window": "295s",
        "horizon": "10m",
        "op": ">=",
        "threshold": 1,
    },
    {
        "alert": "LoadAnomaly",
        "query": "load",
        "condition": "anomaly",
        "window": "55s",
        "baseline": "20m",
        "threshold": 3,
    },
]


def _pulse_firing(
    store: Store, clock: FakeClock, group: RuleGroup
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Minute -> alertname -> the firing alerts of Pulse's engine (labels, annotations)."""
    t0 = clock.now
    clock.now = t0 + MINUTES * 60
    samples = [
        Sample(metric, labels, int((t0 + i * STEP_S) * 1000), v)
        for (metric, labels), values in _series().items()
        for i, v in enumerate(values)
        if v is not None
    ]
    store.write(samples)
    engine = AlertEngine(store, store.engine, [group], clock=clock)
    out: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for minute in range(MINUTES + 1):
        clock.now = t0 + minute * 60 + 0.001  # past the sample at the minute: see above
        result = engine.evaluate(group.name)
        assert not result.errors, result.errors
        per: dict[str, list[dict[str, Any]]] = {r.alert: [] for r in group.rules}
        for a in engine.alerts(("firing",)):
            labels = {k: v for k, v in a.labels.items() if k != "alertname"}
            per[a.labels["alertname"]].append({"exp_labels": labels, "exp_annotations": dict(a.annotations)})
        out[minute] = per
    return out


def _promql_series(metric: str, labels: tuple[tuple[str, str], ...]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{metric}{{{inner}}}"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_promtool_fires_the_exported_rules_exactly_when_pulse_does(
    make_store: Callable[..., Store], clock: FakeClock, tmp_path: Path
) -> None:
    group = RuleGroup(name="g", interval_s=60, rules=tuple(Rule.model_validate(r) for r in SEMANTIC_RULES))
    (tmp_path / "rules.yml").write_text(export_rules([group]))
    expected = _pulse_firing(make_store(), clock, group)
    fired = {name for per in expected.values() for name, alerts in per.items() if alerts}
    assert fired == {r.alert for r in group.rules}, "every rule must fire at some point to mean something"
    # the history exercises what it claims: hysteresis holds at 0.85 and does not refire at 0.85 ...
    cpu_a = {m for m, per in expected.items() for a in per["CpuHigh"] if a["exp_labels"]["host"] == "a"}
    assert {15, 17} <= cpu_a and not {20, 27} & cpu_a
    # ... and the disk is predicted full from minute 17.5 on
    assert (expected[17]["DiskFull"], bool(expected[18]["DiskFull"])) == ([], True)
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": f"{STEP_S}s",
                "input_series": [
                    {
                        "series": _promql_series(metric, labels),
                        "values": " ".join("_" if v is None else repr(v) for v in values),
                    }
                    for (metric, labels), values in _series().items()
                ],
                "alert_rule_test": [
                    {"eval_time": f"{minute}m", "alertname": name, "exp_alerts": alerts}
                    for minute, per in expected.items()
                    for name, alerts in per.items()
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = promtool("test", "rules", "test.yml", cwd=tmp_path)
    assert done.returncode == 0, f"Prometheus and Pulse disagree:\n{done.stdout[-6000:]}{done.stderr}"


# --- semantics (2): a real Prometheus scraping node-exporter -------------------------------------


@pytest.fixture(scope="module")
def prometheus() -> Iterator[Prometheus]:
    """node-exporter and a Prometheus scraping it every second (shared by this module's tests)."""
    require_binary(NODE_EXPORTER, "prometheus-node-exporter")
    require_binary(PROMETHEUS, "prometheus")
    root = Path(tempfile.mkdtemp(prefix="pulse-promexport-"))
    ne = NodeExporter(root)
    ne.start()
    prom = Prometheus(root, [f"127.0.0.1:{ne.port}"])
    try:
        prom.start()
        prom.wait_for_data("node_memory_MemAvailable_bytes")
        time.sleep(7)  # a few scrapes, so the 5-second windows hold several samples
        yield prom
    finally:
        prom.stop()
        ne.stop()
        cleanup(root)


def _query(prom: Prometheus, expr: str, at_s: float) -> list[dict[str, Any]]:
    url = f"{prom.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": f"{at_s:.3f}"})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def _raw_samples(prom: Prometheus, metric: str, at_s: float) -> list[Sample]:
    """The raw samples of the minute before ``at_s``, as Prometheus stored them."""
    out = []
    for series in _query(prom, f"{metric}[1m]", at_s):
        labels = tuple(sorted((k, v) for k, v in series["metric"].items() if k != "__name__"))
        out += [Sample(metric, labels, round(float(t) * 1000), float(v)) for t, v in series["values"]]
    return out


def _landed_after(prom: Prometheus, metrics: set[str], at_s: float) -> None:
    """Wait until every series of ``metrics`` has a sample newer than ``at_s``: scrapes of a target
    land in order, so every sample up to ``at_s`` is in (a scrape that took longer than expected
    on a loaded machine would otherwise land between Prometheus' answer and the raw read)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        newest = [float(e["value"][1]) for m in metrics for e in _query(prom, f"timestamp({m})", time.time())]
        if newest and min(newest) > at_s:
            return
        time.sleep(0.2)
    raise AssertionError(f"no sample of {sorted(metrics)} after {at_s} within 30 s")


THRESHOLD_RULES: list[dict[str, Any]] = [
    {"query": "node_memory_MemAvailable_bytes", "window": "5s", "threshold": 0},
    {"query": "node_memory_MemAvailable_bytes", "over": "max", "window": "5s", "threshold": 0},
    {"query": "node_memory_MemAvailable_bytes", "over": "last", "window": "5s", "threshold": 0},
    {"query": "node_memory_MemAvailable_bytes", "over": "count", "window": "5s", "threshold": 0},
    {
        "query": "node_memory_MemAvailable_bytes",
        "divide_by": "node_memory_MemTotal_bytes",
        "across": "max",
        "by": ["instance"],
        "window": "5s",
        "op": "<=",
        "threshold": 1,
    },
    {
        "query": "node_memory_MemAvailable_bytes",
        "over": "quantile",
        "quantile": 0.5,
        "window": "5s",
        "op": ">",
        "threshold": 2**70,  # holds nowhere: both sides agree on no alert
    },
]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("spec", THRESHOLD_RULES, ids=lambda s: f"{s.get('over', 'avg')}-{s['window']}")
def test_exported_expression_on_real_prometheus_matches_pulse(
    prometheus: Prometheus, make_store: Callable[..., Store], spec: dict[str, Any]
) -> None:
    r = Rule.model_validate({"alert": "MemAvailable", **spec})
    at_s = round(time.time() - 1.5, 3)  # a moment ago
    metrics = {str(m) for m in (r.query, r.divide_by) if m is not None}
    _landed_after(prometheus, metrics, at_s)  # every scrape up to it has landed
    got = {
        tuple(sorted((k, v) for k, v in e["metric"].items() if k != "__name__")): float(e["value"][1])
        for e in _query(prometheus, to_promql(r), at_s)  # (alerts drop __name__; last_over_time keeps it)
    }
    clock = FakeClock(at_s)
    store = make_store(clock=clock)
    store.write([s for m in metrics for s in _raw_samples(prometheus, m, at_s)])
    cycle = Cycle(clock.ms)
    pulse = {
        tuple(sorted(lb.items())): v
        for lb, v in rule_values(store, r, cycle, None)
        if r.holds(v, firing=False)
    }
    assert set(got) == set(pulse)
    for key, v in pulse.items():
        assert got[key] == pytest.approx(v, rel=1e-12), key
    if r.threshold < 2**70:
        assert got, "node-exporter's memory should be seen by both"
