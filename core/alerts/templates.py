"""Annotation and label templates in the Prometheus style: ``{{ $labels.host }}``, ``{{ $value }}``.

A small, safe subset of Go templates, as Prometheus rule files use them: ``$labels.NAME`` (also
``.Labels.NAME``), ``$value`` (also ``.Value``), ``$externalURL``, piped through ``humanize``,
``humanize1024``, ``humanizePercentage``, ``humanizeDuration``, or ``printf "%.2f" $value``.
Anything else is refused when the rule is loaded, with the construct named, rather than rendered
wrong at 3 a.m.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_VAR = re.compile(r"^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$|^(\$value|\.Value|\$externalURL)$")
_PRINTF = re.compile(r'^printf\s+"([^"]*)"\s+(\S+)$')
_FMT = re.compile(r"^%[-+ 0#]*\d*(?:\.\d+)?[dfegsxX%]$")
PIPES = ("humanize", "humanize1024", "humanizePercentage", "humanizeDuration", "toUpper", "toLower")


def _humanize(v: float) -> str:
    """1234567 -> 1.235M, 0.0012 -> 1.2m (SI prefixes, as Prometheus' humanize)."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return f"{v:.4g}"
    units, i = ["", "k", "M", "G", "T", "P", "E"], 0
    while abs(v) >= 1000 and i < len(units) - 1:
        v, i = v / 1000, i + 1
    if i == 0 and abs(v) < 1:
        for unit in "munp":
            v *= 1000
            if abs(v) >= 1:
                return f"{v:.4g}{unit}"
    return f"{v:.4g}{units[i]}"


def _duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v) or abs(v) < 1:
        return f"{v:.4g}s"
    sign, v = ("-" if v < 0 else ""), abs(v)
    parts, left = [], int(v)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return sign + " ".join(parts)


def _pipe(name: str, value: str) -> str:
    if name in ("toUpper", "toLower"):
        return value.upper() if name == "toUpper" else value.lower()
    try:
        v = float(value)
    except ValueError:
        return value
    if name == "humanize":
        return _humanize(v)
    if name == "humanize1024":
        return _humanize1024(v)
    if name == "humanizePercentage":
        return f"{v * 100:.4g}%"
    return _duration(v)


def _humanize1024(v: float) -> str:
    units = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
    i = 0
    while abs(v) >= 1024 and i < len(units) - 1:
        v, i = v / 1024, i + 1
    return f"{v:.4g}{units[i]}"


def _parse(action: str) -> tuple[str, str | None, list[str]]:
    """An action -> (variable, printf format or None, pipes); ValueError names what is unsupported."""
    head, *pipes = [p.strip() for p in action.split("|")]
    fmt = None
    if m := _PRINTF.match(head):
        fmt, head = m.group(1), m.group(2)
        if not _FMT.match(fmt):
            raise ValueError(f"printf format {fmt!r} is not supported: use one verb like %.2f, %d or %s")
    if not _VAR.match(head):
        raise ValueError(
            f"unsupported template action {{{{ {action} }}}}: use $labels.NAME, $value, "
            '$externalURL, printf "%.2f" $value, or a pipe to ' + ", ".join(PIPES)
        )
    for p in pipes:
        if p not in PIPES:
            raise ValueError(
                f"unknown template function {p!r} in {{{{ {action} }}}}; known: {', '.join(PIPES)}"
            )
    return head, fmt, pipes


def check_template(text: str) -> None:
    """Raise ValueError naming the first unsupported or unbalanced construct."""
    stripped = _ACTION.sub("", text)
    if "{{" in stripped or "}}" in stripped:
        raise ValueError(f"unbalanced {{{{ }}}} in template {text!r}")
    for m in _ACTION.finditer(text):
        _parse(m.group(1))


def render(text: str, labels: Mapping[str, str], value: float | None, external_url: str = "") -> str:
    """Fill a checked template; a missing label renders empty, as in Prometheus."""

    def one(m: re.Match[str]) -> str:
        head, fmt, pipes = _parse(m.group(1))
        var = _VAR.match(head)
        assert var is not None
        if var.group(1):
            out = labels.get(var.group(1), "")
        elif head == "$externalURL":
            out = external_url
        else:
            out = "" if value is None else f"{value:g}" if fmt is None else ""
            if fmt is not None and value is not None:
                out = fmt % (int(value) if fmt.endswith(("d", "x", "X")) else value)
        for p in pipes:
            out = _pipe(p, out)
        return out

    return _ACTION.sub(one, text)
