"""Label matchers (=, !=, =~, !~) and the ``metric{label="value",...}`` selector syntax.

Matching runs in Python over the (small) series table; only series ids reach SQL, as bound
parameters, so no SQL is ever built from user strings. Regexes are RE2 (google-re2), fully
anchored, as Prometheus' (Go's regexp, RE2 syntax): ``\\d`` is ASCII, ``[[:alpha:]]``, ``\\pL``
and ``\\Q...\\E`` work, inline flags apply anywhere, and lookarounds and backreferences are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import re2

from core.kernel.errors import QueryError

Op = Literal["=", "!=", "=~", "!~"]
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_MATCHER = re.compile(rf'\s*({_LABEL})\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_RE2 = re2.Options()
_RE2.log_errors = False  # the error is raised, not printed to stderr
_PERL_ONLY = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?>|\(\?P=|[*+?}]\+")


def compile_re2(pattern: str) -> Any:
    """An RE2 pattern (use ``fullmatch``: anchored as PromQL's); ValueError says what is wrong."""
    try:
        return re2.compile(pattern, _RE2)
    except re2.error as exc:
        why = (
            exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        )
        if _PERL_ONLY.search(pattern):
            why += " (regexes are RE2, as in Prometheus: no lookarounds, backreferences or possessive quantifiers)"
        raise ValueError(why) from None


@dataclass(frozen=True)
class Matcher:
    label: str
    op: Op
    value: str

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "=~", "!~"):
            raise QueryError(f"unknown matcher operator {self.op!r}; use =, !=, =~ or !~")
        if self.op in ("=~", "!~"):
            _ = self.regex

    @cached_property
    def regex(self) -> Any:
        try:
            return compile_re2(self.value)
        except ValueError as exc:
            raise QueryError(f"bad regular expression for label {self.label!r}: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.label, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        hit = self.regex.fullmatch(got) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def __str__(self) -> str:
        inner = ",".join(f'{m.label}{m.op}"{m.value}"' for m in self.matchers)
        return f"{self.metric}{{{inner}}}" if inner else self.metric


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}


def _unescape(text: str) -> str:
    """PromQL string escapes; any other backslash pair is kept as written (regex classes like ``\\d``)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text)


def parse_selector(text: str) -> Selector:
    """Parse ``metric{a="x",b=~"y|z"}``; a clear QueryError names what is wrong."""
    text = text.strip()
    m = re.fullmatch(rf"({_NAME})\s*(?:\{{(.*)\}})?", text, re.S)
    if not m:
        raise QueryError(f'bad selector {text!r}: expected metric_name{{label="value",...}}')
    metric, body = m.group(1), (m.group(2) or "").strip()
    matchers: list[Matcher] = []
    pos = 0
    while pos < len(body):
        mm = _MATCHER.match(body, pos)
        if not mm:
            raise QueryError(f'bad matcher in {text!r} at {body[pos:]!r}: expected label="value"')
        value = _unescape(mm.group(3))
        matchers.append(Matcher(mm.group(1), mm.group(2), value))  # type: ignore[arg-type]
        pos = mm.end()
    return Selector(metric, tuple(matchers))
