"""Prometheus' own parser tests, ported: the bodies of TestPromParse and TestOpenMetricsParse
(checked in as corpus files) and the error tables of TestPromParseErrors, TestPromNullByteHandling
and TestOpenMetricsParseErrors.

Source: github.com/prometheus/prometheus, model/textparse/promparse_test.go and
openmetricsparse_test.go at d15adb9ad7e5d9fbde3a9a8f30200593a5a14d86, Copyright The Prometheus
Authors, Apache License 2.0. Prometheus' messages are Go's; ours name the line and say why in
their own words, so the tables check the verdict (parsed or rejected) and that the line is named.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.exposition import ExpositionError, convert

CORPUS = Path(__file__).parent / "exposition_corpus"
TEXT, OM = "text/plain; version=0.0.4", "application/openmetrics-text; version=1.0.0"
NOW_MS = 1_520_879_608_789  # one second after the bodies' own timestamps


def test_promparse_body() -> None:
    r = convert((CORPUS / "prometheus_promparse_test.txt").read_bytes(), TEXT, NOW_MS)
    got = {(s.metric, s.labels): s.value for s in r.samples}
    assert r.scraped == 27 and len(r.samples) == 20
    # quantile="1.0" four times, spaced apart: the first is kept; 1970; __type__ labels and a NUL value
    assert dict(r.dropped) == {"duplicate": 3, "out_of_bounds": 1, "invalid_name": 3}
    assert got["go_gc_duration_seconds", (("a", "b"), ("quantile", "2.0"))] == 8.3835e-05  # no comma
    assert (
        got["testmetric", (("label", '"bar"'),)] == 1 and got["some:aggregate:rate5m", (("a_b", "c"),)] == 1
    )


def test_openmetricsparse_body() -> None:
    r = convert((CORPUS / "prometheus_openmetricsparse_test.om.txt").read_bytes(), OM, NOW_MS)
    got = {(s.metric, s.labels): s for s in r.samples}
    assert (
        r.scraped == 53
        and len(r.samples) == 51
        and dict(r.dropped) == {"out_of_bounds": 1, "invalid_name": 1}
    )
    assert (
        got["foo_total", ()].ts == 1_520_879_607_789 and got["foo_total", ()].value == 17
    )  # exemplar skipped
    assert not any(m.endswith("_created") and m != "fizz_created" for m, _ in got)  # a gauge named so stays
    assert [
        got["nansum", (("quantile", q),)].value != got["nansum", (("quantile", q),)].value
        for q in ("0.95", "0.99")
    ] == [True, True]


PROM_ERRORS = [  # TestPromParseErrors, TestPromNullByteHandling
    "a",
    "a{b='c'} 1\n",
    "a{b=\n",
    'a{b="\\xff"} 1\n',
    '{"a", "b = "c"}',
    '{"a",b\\nc="d"} 1',
    "a true\n",
    'something_weird{problem="',
    'empty_label_name{=""} 0',
    "{A}0",
    "foo 1_2\n",
    "foo 0x1p-3\n",
    "foo 0x1P-3\n",
    "foo 0 1_2\n",
    '{a="ok"} 1',
    "# TYPE #\n#EOF\n",
    "# HELP #\n#EOF\n",
    'a{b=\x00"ssss"} 1\n',
    'a{b="\x00',
    'a{b\x00="hiih"}\t1',
    'a\x00{b="ddd"} 1',
    "a 0 1\x00",
]
PROM_OK = ['null_byte_metric{a="abc\x00"} 1', 'a{b="\x00ss"} 1\n', 'a{b="\x00"} 1\n']

OM_ERRORS = [  # TestOpenMetricsParseErrors
    "",
    "\n",
    "metric",
    "metric 1",
    "metric 1\n",
    'metric_total 1 # {aa="bb"} 4',
    "a\n#EOF\n",
    "\n\n#EOF\n",
    " a 1\n#EOF\n",
    "9\n#EOF\n",
    "# TYPE u untyped\n#EOF\n",
    "# TYPE c counter \n#EOF\n",
    "#  TYPE c counter\n#EOF\n",
    "# TYPE \n#EOF\n",
    "# TYPE m\n#EOF\n",
    "# UNIT metric suffix\n#EOF\n",
    "# UNIT metricsuffix suffix\n#EOF\n",
    "# UNIT m suffix\n#EOF\n",
    "# UNIT \n#EOF\n",
    "# HELP \n#EOF\n",
    "a\t1\n#EOF\n",
    "a 1\t2\n#EOF\n",
    "a 1 2 \n#EOF\n",
    "a 1 2 #\n#EOF\n",
    "a 1 1z\n#EOF\n",
    " # EOF\n",
    "# EOF\na 1",
    "# EOF\n\n",
    "# EOFa 1",
    "#\tTYPE c counter\n",
    "# TYPE c  counter\n",
    "a 1 1 1\n# EOF\n",
    "a{b='c'} 1\n# EOF\n",
    'a{,b="c"} 1\n# EOF\n',
    'a{b="c"d="e"} 1\n# EOF\n',
    'a{b="c",,d="e"} 1\n# EOF\n',
    "a{b=\n# EOF\n",
    'something_weird{problem="\n# EOF\n',
    'empty_label_name{=""} 0\n# EOF\n',
    "{A}0\n# EOF\n",
    "foo 1_2\n\n# EOF\n",
    "foo 0x1p-3\n\n# EOF\n",
    "foo 0 1_2\n\n# EOF\n",
    "custom_metric_total 1 # {aa=bb}\n# EOF\n",
    'custom_metric_total 1 # {aa="bb"}\n# EOF\n',
    "custom_metric_total 1 # {bb}\n# EOF\n",
    'custom_metric_total 1 # {bb, a="dd"}\n# EOF\n',
    'custom_metric_total 1 # {aa="bb",,cc="dd"} 1\n# EOF\n',
    'custom_metric_total 1 # {aa="bb"} 1_2\n# EOF\n',
    'custom_metric_total 1 # {aa="bb"} 0x1p-3\n# EOF\n',
    'custom_metric_total 1 # {aa="bb"} true\n# EOF\n',
    'custom_metric_total 1 # {aa="bb",cc=}\n# EOF\n',
    '{b="c",} 1\n# EOF\n',
    "a 1 NaN\n# EOF\n",
    "a 1 -Inf\n# EOF\n",
    "a 1 Inf\n# EOF\n",
    '# TYPE hhh histogram\nhhh_bucket{le="+Inf"} 1 # {aa="bb"} 4 NaN\n# EOF\n',
    '# TYPE hhh histogram\nhhh_bucket{le="+Inf"} 1 # {aa="bb"} 4 -Inf\n# EOF\n',
]
OM_OK = ["# EOF", "# EOF\n"]


def _bytes(body: str) -> bytes:
    return body.encode("utf-8").replace(b"\\xff", b"\xff")  # the Go tests' raw invalid byte


@pytest.mark.parametrize(("body", "ctype"), [(b, TEXT) for b in PROM_ERRORS] + [(b, OM) for b in OM_ERRORS])
def test_prometheus_rejects_and_so_do_we_naming_the_line(body: str, ctype: str) -> None:
    with pytest.raises(ExpositionError, match=r"parse error at line \d+ \(.*\): \w"):
        convert(_bytes(body), ctype, NOW_MS)


@pytest.mark.parametrize(("body", "ctype"), [(b, TEXT) for b in PROM_OK] + [(b, OM) for b in OM_OK])
def test_prometheus_accepts_and_so_do_we(body: str, ctype: str) -> None:
    convert(_bytes(body), ctype, NOW_MS)
