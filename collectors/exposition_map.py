"""Parsed exposition lines -> Pulse samples: names, labels, drops, duplicates and limits.

The rules are listed in :mod:`collectors.exposition`; :class:`SampleMapper` applies them to one
body, one line at a time, and keeps only the samples that pass.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from prometheus_client.utils import floatToGoString

from collectors.textparse import LineParser, Meta, snippet
from core.kernel.errors import CollectorError
from core.kernel.samples import Labels, Sample

DROP_REASONS = (
    "duplicate",
    "invalid_name",
    "too_long",
    "out_of_bounds",
    "bad_bucket",
    "sample_limit",
    "label_limit",
    "label_name_length_limit",
    "label_value_length_limit",
)
MAX_METRIC_LEN, MAX_LABEL_NAME_LEN, MAX_LABEL_VALUE_LEN = 200, 200, 1000  # the store's limits
MAX_TS_MS = 2**62 - 1  # the store's range (core/storage/tsdb/ingest.py)
OLDEST_MS = 3_600_000  # older than the scrape by more: out of bounds (Prometheus' appendable window)
_BAD_METRIC_CHARS = re.compile(r"[^a-zA-Z0-9_:]")
_BAD_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_WITH_CREATED = ("counter", "histogram", "summary", "gaugehistogram")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created", "_gcount", "_gsum", "_info")


class ExpositionError(CollectorError):
    """The body is not a Prometheus text or OpenMetrics exposition, or does not parse."""


@dataclass(frozen=True)
class Limits:
    """Prometheus' per-scrape limits; 0 is no limit. Exceeding one fails the scrape."""

    sample_limit: int = 0
    label_limit: int = 0
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0


Sink = Callable[[list[Sample]], None]
BATCH = 10_000  # samples handed to a sink at a time


@dataclass
class Converted:
    """Samples from one body, how many the body exposed and how many were dropped (by reason).

    ``kept`` counts every sample kept; with a sink, ``samples`` holds only those not yet handed
    to it (the last partial batch)."""

    samples: list[Sample]
    scraped: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    fmt: str = "text"
    type_conflicts: int = 0


class LimitExceeded(ExpositionError):
    """A limit failed the scrape; ``result`` holds the counts so far (``reason`` counted)."""

    def __init__(self, message: str, reason: str, result: Converted) -> None:
        super().__init__(message)
        self.reason, self.result = reason, result


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


def _size(text: str, limit: int) -> int:
    """Length in bytes (Prometheus counts bytes), computed only when it may matter."""
    return len(text.encode()) if len(text) * 4 > limit else len(text)


@dataclass(frozen=True, slots=True)
class _Name:
    """A sample name's mapping: its family, whether it is left out, the stored name, the drop
    reason (or ""), the label holding a bound written canonically (``le``, ``quantile`` or "")."""

    family: str
    skip: bool
    out: str
    drop: str
    bounds: str


class SampleMapper:
    """Families, duplicates, drops and limits of one body; ``add`` maps one parsed line."""

    def __init__(
        self,
        scrape_ms: int,
        target: Mapping[str, str],
        prefix: str,
        honor_timestamps: bool,
        limits: Limits,
        text: bool,
        sink: Sink | None = None,
    ) -> None:
        self.scrape_ms, self.prefix, self.honor, self.limits, self.text = (
            scrape_ms,
            prefix,
            honor_timestamps,
            limits,
            text,
        )
        self.target = dict(target)
        self.target_pairs = tuple((k, v) for k, v in sorted(target.items()) if v)
        self.types: dict[str, str] = {}
        self.seen: set[str] = set()  # family names with samples
        # hashes of the series (and timestamps) seen in this body: an int each, so the label sets of
        # the samples already handed to a sink are not kept alive (64-bit SipHash: a false
        # "duplicate" among a million series has odds of about 1 in 10^7)
        self.keys: set[int] = set()
        self.sink = sink
        self.pairs: dict[tuple[str, str], tuple[str, str]] = {}  # one object per label pair
        self.names: dict[str, _Name] = {}
        self.label_names: dict[str, str] = {}  # as scraped -> as stored ("" for a name dropped)
        self.target_names = frozenset(self.target)
        self.check = bool(
            limits.label_limit or limits.label_name_length_limit or limits.label_value_length_limit
        )
        self.result = Converted([])
        self.over_limit = 0  # samples beyond sample_limit

    def meta(self, m: Meta) -> None:
        if m.kind != "type":
            return
        known = self.types.get(m.name)
        if known == m.text:
            return
        if known is not None or m.name in self.seen:
            self.result.type_conflicts += 1  # the first type stays, as the series already named
            return
        self.types[m.name] = m.text
        self.names.clear()  # a new family may claim names seen before (x_count, then TYPE x)

    def family(self, name: str) -> tuple[str, str, str]:
        """(family name, type, suffix) of a sample name; type "untyped" when none was declared."""
        t = self.types.get(name)
        if t is not None:
            return name, t, ""
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                t = self.types.get(base)
                if t is not None:
                    return base, t, suffix
        return name, "untyped", ""

    def name_of(self, name: str) -> _Name:
        """What a sample name maps to (cached per body: names repeat on every line of a family)."""
        fam, ftype, suffix = self.family(name)
        skip = (suffix == "_created" and ftype in _WITH_CREATED) or (
            self.text
            and ftype == "gauge"
            and name.endswith("_created")
            and self.types.get(name[:-8]) in _WITH_CREATED
        )  # OpenMetrics _created samples, or a text body's <counter>_created gauge
        out = metric_name(self.prefix + name)
        if out and self.text and ftype == "counter" and not suffix and not name.endswith("_total"):
            out += "_total"
        drop = "invalid_name" if out is None else "too_long" if len(out) > MAX_METRIC_LEN else ""
        bounds = "le" if suffix == "_bucket" and ftype in ("histogram", "gaugehistogram") else ""
        bounds = "quantile" if ftype == "summary" and not suffix else bounds
        info = _Name(fam, skip, out or "", drop, bounds)
        self.names[name] = info
        return info

    def add(
        self, name: str, raw: list[tuple[str, str]], value: float, ts_ms: int | None, parser: LineParser
    ) -> None:
        info = self.names.get(name) or self.name_of(name)
        if info.skip:
            return
        self.seen.add(info.family)
        result = self.result
        result.scraped += 1
        drop = result.dropped
        if info.drop:
            drop[info.drop] += 1
            return
        ts = self.scrape_ms
        if self.honor and ts_ms is not None:
            if not self.scrape_ms - OLDEST_MS <= ts_ms <= MAX_TS_MS:
                drop["out_of_bounds"] += 1
                return
            ts = ts_ms
        labels = self.labels(raw, info.bounds, name, parser)
        if isinstance(labels, str):
            drop[labels] += 1
            return
        key = hash((info.out, labels, ts))
        if key in self.keys:
            drop["duplicate"] += 1
            return
        self.keys.add(key)
        lim = self.limits.sample_limit
        if lim and result.kept >= lim:
            self.over_limit += 1
            return
        result.kept += 1
        result.samples.append(Sample(info.out, labels, ts, value))
        if self.sink is not None and len(result.samples) >= BATCH:
            batch, result.samples = result.samples, []
            self.sink(batch)

    def labels(self, raw: list[tuple[str, str]], bounds: str, name: str, parser: LineParser) -> Labels | str:
        """The canonical label set of one sample, or the drop reason; a limit raises."""
        out: dict[str, str] = {}
        keys = self.label_names
        for k, v in raw:
            key = keys.get(k)
            if key is None:
                key = keys[k] = label_name(k) or ""
            if not key:
                return "invalid_name"
            if key in out:
                raise parser.error(f"duplicate label name {k[:50]!r}")
            if len(v) > MAX_LABEL_VALUE_LEN or len(key) > MAX_LABEL_NAME_LEN:
                return "too_long"
            if "\x00" in v:
                return "invalid_name"  # Prometheus keeps it; PostgreSQL text cannot hold a NUL
            if key == bounds:
                bound = _bound(v)
                if bound is None:
                    return "bad_bucket"
                v = bound
            out[key] = v
        if not self.target_names.isdisjoint(out):
            for k in self.target_names.intersection(out):
                out["exported_" + k] = out.pop(k)
        pairs = self.pairs
        merged = [pairs.setdefault(kv, kv) for kv in out.items() if kv[1]]
        merged += self.target_pairs
        merged.sort()
        if self.check:
            self.check_limits(name, merged, parser)
        return tuple(merged)

    def check_limits(self, name: str, labels: list[tuple[str, str]], parser: LineParser) -> None:
        lim = self.limits
        if lim.label_limit and len(labels) + 1 > lim.label_limit:
            self.fail(
                parser,
                "label_limit",
                f"label_limit exceeded (metric: {name[:50]}, number of labels: {len(labels) + 1}, "
                f"limit: {lim.label_limit})",
            )
        for k, v in labels:
            if (
                lim.label_name_length_limit
                and _size(k, lim.label_name_length_limit) > lim.label_name_length_limit
            ):
                self.fail(
                    parser,
                    "label_name_length_limit",
                    f"label_name_length_limit exceeded (metric: {name[:50]}, label name: {k[:50]}, "
                    f"length: {_size(k, 0)}, limit: {lim.label_name_length_limit})",
                )
            if (
                lim.label_value_length_limit
                and _size(v, lim.label_value_length_limit) > lim.label_value_length_limit
            ):
                self.fail(
                    parser,
                    "label_value_length_limit",
                    f"label_value_length_limit exceeded (metric: {name[:50]}, label name: {k[:50]}, "
                    f"value: {v[:50]!r}, length: {_size(v, 0)}, limit: {lim.label_value_length_limit})",
                )

    def fail(self, parser: LineParser, reason: str, message: str) -> None:
        self.result.dropped[reason] += self.result.scraped
        raise LimitExceeded(f"line {parser.line_no} ({snippet(parser.line)}): {message}", reason, self.result)

    def finish(self, fmt: str) -> Converted:
        """The result; LimitExceeded when the body held more samples than ``sample_limit``."""
        result = self.result
        result.fmt = fmt
        if self.over_limit:
            total = result.kept + self.over_limit
            result.dropped["sample_limit"] += total
            raise LimitExceeded(
                f"sample_limit exceeded (samples: {total}, limit: {self.limits.sample_limit})",
                "sample_limit",
                result,
            )
        return result
