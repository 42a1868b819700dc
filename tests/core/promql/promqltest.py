"""A reader of Prometheus' PromQL test language (promql/test.go at v2.42.0), for Pulse's engine.

Supported commands: ``load <interval>`` with series descriptions (``a+bxN``, ``axN``, ``_``,
``_xN``, ``stale``), ``clear``, and ``eval[_fail|_ordered] instant at <duration> <query>`` with
expected samples or a scalar. Values compare with Prometheus' relative epsilon 1e-6.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

STALE = float(np.array([0x7FF0000000000002], dtype=np.uint64).view(np.float64)[0])
_EVAL = re.compile(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_ESC = {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}


_UNITS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000}
_UNITS |= {"s": 1000, "ms": 1}


def duration_ms(text: str) -> int:
    """Prometheus' model.ParseDuration (``1h30m``, ``0``), in milliseconds."""
    text = text.strip()
    if text == "0":
        return 0
    parts = re.findall(r"(\d+)(ms|y|w|d|h|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"bad duration {text!r}"
    return sum(int(n) * _UNITS[u] for n, u in parts)


def _number(text: str) -> float:
    t = text.strip()
    low = t.lower().lstrip("+-")
    if low in ("inf", "nan"):
        return float(t)
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", t):
        raise ValueError(t)
    return float(t)


def _values(tokens: list[str]) -> list[float | None]:
    out: list[float | None] = []
    for tok in tokens:
        if tok == "_":
            out.append(None)
        elif tok == "stale":
            out.append(STALE)
        elif tok.startswith("_x"):
            out += [None] * int(tok[2:])
        elif "x" in tok:  # in series values "0x10" is 0 repeated, never hexadecimal
            base, n = tok.rsplit("x", 1)
            split = next(
                (i for i in range(1, len(base)) if base[i] in "+-" and base[i - 1] not in "eE"), None
            )
            start = _number(base if split is None else base[:split])
            inc = 0.0 if split is None else _number(base[split:])
            for _ in range(int(n) + 1):
                out.append(start)
                start += inc
        else:
            out.append(_number(tok))
    return out


def series_desc(line: str) -> tuple[dict[str, str], list[float | None]]:
    """``metric{a="b"} 1 2+3x4`` -> labels (with __name__) and values."""
    labels: dict[str, str] = {}
    m = re.match(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?", line)
    pos = m.end() if m else 0
    if m and m.group(1):
        labels["__name__"] = m.group(1)
    if pos < len(line) and line[pos] == "{":
        pos += 1
        while True:
            lm = _LABEL.match(line, pos)
            if not lm:
                break
            labels[lm.group(1)] = re.sub(r"\\(.)", lambda e: _ESC.get(e[1], e[0]), lm.group(2))
            pos = lm.end()
        end = line.index("}", pos)
        pos = end + 1
    return labels, _values(line[pos:].split())


@dataclass
class Eval:
    line: int
    query: str
    at_ms: int
    fail: bool = False
    ordered: bool = False
    scalar: float | None = None
    expected: list[tuple[dict[str, str], float]] = field(default_factory=list)


@dataclass
class Load:
    interval_ms: int
    series: list[tuple[dict[str, str], list[float | None]]]


@dataclass
class Clear:
    pass


Command = Load | Eval | Clear


def parse_file(path: Path) -> list[Command]:
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    lines = ["" if ln.startswith("#") else ln for ln in lines]
    cmds: list[Command] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if not ln:
            i += 1
            continue
        word = ln.split()[0].lower()
        if word == "clear":
            cmds.append(Clear())
            i += 1
        elif word == "load":
            load = Load(duration_ms(ln.split(None, 1)[1]), [])
            i += 1
            while i < len(lines) and lines[i]:
                load.series.append(series_desc(lines[i]))
                i += 1
            cmds.append(load)
        elif word.startswith("eval"):
            m = _EVAL.match(ln)
            assert m, f"{path.name}:{i + 1}: bad eval line {ln!r}"
            ev = Eval(
                i + 1,
                m.group(3),
                duration_ms(m.group(2) or "0s"),
                m.group(1) == "fail",
                m.group(1) == "ordered",
            )
            i += 1
            while i < len(lines) and lines[i]:
                try:
                    ev.scalar = _number(lines[i])
                    i += 1
                    break
                except ValueError:
                    labels, vals = series_desc(lines[i])
                    assert len(vals) == 1 and vals[0] is not None, f"{path.name}:{i + 1}: one value expected"
                    ev.expected.append((labels, vals[0]))
                    i += 1
            cmds.append(ev)
        else:
            raise AssertionError(f"{path.name}:{i + 1}: unknown command {ln!r}")
    return cmds


def almost_equal(a: float, b: float) -> bool:
    """promql/test.go ``almostEqual`` (epsilon 1e-6 relative)."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    min_normal = 2.2250738585072014e-308
    if a == 0 or b == 0 or diff < min_normal:
        return diff < 1e-6 * min_normal
    return diff / (abs(a) + abs(b)) < 1e-6
