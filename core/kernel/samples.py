"""Samples and labels: what every collector produces and the store keeps."""

from __future__ import annotations

import time
from typing import NamedTuple

Labels = tuple[tuple[str, str], ...]


def labels_of(**kw: object) -> Labels:
    """Canonical label set: sorted (name, value) pairs, values as strings, empty values dropped."""
    return tuple(sorted((k, str(v)) for k, v in kw.items() if v is not None and v != ""))


class Sample(NamedTuple):
    """One observation: metric name, canonical labels, Unix time in milliseconds, value."""

    metric: str
    labels: Labels
    ts: int
    value: float


def now_ms() -> int:
    return int(time.time() * 1000)
