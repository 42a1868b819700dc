"""A sampling profile as collapsed stacks, whoever recorded it (py-spy by PID, pyinstrument in
process): the hottest functions, Brendan Gregg's folded text, and speedscope JSON in and out.

A stack is a tuple of frames from the root to the leaf; a frame is ``function (file:line)``.
Weights are samples (py-spy) or seconds (pyinstrument); shares do not depend on the unit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import polars as pl

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"


@dataclass(frozen=True)
class Profile:
    stacks: dict[tuple[str, ...], float]
    unit: str  # "samples" or "seconds"
    source: str  # what was profiled and by what, e.g. "py-spy pid 1234"
    duration_s: float
    notes: tuple[str, ...] = field(default=())

    @property
    def total(self) -> float:
        return float(sum(self.stacks.values()))


def frame_label(function: str, file: str, line: int | None) -> str:
    return f"{function} ({file}:{line})" if line else f"{function} ({file})"


def function_of(frame: str) -> str:
    """``hot (app.py:12)`` -> ``hot (app.py)``: the function, whatever line it was on."""
    name, _, where = frame.rpartition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].rstrip(')')})" if name else frame


def top_functions(profile: Profile, limit: int = 20) -> pl.DataFrame:
    """Functions by self share (time in the function itself), with their total (inclusive) share."""
    own: defaultdict[str, float] = defaultdict(float)
    inclusive: defaultdict[str, float] = defaultdict(float)
    for stack, w in profile.stacks.items():
        if not stack:
            continue
        own[function_of(stack[-1])] += w
        for fn in {function_of(f) for f in stack}:  # recursion counts once
            inclusive[fn] += w
    total = profile.total or 1.0
    rows = [
        {
            "function": fn,
            "self": own[fn],
            "self_pct": 100 * own[fn] / total,
            "total": w,
            "total_pct": 100 * w / total,
        }
        for fn, w in inclusive.items()
    ]
    schema = {
        "function": pl.Utf8,
        "self": pl.Float64,
        "self_pct": pl.Float64,
        "total": pl.Float64,
        "total_pct": pl.Float64,
    }
    df = pl.DataFrame(rows, schema=schema)
    return df.sort(["self", "total", "function"], descending=[True, True, False]).head(limit)


def folded(profile: Profile) -> str:
    """One ``root;child;leaf weight`` line per stack (flamegraph.pl, inferno, speedscope read it)."""
    lines = [f"{';'.join(s)} {w:g}" for s, w in sorted(profile.stacks.items()) if s]
    return "\n".join(lines) + ("\n" if lines else "")


def to_speedscope(profile: Profile) -> dict[str, Any]:
    """A speedscope ``sampled`` profile (open it at https://www.speedscope.app)."""
    index: dict[str, int] = {}
    samples, weights = [], []
    for stack, w in profile.stacks.items():
        samples.append([index.setdefault(f, len(index)) for f in stack])
        weights.append(w)
    frames = [_frame_json(label) for label in index]
    return {
        "$schema": SPEEDSCOPE_SCHEMA,
        "name": profile.source,
        "exporter": "mcp-pulse",
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": profile.source,
                "unit": "seconds" if profile.unit == "seconds" else "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }


def from_speedscope(doc: dict[str, Any], source: str, duration_s: float) -> Profile:
    """The ``sampled`` profiles of a speedscope file (py-spy writes one per thread), merged."""
    try:
        frames = [frame_label(f["name"], f.get("file", "?"), f.get("line")) for f in doc["shared"]["frames"]]
        stacks: defaultdict[tuple[str, ...], float] = defaultdict(float)
        units = set()
        for p in doc["profiles"]:
            if p.get("type") != "sampled":
                continue
            units.add(p.get("unit", "none"))
            for sample, w in zip(p["samples"], p["weights"], strict=True):
                stacks[tuple(frames[i] for i in sample)] += float(w)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise ValueError(f"not a speedscope profile: {type(exc).__name__} {exc}") from None
    unit = "seconds" if units == {"seconds"} else "samples"
    return Profile(dict(stacks), unit, source, duration_s)


def _frame_json(label: str) -> dict[str, Any]:
    name, _, where = label.rpartition(" (")
    if not name:
        return {"name": label}
    file, _, line = where.rstrip(")").rpartition(":")
    if file and line.isdigit():
        return {"name": name, "file": file, "line": int(line)}
    return {"name": name, "file": where.rstrip(")")}
