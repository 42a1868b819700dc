"""The spool's counters and its file format.

A spool file is a header ``{"format": "pulse-spool", "version": 1, "count": N}`` then one JSON line
``[metric, [[label, value], ...], ts_ms, value]`` per sample. A value is a JSON number, or
``NaN``/``Infinity``/``-Infinity`` (Python's json), or the string ``"stale"`` for Prometheus' stale
marker, whose NaN bits a JSON ``NaN`` would lose."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.kernel.files import open_private
from core.kernel.samples import STALE_NAN, Sample, is_stale_value

FORMAT, VERSION = "pulse-spool", 1
_HEADER_START = json.dumps({"format": FORMAT, "version": VERSION, "count": 0})[:-2]  # up to the count


class SpoolCorrupt(ValueError):
    """A spool file cannot be read back whole."""


STALE = "stale"  # the stale marker in a spool line


def encode(s: Sample) -> str:
    value = STALE if is_stale_value(s.value) else s.value
    return json.dumps([s.metric, [list(kv) for kv in s.labels], s.ts, value])


def decode(line: str) -> Sample:
    metric, labels, ts, value = json.loads(line)
    if value == STALE:
        value = STALE_NAN
    if not isinstance(metric, str) or not isinstance(ts, int) or not isinstance(value, int | float):
        raise SpoolCorrupt(f"bad sample {line[:120]!r}")
    if not all(
        isinstance(kv, list) and len(kv) == 2 and all(isinstance(x, str) for x in kv) for kv in labels
    ):
        raise SpoolCorrupt(f"bad labels {line[:120]!r}")
    return Sample(metric, tuple((k, v) for k, v in labels), ts, float(value))


def write_file(path: Path, samples: Sequence[Sample]) -> None:
    """``samples`` as one spool file at ``path``, fsynced (OSError when the disk refuses)."""
    with os.fdopen(open_private(path), "w", encoding="utf-8") as f:
        f.write(json.dumps({"format": FORMAT, "version": VERSION, "count": len(samples)}) + "\n")
        f.writelines(encode(s) + "\n" for s in samples)
        f.flush()
        os.fsync(f.fileno())


def read_file(path: Path, body: bool) -> tuple[int, list[Sample]]:
    """The sample count from the header and, with ``body``, the samples; ValueError if corrupt."""
    with open(path, encoding="utf-8") as f:
        try:
            head: Any = json.loads(f.readline() or "null")
        except ValueError as exc:
            head = f"unreadable: {exc}"
        if not isinstance(head, dict) or (head.get("format"), head.get("version")) != (FORMAT, VERSION):
            raise SpoolCorrupt(f"not a version {VERSION} Pulse spool file (header {head!r})")
        count = head.get("count")
        if not isinstance(count, int) or count < 0:
            raise SpoolCorrupt(f"bad sample count in header {head!r}")
        lines = f.read().splitlines() if body else []
    if body and len(lines) != count:
        raise SpoolCorrupt(f"header says {count} samples but the file holds {len(lines)} lines")
    try:
        return count, [decode(line) for line in lines]
    except (ValueError, TypeError) as exc:
        raise SpoolCorrupt(str(exc)) from exc


def salvage(path: Path) -> list[Sample]:
    """The whole samples of an unfinished spill (a ``.tmp`` file a killed process left): every
    complete line that decodes; a torn last line is dropped; none when the process was killed
    before the header line was whole (an empty file, a torn header). ValueError if a whole header
    is not a Pulse spool header."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    head, newline, body = text.partition("\n")
    if not newline and _HEADER_START.startswith(head[: len(_HEADER_START)]):
        return []  # killed while writing the header line: no sample was written yet
    try:
        header: Any = json.loads(head or "null")
    except ValueError as exc:
        raise SpoolCorrupt(f"unreadable header: {exc}") from exc
    if not isinstance(header, dict) or (header.get("format"), header.get("version")) != (FORMAT, VERSION):
        raise SpoolCorrupt(f"not a version {VERSION} Pulse spool file (header {header!r})")
    whole = body.split("\n")[:-1]  # the part after the last newline was being written
    samples = []
    for line in whole:
        try:
            samples.append(decode(line))
        except (ValueError, TypeError):
            break  # nothing after a damaged line is trusted
    return samples


@dataclass
class SpoolStats:
    """Counts since start: samples written (accepted by the store), buffered after a failure,
    spilled to spool files and recovered (written after being held); files set aside as bad."""

    written: int = 0
    buffered: int = 0
    spilled: int = 0
    recovered: int = 0
    set_aside: int = 0
    spill_failures: int = 0
