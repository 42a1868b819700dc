"""Prometheus' own PromQL test files (v2.42.0, see testdata/README.md) run against Pulse's engine.

Every ``eval instant`` case is a test: the instant query must give Prometheus' expected samples,
and (as promql/test.go does) a range query from t-1m to t+1m must give the same at t. A case
that needs a construct Pulse refuses is skipped with the refusal as reason, never passed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.promql import Engine, MemorySource, PromQLError, PromQLUnsupported, Scalar, Vector
from core.promql.result import key
from tests.core.promql.promqltest import Clear, Eval, Load, almost_equal, parse_file

DATA = Path(__file__).parent / "testdata"
FILES = ["functions", "aggregators", "operators", "selectors", "staleness", "histograms", "subquery"]
FILES += ["at_modifier", "literals", "collision", "trig_functions"]


def _cases() -> list[tuple[str, list[Load], Eval]]:
    out = []
    for name in FILES:
        loads: list[Load] = []
        for cmd in parse_file(DATA / f"{name}.test"):
            if isinstance(cmd, Clear):
                loads = []
            elif isinstance(cmd, Load):
                loads = [*loads, cmd]
            elif isinstance(cmd, Eval):
                out.append((f"{name}:{cmd.line}", loads, cmd))
    return out


CASES = _cases()


def _source(loads: list[Load], rollups: bool = False) -> MemorySource:
    src = MemorySource(rollups=rollups)
    for load in loads:
        for labels, values in load.series:
            for i, v in enumerate(values):
                if v is not None:
                    src.add(labels, i * load.interval_ms, v)
    return src


def _compare(case: Eval, got: object, where: str) -> None:
    if case.scalar is not None:
        assert isinstance(got, Scalar), f"{where}: expected scalar {case.scalar}, got {got}"
        assert almost_equal(case.scalar, got.value), f"{where}: expected {case.scalar}, got {got.value}"
        return
    assert isinstance(got, Vector), f"{where}: expected a vector, got {got}"
    want = {key(lb): v for lb, v in case.expected}
    have = {key(s.labels): s.value for s in got.samples}
    assert len(have) == len(got.samples), f"{where}: duplicate label sets in {got.samples}"
    assert set(have) == set(want), f"{where}: label sets differ\n want {sorted(want)}\n have {sorted(have)}"
    for k, v in want.items():
        assert almost_equal(v, have[k]), f"{where}: {dict(k)}: expected {v}, got {have[k]}"
    if case.ordered:
        assert [key(s.labels) for s in got.samples] == [key(lb) for lb, _ in case.expected], where


# constructs docs/promql.md says are refused by name: a case using one must be refused, not answered
DOCUMENTED_REFUSALS: tuple[str, ...] = ()


def _refused(exc: PromQLUnsupported) -> None:
    assert any(name in str(exc) for name in DOCUMENTED_REFUSALS), f"refused but not documented: {exc}"


@pytest.mark.parametrize(("loads", "case"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_prometheus_case(loads: list[Load], case: Eval) -> None:
    _check_case(Engine(_source(loads)), case)


OVER_TIME = [c for c in CASES if "_over_time(" in c[2].query]


@pytest.mark.parametrize(("loads", "case"), [c[1:] for c in OVER_TIME], ids=[c[0] for c in OVER_TIME])
def test_prometheus_case_from_rollups(loads: list[Load], case: Eval) -> None:
    """The same cases with a source that offers rollups: *_over_time over windows of whole
    buckets take the rollup path and must still give Prometheus' answers."""
    _check_case(Engine(_source(loads, rollups=True)), case)


def _check_case(engine: Engine, case: Eval) -> None:
    if case.fail:
        try:
            engine.instant(case.query, case.at_ms)
        except PromQLUnsupported as exc:
            _refused(exc)
            return
        except PromQLError:
            return
        pytest.fail(f"{case.query!r} should fail, as it does in Prometheus")
    try:
        got = engine.instant(case.query, case.at_ms)
    except PromQLUnsupported as exc:
        _refused(exc)
        return
    _compare(case, got, f"instant {case.query!r}")
    if case.ordered or not isinstance(got, Vector | Scalar):
        return
    matrix = engine.range(case.query, case.at_ms - 60_000, case.at_ms + 60_000, 60_000)
    at_t = []
    for s in matrix.series:
        hit = np.flatnonzero(s.ts == case.at_ms)
        if len(hit):
            at_t.append((s.labels, float(s.values[hit[0]])))
    if isinstance(got, Scalar):
        assert at_t, f"range {case.query!r}: no value at t"
        _compare(case, Scalar(at_t[0][1], case.at_ms), f"range {case.query!r}")
    else:
        from core.promql import Sample

        vec = Vector([Sample(lb, v, case.at_ms) for lb, v in at_t], case.at_ms)
        _compare(case, vec, f"range {case.query!r}")
