"""The OpenMetrics / Prometheus text reader of ``pulse import openmetrics`` (core/kernel/exposition.py)."""

from __future__ import annotations

import math

import pytest

from core.kernel.exposition import Bad, Point, read_exposition


def test_samples_escapes_exemplars_and_special_values() -> None:
    lines = [
        "# HELP x_total Requests.",
        "# TYPE x_total counter",
        'x_total{path="/a\\"b\\\\c\\nd",code="200"} 12 1700000000.25 # {trace_id="f"} 1 1700000000',
        "y +Inf 1700000001",
        "y NaN 1700000002",
        "y -1.5e3",
        "# EOF",
    ]
    got = list(read_exposition(lines))
    assert got[0] == Point(3, "x_total", (("code", "200"), ("path", '/a"b\\c\nd')), 12.0, 1_700_000_000_250)
    assert got[1].value == math.inf and got[1].ts_ms == 1_700_000_001_000  # type: ignore[union-attr]
    assert math.isnan(got[2].value)  # type: ignore[union-attr]
    assert got[3] == Point(6, "y", (), -1500.0, None)


def test_milliseconds_and_go_spellings() -> None:
    (inf,) = read_exposition(["m Infinity 1"])
    assert isinstance(inf, Point) and inf.value == math.inf
    (p,) = read_exposition(["m 1 1700000000123"], ms=True)
    assert isinstance(p, Point) and p.ts_ms == 1_700_000_000_123


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("m{a=1} 1", "malformed label"),
        ('m{a="1"', "expected , or }"),
        ("m 1_000", "is not a number"),
        ("m 1,5", "is not a number"),
        ("m 1 NaN", "not finite"),
        ("# TYPE", "needs a metric name"),
    ],
)
def test_bad_lines_are_yielded_with_their_number(line: str, problem: str) -> None:
    (bad,) = [x for x in read_exposition(["ok 1", line]) if not isinstance(x, Point)]
    assert isinstance(bad, Bad) and bad.line == 2 and problem in bad.problem
