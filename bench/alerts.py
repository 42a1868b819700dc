"""Rule evaluation: 1,000 rules against the embedded store, one cycle (target < 250 ms, issue 16).

The rules of a group share their reads (core.storage.tsdb.batch): one series lookup per metric,
selectors matched through an inverted index, the windows reduced in numpy (tsdb/window.py).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from bench.common import Row, demo_samples, fresh_store, median_of
from core.alerts.rule_engine import AlertEngine
from core.alerts.rules import Rule, RuleGroup

RULES = 1000
HOUR = 3_600_000


def _rules(store_series: dict[str, list[dict[str, str]]]) -> list[Rule]:
    """1,000 distinct rules over the demo's objects: each its own selector (no query is shared)."""
    templates = [
        ("host_cpu_utilization_ratio", "host", {"threshold": 0.9, "window": "5m"}),
        ("host_memory_utilization_ratio", "host", {"threshold": 0.9, "window": "5m"}),
        ("host_disk_utilization_ratio", "host", {"threshold": 0.85, "window": "5m"}),
        ("mcp_server_up", "server", {"over": "min", "op": "<", "threshold": 1, "window": "2m"}),
        (
            "container_memory_working_set_bytes",
            "server",
            {"divide_by": "container_memory_limit_bytes", "over": "last", "threshold": 0.9},
        ),
        (
            "mcp_server_tool_errors_total",
            "gen_ai_tool_name",
            {"divide_by": "mcp_server_tool_calls_total", "over": "rate", "threshold": 0.1},
        ),
        (
            'mcp_server_operation_duration_seconds{quantile="0.95"}',
            "gen_ai_tool_name",
            {"threshold": 2.0, "window": "10m"},
        ),
    ]
    rules: list[Rule] = []
    pools = []
    for metric, key, extra in templates:
        base = metric.split("{")[0]
        values = sorted({lb[key] for lb in store_series[base] if key in lb})
        pools.append([(metric, key, v, extra) for v in values])
    for i, (metric, key, value, extra) in enumerate(
        itertools.islice(itertools.cycle(itertools.chain(*pools)), RULES)
    ):
        inner = metric[metric.index("{") + 1 : -1] + "," if "{" in metric else ""
        sel = f'{metric.split("{")[0]}{{{inner}{key}="{value}"}}'
        spec = {"alert": f"R{i}", "query": sel, **extra}
        if "divide_by" in spec:
            spec["divide_by"] = f'{spec["divide_by"]}{{{key}="{value}"}}'
        rules.append(Rule.model_validate(spec))
    return rules


def run(folder: Path) -> list[Row]:
    now = int(time.time() * 1000)
    store = fresh_store(folder, "alerts")
    store.write(demo_samples(now - 2 * HOUR, now, 15_000))
    store.run_rollups()
    series = {m: [lb for lb in store.series(m)["labels"].to_list()] for m in store.metrics()}
    rules = _rules(series)
    groups = [
        RuleGroup(name=f"g{i}", interval_s=30, rules=tuple(rules[i : i + 100])) for i in range(0, RULES, 100)
    ]
    engine = AlertEngine(store, store.engine, groups)

    def cycle() -> float:
        t0 = time.perf_counter()
        for g in groups:
            result = engine.evaluate(g.name)
            assert not result.errors, result.errors
        return time.perf_counter() - t0

    def baseline() -> float:  # the same selectors as bare store queries, no engine around them
        t0 = time.perf_counter()
        for r in rules:
            store.select(r.query or "", now - 300_000, now, step_ms=300_001, over_time=r.over)
        return time.perf_counter() - t0

    cycle()
    took, base = median_of(5, cycle), median_of(5, baseline)
    firing = len(engine.alerts(["firing"]))
    store.close()
    return [
        Row(
            f"{RULES} rules, one evaluation cycle (distinct selectors; {firing} firing)",
            f"{took * 1000:.0f} ms",
            f"{took / base:.2f}x {RULES} bare store queries ({base * 1000:.0f} ms)",
            "< 250 ms",
            "ok" if took < 0.25 else "MISS",
        )
    ]
