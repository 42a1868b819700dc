"""Samples and labels: what every collector produces and the store keeps."""

from __future__ import annotations

import struct
import time
from typing import NamedTuple

Labels = tuple[tuple[str, str], ...]

# Prometheus' staleness marker (value.StaleNaN): a NaN told apart from a real NaN by its bits. It
# ends a series at once for PromQL instead of after the 5-minute lookback.
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def is_stale_value(value: float) -> bool:
    """Whether ``value`` is the stale marker (a plain NaN is not)."""
    return value != value and struct.unpack("<Q", struct.pack("<d", value))[0] == STALE_NAN_BITS


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
