"""Exposition bodies (Prometheus text 0.0.4, OpenMetrics 1.0) -> Pulse samples.

Parsing is prometheus-client's (``prometheus_client.parser`` and ``prometheus_client.openmetrics
.parser``); this module picks the parser, refuses what is not an exposition (HTML, JSON, binary),
and maps the parsed families to samples the store accepts:

- counters as ``<name>_total`` (the text parser renames a counter without the suffix), gauges,
  histograms (``_bucket`` with ``le``, ``_sum``, ``_count``), summaries (``quantile``, ``_sum``,
  ``_count``), gauge histograms, info (``<name>_info``), statesets and untyped samples as exposed;
  ``_created`` samples (and a text body's ``<name>_created`` gauges next to a counter, histogram
  or summary) are left out; ``le`` and ``quantile`` values are written canonically (``1`` -> ``1.0``);
- a sample the store would reject is dropped and counted by reason (see ``DROP_REASONS``):
  NaN or infinite values, names it cannot hold, over-long names or values, bad timestamps,
  a bucket or quantile bound that is not a number, native histograms; a series that appears twice
  in one body keeps its last value and counts one ``duplicate``.
A body that does not parse fails as a whole (as in Prometheus): partial data would look complete.
"""

from __future__ import annotations

import io
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.openmetrics.parser import text_fd_to_metric_families as openmetrics_families
from prometheus_client.parser import text_fd_to_metric_families as text_families
from prometheus_client.utils import floatToGoString

from core.kernel.errors import CollectorError
from core.kernel.samples import Labels, Sample

OPENMETRICS = "application/openmetrics-text"
NOT_EXPOSITION = (  # content types that are surely not an exposition (anything else is tried as text)
    "text/html",
    "application/xhtml",
    "application/json",
    "application/xml",
    "text/xml",
    "image/",
    "application/vnd.google.protobuf",
    "application/pdf",
    "application/zip",
    "application/gzip",
)
DROP_REASONS = (
    "nan",
    "inf",
    "duplicate",
    "invalid_name",
    "too_long",
    "bad_timestamp",
    "bad_bucket",
    "unsupported",
)
MAX_METRIC_LEN, MAX_LABEL_VALUE_LEN = 200, 1000  # the store's limits (core/storage/tsdb/ingest.py)
MAX_TS_MS = 2**62
_BAD_METRIC_CHARS = re.compile(r"[^a-zA-Z0-9_:]")
_BAD_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_WITH_CREATED = ("counter", "histogram", "summary")
_BOUNDED = ("histogram", "gaugehistogram", "summary")


class ExpositionError(CollectorError):
    """The body is not a Prometheus text or OpenMetrics exposition, or does not parse."""


@dataclass
class Converted:
    """Samples from one body, how many the body exposed and how many were dropped (by reason)."""

    samples: list[Sample]
    scraped: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    fmt: str = "text"


def _snippet(text: str) -> str:
    return (text.split(maxsplit=1) or [""])[0][:20]


def format_of(content_type: str, body: bytes) -> str:
    """``"openmetrics"`` or ``"text"``; an HTML, JSON, XML or binary body is an ExpositionError."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    head = body[:200].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if ctype.startswith(NOT_EXPOSITION) or head.startswith("<"):
        raise ExpositionError(
            f"not an exposition format (content-type {ctype or 'missing'}, starts with {_snippet(head)!r})"
        )
    return "openmetrics" if ctype == OPENMETRICS else "text"


def decode(body: bytes) -> str:
    """The body as text; invalid UTF-8 or NUL bytes mean binary data, not an exposition."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = body[exc.start : exc.start + 1].hex()
        raise ExpositionError(
            f"body is not UTF-8 text (byte 0x{bad} at offset {exc.start}): binary data, not an exposition"
        ) from None
    if "\x00" in text:
        raise ExpositionError(
            f"body contains a NUL byte at offset {text.index(chr(0))}: binary data, not an exposition"
        )
    return text.removeprefix("\ufeff")


class _Lines:
    """The body's lines for the parser, counted, with a time limit checked between lines."""

    def __init__(self, text: str, deadline: float | None) -> None:
        self._it = iter(io.StringIO(text))
        self.deadline = deadline
        self.n, self.line = 0, ""

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.deadline is not None and self.n % 1024 == 0 and time.monotonic() > self.deadline:
            raise ExpositionError(f"parsing ran out of time at line {self.n}")
        self.line = next(self._it)
        self.n += 1
        return self.line


def parse(text: str, fmt: str, deadline: float | None = None) -> list[Any]:
    """All metric families of the body (prometheus-client ``Metric`` objects), or ExpositionError."""
    lines = _Lines(text, deadline)
    families = openmetrics_families if fmt == "openmetrics" else text_families
    try:
        return list(families(lines))  # type: ignore[arg-type]  # it only iterates over the lines
    except ExpositionError:
        raise
    except Exception as exc:  # any failure of the third-party parser is a bad body
        detail = str(exc).split("\n", 1)[0][:200] or type(exc).__name__
        where = f"line {lines.n}" if lines.n else "the body"
        raise ExpositionError(
            f"{fmt} parse error at {where} ({lines.line.rstrip()[:120]!r}): {detail}"
        ) from exc


def metric_name(name: str) -> str | None:
    """A name the store accepts: characters outside [a-zA-Z0-9_:] become ``_`` (UTF-8 names)."""
    fixed = _BAD_METRIC_CHARS.sub("_", name)
    return None if not fixed else "_" + fixed if fixed[0].isdigit() else fixed


def label_name(name: str) -> str | None:
    """A label name the store accepts, or None for an empty or reserved (``__``) one."""
    fixed = _BAD_LABEL_CHARS.sub("_", name)
    fixed = "_" + fixed if fixed[:1].isdigit() else fixed
    return None if not fixed or fixed.startswith("__") else fixed


def _bound(value: str) -> str | None:
    try:
        f = float(value)
    except ValueError:
        return None
    return None if math.isnan(f) else floatToGoString(f)


def _timestamp_ms(ts: Any) -> int | None:
    try:
        ms = float(ts) * 1000
    except (TypeError, ValueError, OverflowError):
        return None
    return round(ms) if math.isfinite(ms) and abs(ms) < MAX_TS_MS else None


def _labels(
    raw: Mapping[str, str], fam_type: str, sample_name: str, target: Mapping[str, str]
) -> tuple[Labels | None, str]:
    """Canonical labels of one sample, or (None, drop reason)."""
    out: dict[str, str] = {}
    for k, v in raw.items():
        name = label_name(k)
        if name is None:
            return None, "invalid_name"
        if len(v) > MAX_LABEL_VALUE_LEN:
            return None, "too_long"
        if (name == "le" and sample_name.endswith("_bucket")) or (
            name == "quantile" and fam_type == "summary"
        ):
            bound = _bound(v)
            if bound is None and fam_type in _BOUNDED:
                return None, "bad_bucket"
            v = bound or v
        if v:
            out[name] = v
    for k, v in target.items():
        if k in out:
            out["exported_" + k] = out.pop(k)
        if v:
            out[k] = v
    return tuple(sorted(out.items())), ""


def to_samples(
    families: Iterable[Any],
    scrape_ms: int,
    target: Mapping[str, str] | None = None,
    prefix: str = "",
    honor_timestamps: bool = True,
) -> Converted:
    """Map parsed families to samples: the rules in the module docstring; ``target`` labels win."""
    families = list(families)
    target = target or {}
    created = {f.name + "_created" for f in families if f.type in _WITH_CREATED}
    series: dict[tuple[str, Labels], Sample] = {}
    result = Converted([])
    drop = result.dropped
    for fam in families:
        if fam.type == "gauge" and fam.name in created:
            continue  # a text body's <counter>_created gauge
        for s in fam.samples:
            if fam.type in _WITH_CREATED and s.name == fam.name + "_created":
                continue
            result.scraped += 1
            if getattr(s, "native_histogram", None) is not None:
                drop["unsupported"] += 1
                continue
            name = metric_name(prefix + s.name)
            if name is None:
                drop["invalid_name"] += 1
                continue
            if len(name) > MAX_METRIC_LEN:
                drop["too_long"] += 1
                continue
            try:
                value = float(s.value)
            except (TypeError, ValueError, OverflowError):
                value = math.inf
            if not math.isfinite(value):
                drop["nan" if math.isnan(value) else "inf"] += 1
                continue
            ts = scrape_ms
            if honor_timestamps and s.timestamp is not None:
                parsed_ts = _timestamp_ms(s.timestamp)
                if parsed_ts is None:
                    drop["bad_timestamp"] += 1
                    continue
                ts = parsed_ts
            labels, reason = _labels(s.labels, fam.type, s.name, target)
            if labels is None:
                drop[reason] += 1
                continue
            key = (name, labels)
            if key in series:
                drop["duplicate"] += 1
            series[key] = Sample(name, labels, ts, value)
    result.samples = list(series.values())
    return result


def convert(
    body: bytes,
    content_type: str,
    scrape_ms: int,
    target: Mapping[str, str] | None = None,
    prefix: str = "",
    honor_timestamps: bool = True,
    deadline: float | None = None,
) -> Converted:
    """One body to samples: format check, UTF-8 decode, parse, map. Raises ExpositionError only."""
    fmt = format_of(content_type, body)
    families = parse(decode(body), fmt, deadline)
    result = to_samples(families, scrape_ms, target, prefix, honor_timestamps)
    result.fmt = fmt
    return result
