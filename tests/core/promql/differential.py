"""Differential testing of Pulse's PromQL engine against a real Prometheus on the same samples.

Queries (diffqueries.py) run against Prometheus' HTTP API and against the engine, whose results go
through the same JSON shape (``to_api_data``); results are compared series by series with a
relative tolerance of 1e-9. Used by tests/core/promql/test_differential.py (quick set) and
``python -m bench promql`` (full and demo sets). Datasets and the Prometheus process: diffdata.py.
"""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
from dataclasses import dataclass

from core.promql import Engine, PromQLError, to_api_data
from core.promql.result import Result, key
from tests.core.promql.diffdata import END_MS, START_MS, dataset, demo_dataset, prometheus_on, to_samples
from tests.core.promql.diffqueries import C, Case, G, cases, demo_cases

__all__ = ["C", "END_MS", "G", "START_MS", "Case", "cases", "dataset", "demo_cases", "demo_dataset"]
__all__ += ["prometheus_on", "to_samples"]

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
    series = result[1]
    assert isinstance(series, dict)
    for points in series.values():
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
