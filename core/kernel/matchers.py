"""Alertmanager-style label matchers: ``severity="critical"``, ``team=~"a|b"``, ``env!="dev"``.

Parsed with the store's selector syntax (same operators, anchored regexes), so one matcher
language serves queries, routes, inhibitions and silences. A label that is absent counts as the
empty string, as in Alertmanager.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.kernel.errors import QueryError
from core.kernel.selector import Matcher, parse_selector


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    """``['a="x"', 'b=~"y|z"']`` (or one ``'{a="x", b=~"y"}'``) -> matchers; ValueError names the bad one."""
    out: list[Matcher] = []
    for text in texts:
        body = text.strip()
        if body.startswith("{") and body.endswith("}"):
            body = body[1:-1]
        try:
            out.extend(parse_selector(f"m{{{body}}}").matchers)
        except QueryError as exc:
            raise ValueError(f"bad matcher {text!r}: {exc}") from exc
    return tuple(out)


def matches(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    plain = dict(labels)
    return all(m.matches(plain) for m in matchers)


def describe(matchers: Iterable[Matcher]) -> str:
    return ", ".join(f'{m.label}{m.op}"{m.value}"' for m in matchers)
