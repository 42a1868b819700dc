"""Go text/template for alert templates: parse once, execute with data and a function map.

``parse(text, name, funcs)`` checks the template as Go does when it is parsed (unknown
functions and variables, unbalanced blocks) and returns a :class:`Template`;
``Template.execute(data, funcs)`` renders it. Errors are :class:`TemplateError` with Go's
wording. The modules: lexer (tokens), parser (tree), execute (evaluation), builtins (and, or,
eq, index, len, print...), gofmt (fmt's ``%v`` and ``printf`` verbs), gotime (time.Time and
time.Duration for ``toTime``/``toDuration``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.alerts.gotemplate.execute import State
from core.alerts.gotemplate.nodes import TemplateError
from core.alerts.gotemplate.parser import Parser

__all__ = ["Template", "TemplateError", "parse"]


class Template:
    def __init__(self, name: str, text: str, body: list[Any], defs: dict[str, list[Any]]) -> None:
        self.name, self.text, self.body, self.defs = name, text, body, defs

    def execute(self, data: Any, funcs: Mapping[str, Callable[..., Any]] | None = None) -> str:
        state = State(self.name, self.text, self.defs, funcs or {}, data)
        try:
            state.walk(data, self.body)
        except RecursionError as exc:
            raise TemplateError(f"template: {self.name}: too deeply nested") from exc
        return "".join(state.out)


def parse(text: str, name: str = "template", funcs: Iterable[str] = ()) -> Template:
    try:
        body, defs = Parser(text, name, funcs).parse()
    except RecursionError as exc:
        raise TemplateError(f"template: {name}: too deeply nested") from exc
    return Template(name, text, body, defs)
