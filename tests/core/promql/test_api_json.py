"""A range query's points are written exactly as one value at a time would be (Prometheus' form)."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from core.promql.api_json import _points, _points_json, _t, format_sample, to_api_data, to_api_reply
from core.promql.result import Matrix, Series

EDGES = [0.0, -0.0, 1.0, -2.5, 1e-4, 9.99e-5, 1e-6, 1e16, 9.999999999999998e15, 1e21, 5e-324]
EDGES += [1.7976931348623157e308, 123456789012345.0, 0.1, 1 / 3, float("nan"), float("inf"), float("-inf")]


def one_by_one(ts: np.ndarray, values: np.ndarray) -> list[list[object]]:
    return [[_t(t), format_sample(v)] for t, v in zip(ts.tolist(), values.tolist(), strict=True)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from(EDGES), max_size=60),
    st.booleans(),
)
def test_points_are_the_values_formatted_one_by_one(values: list[float], whole_seconds: bool) -> None:
    ts = np.arange(len(values), dtype=np.int64) * 15_000 + (0 if whole_seconds else 123)
    arr = np.asarray(values, dtype=np.float64)
    assert _points(ts, arr) == one_by_one(ts, arr)
    assert orjson.loads(orjson.dumps(_points_json(ts, arr))) == one_by_one(ts, arr)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**41), max_size=30))
def test_times_are_written_as_seconds_whole_or_with_their_digits(ms: list[int]) -> None:
    ts = np.asarray(sorted(ms), dtype=np.int64)
    values = np.ones(ts.size)
    assert orjson.loads(orjson.dumps(_points_json(ts, values))) == one_by_one(ts, values)


def test_a_matrix_reply_is_the_data_as_json() -> None:
    m = Matrix(
        [
            Series({"a": "1"}, np.array([1000, 2500]), np.array([0.5, 2.0])),
            Series({}, np.zeros(0), np.zeros(0)),
        ]
    )
    assert orjson.loads(orjson.dumps(to_api_reply(m))) == to_api_data(m)


def test_the_forms_prometheus_writes() -> None:
    ts = np.zeros(7, dtype=np.int64)
    values = np.array([2.0, -0.0, 1e-7, 1e21, float("nan"), float("-inf"), 0.25])
    assert [v for _, v in _points(ts, values)] == ["2", "-0", "1e-07", "1e+21", "NaN", "-Inf", "0.25"]
