"""Exposition bodies (Prometheus text 0.0.4, OpenMetrics 1.0) -> Pulse samples, streamed.

:mod:`collectors.textparse` parses the body line by line as Prometheus does; this module picks the
format, refuses what is not an exposition (HTML, JSON, binary), applies the source's limits and
maps each line to a sample the store accepts, one line at a time (only the samples kept are held):

- counters as ``<name>_total`` (a text body's counter without the suffix is renamed), gauges,
  histograms (``_bucket`` with ``le``, ``_sum``, ``_count``), summaries (``quantile``, ``_sum``,
  ``_count``), gauge histograms, info, statesets and untyped samples as exposed; ``_created``
  samples (and a text body's ``<name>_created`` gauges next to a counter, histogram or summary)
  are left out; ``le`` and ``quantile`` values are written canonically (``1`` -> ``1.0``);
- NaN and infinite values are kept (NaN as Prometheus' canonical NaN, never its stale marker);
- dropped and counted by reason (``DROP_REASONS``): a series repeated in one body (the first
  value is kept, as in Prometheus), names the store cannot hold, reserved ``__`` labels,
  over-long names or values, a timestamp outside the store's window (more than an hour before
  the scrape, as Prometheus' head block, or beyond year 146 million), a bucket or quantile bound
  that is not a number;
- a second ``# TYPE`` line for a name already typed (or already seen) is ignored and counted in
  ``type_conflicts``: the first type stays, so a gauge is never renamed ``_total`` halfway;
- Prometheus' limits fail the whole scrape (:class:`LimitExceeded`): ``label_limit``,
  ``label_name_length_limit``, ``label_value_length_limit`` (counted on the final label set,
  metric name and target labels included) and ``sample_limit`` (parsing goes on to count).
A body that does not parse fails as a whole (as in Prometheus): partial data would look complete.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Mapping

from collectors.exposition_map import (
    DROP_REASONS,
    Converted,
    ExpositionError,
    LimitExceeded,
    Limits,
    SampleMapper,
    Sink,
)
from collectors.textparse import LabelLimitError, LineParser, Meta, ParseError

__all__ = [
    "DROP_REASONS",
    "Converted",
    "ExpositionError",
    "LimitExceeded",
    "Limits",
    "Sink",
    "convert",
    "convert_stream",
    "format_of",
]

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
CHUNK = 65536


def _snippet(text: str) -> str:
    return (text.split(maxsplit=1) or [""])[0][:20]


def format_of(content_type: str, head: bytes) -> str:
    """``"openmetrics"`` or ``"text"`` from the content type and the first bytes; an HTML, JSON,
    XML or other non-exposition content type is an ExpositionError."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    start = head[:200].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if ctype.startswith(NOT_EXPOSITION) or start.startswith("<"):
        raise ExpositionError(
            f"not an exposition format (content-type {ctype or 'missing'}, starts with {_snippet(start)!r})"
        )
    return "openmetrics" if ctype == OPENMETRICS else "text"


def _first_chunk(chunks: Iterator[bytes]) -> bytes:
    for chunk in chunks:
        if chunk:
            return chunk
    return b""


def convert_stream(
    chunks: Iterable[bytes],
    content_type: str,
    scrape_ms: int,
    target: Mapping[str, str] | None = None,
    prefix: str = "",
    honor_timestamps: bool = True,
    deadline: float | None = None,
    limits: Limits | None = None,
    sink: Sink | None = None,
) -> Converted:
    """A body, as byte chunks, to samples: read and parsed one line at a time, so only the samples
    kept are held; with a ``sink``, they are handed to it in batches as they come, and only the
    last partial batch is held (the caller's sink decides what a failure later in the body means:
    the scheduler's stages them and keeps them only when the whole body converted). Raises ExpositionError (LimitExceeded for a limit) only; an exception raised
    by ``chunks`` itself (a read error, a size limit) passes through."""
    it = iter(chunks)
    first = _first_chunk(it)
    fmt = format_of(content_type, first)
    limits = limits or Limits()
    target = target or {}
    # a label set longer than the limit, before the target's labels are added, stops the line early
    parser = LineParser(fmt == "openmetrics", max_labels=limits.label_limit)
    mapper = SampleMapper(scrape_ms, target, prefix, honor_timestamps, limits, fmt == "text", sink)

    def body() -> Iterator[bytes]:
        for chunk in itertools.chain((first,), it):
            if deadline is not None and time.monotonic() > deadline:
                raise ExpositionError(f"parsing ran out of time at line {parser.line_no}")
            yield chunk

    try:
        for entry in parser.feed(body()):
            if isinstance(entry, Meta):
                mapper.meta(entry)
            else:
                mapper.add(entry.name, entry.labels, entry.value, entry.ts_ms, parser)
    except LabelLimitError as exc:  # stopped inside the line: it counts as read
        mapper.result.dropped["label_limit"] += mapper.result.scraped + 1
        raise LimitExceeded(str(exc), "label_limit", mapper.result) from None
    except ParseError as exc:
        raise ExpositionError(f"{fmt} parse error at {exc}") from None
    return mapper.finish(fmt)


def convert(
    body: bytes,
    content_type: str,
    scrape_ms: int,
    target: Mapping[str, str] | None = None,
    prefix: str = "",
    honor_timestamps: bool = True,
    deadline: float | None = None,
    limits: Limits | None = None,
) -> Converted:
    """One whole body to samples (see :func:`convert_stream`), read in 64 KiB chunks."""
    view = memoryview(body)
    chunks = (bytes(view[at : at + CHUNK]) for at in range(0, len(body), CHUNK))
    return convert_stream(chunks, content_type, scrape_ms, target, prefix, honor_timestamps, deadline, limits)
