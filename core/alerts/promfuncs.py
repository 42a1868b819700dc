"""Prometheus' template function map (template/template.go ``NewTemplateExpander``), in Python.

Every function Prometheus gives alert templates: query, first, label, value, strvalue, args,
reReplaceAll, safeHtml, match, title, toUpper, toLower, graphLink, tableLink, sortByLabel,
stripPort, stripDomain, humanize*, toTime, toDuration, now, pathPrefix, externalURL,
parseDuration, urlQueryEscape. (``tmpl`` exists only in Prometheus' HTML console templates, not in
alert templates, so it is "not defined" here as there.) Ported from Prometheus, Apache License 2.0.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from core.alerts.gotemplate.builtins import ArgTypeError, FuncError
from core.alerts.gotemplate.gofmt import format_v, go_type
from core.alerts.gotemplate.gotime import Duration, float_to_time
from core.alerts.humanize import (
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
    humanize_timestamp,
    to_float,
)

QueryFn = Callable[[str], list["Sample"]]


class Sample:
    """An element of a query result: ``.Labels`` (with ``__name__``) and ``.Value``."""

    go_type = "*template.sample"

    def __init__(self, labels: dict[str, str], value: float) -> None:
        self.go_fields: dict[str, Any] = {"Labels": labels, "Value": float(value)}

    def go_string(self) -> str:
        return "&{" + format_v(self.go_fields["Labels"]) + " " + format_v(self.go_fields["Value"]) + "}"


class AnyMap(dict[str, Any]):
    """A map[string]interface{} (``args``): a missing key is no value, not ""."""


def _str(v: Any, fn: str) -> str:
    if not isinstance(v, str):
        raise ArgTypeError(f"wrong type for value; expected string; got {go_type(v)}")
    return v


def _sample(v: Any) -> Sample:
    if not isinstance(v, Sample):
        raise ArgTypeError(f"wrong type for value; expected *template.sample; got {go_type(v)}")
    return v


def _regexp(pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(_str(pattern, "regexp"))
    except re.error as exc:
        raise FuncError(f"error parsing regexp: {exc}") from exc


def re_replace_all(pattern: Any, repl: Any, text: Any) -> str:
    """Go's ReplaceAllString: ``$1``, ``${1}``, ``${name}``, ``$name``, ``$$`` in the replacement."""
    rx, repl = _regexp(pattern), _str(repl, "reReplaceAll")

    def expand(m: re.Match[str]) -> str:
        def group(g: re.Match[str]) -> str:
            if g.group(0) == "$$":
                return "$"
            name = g.group(1) or g.group(2)
            key: int | str = int(name) if name.isdigit() else name
            try:
                return m.group(key) or ""
            except IndexError:
                return ""

        return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", group, repl)

    return rx.sub(expand, _str(text, "reReplaceAll"))


def _split_host_port(hp: str) -> tuple[str, str] | None:
    """net.SplitHostPort; None where Go returns an error."""
    i = hp.rfind(":")
    if i < 0:
        return None
    j = k = 0
    if hp.startswith("["):
        end = hp.find("]")
        if end < 0 or end + 1 != i:
            return None
        host, j, k = hp[1:end], 1, end + 1
    else:
        host = hp[:i]
        if ":" in host:
            return None
    if "[" in hp[j:] or "]" in hp[k:]:
        return None
    return host, hp[i + 1 :]


def strip_port(hp: Any) -> str:
    parts = _split_host_port(_str(hp, "stripPort"))
    return hp if parts is None else parts[0]


def strip_domain(hp: Any) -> str:
    parts = _split_host_port(_str(hp, "stripDomain"))
    host, port = parts if parts is not None else (hp, "")
    try:
        ipaddress.ip_address(host)
        return str(hp)
    except ValueError:
        pass
    host = host.split(".")[0]
    if port:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(host)


def title(s: Any) -> str:
    """cases.Title(..., cases.NoLower): a letter after a non-word character is upper-cased
    (``it's a.b foo_bar 3am`` -> ``It'S A.B Foo_bar 3am``, as Go), the rest kept."""
    return re.sub(r"(?<!\w)([^\W\d_])", lambda m: m.group(1).upper(), _str(s, "title"))


_PROM_DURATION = re.compile(
    r"(-?)(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)


def parse_duration(d: Any) -> float:
    """model.ParseDurationAllowNegative -> seconds (``-1h2m10ms`` -> -3720.01)."""
    text = _str(d, "parseDuration")
    if text in ("0", "-0"):
        return 0.0
    m = _PROM_DURATION.fullmatch(text)
    if not text or not m or not any(m.groups()[1:]):
        raise FuncError(f'not a valid duration string: "{text}"')
    ms = sum(int(g) * u for g, u in zip(m.groups()[1:], _UNIT_MS, strict=True) if g)
    return (-ms if m.group(1) else ms) / 1000


def _first(v: Any) -> Sample:
    if isinstance(v, list) and v:
        return _sample(v[0])
    raise FuncError("first() called on vector with no elements")


def _sort_by_label(label: Any, v: Any) -> list[Sample]:
    key = _str(label, "sortByLabel")
    return sorted(v or [], key=lambda s: _sample(s).go_fields["Labels"].get(key, ""))


def _link(expr: Any, tab: int) -> str:
    return f"/graph?g0.expr={urllib.parse.quote_plus(_str(expr, 'graphLink'), safe='')}&g0.tab={tab}"


def _match(pattern: Any, text: Any) -> bool:
    return _regexp(pattern).search(_str(text, "match")) is not None


def prometheus_funcs(now_s: float, external_url: str, query: QueryFn | None) -> dict[str, Callable[..., Any]]:
    """The function map of one expansion (time of evaluation, Pulse's URL, the rule's PromQL)."""

    def run_query(q: Any) -> list[Sample]:
        if query is None:
            raise FuncError("query is not available: this rule has no Prometheus source")
        return query(_str(q, "query"))

    def to_duration(v: Any) -> Duration:
        return Duration(int(to_float(v) * 1e9))

    return {
        "query": run_query,
        "first": _first,
        "label": lambda label, s: _sample(s).go_fields["Labels"].get(_str(label, "label"), ""),
        "value": lambda s: _sample(s).go_fields["Value"],
        "strvalue": lambda s: _sample(s).go_fields["Labels"].get("__value__", ""),
        "args": lambda *a: AnyMap({f"arg{i}": x for i, x in enumerate(a)}),
        "reReplaceAll": re_replace_all,
        "safeHtml": lambda s: _str(s, "safeHtml"),
        "match": _match,
        "title": title,
        "toUpper": lambda s: _str(s, "toUpper").upper(),
        "toLower": lambda s: _str(s, "toLower").lower(),
        "graphLink": lambda e: _link(e, 0),
        "tableLink": lambda e: _link(e, 1),
        "sortByLabel": _sort_by_label,
        "stripPort": strip_port,
        "stripDomain": strip_domain,
        "humanize": humanize,
        "humanize1024": humanize1024,
        "humanizeDuration": humanize_duration,
        "humanizePercentage": humanize_percentage,
        "humanizeTimestamp": humanize_timestamp,
        "toTime": lambda v: float_to_time(_finite(to_float(v))),
        "toDuration": to_duration,
        "now": lambda: now_s,
        "pathPrefix": lambda: urllib.parse.urlsplit(external_url).path,
        "externalURL": lambda: external_url,
        "parseDuration": parse_duration,
        "urlQueryEscape": lambda s: urllib.parse.quote_plus(_str(s, "urlQueryEscape"), safe=""),
    }


def _finite(v: float) -> float:
    if v != v or v in (float("inf"), float("-inf")):
        raise FuncError("value is NaN or Inf")
    return v


FUNC_NAMES = frozenset(prometheus_funcs(0.0, "", None))
