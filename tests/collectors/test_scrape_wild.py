"""Exposition bodies as written in the wild (issue 15, items 13-18), against Prometheus' rules:
NaN and infinities kept, timestamps by the grammar, label and sample limits, duplicates and
conflicting TYPE lines, error messages that name the line, and a streamed, bounded parse."""

from __future__ import annotations

import math
import re
import struct
import time
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from collectors.exposition import ExpositionError, Limits, convert, convert_stream
from collectors.scrape import ScrapeCollector, ScrapeError
from core.kernel.settings.sources.scrape import ScrapeSource

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
NOW_MS = 1_700_000_000_000
NORMAL_NAN, STALE_NAN = 0x7FF8000000000001, 0x7FF0000000000002


def bits(x: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", x))[0])


def values(
    body: bytes, ctype: str = TEXT, **kw: object
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.metric, s.labels): s.value for s in convert(body, ctype, NOW_MS, **kw).samples}  # type: ignore[arg-type]


def error(body: bytes, ctype: str = TEXT, **kw: object) -> str:
    with pytest.raises(ExpositionError) as info:
        convert(body, ctype, NOW_MS, **kw)  # type: ignore[arg-type]
    return str(info.value)


# -- 13: NaN and infinities ---------------------------------------------------------------------
def test_nan_and_infinite_values_are_kept_and_nan_is_never_the_stale_marker() -> None:
    body = (
        b'# TYPE s summary\ns{quantile="0.5"} NaN\ns{quantile="0.99"} NaN\ns_sum 0\ns_count 0\n'
        b'# TYPE g gauge\ng{a="1"} +Inf\ng{a="2"} -Inf\ng{a="3"} nan\n'
    )
    result = convert(body, TEXT, NOW_MS)
    got = {(s.metric, s.labels): s.value for s in result.samples}
    assert len(got) == 7 and not result.dropped
    assert got["g", (("a", "1"),)] == math.inf and got["g", (("a", "2"),)] == -math.inf
    nans = [s.value for s in result.samples if math.isnan(s.value)]
    assert len(nans) == 3 and {bits(v) for v in nans} == {NORMAL_NAN}  # canonical, as in Prometheus


# -- 14: timestamps by the grammar ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"a 1 1700000000000 1700000000001", "expected a line break after the timestamp"),
        (b"a 1 1700000000000.5", "timestamp must be integer milliseconds"),
        (b"a 1 1.7e12", "timestamp must be integer milliseconds"),
        (b"a 1 -5", "timestamp must be integer milliseconds"),
        (b"a 1 9223372036854775808", "timestamp out of range"),
    ],
)
def test_text_timestamps_follow_the_grammar(line: bytes, why: str) -> None:
    msg = error(b"ok 1\n" + line + b"\n")
    assert msg.startswith("text parse error at line 2 ('a 1 ") and why in msg, msg


def test_a_max_int64_timestamp_parses_and_samples_outside_the_store_window_are_counted() -> None:
    result = convert(b"a 1 9223372036854775807\nb 1 0\nc 1 1700000000000\n", TEXT, NOW_MS)
    assert [s.metric for s in result.samples] == ["c"]
    assert dict(result.dropped) == {"out_of_bounds": 2}  # year 292 million, and 1970


@pytest.mark.parametrize(
    ("line", "why"),
    [(b"a 1 NaN", "invalid timestamp"), (b"a 1 +Inf", "invalid timestamp"), (b"a 1 1 2", "line break")],
)
def test_openmetrics_timestamps_are_finite_seconds(line: bytes, why: str) -> None:
    msg = error(b"# TYPE a gauge\n" + line + b"\n# EOF\n", OM)
    assert "line 2 (" in msg and why in msg, msg


def test_openmetrics_float_seconds() -> None:
    (s,) = convert(b"a 1 1.7e9\n# EOF\n", OM, NOW_MS).samples
    assert s.ts == 1_700_000_000_000


# -- 15: limits ---------------------------------------------------------------------------------
def test_a_line_of_100000_labels_stops_at_the_label_limit_quickly_with_a_short_message() -> None:
    line = b"m{" + b",".join(b'l%d="v"' % i for i in range(100_000)) + b"} 1\n"
    t0 = time.perf_counter()
    msg = error(line, limits=Limits(label_limit=30))
    assert time.perf_counter() - t0 < 0.5
    assert "label_limit exceeded" in msg and "line 1" in msg and len(msg) < 400, msg


@pytest.mark.parametrize(
    ("limits", "why"),
    [
        (Limits(label_limit=2), "label_limit exceeded (metric: m, number of labels: 3, limit: 2)"),
        (Limits(label_name_length_limit=3), "label_name_length_limit exceeded (metric: m, label name: bbbb"),
        (Limits(label_value_length_limit=3), "label_value_length_limit exceeded (metric: m, label name: a"),
        (Limits(sample_limit=2), "sample_limit exceeded (samples: 3, limit: 2)"),
    ],
)
def test_prometheus_limits_fail_the_scrape(limits: Limits, why: str) -> None:
    body = b'm{a="1234",bbbb="1"} 1\nm 2\nn 3\n'  # labels count the metric name, as in Prometheus
    assert why in error(body, limits=limits)
    assert len(values(body, limits=Limits(label_limit=3, sample_limit=3))) == 3


def test_scrape_settings_carry_the_limits_with_bounds() -> None:
    cfg = ScrapeSource(name="s", url="http://x/metrics")
    assert (cfg.sample_limit, cfg.label_limit) == (0, 128)
    assert (cfg.label_name_length_limit, cfg.label_value_length_limit) == (0, 0)
    for field in ("sample_limit", "label_limit", "label_name_length_limit", "label_value_length_limit"):
        assert ScrapeSource.model_fields[field].description
        with pytest.raises(ValidationError):
            ScrapeSource(name="s", url="http://x/metrics", **{field: -1})


def _collector(body: bytes, **kw: object) -> ScrapeCollector:
    transport = httpx.MockTransport(
        lambda req: httpx.Response(200, stream=httpx.ByteStream(body), headers={"content-type": TEXT})
    )
    cfg = ScrapeSource(name="s", url="http://t:9100/metrics", **kw)  # type: ignore[arg-type]
    return ScrapeCollector(cfg, client=httpx.Client(transport=transport))


def test_a_limit_fails_the_scrape_and_is_counted() -> None:
    c = _collector(b"a 1\nb 2\nc 3\n", sample_limit=2)
    with pytest.raises(ScrapeError, match="sample_limit exceeded") as info:
        c.collect()
    health = {(s.metric, dict(s.labels).get("reason")): s.value for s in info.value.samples}
    assert health["pulse_scrape_up", None] == 0
    assert health["pulse_scrape_samples_scraped", None] == 3
    assert health["pulse_scrape_samples_dropped", "sample_limit"] == 3


# -- 16: duplicates and conflicting TYPE lines ---------------------------------------------------------
def test_a_repeated_series_keeps_its_first_value() -> None:
    body = b'# TYPE g gauge\ng{a="1"} 1\ng{a="1"} 2\ng{a="2"} 3\n# TYPE g gauge\ng{a="1"} 4\n'
    result = convert(body, TEXT, NOW_MS)
    assert {dict(s.labels)["a"]: s.value for s in result.samples} == {"1": 1, "2": 3}
    assert dict(result.dropped) == {"duplicate": 2}


def test_the_same_series_at_two_explicit_timestamps_is_not_a_duplicate() -> None:
    result = convert(b"g 1 1700000000000\ng 2 1700000001000\ng 3 1700000001000\n", TEXT, NOW_MS)
    assert [s.value for s in result.samples] == [1, 2] and dict(result.dropped) == {"duplicate": 1}


def test_a_conflicting_type_line_is_ignored_and_counted() -> None:
    body = b'# TYPE g gauge\ng{a="1"} 1\n# TYPE g counter\ng{a="2"} 2\n'
    result = convert(body, TEXT, NOW_MS)
    assert {s.metric for s in result.samples} == {"g"}  # never renamed to g_total
    assert result.type_conflicts == 1


# -- 17: every rejection names the line, the text and why ---------------------------------------------
@pytest.mark.parametrize(
    ("body", "ctype", "want"),
    [
        (b"a 1 abc\nb 2\nc 3\n", TEXT, "line 1 ('a 1 abc'): "),
        (b'{"status":"success","data":{}}\n', TEXT, 'line 1 (\'{"status":"success","data":{}}\'): '),
        (b'g{city="M\xfcnchen"} 1\n', TEXT, "line 1 ('g{city=\"M\\\\xfcnchen\"} 1'): invalid UTF-8"),
        (b'g{a="1"} 1\n\x00\x00g 2\n', TEXT, "line 2 ("),
        (b"a 1\nb 2\n", OM, "line 2 ('b 2'): data does not end with # EOF"),
    ],
)
def test_errors_name_the_line_the_text_and_why(body: bytes, ctype: str, want: str) -> None:
    msg = error(body, ctype)
    assert want in msg, msg
    reason = msg.split("): ", 1)[1]
    assert re.search(r"[a-z]{3}", reason) and "binary data" not in msg and "offset" not in msg, msg


def test_a_long_line_is_cut_in_the_message() -> None:
    msg = error(b'm{a="' + b"x" * 100_000 + b'" 1\n')
    assert "line 1 ('m{a=" in msg and len(msg) < 400, msg


# -- 18: streamed and bounded ---------------------------------------------------------------------
def _chunks(n_lines: int, line: bytes, size: int = 65536) -> Iterator[bytes]:
    per = max(1, size // len(line))
    for _ in range(0, n_lines, per):
        yield line * per


def test_the_parse_reads_chunks_as_they_come_and_stops_at_the_first_bad_line() -> None:
    consumed = []

    def chunks() -> Iterator[bytes]:
        yield b"a 1\nb 2\nc"
        consumed.append(1)
        yield b" x\n"
        consumed.append(2)
        raise AssertionError("read past the bad line")

    with pytest.raises(ExpositionError, match=r"line 3 \('c x'\)"):
        convert_stream(chunks(), TEXT, NOW_MS)
    assert consumed == [1]


def test_a_large_body_is_parsed_in_bounded_memory() -> None:
    lines = 200_000  # ~9 MB of comments: nothing kept, so memory stays flat
    tracemalloc.start()
    try:
        result = convert_stream(
            _chunks(lines, b"# HELP some_metric with a help text of some length\n"), TEXT, NOW_MS
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.samples == [] and peak < 2_000_000, peak


def test_a_line_over_the_label_limit_fails_the_scrape_quickly_and_is_counted() -> None:
    line = b"m{" + b",".join(b'l%d="v"' % i for i in range(100_000)) + b"} 1\n"
    c = _collector(b"ok 1\n" + line)  # the default label_limit, 128
    with pytest.raises(ScrapeError) as info:
        c.collect()
    msg = str(info.value)
    assert "line 2 ('m{l0=" in msg and "label_limit exceeded" in msg and len(msg) < 400, msg
    health = {(s.metric, dict(s.labels).get("reason")): s.value for s in info.value.samples}
    assert health["pulse_scrape_samples_dropped", "label_limit"] == 2  # all read so far: none is stored
