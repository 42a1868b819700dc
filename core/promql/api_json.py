"""Results in the shape of Prometheus' HTTP API (``data`` of ``/api/v1/query`` and ``query_range``).

Times are float seconds, values strings formatted as Prometheus' API does (``"+Inf"``, ``"NaN"``,
exponents only below 1e-6 and from 1e21), so clients of Prometheus (Grafana) read Pulse unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.promql.errors import PromQLEvalError, PromQLParseError, PromQLUnsupported
from core.promql.result import Matrix, Result, Scalar, String, Vector


def format_value(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)`` (label values of count_values)."""
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return np.format_float_positional(v, trim="-")


def format_sample(v: float) -> str:
    """A sample value as Prometheus' API writes it (util/jsonutil ``MarshalValue``): 'f', or 'e'
    below 1e-6 and from 1e21 on, shortest round-trip digits."""
    a = abs(v)
    if np.isfinite(v) and a != 0 and (a < 1e-6 or a >= 1e21):
        return np.format_float_scientific(v, trim="-", exp_digits=2)
    return format_value(v)


def _t(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def to_api_data(result: Result) -> dict[str, Any]:
    if isinstance(result, Scalar):
        return {"resultType": "scalar", "result": [_t(result.ts), format_sample(result.value)]}
    if isinstance(result, String):
        return {"resultType": "string", "result": [_t(result.ts), result.value]}
    if isinstance(result, Vector):
        return {
            "resultType": "vector",
            "result": [
                {"metric": s.labels, "value": [_t(s.ts), format_sample(s.value)]} for s in result.samples
            ],
        }
    assert isinstance(result, Matrix)
    out = []
    for s in result.series:
        values = [[_t(int(t)), format_sample(float(v))] for t, v in zip(s.ts, s.values, strict=True)]
        out.append({"metric": s.labels, "values": values})
    return {"resultType": "matrix", "result": out}


def error_type(exc: Exception) -> tuple[str, int]:
    """Prometheus' API ``errorType`` and HTTP status for an engine error."""
    if isinstance(exc, PromQLParseError):
        return "bad_data", 400
    if isinstance(exc, PromQLEvalError | PromQLUnsupported):
        return "execution", 422
    return "bad_data", 400
