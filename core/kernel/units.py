"""Human-readable numbers: bytes, percentages, durations and rates, plus the matching plotly axis formats."""

from __future__ import annotations

import math
from typing import Literal

Unit = Literal["bytes", "bytes_per_s", "percent", "seconds", "per_s", "count", "ratio"]
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
NA = "–"


def _bad(x: float | None) -> bool:
    return x is None or not math.isfinite(x)


def fmt_bytes(x: float | None, suffix: str = "") -> str:
    """1536 -> ``1.5 KiB`` (binary prefixes, as free(1) and Grafana's ``bytes(IEC)``)."""
    if x is None or _bad(x):
        return NA
    sign, x = ("-" if x < 0 else ""), abs(x)
    i = 0
    while x >= 1024 and i < len(_BYTE_UNITS) - 1:
        x /= 1024
        i += 1
    digits = 0 if i == 0 else (1 if x >= 10 else 2)
    return f"{sign}{x:.{digits}f} {_BYTE_UNITS[i]}{suffix}"


def fmt_percent(ratio: float | None, digits: int = 1) -> str:
    """A 0..1 ratio as a percentage: 0.953 -> ``95.3%``."""
    if ratio is None or _bad(ratio):
        return NA
    return f"{ratio * 100:.{digits}f}%"


def fmt_seconds(s: float | None) -> str:
    """Latency: 0.0123 -> ``12.3 ms``, 1.5 -> ``1.50 s``, 0.0004 -> ``400 µs``."""
    if s is None or _bad(s):
        return NA
    if abs(s) >= 60:
        return f"{s / 60:.1f} min"
    if abs(s) >= 1:
        return f"{s:.2f} s"
    ms = s * 1000
    if abs(ms) >= 1:
        return f"{ms:.0f} ms" if abs(ms) >= 100 else f"{ms:.1f} ms"
    return f"{ms * 1000:.0f} µs"


def fmt_rate(per_s: float | None, what: str = "req") -> str:
    """Events per second: 12.345 -> ``12.3 req/s``; small rates keep two significant digits."""
    if per_s is None or _bad(per_s):
        return NA
    unit = f" {what}/s" if what else "/s"
    if per_s == 0 or abs(per_s) >= 10:
        return f"{per_s:,.0f}{unit}" if abs(per_s) >= 100 else f"{per_s:.1f}{unit}"
    return f"{per_s:.2g}{unit}"


def fmt_count(n: float | None) -> str:
    """1234567 -> ``1.23M``; small counts stay exact."""
    if n is None or _bad(n):
        return NA
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if abs(n) >= div:
            return f"{n / (1e3 if unit == 'k' else div):.3g}{unit}"
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:.3g}"


def fmt_delta_pct(pct: float | None) -> str | None:
    """A period-over-period change: 12.34 -> ``+12.3%``; None when there is nothing to compare."""
    if pct is None or _bad(pct):
        return None
    return f"{pct:+.1f}%"


def fmt(x: float | None, unit: Unit) -> str:
    if unit == "bytes":
        return fmt_bytes(x)
    if unit == "bytes_per_s":
        return fmt_bytes(x, "/s")
    if unit in ("percent", "ratio"):
        return fmt_percent(x)
    if unit == "seconds":
        return fmt_seconds(x)
    if unit == "per_s":
        return fmt_rate(x)
    return fmt_count(x)


def axis_format(unit: Unit) -> dict[str, object]:
    """Plotly axis settings for values stored in base units (ratios 0..1, seconds, bytes)."""
    if unit in ("percent", "ratio"):
        return {"tickformat": ".0%", "rangemode": "tozero"}
    if unit == "seconds":
        return {"tickformat": "~s", "ticksuffix": "s", "rangemode": "tozero"}
    if unit == "bytes":
        return {"tickformat": "~s", "ticksuffix": "B", "rangemode": "tozero"}
    if unit == "bytes_per_s":
        return {"tickformat": "~s", "ticksuffix": "B/s", "rangemode": "tozero"}
    if unit == "per_s":  # no SI prefixes: "150m/s" would read as metres per second
        return {"tickformat": ",.3~g", "ticksuffix": "/s", "rangemode": "tozero"}
    return {"tickformat": ",.3~g", "rangemode": "tozero"}


def hover_format(unit: Unit) -> str:
    """A d3 format for hover labels matching :func:`axis_format`."""
    return {
        "percent": ".1%",
        "ratio": ".1%",
        "seconds": ".3~s",
        "bytes": ".3~s",
        "bytes_per_s": ".3~s",
        "per_s": ",.3~g",
    }.get(unit, ",.3~g")


HOVER_SUFFIX: dict[str, str] = {"seconds": "s", "bytes": "B", "bytes_per_s": "B/s", "per_s": "/s"}


def span(seconds: float) -> str:
    """40 -> ``40 s``, 600 -> ``10 min``, 7200 -> ``2.0 h``, 3 days -> ``3.0 d``."""
    for size, unit in ((86_400, "d"), (3_600, "h")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def ago(seconds: float | None) -> str | None:
    return None if seconds is None else f"{span(seconds)} ago"
