"""Parse times and durations given on the command line: ``now``, ``-6h``, ISO 8601, epoch seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from core.errors import QueryError

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration_ms(text: str) -> int:
    """``90s``, ``15m``, ``1h30m``, ``7d`` -> milliseconds."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise QueryError(
            f"bad duration {text!r}: use a number and a unit (ms, s, m, h, d, w), e.g. 15m or 1h30m"
        )
    return int(sum(float(n) * _UNITS[u] for n, u in parts))


def parse_time_ms(text: str, now_ms: int) -> int:
    """``now``, ``-6h`` or ``now-6h`` (relative to now), an ISO 8601 time or Unix seconds -> Unix milliseconds."""
    text = text.strip()
    if text == "now":
        return now_ms
    if text.startswith("now-"):
        text = text[3:]
    if text.startswith("-"):
        return now_ms - parse_duration_ms(text[1:])
    try:
        return int(float(text) * 1000)
    except (ValueError, OverflowError):  # not a number, or nan/inf/1e400
        pass
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise QueryError(f"bad time {text!r}: use now, -6h, 2026-11-27T10:00:00Z or Unix seconds") from None
