"""Go text/template's parser: tokens -> a tree of nodes (core/alerts/gotemplate/nodes.py).

Checks what Go checks when a template is parsed: balanced ``{{end}}``, functions that exist
(``function "x" not defined``), variables declared before use (``undefined variable "$x"``),
``{{break}}``/``{{continue}}`` inside ``{{range}}``, at most two range variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.alerts.gotemplate.lexer import Token, lex, unquote
from core.alerts.gotemplate.nodes import (
    Action,
    Branch,
    Break,
    Chain,
    Command,
    Const,
    Continue,
    Dot,
    Field,
    Identifier,
    Nil,
    Pipe,
    TemplateCall,
    TemplateError,
    Text,
    Variable,
)

BUILTINS = {
    "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "slice", "print",
    "printf", "println", "html", "js", "urlquery", "call",
}  # fmt: skip


def number(text: str) -> int | float:
    t = text.replace("_", "")
    low = t.lower().lstrip("+-")
    if low.endswith("i"):
        raise ValueError("complex numbers are not supported")
    if low.startswith("0x"):
        return float.fromhex(t) if "." in low or "p" in low else int(t, 16)
    if low.startswith(("0o", "0b")):
        return int(t, 0)
    if "." in low or "e" in low:
        return float(t)
    if len(low) > 1 and low.startswith("0"):
        return int(t, 8)
    return int(t)


class Parser:
    def __init__(self, text: str, name: str, funcs: Iterable[str]) -> None:
        self.toks, self.i, self.name = lex(text, name), 0, name
        self.funcs = BUILTINS | set(funcs)
        self.vars: list[str] = ["$"]
        self.defs: dict[str, list[Any]] = {}
        self.in_range = 0

    def error(self, msg: str, line: int | None = None) -> TemplateError:
        where = line if line is not None else self.toks[min(self.i, len(self.toks) - 1)][2]
        return TemplateError(f"template: {self.name}:{where}: {msg}")

    def next(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def peek(self) -> Token:
        return self.toks[self.i]

    def skip_space(self) -> None:
        while self.toks[self.i][0] == "space":
            self.i += 1

    def next_ns(self) -> Token:
        self.skip_space()
        return self.next()

    def expect_right(self, context: str) -> None:
        tok = self.next_ns()
        if tok[0] != "right":
            raise self.error(f"unexpected {_show(tok)} in {context}", tok[2])

    # -- lists and actions --------------------------------------------------------------
    def parse(self) -> tuple[list[Any], dict[str, list[Any]]]:
        body, _ = self.item_list(top=True)
        return body, self.defs

    def item_list(self, top: bool = False) -> tuple[list[Any], tuple[str, ...]]:
        out: list[Any] = []
        while True:
            kind, value, line, _ = self.next()
            if kind == "text":
                out.append(Text(value))
            elif kind == "eof":
                if top:
                    return out, ("eof",)
                raise self.error("unexpected EOF", line)
            else:
                node = self.action(top, line)
                if isinstance(node, tuple):
                    if top:
                        raise self.error(f"unexpected {{{{{node[0].removesuffix('if')}}}}}", line)
                    return out, node
                if node is not None:
                    out.append(node)

    def action(self, top: bool, line: int) -> Any:
        kind, value, _, _ = tok = self.next_ns()
        if kind != "keyword":
            self.i -= 1
            return Action(self.pipeline("command", line))
        if value == "end":
            self.expect_right("end")
            return ("end",)
        if value == "else":
            self.skip_space()
            if self.peek()[0] == "keyword" and self.peek()[1] in ("if", "with"):
                return ("elseif", self.next()[1])
            self.expect_right("else")
            return ("else",)
        if value in ("if", "with", "range"):
            return self.control(value, line)
        if value in ("break", "continue"):
            if not self.in_range:
                raise self.error(f"{{{{{value}}}}} outside {{{{range}}}}", line)
            self.expect_right(value)
            return Break() if value == "break" else Continue()
        if value in ("template", "block"):
            tok = self.next_ns()
            if tok[0] != "string":
                raise self.error(f"unexpected {_show(tok)} in {value} clause", line)
            tok = (tok[0], unquote(tok[1]) if tok[1].startswith('"') else tok[1][1:-1], tok[2], tok[3])
            self.skip_space()
            pipe = None if self.peek()[0] == "right" else self.pipeline(value, line)
            if pipe is None:
                self.next()
            if value == "block":
                self.defs[tok[1]] = self.define_body()
            return TemplateCall(tok[1], pipe, line)
        if value == "define":
            if not top:
                raise self.error("unexpected <define> in command", line)
            tok = self.next_ns()
            if tok[0] != "string":
                raise self.error(f"unexpected {_show(tok)} in define clause", line)
            tok = (tok[0], unquote(tok[1]) if tok[1].startswith('"') else tok[1][1:-1], tok[2], tok[3])
            self.expect_right("define clause")
            self.defs[tok[1]] = self.define_body()
            return None
        raise self.error(f"unexpected {_show(tok)} in command", line)

    def define_body(self) -> list[Any]:
        saved, self.vars = self.vars, ["$"]
        body, stop = self.item_list()
        self.vars = saved
        if stop != ("end",):
            raise self.error("unexpected {{else}} in define")
        return body

    def control(self, kind: str, line: int) -> Branch:
        mark = len(self.vars)
        pipe = self.pipeline(kind, line)
        self.in_range += kind == "range"
        body, stop = self.item_list()
        self.in_range -= kind == "range"
        orelse = None
        if stop[0] == "elseif":
            orelse = [self.control(stop[1], line)]
        elif stop == ("else",):
            orelse, stop = self.item_list()
            if stop != ("end",):
                raise self.error(f"expected end; found {{{{{stop[0].removesuffix('if')}}}}}")
        del self.vars[mark:]
        return Branch(kind, pipe, body, orelse)

    # -- pipelines and commands ----------------------------------------------------------
    def pipeline(self, context: str, line: int, end: str = "right") -> Pipe:
        pipe = Pipe([], line=line)
        self.skip_space()
        start = self.i
        while self.peek()[0] == "variable":
            name = self.next()[1]
            self.skip_space()
            op = self.peek()[0]
            if op in (":=", "=", ","):
                self.next()
                if op == "=" and name not in self.vars:
                    raise self.error(f'undefined variable "{name}"', line)
                pipe.decl.append(name)
                pipe.is_assign = op == "="
                if op == ",":
                    if context != "range" or len(pipe.decl) > 1:
                        raise self.error(f"too many declarations in {context}", line)
                    self.skip_space()
                    continue
                break
            self.i = start
            pipe.decl = []
            break
        if not pipe.is_assign:
            self.vars += pipe.decl
        while True:
            cmd = self.command(end)
            if cmd.args:
                pipe.cmds.append(cmd)
            tok = self.next_ns()
            if tok[0] == end:
                if not pipe.cmds:
                    raise self.error(f"missing value for {context}", tok[2])
                for i, c in enumerate(pipe.cmds[1:]):
                    if isinstance(c.args[0], Const | Dot | Nil):
                        raise self.error(f"non executable command in pipeline stage {i + 2}", tok[2])
                return pipe
            if tok[0] != "pipe" or not cmd.args:
                raise self.error(f"unexpected {_show(tok)} in {context}", tok[2])

    def command(self, end: str) -> Command:
        self.skip_space()
        cmd = Command([], self.peek()[2], self.peek()[3])
        while True:
            self.skip_space()
            if self.peek()[0] in (end, "pipe", "right", ")", "eof"):
                return cmd
            cmd.args.append(self.operand())

    def operand(self) -> Any:
        node = self.term()
        names, pos = [], self.peek()[3]
        while self.peek()[0] == "field":
            names.append(self.next()[1])
        if not names:
            return node
        if isinstance(node, Field | Variable):
            return type(node)(node.names + names, pos)
        if isinstance(node, Const | Nil):
            raise self.error(f"unexpected . after term {_show(self.toks[self.i - len(names) - 1])}")
        return Chain(node, names, pos)

    def term(self) -> Any:
        kind, value, line, pos = tok = self.next()
        if kind == "ident":
            if value not in self.funcs:
                raise self.error(f'function "{value}" not defined', line)
            return Identifier(value)
        if kind == "dot":
            return Dot()
        if kind == "nil":
            return Nil()
        if kind == "variable":
            if value not in self.vars:
                raise self.error(f'undefined variable "{value}"', line)
            return Variable([value], pos)
        if kind == "field":
            return Field([value], pos)
        if kind == "bool":
            return Const(value == "true", value)
        if kind == "char":
            return Const(ord(unquote(value)), value)
        if kind == "number":
            try:
                return Const(number(value), value)
            except ValueError as exc:
                raise self.error(f"illegal number syntax: {value} ({exc})", line) from exc
        if kind == "string":
            return Const(unquote(value) if value.startswith('"') else value[1:-1], value)
        if kind == "(":
            return self.pipeline("parenthesized pipeline", line, end=")")
        raise self.error(f"unexpected {_show(tok)} in operand", line)


def _show(tok: Token) -> str:
    kind, value = tok[0], tok[1]
    return {"right": '"}}"', "eof": "EOF", "space": "space"}.get(kind, f"<{value}>")
