"""A streaming reader of OpenMetrics / Prometheus text exposition files, as ``promtool tsdb
create-blocks-from openmetrics`` reads them: every sample line, with many points per series.

``read_exposition(lines)`` yields :class:`Point` s (line number, metric, sorted labels, value,
timestamp in ms or None) and raises nothing: a malformed line is yielded as a :class:`Bad` naming
the line and the problem, so callers decide (refuse the file, or skip and report). Timestamps are
OpenMetrics seconds (fractions allowed), or milliseconds with ``ms=True`` (Prometheus' text
format). ``# HELP``, ``# TYPE``, ``# UNIT`` and comments are checked and skipped; exemplars
(``... # {trace_id="x"} 1``) are dropped; lines after ``# EOF`` are an error, as in OpenMetrics.
prometheus_client's parser is not used: it loses histogram buckets and summary quantiles when a
series has many timestamped points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\\n]|\\.)*)"\s*(,?)\s*')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESCAPE = re.compile(r"\\.")
TYPES = {
    "counter",
    "gauge",
    "histogram",
    "gaugehistogram",
    "stateset",
    "info",
    "summary",
    "unknown",
    "untyped",
}
_SPECIAL = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}
MAX_TS_S = 253_402_300_799  # 9999-12-31: a larger "seconds" timestamp is milliseconds read as seconds


@dataclass(frozen=True, slots=True)
class Point:
    line: int
    metric: str
    labels: tuple[tuple[str, str], ...]
    value: float
    ts_ms: int | None


@dataclass(frozen=True, slots=True)
class Bad:
    line: int
    problem: str
    text: str

    def shown(self) -> str:
        return repr(self.text if len(self.text) <= 120 else self.text[:117] + "...")

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}: {self.shown()}"


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(0), m.group(0)), value) if "\\" in value else value


def _number(text: str, what: str) -> float:
    special = _SPECIAL.get(text.lower())
    if special is not None:
        return special
    if "_" in text:  # Go's ParseFloat refuses digit separators without a base prefix
        raise ValueError(f"{what} {text[:40]!r} is not a number")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} {text[:40]!r} is not a number") from None


def parse_sample(text: str, lineno: int, ms: bool = False) -> Point:
    """One sample line; ValueError names the problem."""
    m = _NAME.match(text)
    if m is None:
        raise ValueError("expected a metric name at the start of the line")
    name, pos = m.group(0), m.end()
    labels: dict[str, str] = {}
    if pos < len(text) and text[pos] == "{":
        pos += 1
        while True:
            if text.startswith("}", pos):
                pos += 1
                break
            lm = _LABEL.match(text, pos)
            if lm is None:
                raise ValueError(f'malformed label at column {pos + 1} (expected name="value" or }})')
            key = lm.group(1)
            if key in labels:
                raise ValueError(f"label {key!r} appears twice")
            labels[key] = _unescape(lm.group(2))
            pos = lm.end()
            if not lm.group(3) and not text.startswith("}", pos):
                raise ValueError(f"expected , or }} after label {key!r} at column {pos + 1}")
    rest = text[pos:]
    if not rest[:1].isspace():
        raise ValueError("expected a space and a value after the metric name and labels")
    fields = rest.split(" # ", 1)[0].split()
    if not fields or len(fields) > 2:
        raise ValueError(f"expected a value and an optional timestamp, got {len(fields)} fields")
    value = _number(fields[0], "value")
    ts_ms = None
    if len(fields) == 2:
        t = _number(fields[1], "timestamp")
        if not math.isfinite(t):
            raise ValueError(f"timestamp {fields[1]!r} is not finite")
        if not ms and abs(t) > MAX_TS_S:
            raise ValueError(
                f"timestamp {fields[1]!r} is after the year 9999 in seconds; milliseconds? (use --ms)"
            )
        ts_ms = round(t) if ms else round(t * 1000)
    return Point(lineno, name, tuple(sorted(labels.items())), value, ts_ms)


def _meta(text: str) -> str | None:
    """The problem with a ``#`` line, or None (HELP/TYPE/UNIT checked, other comments allowed)."""
    parts = text.split(None, 3)
    if len(parts) < 2 or parts[1] not in ("HELP", "TYPE", "UNIT"):
        return None
    if len(parts) < 3 or not _NAME.fullmatch(parts[2]):
        return f"# {parts[1]} needs a metric name"
    if parts[1] == "TYPE" and (len(parts) < 4 or parts[3].strip() not in TYPES):
        return f"unknown metric type {parts[3].strip() if len(parts) > 3 else ''!r} (one of {', '.join(sorted(TYPES))})"
    return None


def read_exposition(lines: Iterable[str], ms: bool = False) -> Iterator[Point | Bad]:
    ended = 0
    for lineno, raw in enumerate(lines, 1):
        text = raw.rstrip("\r\n")
        if ended:
            if text.strip():
                yield Bad(lineno, f"content after # EOF (line {ended})", text)
            continue
        if not text.strip():
            continue
        if text.startswith("#"):
            if text.strip() == "# EOF":
                ended = lineno
            elif (problem := _meta(text)) is not None:
                yield Bad(lineno, problem, text)
            continue
        try:
            yield parse_sample(text, lineno, ms)
        except ValueError as exc:
            yield Bad(lineno, str(exc), text)
