"""Prometheus' own template tests, ported: Pulse's templates must render what Prometheus renders.

The cases below are copied from prometheus/prometheus template/template_test.go
(TestTemplateExpansion, commit d15adb9ad7e5d9fbde3a9a8f30200593a5a14d86), Copyright The
Prometheus Authors, Apache License 2.0. Only the HTML-mode (ExpandHTML) and native histogram
cases are left out: alert templates are expanded in text mode and Pulse has no histograms.
Error messages are Go's, with the line, the column and the node.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from core.alerts.gotemplate.builtins import FuncError
from core.alerts.gotemplate.gotime import float_to_time
from core.alerts.humanize import humanize_duration
from core.alerts.templates import Sample, TemplateError, expand

INT64_MAX, UINT64_MAX = 2**63 - 1, 2**64 - 1
NOW_S = 1353755652.0
EXTERNAL_URL = "http://testhost:9090/path/prefix"


def _vector(*items: tuple[dict[str, str], float]) -> list[Sample]:
    return [Sample(dict(labels), value) for labels, value in items]


CASES: list[tuple[str, Any, str]] = [
    ("plain text", None, "plain text"),
    ("{{ 1 }}", None, "1"),
    ('{{ "<b>" }}', None, "<b>"),
    ('{{define "x"}}{{.arg0}} {{.arg1}}{{end}}{{template "x" (args 1 "2")}}', None, "1 2"),
    ("{{ .Foo }}", None, "<no value>"),
    ('{{ reReplaceAll "(a)b" "x$1" "ab" }}', None, "xa"),
    ("{{ range . }}{{ humanize . }}:{{ end }}", [0.0, 1.0, 1234567.0, 0.12], "0:1:1.235M:120m:"),
    ("{{ range . }}{{ humanize . }}:{{ end }}", ["0.0", "1.0", "1234567.0", ".12"], "0:1:1.235M:120m:"),
    ("{{ range . }}{{ humanize . }}:{{ end }}", [0, -1, 1, 1234567, INT64_MAX], "0:-1:1:1.235M:9.223E:"),
    ("{{ range . }}{{ humanize . }}:{{ end }}", [0, 1, 1234567, UINT64_MAX], "0:1:1.235M:18.45E:"),
    ("{{ range . }}{{ humanize1024 . }}:{{ end }}", [0.0, 1.0, 1048576.0, 0.12], "0:1:1Mi:0.12:"),
    ("{{ range . }}{{ humanize1024 . }}:{{ end }}", ["0.0", "1.0", "1048576.0", ".12"], "0:1:1Mi:0.12:"),
    ("{{ range . }}{{ humanize1024 . }}:{{ end }}", [0, -1, 1, 1234567, INT64_MAX], "0:-1:1:1.177Mi:8Ei:"),
    ("{{ range . }}{{ humanize1024 . }}:{{ end }}", [0, 1, 1234567, UINT64_MAX], "0:1:1.177Mi:16Ei:"),
    (
        "{{ range . }}{{ humanizeDuration . }}:{{ end }}",
        [0.0, 1.0, 60.0, 3600.0, 86400.0, 86400.0 + 3600, -(86400.0 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99],
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:",
    ),
    (
        "{{ range . }}{{ humanizeDuration . }}:{{ end }}",
        ["0", "1", "60", "3600", "86400"],
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:",
    ),
    (
        "{{ range . }}{{ humanizeDuration . }}:{{ end }}",
        [0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345],
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:",
    ),
    (
        "{{ range . }}{{ humanizeDuration . }}:{{ end }}",
        [".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"],
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:",
    ),
    ("{{ range . }}{{ humanizeDuration . }}:{{ end }}", [0, -1, 1, 1234567], "0s:-1s:1s:14d 6h 56m 7s:"),
    (
        "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}",
        [math.inf, -math.inf, math.nan],
        "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:",
    ),
    (
        "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}",
        ["+Inf", "-Inf", "NaN"],
        "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:",
    ),
    (
        "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
        None,
        "-22.22%:0%:12.35%:123.5%",
    ),
    (
        "{{ range . }}{{ humanizePercentage . }}:{{ end }}",
        [0, -1, 1, 1234567, INT64_MAX],
        "0%:-100%:100%:1.235e+08%:9.223e+20%:",
    ),
    (
        '{{ "-0.22222" | humanizePercentage }}:{{ "0.0" | humanizePercentage }}:{{ "0.1234567" | humanizePercentage }}:{{ "1.23456" | humanizePercentage }}',
        None,
        "-22.22%:0%:12.35%:123.5%",
    ),
    (
        "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}",
        [0, -1, 1, 1234567, 9223372036],
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:"
        "1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:",
    ),
    ("{{ 1435065584.128 | humanizeTimestamp }}", None, "2015-06-23 13:19:44.128 +0000 UTC"),
    ('{{ "1435065584.128" | humanizeTimestamp }}', None, "2015-06-23 13:19:44.128 +0000 UTC"),
    ('{{ (1435065584.128 | toTime).Format "2006" }}', None, "2015"),
    ('{{ ("1435065584.128" | toTime).Format "2006" }}', None, "2015"),
    ("{{ (1800 | toDuration).String }}", None, "30m0s"),
    ('{{ ("1800" | toDuration).String }}', None, "30m0s"),
    ("{{ now }}", None, "1.353755652e+09"),
    ('{{ (now | toTime).Format "Mon Jan 2 15:04:05 2006" }}', None, "Sat Nov 24 11:14:12 2012"),
    ('{{ ("-30m" | parseDuration | toDuration | (now | toTime).Add).UnixMilli }}', None, "1353753852000"),
    ('{{ "aa bb CC" | title }}', None, "Aa Bb CC"),
    ('{{ "aa bb CC" | toUpper }}', None, "AA BB CC"),
    ('{{ "aA bB CC" | toLower }}', None, "aa bb cc"),
    ('{{ match "a+" "aa" }} {{ match "a+" "b" }}', None, "true false"),
    ('{{ graphLink "up" }}', None, "/graph?g0.expr=up&g0.tab=0"),
    ('{{ tableLink "up" }}', None, "/graph?g0.expr=up&g0.tab=1"),
    ("{{ pathPrefix }}", None, "/path/prefix"),
    ("{{ externalURL }}", None, "http://testhost:9090/path/prefix"),
    ('{{ printf "%0.2f" (parseDuration "1h2m10ms") }}', None, "3720.01"),
    ('{{ printf "%0.2f" (parseDuration "-1h2m10ms") }}', None, "-3720.01"),
    *(
        ('{{ "' + host + '" | stripPort }}', None, out)
        for host, out in [
            ("foo.example.com", "foo.example.com"),
            ("foo.example.com:12345", "foo.example.com"),
            ("192.0.2.1", "192.0.2.1"),
            ("192.0.2.1:12345", "192.0.2.1"),
            ("2001:0DB8::1", "2001:0DB8::1"),
            ("[2001:0DB8::1]:12345", "2001:0DB8::1"),
            ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
        ]
    ),
    *(
        ('{{ "' + host + '" | stripDomain }}', None, out)
        for host, out in [
            ("foo.example.com", "foo"),
            ("foo.example.com:12345", "foo:12345"),
            ("192.0.2.1", "192.0.2.1"),
            ("192.0.2.1:12345", "192.0.2.1:12345"),
            ("2001:0DB8::1", "2001:0DB8::1"),
            ("[2001:0DB8::1]:12345", "[2001:0DB8::1]:12345"),
            ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
        ]
    ),
]

QUERY_CASES: list[tuple[str, list[Sample], str]] = [
    ('{{ query "1.5" | first | value }}', _vector(({}, 1.5)), "1.5"),
    ("{{ query \"metric{instance='a'}\" | first | value }}", _vector(({"instance": "a"}, 11)), "11"),
    (
        '{{ query "metric{instance=\'a\'}" | first | label "instance" }}',
        _vector(({"instance": "a"}, 11)),
        "a",
    ),
    ("{{ query \"metric{__value__='a'}\" | first | strvalue }}", _vector(({"__value__": "a"}, 11)), "a"),
    ('{{ query "metric{instance=\'a\'}" | first | label "foo" }}', _vector(({"instance": "a"}, 11)), ""),
    ('{{ $x := query "metric" | first }}{{ $x.Labels.foo }}', _vector(({"instance": "a"}, 11)), ""),
    (
        '{{ range query "metric" | sortByLabel "instance" }}{{.Labels.instance}}:{{.Value}}: {{end}}',
        _vector(({"instance": "b"}, 21), ({"instance": "a"}, 11)),
        "a:11: b:21: ",
    ),
]

E = "error executing template test: template: test:1:"
FAILURES: list[tuple[str, Any, list[Sample], str]] = [
    ("{{", None, [], "error parsing template test: template: test:1: unclosed action"),
    (
        '{{ query "missing" | first }}',
        None,
        [],
        E + '21: executing "test" at <first>: error calling first: first() called on vector with no elements',
    ),
    (
        '{{ humanize "one" }}',
        None,
        [],
        E + '3: executing "test" at <humanize "one">: error calling humanize: strconv.ParseFloat: '
        'parsing "one": invalid syntax',
    ),
    (
        '{{ humanize1024 "one" }}',
        None,
        [],
        E + '3: executing "test" at <humanize1024 "one">: error calling humanize1024: strconv.ParseFloat: '
        'parsing "one": invalid syntax',
    ),
    (
        '{{ humanizeDuration "one" }}',
        None,
        [],
        E + '3: executing "test" at <humanizeDuration "one">: error calling humanizeDuration: '
        'strconv.ParseFloat: parsing "one": invalid syntax',
    ),
    (
        '{{ "one" | humanizePercentage }}',
        None,
        [],
        E + '11: executing "test" at <humanizePercentage>: error calling humanizePercentage: '
        'strconv.ParseFloat: parsing "one": invalid syntax',
    ),
    (
        "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}",
        [-(2**63), INT64_MAX],
        [],
        E + '16: executing "test" at <humanizeTimestamp .>: error calling humanizeTimestamp: '
        "-9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64",
    ),
    (
        "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}",
        [UINT64_MAX],
        [],
        E + '16: executing "test" at <humanizeTimestamp .>: error calling humanizeTimestamp: '
        "1.8446744073709552e+19 cannot be represented as a nanoseconds timestamp since it overflows int64",
    ),
]


def _expand(text: str, data: Any, result: list[Sample] | None = None) -> str:
    return expand(
        text, data, name="test", now_s=NOW_S, external_url=EXTERNAL_URL, query=lambda q: list(result or [])
    )


@pytest.mark.parametrize(("text", "data", "expected"), CASES)
def test_prometheus_template_expansion(text: str, data: Any, expected: str) -> None:
    assert _expand(text, data) == expected


@pytest.mark.parametrize(("text", "result", "expected"), QUERY_CASES)
def test_prometheus_template_query_functions(text: str, result: list[Sample], expected: str) -> None:
    assert _expand(text, None, result) == expected


@pytest.mark.parametrize(("text", "data", "result", "message"), FAILURES)
def test_prometheus_template_failures(text: str, data: Any, result: list[Sample], message: str) -> None:
    with pytest.raises(TemplateError) as err:
        _expand(text, data, result)
    assert str(err.value) == message


def test_a_field_of_a_query_result_fails() -> None:
    with pytest.raises(TemplateError, match="can't evaluate field banana"):
        _expand('{{ (query "missing").banana }}', None, [])


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0.12, "120ms"), (3.2, "3.2s"), (3600, "1h 0m 0s"), (5e-6, "5us"), (-0.5, "-500ms"), (1e-10, "100ps")],
)
def test_humanize_duration_examples(seconds: float, expected: str) -> None:
    assert humanize_duration(seconds) == expected


def test_float_to_time() -> None:
    """Test_floatToTime of template_test.go."""
    assert float_to_time(1657155181).go_string() == "2022-07-07 00:53:01 +0000 UTC"
    for v in (
        1.79769313486231570814527423731704356798070e300,
        -1.79769313486231570814527423731704356798070e300,
    ):
        with pytest.raises(FuncError, match="cannot be represented as a nanoseconds timestamp"):
            float_to_time(v)
