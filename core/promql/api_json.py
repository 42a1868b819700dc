"""Results in the shape of Prometheus' HTTP API (``data`` of ``/api/v1/query`` and ``query_range``).

Times are float seconds, values strings formatted as Prometheus' API does (``"+Inf"``, ``"NaN"``,
exponents only below 1e-6 and from 1e21), so clients of Prometheus (Grafana) read Pulse unchanged.
"""

from __future__ import annotations

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


def _array_text(arr: np.ndarray) -> str:
    """The numbers of a numpy array as orjson writes them, comma-separated, with Go's "2" for
    "2.0" (plain ``str.replace``: a regex over 10^5 numbers costs more than writing them)."""
    text = orjson.dumps(arr, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    if arr.dtype.kind in "iu":  # integers have no ".0" to take off
        return text[1:-1]
    return text.replace(".0,", ",").replace(".0]", "]")[1:-1]


def _value_text(values: np.ndarray) -> tuple[str, np.ndarray]:
    """The values as :func:`format_sample` writes them, comma-separated, except at the returned
    indexes (NaN, Inf, -0 and the exponent forms), which hold a 0 to be replaced.

    A range query returns ~10^5 points, and Python's float ``repr`` costs ~0.7 us each: orjson
    writes the whole array at once (ryu, the same shortest round-trip digits), numpy decides which
    values need Prometheus' exponent or special forms, and only those are formatted one by one.
    """
    a = np.abs(values)
    special = (
        ~np.isfinite(values) | ((a != 0) & ((a < 1e-4) | (a >= 1e16))) | ((values == 0) & np.signbit(values))
    )
    return _array_text(np.where(special, 0.0, values)), np.flatnonzero(special)


def _value_texts(values: np.ndarray) -> list[str]:
    """Each value as :func:`format_sample` writes it."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.size == 0:
        return []
    text, special = _value_text(values)
    texts = text.split(",")
    for i in special.tolist():
        texts[i] = format_sample(float(values[i]))
    return texts


def _time_text(ts: np.ndarray) -> str:
    """The times as JSON writes :func:`_t` of each: whole seconds as integers, else shortest digits."""
    return _array_text(ts // 1000 if not (ts % 1000).any() else ts / 1000)


def _points(ts: np.ndarray, values: np.ndarray) -> list[list[Any]]:
    """``[[t, "v"], ...]`` of one series: what :func:`_t` and :func:`format_sample` give."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.size == 0:
        return []
    times = (ts // 1000).tolist() if not (ts % 1000).any() else [_t(t) for t in ts.tolist()]
    return list(map(list, zip(times, _value_texts(values), strict=True)))


def _points_json(ts: np.ndarray, values: np.ndarray) -> orjson.Fragment:
    """The JSON text of :func:`_points`. With whole-second times (a range query's steps), orjson
    writes the (int, str) pairs: 12% faster than joining strings. Otherwise built from strings
    only (10^5 small lists would each be tracked by the garbage collector, whose passes cost more
    than the formatting itself): the times become ``[t`` and the values ``"v"]``, interleaved
    and joined by commas once."""
    ts = np.asarray(ts, dtype=np.int64)
    values = np.ascontiguousarray(values, dtype=np.float64)
    if ts.size == 0:
        return orjson.Fragment(b"[]")
    text, special = _value_text(values)
    if special.size:
        texts = text.split(",")
        for i in special.tolist():
            texts[i] = format_sample(float(values[i]))
        text = ",".join(texts)  # no text holds a comma
    if not (ts % 1000).any():  # whole seconds (a range query's steps): orjson writes the pairs
        return orjson.Fragment(orjson.dumps(list(zip((ts // 1000).tolist(), text.split(","), strict=True))))
    pairs: list[str] = [""] * (2 * ts.size)
    pairs[0::2] = ("[" + _time_text(ts).replace(",", ",[")).split(",")
    pairs[1::2] = ('"' + text.replace(",", '"],"') + '"]').split(",")
    return orjson.Fragment(("[" + ",".join(pairs) + "]").encode())


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
