"""The parse tree of a Go template (the shapes of text/template/parse, simplified)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class TemplateError(ValueError):
    """A template that does not parse or fails to execute; the message is Go's wording."""


@dataclass
class Text:
    text: str


@dataclass
class Dot:
    pass


@dataclass
class Nil:
    pass


@dataclass
class Const:
    """A bool, number, string or character literal with its Go value (int, float, str, bool)."""

    value: Any
    text: str


@dataclass
class Field:
    names: list[str]  # .A.B -> ["A", "B"]


@dataclass
class Variable:
    names: list[str]  # $x.A -> ["$x", "A"]


@dataclass
class Identifier:
    name: str


@dataclass
class Chain:
    node: Any
    names: list[str]  # (x).A.B


@dataclass
class Command:
    args: list[Any]
    line: int = 0


@dataclass
class Pipe:
    cmds: list[Command]
    decl: list[str] = field(default_factory=list)
    is_assign: bool = False
    line: int = 0


@dataclass
class Action:
    pipe: Pipe


@dataclass
class Branch:
    """if / range / with: the pipeline, the body and the else branch."""

    kind: str
    pipe: Pipe
    body: list[Any]
    orelse: list[Any] | None = None


@dataclass
class TemplateCall:
    name: str
    pipe: Pipe | None
    line: int = 0


@dataclass
class Break:
    pass


@dataclass
class Continue:
    pass
