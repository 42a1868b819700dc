"""Exposition bodies -> samples: the malformed corpus, hypothesis, and the mapping rules.

"Never crash" means: ``convert`` returns samples the store accepts, or raises ExpositionError
(a CollectorError) with a message; no other exception type escapes.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.exposition import DROP_REASONS, Converted, ExpositionError, convert
from core.kernel.errors import CollectorError
from core.storage.tsdb.ingest import key_problem, well_formed

CORPUS = Path(__file__).parent / "exposition_corpus"
NORMAL_NAN = struct.pack("<Q", 0x7FF8000000000001)
TEXT = "text/plain; version=0.0.4; charset=utf-8"
OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
NOW_MS = 1_700_000_000_000
TARGET = {"instance": "127.0.0.1:9100", "source": "t"}


def content_type(path: Path) -> str:
    if path.name.endswith(".om.txt"):
        return OM
    return {".html": "text/html; charset=utf-8", ".json": "application/json"}.get(path.suffix, TEXT)


def assert_storable(result: Converted) -> None:
    """Every sample passes the store's own checks: the collector drops what ingest would reject."""
    keys = set()
    for s in result.samples:
        assert well_formed(s), s
        assert key_problem(s.metric, s.labels) is None, s
        assert not math.isnan(s.value) or struct.pack("<d", s.value) == NORMAL_NAN, s  # never stale
        assert list(s.labels) == sorted(s.labels) and all(v for _, v in s.labels), s
        keys.add((s.metric, s.labels, s.ts))
    assert len(keys) == len(result.samples)  # no duplicate series left
    assert set(result.dropped) <= set(DROP_REASONS)


def outcome(body: bytes, ctype: str) -> Converted | CollectorError:
    try:
        result = convert(body, ctype, NOW_MS, TARGET, deadline=None)
    except ExpositionError as exc:
        assert str(exc), "an error must say why"
        return exc
    assert_storable(result)
    return result


# file -> (samples kept, {drop reason: n}) or the error text expected; as Prometheus' parser decides
# (issue 15 items 13-17: NaN/Inf kept, timestamps by the grammar, every error names its line)
EXPECTED: dict[str, tuple[int, dict[str, int]] | str] = {
    "after_eof.om.txt": "line 4 ('g 2'): unexpected data after # EOF",
    "bad_escape.txt": (2, {}),
    "bad_escape_unterminated.txt": "text parse error at line 2 ('foo{path=\"abc\\\\\"} 1'): value of label 'path' not closed",
    "bad_timestamps.txt": "text parse error at line 1 ('a 1 abc'): timestamp must be integer milliseconds",
    "binary_junk.bin": "text parse error at line 1 (",
    "crlf_lines.txt": (2, {}),
    "duplicate_labels.txt": "line 1 ('g{a=\"1\",a=\"2\"} 1'): duplicate label name 'a'",
    "duplicate_series.txt": (2, {"duplicate": 2}),
    "empty.txt": (0, {}),
    "far_timestamps.txt": "line 1 ('a 1 99999999999999999999999'): timestamp out of range",
    "histogram_no_inf.om.txt": (3, {}),  # Prometheus' parser does not check buckets
    "histogram_unit_no_eof.om.txt": "line 2 ('# UNIT h seconds'): unit 'seconds' not a suffix of metric 'h'",
    "html_error_page.html": "not an exposition format (content-type text/html, starts with '<!DOCTYPE')",
    "huge_values.txt": "line 1 ('a 1e999'): value '1e999' out of range",
    "json_api.json": "not an exposition format (content-type application/json",
    "latin1.txt": "text parse error at line 1 ('g{city=\"M\\\\xfcnchen\"} 1'): invalid UTF-8 (byte 0xfc at column 10)",
    "long_label_value.txt": (1, {"too_long": 1}),
    "long_metric_name.txt": (1, {"too_long": 1}),
    "mixed_garbage.txt": "text parse error at line 3 ('\\x7fELF",
    "nan_labels.txt": (6, {"bad_bucket": 1}),
    "nan_values.txt": (4, {}),
    "nul_bytes.txt": "text parse error at line 2 ('\\x00\\x00\\x00g 2'): expected a metric name",
    "only_comments.txt": (0, {}),
    "prometheus_openmetricsparse_test.om.txt": (
        49,
        {"out_of_bounds": 3, "invalid_name": 1},
    ),  # 2018 timestamps
    "prometheus_promparse_test.txt": (20, {"duplicate": 3, "out_of_bounds": 1, "invalid_name": 3}),
    "openmetrics_full.om.txt": (18, {}),
    "reserved_label.txt": (1, {"invalid_name": 1}),
    "truncated.om.txt": "line 3 ('foo_created 1700000000'): data does not end with # EOF",
    "truncated_line.txt": "text parse error at line 4 ('foo{a=\"2')",
    "truncated_value.txt": "text parse error at line 3 ('foo{a=\"2\"}'): expected a value after 'foo'",
    "unknown_type.txt": "line 1 ('# TYPE foo blah'): invalid metric type 'blah'",
    "utf8_names.txt": (2, {}),
}


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_corpus_never_crashes(name: str) -> None:
    path = CORPUS / name
    got = outcome(path.read_bytes(), content_type(path))
    want = EXPECTED[name]
    if isinstance(want, str):
        assert isinstance(got, CollectorError), f"{name} parsed: {got}"
        assert want in str(got)
    else:
        assert isinstance(got, Converted), f"{name} failed: {got}"
        assert (len(got.samples), dict(got.dropped)) == want


def test_openmetrics_families_map_to_prometheus_series() -> None:
    body = (CORPUS / "openmetrics_full.om.txt").read_bytes()
    result = convert(body, OM, NOW_MS, {"source": "t"})
    got = {(s.metric, dict(s.labels).get("le") or dict(s.labels).get("quantile")): s for s in result.samples}
    assert (
        got["c_total", None].ts == 1_700_000_000_500 and got["c_total", None].value == 3
    )  # body's timestamp
    assert not any(s.metric.endswith("_created") for s in result.samples)
    assert [got["h_bucket", le].value for le in ("0.1", "1.0", "+Inf")] == [1, 2, 3]  # le="1" -> "1.0"
    assert got["h_count", None].value == 3 and got["h_sum", None].value == 2.5
    assert got["s", "0.99"].value == 0.9 and got["s_count", None].value == 10
    assert dict(got["i_info", None].labels)["version"] == "1.2"
    assert {dict(s.labels)["st"]: s.value for s in result.samples if s.metric == "st"} == {"a": 1, "b": 0}
    assert got["gh_gcount", None].value == 3 and got["u", None].ts == NOW_MS
    assert result.fmt == "openmetrics" and result.scraped == 18


def test_text_counters_get_total_and_created_gauges_are_left_out() -> None:
    body = (
        b"# TYPE requests counter\nrequests 5\n# TYPE requests_created gauge\nrequests_created 1.7e9\n"
        b"# TYPE other_created gauge\nother_created 3\n"
    )
    names = {s.metric for s in convert(body, TEXT, NOW_MS).samples}
    assert names == {"requests_total", "other_created"}  # a gauge named *_created of nothing stays


def test_target_labels_win_and_clashing_scraped_labels_become_exported() -> None:
    body = b'up{instance="scraped:1",job="x",env=""} 1\n'
    (s,) = convert(body, TEXT, NOW_MS, {"instance": "127.0.0.1:9100", "source": "node"}, prefix="n_").samples
    assert s.metric == "n_up"
    assert dict(s.labels) == {
        "instance": "127.0.0.1:9100",
        "exported_instance": "scraped:1",
        "job": "x",
        "source": "node",
    }


def test_honor_timestamps_false_uses_the_scrape_time() -> None:
    (s,) = convert(b"a 1 1600000000000\n", TEXT, NOW_MS, honor_timestamps=False).samples
    assert s.ts == NOW_MS


def test_a_parse_that_overruns_its_deadline_stops_with_a_clear_error() -> None:
    body = b"".join(b"m%d 1\n" % i for i in range(5000))
    with pytest.raises(ExpositionError, match=r"parsing ran out of time at line \d+"):
        convert(body, TEXT, NOW_MS, deadline=0.0)


# -- hypothesis --------------------------------------------------------------------------------
names = st.sampled_from(["a", "up", "x_total", "h_bucket", "h", "s", "__x", "9z", "m.n", "ok:rec", ""])
label_names = st.sampled_from(["le", "quantile", "job", "a", "__name__", "__x", "b.c", "instance", "source"])
label_values = st.one_of(
    st.sampled_from(["", "NaN", "+Inf", "-1", "0.5", "1e3", "x" * 1001, '\\"', "\\n", "\\q", "ü"]),
    st.text(max_size=8),
)
numbers = st.one_of(
    st.sampled_from(["NaN", "+Inf", "-Inf", "1e999", "-0", "0x1F", "1_000", "9" * 400, ""]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
)
types = st.sampled_from(["counter", "gauge", "histogram", "summary", "untyped", "info", "stateset", "bogus"])


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    name = draw(names)
    if kind == 0:
        return f"# TYPE {name} {draw(types)}"
    if kind == 1:
        return f"# HELP {name} {draw(st.text(max_size=10))}"
    if kind == 2:
        return "# EOF"
    if kind == 3:
        return draw(st.text(max_size=30))
    pairs = draw(st.lists(st.tuples(label_names, label_values), max_size=3))
    labels = "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}" if pairs else ""
    ts = f" {draw(numbers)}" if draw(st.booleans()) else ""
    return f"{name}{labels} {draw(numbers)}{ts}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines(), max_size=12), st.sampled_from([TEXT, OM, ""]), st.sampled_from(["\n", "\r\n"]))
def test_generated_bodies_never_crash(body_lines: list[str], ctype: str, eol: str) -> None:
    outcome((eol.join(body_lines) + eol).encode("utf-8", "surrogatepass"), ctype)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512), st.sampled_from([TEXT, OM, "", "application/octet-stream"]))
def test_arbitrary_bytes_never_crash(body: bytes, ctype: str) -> None:
    outcome(body, ctype)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_cut_or_corrupted_valid_bodies_never_crash(data: st.DataObject) -> None:
    body = (CORPUS / "openmetrics_full.om.txt").read_bytes()
    cut = data.draw(st.integers(0, len(body)))
    junk = data.draw(st.binary(max_size=4))
    at = data.draw(st.integers(0, cut))
    outcome(body[:at] + junk + body[at:cut], data.draw(st.sampled_from([TEXT, OM])))
