"""Results in the shape of Prometheus' HTTP API (``data`` of ``/api/v1/query`` and ``query_range``).

Times are float seconds, values strings formatted as Prometheus' API does (``"+Inf"``, ``"NaN"``,
exponents only below 1e-6 and from 1e21), so clients of Prometheus (Grafana) read Pulse unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson

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
    r = repr(v)  # shortest round-trip digits; positional (as Go's 'f') for 1e-4 <= |v| < 1e16
    if "e" not in r and "n" not in r:  # not an exponent, nan or inf: ~20x faster than numpy's
        return r[:-2] if r.endswith(".0") else r
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
    out = [{"metric": s.labels, "values": _points(s.ts, s.values)} for s in result.series]
    return {"resultType": "matrix", "result": out}


_DOT_ZERO = re.compile(r"\.0(?=[,\]])")  # "2.0" -> "2", as Go's FormatFloat('f', -1) writes it


def _value_texts(values: np.ndarray) -> list[str]:
    """Each value as :func:`format_sample` writes it.

    A range query returns ~10^5 points, and Python's float ``repr`` costs ~0.7 us each: orjson
    writes the whole array at once (ryu, the same shortest round-trip digits), numpy decides which
    values need Prometheus' exponent or special forms, and only those are formatted one by one.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.size == 0:
        return []
    a = np.abs(values)
    special = (
        ~np.isfinite(values) | ((a != 0) & ((a < 1e-4) | (a >= 1e16))) | ((values == 0) & np.signbit(values))
    )
    plain = np.where(special, 0.0, values)  # orjson writes no NaN or Inf; those are formatted below
    texts = _DOT_ZERO.sub("", orjson.dumps(plain, option=orjson.OPT_SERIALIZE_NUMPY).decode())[1:-1].split(
        ","
    )
    for i in np.flatnonzero(special).tolist():
        texts[i] = format_sample(float(values[i]))
    return texts


def _time_texts(ts: np.ndarray) -> list[str]:
    """Each time as JSON writes :func:`_t` of it: whole seconds as integers, else shortest digits."""
    whole = not (ts % 1000).any()
    arr = ts // 1000 if whole else ts / 1000
    text = orjson.dumps(arr, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return (text if whole else _DOT_ZERO.sub("", text))[1:-1].split(",")


def _points(ts: np.ndarray, values: np.ndarray) -> list[list[Any]]:
    """``[[t, "v"], ...]`` of one series: what :func:`_t` and :func:`format_sample` give."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.size == 0:
        return []
    times = (ts // 1000).tolist() if not (ts % 1000).any() else [_t(t) for t in ts.tolist()]
    return list(map(list, zip(times, _value_texts(values), strict=True)))


def _points_json(ts: np.ndarray, values: np.ndarray) -> orjson.Fragment:
    """The JSON text of :func:`_points`, built from strings only: 10^5 small lists would each be
    tracked by the garbage collector, whose passes cost more than the formatting itself."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.size == 0:
        return orjson.Fragment(b"[]")
    quoted = ('"' + '","'.join(_value_texts(values)) + '"').split(",")  # texts hold no comma
    body = "],[".join(map(",".join, zip(_time_texts(ts), quoted, strict=True)))
    return orjson.Fragment(("[[" + body + "]]").encode())


def to_api_reply(result: Result) -> dict[str, Any]:
    """:func:`to_api_data` for the HTTP reply (orjson): a matrix's points as ready JSON text."""
    if not isinstance(result, Matrix):
        return to_api_data(result)
    out = [{"metric": s.labels, "values": _points_json(s.ts, s.values)} for s in result.series]
    return {"resultType": "matrix", "result": out}


def error_type(exc: Exception) -> tuple[str, int]:
    """Prometheus' API ``errorType`` and HTTP status for an engine error."""
    if isinstance(exc, PromQLParseError):
        return "bad_data", 400
    if isinstance(exc, PromQLEvalError | PromQLUnsupported):
        return "execution", 422
    return "bad_data", 400
