"""Go text/template semantics as alert templates use them (core/alerts/gotemplate).

Expected outputs are what Go's text/template and fmt print (the semantics of Go's documentation;
the printf cases marked so were checked against promtool, which is Go).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from core.alerts.gotemplate import TemplateError, parse
from core.alerts.gotemplate.gofmt import sprint, sprintf

DATA = {"Labels": {"instance": "db1:9100", "job": "node", "severity": "critical"}, "Value": 0.91234}


def run(text: str, data: Any = DATA) -> str:
    return parse(text, "t").execute(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # pipelines: the previous result is the last argument
        ('{{ .Value | printf "%.1f" }}', "0.9"),
        ('{{ .Value | printf "%.2f%%" }}', "0.91%"),
        ('{{ printf "%s is %s" .Labels.instance .Labels.job }}', "db1:9100 is node"),
        ('{{ "abc" | printf "%s-%s" "x" }}', "x-abc"),
        ("{{ .Labels.job | len }}", "4"),
        # variables, $ and assignment
        ("{{ $l := .Labels }}{{ $l.instance }}", "db1:9100"),
        ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
        ("{{ with .Labels }}{{ $.Value }}{{ end }}", "0.91234"),
        ("{{ $.Labels.job }}", "node"),
        # if / else if / else
        ("{{ if gt .Value 0.9 }}high{{ else if gt .Value 0.5 }}mid{{ else }}low{{ end }}", "high"),
        ('{{ if eq .Labels.severity "critical" "page" }}page{{ end }}', "page"),
        ("{{ if and .Labels.job .Labels.nope }}y{{ else }}n{{ end }}", "n"),
        ('{{ or .Labels.nope "fallback" }}', "fallback"),
        ("{{ and 1 0 2 }} {{ or 0 false 3 }} {{ not 0 }}", "0 3 true"),
        (
            '{{ if ne .Labels.job "x" }}ne{{ end }}{{ if lt 1 2 }}lt{{ end }}{{ if le 2 2 }}le{{ end }}',
            "neltle",
        ),
        ('{{ if ge "b" "a" }}ge{{ end }}', "ge"),
        # with
        ("{{ with .Labels.instance }}on {{ . }}{{ end }}", "on db1:9100"),
        ("{{ with .Labels.nope }}x{{ else }}none{{ end }}", "none"),
        ("{{ with $x := .Labels.job }}{{ $x }}{{ end }}", "node"),
        # range over maps (sorted keys) and slices, with else, break and continue
        (
            "{{ range $k, $v := .Labels }}{{ $k }}={{ $v }} {{ end }}",
            "instance=db1:9100 job=node severity=critical ",
        ),
        ("{{ range .Labels }}{{ . }},{{ end }}", "db1:9100,node,critical,"),
        ("{{ range $i, $e := .List }}{{ $i }}:{{ $e }} {{ end }}", "0:a 1:b "),
        ("{{ range .Empty }}x{{ else }}empty{{ end }}", "empty"),
        ('{{ range .List }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}', "a"),
        ('{{ range .List }}{{ if eq . "a" }}{{ continue }}{{ end }}{{ . }}{{ end }}', "b"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        (
            "{{ $n := 0 }}{{ range $i, $e := .List }}{{ $n = $i }}{{ $y := $e }}{{ $y }}{{ end }}{{ $n }}",
            "ab1",
        ),
        # index, len, print, println, html, js, urlquery
        ('{{ index .Labels "job" }} {{ index .List 1 }}', "node b"),
        ("{{ len .List }}", "2"),
        ('{{ print "a" 1 2 "b" }}', "a1 2b"),
        ('{{ println "a" 1 }}', "a 1\n"),
        ('{{ html "<a href=\'x\'>&\\"" }}', "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"),
        ('{{ js "it\'s <b> = \\\\" }}', "it\\'s \\u003Cb\\u003E \\u003D \\\\"),
        ('{{ urlquery "a b&c/d" }}', "a+b%26c%2Fd"),
        # comments and whitespace trimming
        ("a {{/* a comment */}} b", "a  b"),
        ("a {{- /* trimmed */ -}} b", "ab"),
        ("x\n  {{- .Labels.job -}}\n  y", "xnodey"),
        ("{{ 3 -}} < {{- 4 }}", "3<4"),
        # literals and printing
        ("{{ 1.5 }} {{ 1e3 }} {{ 0x10 }} {{ 'a' }} {{ true }} {{ `raw\\n` }}", "1.5 1000 16 97 true raw\\n"),
        ("{{ .Labels }}", "map[instance:db1:9100 job:node severity:critical]"),
        ("{{ .List }}", "[a b]"),
        ("{{ .Labels.nope }}|{{ .Nope }}", "|<no value>"),
        ("{{ .Big }} {{ .Small }} {{ .Whole }}", "1.234567e+06 1e-05 42"),
        # define / template / block
        ('{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" .Labels.job }}', "[node]"),
        ('{{ block "b" .Value }}<{{ . }}>{{ end }}', "<0.91234>"),
        ('{{ define "nodot" }}[{{ . }}]{{ end }}{{ template "nodot" }}', "[<no value>]"),
    ],
)
def test_go_template_semantics(text: str, expected: str) -> None:
    data = {**DATA, "List": ["a", "b"], "Empty": [], "Big": 1234567.0, "Small": 0.00001, "Whole": 42.0}
    assert run(text, data) == expected


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        ("%.1f", [0.25], "0.2"),  # round half to even, as Go
        ("%.2f", [math.pi], "3.14"),
        ("%f", [1.5], "1.500000"),
        ("%5.1f|%-6.2f|%06.2f", [1.25, 2.5, -3.14159], "  1.2|2.50  |-03.14"),
        (
            "%d %5d %-5d| %05d %x %X %o %b",
            [42, 7, 7, -42, 255, 255, 8, 5],
            "42     7 7    | -0042 ff FF 10 101",
        ),
        ("%s %10s %-4s|", ["a", "right", "l"], "a      right l   |"),
        ("%q", ['say "hi"\n'], '"say \\"hi\\"\\n"'),
        ("%v %v %v %v", [1.0, 0.5, 1e21, 123456789.0], "1 0.5 1e+21 1.23456789e+08"),
        ("%g %g %.3g %G", [100000.0, 1e-5, 1234.5678, 1e-7], "100000 1e-05 1.23e+03 1E-07"),
        ("%e %.2e %E", [1234.5678, 0.000123, 1.0], "1.234568e+03 1.23e-04 1.000000E+00"),
        ("%v %v %t", [True, None, False], "true <nil> false"),
        ("%x %X", ["hi", "hi"], "6869 6869"),
        ("%.0f%%", [99.5], "100%"),
        ("%v %f %g", [math.inf, -math.inf, math.nan], "+Inf -Inf NaN"),
        ("%d", [0.5], "%!d(float64=0.5)"),
        ("%s", [1.5], "%!s(float64=1.5)"),
        ("%f", ["x"], "%!f(string=x)"),
        ("%d %d", [1], "1 %!d(MISSING)"),
        ("%d", [1, 2], "1%!(EXTRA int=2)"),
        ("%z", [1], "%!z(int=1)"),
        ("%v", [{"b": "2", "a": "1"}], "map[a:1 b:2]"),
        ("%*d|%.*f", [4, 7, 1, 2.25], "   7|2.2"),
        # a wrong verb: the value with %v and the same flags (checked against promtool)
        (
            "%.2f|%5d|%f|%-8.3d|%08.3f|%x|%s",
            [2, "ab", 1, "q", 7, 1.0, 0.5],
            "%!f(int=02)|%!d(string=   ab)|%!f(int=1)|%!d(string=q       )|%!f(int=     007)|0x1p+00|%!s(float64=0.5)",
        ),
        ("%5.1f|%q|%d", [2.0, 97, 3.0], "  2.0|'a'|%!d(float64=3)"),
        ("%06.1f|%-6v|%06s", [math.inf, 1.5, "ab"], "  +Inf|1.5   |0000ab"),
        ("%x %X %#x %#o %b", [1.0, 0.5, 255, 8, -5], "0x1p+00 0X1P-01 0xff 010 -101"),
        ("%s|%5t", [{"a": "1"}, True], "map[a:1]| true"),
    ],
)
def test_printf_follows_go_fmt(fmt: str, args: list[Any], expected: str) -> None:
    assert sprintf(fmt, args) == expected


def test_sprint_spaces_between_non_strings() -> None:
    assert sprint([1, 2, "a", 3.5, "b", "c"]) == "1 2a3.5bc"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ .Value", "unclosed action"),
        ("{{ if true }}x", "unexpected EOF"),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ .Value | shout }}", 'function "shout" not defined'),
        ("{{ $nope }}", 'undefined variable "$nope"'),
        ('{{ "unterminated }}', "unterminated quoted string"),
        ("{{ else }}", "unexpected {{else}}"),
        ("{{ range $a, $b, $c := . }}{{ end }}", "too many declarations"),
        ("{{ break }}", "{{break}} outside {{range}}"),
        ("{{ 1 | 2 }}", "non executable command in pipeline stage 2"),
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "too deeply nested"),
    ],
)
def test_parse_errors_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem.replace("$", r"\$").replace("{", r"\{")):
        parse(text, "t", funcs={"printf"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ index .Labels 1 }}", "index"),
        ("{{ gt .Value 1 }}", "incompatible types for comparison"),
        ("{{ .Labels.job.x }}", "can't evaluate field x"),
        ("{{ len 3 }}", "len of type int"),
        ("{{ 1 2 }}", "can't give argument to non-function"),
        ("{{ nil }}", "nil is not a command"),
        ("{{ range 100000000 }}{{ end }}", "too expensive"),  # never hangs the daemon
        ('{{ range 1000000 }}{{ printf "%0100d" 1 }}{{ end }}', "too expensive"),
    ],
)
def test_execution_errors(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem):
        run(text)
