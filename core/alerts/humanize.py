"""Prometheus' humanize functions, exactly: ``humanize``, ``humanize1024``, ``humanizeDuration``,
``humanizePercentage``, ``humanizeTimestamp`` (and ``to_float``, their argument conversion).

Ported from prometheus/prometheus template/template.go and prometheus/common
helpers/templates/time.go (Copyright The Prometheus Authors, Apache License 2.0). Their ``%.4g``
is Go's: ``+Inf``, ``-Inf`` and ``NaN`` for the special values. Failures raise FuncError with
Go's message (``strconv.ParseFloat: parsing "one": invalid syntax``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from core.alerts.gotemplate.builtins import FuncError
from core.alerts.gotemplate.gofmt import go_type, sprintf
from core.alerts.gotemplate.gotime import Duration, float_to_time

_FLOAT = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F.]+[pP][+-]?\d+|inf|infinity|nan)", re.I
)


def to_float(v: Any) -> float:
    """common/helpers/templates.ConvertToFloat: float, int, numeric string, duration."""
    if isinstance(v, bool) or v is None:
        raise FuncError(f"can't convert {go_type(v)} to float")
    if isinstance(v, float | int):
        return float(v)
    if isinstance(v, Duration):
        return v.ns / 1e9
    if isinstance(v, str):
        if not _FLOAT.fullmatch(v):
            raise FuncError(f'strconv.ParseFloat: parsing "{v}": invalid syntax')
        return float.fromhex(v) if "x" in v.lower() else float(v)
    raise FuncError(f"can't convert {go_type(v)} to float")


def _g4(v: float, suffix: str = "") -> str:
    return sprintf("%.4g", [v]) + suffix


def humanize(i: Any) -> str:
    """SI prefixes: 1234567 -> 1.235M, 0.12 -> 120m."""
    v = to_float(i)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return _g4(v, prefix)
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _g4(v, prefix)


def humanize1024(i: Any) -> str:
    """Binary prefixes: 1048576 -> 1Mi (Prometheus writes "ki" for 1024)."""
    v = to_float(i)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _g4(v, prefix)


def humanize_duration(i: Any) -> str:
    """Seconds: 0.12 -> 120ms, 3.2 -> 3.2s, 3600 -> 1h 0m 0s, 5e-6 -> 5us."""
    v = to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v, "s")
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        total = int(v)
        seconds, minutes = total % 60, (total // 60) % 60
        hours, days = (total // 3600) % 24, total // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _g4(v, prefix + "s")


def humanize_percentage(i: Any) -> str:
    """A ratio as a percentage: 0.1234567 -> 12.35%."""
    return _g4(to_float(i) * 100, "%")


def humanize_timestamp(i: Any) -> str:
    """Unix seconds as Go prints a UTC time: 2015-06-23 13:19:44.128 +0000 UTC."""
    v = to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    return float_to_time(v).go_string()
