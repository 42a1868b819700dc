"""Differential testing of Pulse's PromQL engine against a real Prometheus on the same samples.

A seeded dataset (gauges, counters with resets, a gappy series, classic histogram buckets; 15 s
interval with scrape jitter) is written as OpenMetrics, turned into TSDB blocks by ``promtool tsdb
create-blocks-from openmetrics``, served by Debian's ``prometheus`` on a free loopback port, and
written into a Pulse Store. Queries run against both; results are compared series by series.
Used by tests/core/promql/test_differential.py (quick set) and ``python -m bench promql`` (all).
"""

from __future__ import annotations

import json
import math
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from collectors.base import Sample
from core.promql import Engine, PromQLError, to_api_data
from core.promql.result import Result, key
from tests.promstack import PROMETHEUS, PROMTOOL, Managed, free_port

STEP_MS = 15_000
HOURS = 4
END_MS = 1_700_006_400_000  # 2023-11-15 00:00 UTC, as tests/conftest.py's T0
START_MS = END_MS - HOURS * 3_600_000
HOSTS = {"h1": "a", "h2": "a", "h3": "b", "h4": "b"}
BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
Labels = dict[str, str]


def dataset(seed: int = 42) -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    """Series as (labels with __name__, ts ms, values), values rounded to 3 decimals."""
    rng = np.random.default_rng(seed)
    n = HOURS * 3_600_000 // STEP_MS
    out = []
    for host, dc in HOSTS.items():
        ts = START_MS + np.arange(n) * STEP_MS + rng.integers(-400, 400, n)
        temp = 20 + np.cumsum(rng.normal(0, 0.3, n))
        out.append(({"__name__": "demo_temperature_celsius", "host": host, "dc": dc}, ts, temp))
        mem = 2e9 + np.cumsum(rng.normal(1e5, 2e6, n))
        out.append(({"__name__": "demo_memory_bytes", "host": host, "dc": dc}, ts, mem))
        for code, scale in (("200", 40.0), ("500", 2.0)):
            inc = rng.poisson(scale, n).astype(float)
            counter = np.cumsum(inc)
            for r in rng.choice(np.arange(50, n), 2, replace=False):  # process restarts
                counter[r:] -= counter[r - 1] - rng.integers(0, 3)
            lb = {"__name__": "demo_requests_total", "host": host, "dc": dc, "code": code}
            out.append((lb, ts, counter))
        up = rng.random(n) > 0.02
        gaps = np.ones(n, bool)
        for g in rng.choice(n - 40, 3, replace=False):
            gaps[g : g + rng.integers(10, 40)] = False  # 2.5 to 10 minutes without samples
        keep = up & gaps
        flaky = np.cumsum(rng.normal(0, 1, n))[keep]
        out.append(({"__name__": "demo_flaky", "host": host, "dc": dc}, ts[keep], flaky))
        obs = rng.lognormal(-1.7, 0.9, (n, 30))
        counts = np.cumsum([(obs <= float(b)).sum(axis=1) for b in BUCKETS], axis=1)
        for b, c in zip(BUCKETS, counts, strict=True):
            lb = {"__name__": "demo_latency_seconds_bucket", "host": host, "dc": dc, "le": b}
            out.append((lb, ts, c.astype(float)))
    return [(lb, ts.astype(np.int64), np.round(v, 3)) for lb, ts, v in out]


def _om_labels(lb: Labels) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(lb.items()) if k != "__name__")
    return f"{lb['__name__']}{{{inner}}}"


def write_openmetrics(series: list[tuple[Labels, np.ndarray, np.ndarray]], path: Path) -> None:
    with path.open("w") as f:
        for lb, ts, vals in sorted(series, key=lambda s: s[0]["__name__"]):
            name = _om_labels(lb)
            f.writelines(f"{name} {float(v)!r} {t / 1000:.3f}\n" for t, v in zip(ts, vals, strict=True))
        f.write("# EOF\n")


def to_samples(series: list[tuple[Labels, np.ndarray, np.ndarray]]) -> list[Sample]:
    out = []
    for lb, ts, vals in series:
        labels = tuple(sorted((k, v) for k, v in lb.items() if k != "__name__"))
        out += [Sample(lb["__name__"], labels, int(t), float(v)) for t, v in zip(ts, vals, strict=True)]
    out.sort(key=lambda s: s.ts)
    return out


@contextmanager
def prometheus_on(series: list[tuple[Labels, np.ndarray, np.ndarray]], root: Path) -> Iterator[str]:
    """A real Prometheus serving exactly ``series``; yields its base URL."""
    om, data = root / "data.om.txt", root / "tsdb"
    write_openmetrics(series, om)
    subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(om), str(data)],
        check=True,
        capture_output=True,
    )
    config = root / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1m\n")
    port = free_port()
    argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}"]
    argv += [f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y"]
    proc = Managed(argv, f"http://127.0.0.1:{port}/-/ready", root / "prometheus.log")
    proc.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


# -- queries ---------------------------------------------------------------------------------
C, G, F, B = "demo_requests_total", "demo_temperature_celsius", "demo_flaky", "demo_latency_seconds_bucket"
M = "demo_memory_bytes"
QUICK = [
    G,
    f'{G}{{host="h1"}}',
    f'{C}{{host=~"h[12]",code!="500"}}',
    f'{G}{{host!~"h1|h3"}}',
    f"{G} offset 10m",
    F,
    f"rate({C}[5m])",
    f"rate({C}[1m])",
    f"increase({C}[10m])",
    f"irate({C}[2m])",
    f"delta({G}[10m])",
    f"idelta({G}[5m])",
    f"deriv({M}[10m])",
    f"predict_linear({M}[30m], 3600)",
    f"resets({C}[30m])",
    f"changes({F}[10m])",
    f"avg_over_time({G}[5m])",
    f"min_over_time({F}[10m])",
    f"max_over_time({F}[10m])",
    f"count_over_time({F}[5m])",
    f"quantile_over_time(0.9, {G}[30m])",
    f"stddev_over_time({G}[15m])",
    f"last_over_time({F}[10m])",
    f"absent_over_time({F}{{host='h1'}}[1m])",
    f"sum by (dc) (rate({C}[5m]))",
    f"avg without (host) ({G})",
    f"max by (dc) ({G})",
    f"count by (code) ({C})",
    f"topk(2, {G})",
    f"quantile by (dc) (0.5, {G})",
    f"stddev({M})",
    f"{C} / ignoring(code) group_left sum without (code) ({C})",
    f'rate({C}{{code="500"}}[5m]) / on(host) rate({C}{{code="200"}}[5m])',
    f"{G} > 20",
    f"{G} > bool 20",
    f"{G} > on(host) {F}",
    f"{F} and on(host) {G} > 20",
    f"{F} or {G}",
    f"{G} unless on(host) {F}",
    f"histogram_quantile(0.9, sum by (le) (rate({B}[5m])))",
    f"histogram_quantile(0.5, rate({B}[10m]))",
    f"max_over_time(rate({C}[1m])[10m:1m])",
    f"avg_over_time({G}[30m:45s] offset 5m)",
    f"round({G}, 0.5)",
    f"clamp({G}, 18, 22)",
    f"abs(-{G})",
    f"scalar(sum({G})) * 2",
    f"timestamp({G})",
    f"hour(timestamp({G}))",
    f'label_replace({G}, "h", "$1", "host", "h(.*)")',
    f"sort_desc(sum by (host) ({G}))",
    f"{G} @ end()",
    'absent(nonexistent{job="x"})',
    "time() - 5",
]

FULL_EXTRA = [
    '{__name__=~"demo_temp.*"}',
    f"{G} offset 1h",
    f"{F} offset 3m",
    f"rate({C}[30s])",
    f"rate({C}[15m] offset 5m)",
    f"increase({C}[1h])",
    f"irate({C}[15s])",
    f"delta({M}[3m])",
    f"deriv({G}[2m])",
    f"predict_linear({G}[5m], 600)",
    f"changes({G}[30m])",
    f"resets({B}[1h])",
    f"sum_over_time({C}[2m])",
    f"stdvar_over_time({M}[30m])",
    f"present_over_time({F}[2m])",
    f"quantile_over_time(0.1, {F}[20m])",
    f"avg_over_time({M}[1h])",
    f"min by (host) (rate({C}[5m]))",
    f"group by (dc) ({C})",
    f'count_values("v", round({G}))',
    f"bottomk(3, rate({C}[5m]))",
    f"topk by (dc) (1, {M})",
    f"sum without (le) (rate({B}[5m]))",
    f"stdvar by (dc) ({G})",
    f"avg by (code) (increase({C}[30m]))",
    f"{G} - on(host, dc) {F}",
    f"{G} * on(host) group_left(code) {C}",
    f"{C} / on(host, dc) group_right() ... ",
    f"{G} == bool on(host) {G}",
    f"{G} != 20",
    f"{G} < 19",
    f"{G} >= bool 21",
    f"2 * {G} + 1",
    f"{G} % 3",
    f"{G} ^ 2",
    f"1 / {F}",
    f"{G} atan2 {G}",
    f"{F} unless {G}",
    f"{G} and {F}",
    f"histogram_quantile(0.99, sum by (le, dc) (rate({B}[5m])))",
    f"histogram_quantile(0.25, sum by (le) (increase({B}[30m])))",
    f"min_over_time({G}[1h:5m])",
    f"rate({C}[5m:30s])",
    f"max_over_time(deriv({G}[5m])[30m:])",
    f"ceil({G})",
    f"floor({G})",
    f"sqrt({M})",
    f"ln({M})",
    f"log2({M})",
    f"log10({M})",
    f"exp({G} / 10)",
    f"sgn(delta({G}[5m]))",
    f"clamp_min({G}, 20)",
    f"clamp_max({G}, 20)",
    "vector(3)",
    "day_of_week()",
    f"day_of_month(timestamp({G}))",
    f"minute(timestamp({F}))",
    "month()",
    "year()",
    "days_in_month()",
    f'label_join({G}, "hd", "-", "host", "dc")',
    f"sort({G})",
    f"rate({C}[5m] @ start())",
    f"{G} @ {END_MS // 1000 - 3600}",
    f"absent({G})",
    "absent_over_time(nonexistent[5m])",
    f"-{G}",
    f"sum(rate({C}[5m])) by (host) > 30",
    f"quantile(0.95, rate({C}[5m]))",
    f"sum by (host) ({G}) * on(host) group_right {C}",
    f"{G} offset -5m",
    f"rate({C}[5m] @ end())",
    f"sum_over_time({G}[10m:1m] @ {END_MS // 1000 - 1800})",
    f"max_over_time({G}[20m:2m] offset 7m)",
    f'rate({{__name__=~"{G}|{M}"}}[5m])',
    f"{G} + on(dc) {G}",
    f"{G} + on(host) group_left {C}",
    '{__name__=~".+_total", code="500"}',
    f'label_replace({C}, "__name__", "renamed_$1", "code", "(.*)")',
    f"count by (dc) (count by (host, dc) ({F}))",
    f"sum(increase({C}[1h])) / sum(increase({C}[1h] offset 1h))",
    f"deriv(sum by (dc) ({M})[15m:1m])",
    f"changes(max_over_time({G}[2m])[30m:30s])",
    f"{F} > bool on(host) group_left sum by (host) ({F}) / 4",
    f"irate({C}[5m] offset 1m)",
    f"delta({F}[10m])",
    f"last_over_time({G}[1m] @ start())",
]
FULL_EXTRA = [q for q in FULL_EXTRA if "..." not in q]
INSTANT_AT = [START_MS + 90 * 60_000 + 7_300, END_MS - 23_000, START_MS + 3 * 3_600_000]
RANGES = [(START_MS + 3_600_000, END_MS - 600_000 + 3_000, 60_000), (END_MS - 3_600_000, END_MS, 37_000)]


@dataclass
class Case:
    query: str
    kind: str  # "instant" or "range"
    times: tuple[int, ...]


def cases(full: bool) -> list[Case]:
    out = []
    queries = QUICK + (FULL_EXTRA if full else [])
    for q in queries:
        for t in INSTANT_AT if full else INSTANT_AT[:2]:
            out.append(Case(q, "instant", (t,)))
        for r in RANGES if full else RANGES[:1]:
            out.append(Case(q, "range", r))
    return out


# -- running and comparing -------------------------------------------------------------------
Normal = tuple[str, object]


def fetch_data(base: str, case: Case) -> dict:
    """Prometheus' ``data`` for the case, or ``{"error": message}``."""
    if case.kind == "instant":
        params = {"query": case.query, "time": f"{case.times[0] / 1000:.3f}"}
        url = f"{base}/api/v1/query?{urllib.parse.urlencode(params)}"
    else:
        s, e, step = case.times
        params = {
            "query": case.query,
            "start": f"{s / 1000:.3f}",
            "end": f"{e / 1000:.3f}",
            "step": f"{step / 1000:g}",
        }
        url = f"{base}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return dict(json.load(resp)["data"])
    except urllib.error.HTTPError as exc:
        return {"error": json.load(exc).get("error", str(exc))}


def _normal(data: dict) -> Normal:
    if "error" in data:
        return ("error", data["error"])
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        return (kind, float(result[1]) if kind == "scalar" else result[1])
    if kind == "vector":
        return ("vector", [(key(r["metric"]), float(r["value"][1])) for r in result])
    return (
        "matrix",
        {key(r["metric"]): {round(float(t) * 1000): float(v) for t, v in r["values"]} for r in result},
    )


def _fetch(base: str, case: Case) -> Normal:
    return _normal(fetch_data(base, case))


def _ours(engine: Engine, case: Case) -> Normal:
    try:
        res: Result = (
            engine.instant(case.query, case.times[0])
            if case.kind == "instant"
            else engine.range(case.query, *case.times)
        )
    except PromQLError as exc:
        return ("unsupported" if type(exc).__name__ == "PromQLUnsupported" else "error", str(exc))
    return _normal(json.loads(json.dumps(to_api_data(res))))  # through the HTTP API's JSON shape


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= rel * max(abs(a), abs(b)) or abs(a - b) < 1e-12


def _values_by_step(result: Normal) -> dict[int, list[float]]:
    if result[0] == "vector":
        return {0: sorted(v for _, v in result[1])}  # type: ignore[attr-defined]
    out: dict[int, list[float]] = {}
    for points in result[1].values():  # type: ignore[union-attr]
        for t, v in points.items():
            out.setdefault(t, []).append(v)
    return {t: sorted(vs) for t, vs in out.items()}


def same_values_by_step(prom: Normal, ours: Normal) -> bool:
    """topk/bottomk pick among equal values in an unspecified order (Go's heap, and in range
    queries Go's map order): with ties at the cut, only the values chosen per step must agree."""
    p, o = _values_by_step(prom), _values_by_step(ours)
    return p.keys() == o.keys() and all(
        len(p[t]) == len(o[t]) and all(close(a, b) for a, b in zip(p[t], o[t], strict=True)) for t in p
    )


def difference(prom: Normal, ours: Normal, ordered: bool) -> str | None:
    """None when the results agree, else a short description of the first difference."""
    if prom[0] == "error" or ours[0] in ("error", "unsupported"):
        return (
            None
            if prom[0] == ours[0] == "error"
            else f"prometheus {prom[0]}: {prom[1]!s:.150} / pulse {ours[0]}: {ours[1]!s:.150}"
        )
    if prom[0] != ours[0]:
        return f"result type {prom[0]} vs {ours[0]}"
    if prom[0] == "scalar":
        return None if close(prom[1], ours[1]) else f"scalar {prom[1]} vs {ours[1]}"  # type: ignore[arg-type]
    if prom[0] == "string":
        return None if prom[1] == ours[1] else "string differs"
    if prom[0] == "vector":
        p, o = dict(prom[1]), dict(ours[1])  # type: ignore[call-overload]
        if set(p) != set(o):
            return f"label sets: only prometheus {sorted(set(p) - set(o))[:2]}, only pulse {sorted(set(o) - set(p))[:2]}"
        bad = [(dict(k), p[k], o[k]) for k in p if not close(p[k], o[k])]
        if bad:
            return f"{len(bad)} values differ, e.g. {bad[0]}"
        if ordered and [k for k, _ in prom[1]] != [k for k, _ in ours[1]]:  # type: ignore[attr-defined]
            return "order differs"
        return None
    pm, om = prom[1], ours[1]
    assert isinstance(pm, dict) and isinstance(om, dict)
    if set(pm) != set(om):
        return f"series: only prometheus {sorted(set(pm) - set(om))[:2]}, only pulse {sorted(set(om) - set(pm))[:2]}"
    for k in pm:
        if set(pm[k]) != set(om[k]):
            return f"{dict(k)}: steps differ ({len(pm[k])} vs {len(om[k])}), e.g. {sorted(set(pm[k]) ^ set(om[k]))[:3]}"
        bad = [(t, pm[k][t], om[k][t]) for t in pm[k] if not close(pm[k][t], om[k][t])]
        if bad:
            return f"{dict(k)}: {len(bad)} values differ, e.g. {bad[0]}"
    return None


@dataclass
class Report:
    agreed: int
    refused: list[tuple[Case, str]]
    mismatched: list[tuple[Case, str]]
    both_failed: int = 0  # of the agreed: both refused the query with an error
    ties: int = 0  # of the agreed: topk/bottomk chose other series among equal values

    def lines(self) -> list[str]:
        out = [
            f"{self.agreed} agree ({self.both_failed} of them both with an error, {self.ties} with "
            "topk/bottomk choosing among equal values), "
            f"{len(self.mismatched)} differ, {len(self.refused)} refused by Pulse"
        ]
        out += [f"DIFF {c.kind} {c.query!r} {c.times}: {why}" for c, why in self.mismatched]
        out += [f"REFUSED {c.query!r}: {why}" for c, why in self.refused]
        return out


def compare(base: str, engine: Engine, todo: list[Case]) -> Report:
    report = Report(0, [], [])
    for case in todo:
        prom, ours = _fetch(base, case), _ours(engine, case)
        if ours[0] == "unsupported":
            report.refused.append((case, str(ours[1])))
            continue
        ordered = case.kind == "instant" and case.query.startswith("sort")
        why = difference(prom, ours, ordered)
        if why and ("topk" in case.query or "bottomk" in case.query) and same_values_by_step(prom, ours):
            why = None
            report.ties += 1
        if why is None:
            report.agreed += 1
            report.both_failed += prom[0] == "error"
        else:
            report.mismatched.append((case, why))
    return report


# -- the demo platform's own metrics (collectors/demo.py) ----------------------------------------
DEMO_QUERIES = [
    "sum by (team) (rate(mcp_server_tool_calls_total[5m]))",
    "sum by (team) (rate(mcp_server_tool_errors_total[5m])) / sum by (team) (rate(mcp_server_tool_calls_total[5m]))",
    "topk(5, container_memory_working_set_bytes / container_memory_limit_bytes)",
    "container_cpu_usage_cores / on(server, host, session_id) group_left container_cpu_request_cores",
    "avg_over_time(host_cpu_utilization_ratio[10m])",
    "max by (host) (host_load1) > 1",
    'quantile by (team) (0.9, mcp_server_operation_duration_seconds{quantile="0.99"})',
    "increase(container_restarts_total[30m])",
    "predict_linear(host_disk_used_bytes[30m], 86400) > host_disk_total_bytes",
    "count by (team) (mcp_server_up == 1)",
    "changes(mcp_server_deploys_total[1h])",
    'absent(host_up{host="nope"})',
    "sum(platform_active_users) by (team)",
    "deriv(host_memory_used_bytes[15m])",
    "rate(host_network_receive_bytes_total[1m]) * 8",
    "irate(mcp_server_tool_calls_total[1m])",
    "max_over_time(mcp_client_operation_duration_seconds[10m])",
    "stddev by (host) (container_cpu_usage_cores)",
    "bottomk(3, sum by (server) (rate(mcp_server_tool_calls_total[10m])))",
    "host_up == 0 or host_memory_utilization_ratio > 0.8",
    "count_values('mountpoint_count', count by (host) (host_disk_used_bytes))",
    "sum by (team, user) (container_cpu_usage_cores) unless on(team) platform_active_users == 0",
]


def demo_dataset(hours: int = 2) -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    """The simulated platform's samples (``bench.common.demo_samples``) as series."""
    from bench.common import demo_samples

    by: dict[tuple, tuple[list[int], list[float]]] = {}
    for s in demo_samples(END_MS - hours * 3_600_000, END_MS, STEP_MS):
        entry = by.setdefault((s.metric, s.labels), ([], []))
        entry[0].append(s.ts)
        entry[1].append(s.value)
    return [
        ({"__name__": m, **dict(lb)}, np.array(ts, dtype=np.int64), np.array(vals))
        for (m, lb), (ts, vals) in by.items()
    ]


def demo_cases() -> list[Case]:
    out = []
    for q in DEMO_QUERIES:
        out += [Case(q, "instant", (END_MS - 7_000,)), Case(q, "range", (END_MS - 3_600_000, END_MS, 60_000))]
    return out
