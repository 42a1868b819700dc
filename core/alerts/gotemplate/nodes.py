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
    pos: int = 0


@dataclass
class Variable:
    names: list[str]  # $x.A -> ["$x", "A"]
    pos: int = 0


@dataclass
class Identifier:
    name: str


@dataclass
class Chain:
    node: Any
    names: list[str]  # (x).A.B
    pos: int = 0


@dataclass
class Command:
    args: list[Any]
    line: int = 0
    pos: int = 0


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


def text_of(node: Any) -> str:
    """The node as Go's ``String()`` writes it (error messages: ``at <humanize $value>``)."""
    if isinstance(node, Const):
        return node.text
    if isinstance(node, Dot):
        return "."
    if isinstance(node, Nil):
        return "nil"
    if isinstance(node, Field):
        return "".join("." + n for n in node.names)
    if isinstance(node, Variable):
        return ".".join(node.names)
    if isinstance(node, Identifier):
        return node.name
    if isinstance(node, Chain):
        inner = text_of(node.node)
        inner = f"({inner})" if isinstance(node.node, Pipe) else inner
        return inner + "".join("." + n for n in node.names)
    if isinstance(node, Command):
        return " ".join(f"({text_of(a)})" if isinstance(a, Pipe) else text_of(a) for a in node.args)
    if isinstance(node, Pipe):
        decl = ", ".join(node.decl) + (" = " if node.is_assign else " := ") if node.decl else ""
        return decl + " | ".join(text_of(c) for c in node.cmds)
    return type(node).__name__
