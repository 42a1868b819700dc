"""Go text/template's executor: walks the tree with dot, variables and functions.

Data are Python stand-ins for Go values (see gofmt.py). Field access: a dict is a map (a missing
key is the zero value: "" in a map of strings, else no value), an object with ``go_fields`` is a
struct, an object with ``go_methods`` has methods (``.Format "2006"``); nothing else of Python is
reachable from a template. Options are Prometheus': ``missingkey=zero``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.alerts.gotemplate.builtins import BUILTIN_FUNCS, ArgTypeError, FuncError, truth
from core.alerts.gotemplate.gofmt import format_v, go_type
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
    text_of,
)

MISSING = object()
MAX_DEPTH = 100
MAX_ITERATIONS = 1_000_000  # range iterations per execution: a template must not hang the daemon
MAX_OUTPUT = 1 << 20  # characters written per execution


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class State:
    def __init__(
        self,
        name: str,
        text: str,
        defs: Mapping[str, list[Any]],
        funcs: Mapping[str, Callable[..., Any]],
        data: Any,
    ) -> None:
        self.name, self.text, self.defs, self.funcs = name, text, defs, {**BUILTIN_FUNCS, **funcs}
        self.vars: list[tuple[str, Any]] = [("$", data)]
        self.out: list[str] = []
        self.depth = self.steps = 0
        self.at: tuple[int, Any] = (0, None)  # the node being evaluated and its byte offset

    def error(self, msg: str) -> TemplateError:
        """Go's wording: ``template: NAME:LINE:COL: executing "NAME" at <NODE>: MSG``."""
        pos, at = self.at
        node = "" if at is None else text_of(at)
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1)
        where = f"{self.name}:{line}:{col}"
        return TemplateError(f'template: {where}: executing "{self.name}" at <{node}>: {msg}')

    # -- statements ---------------------------------------------------------------------
    def walk(self, dot: Any, nodes: list[Any]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.out.append("<no value>" if value is None else format_v(value))
            elif isinstance(node, Branch):
                self.branch(dot, node)
            elif isinstance(node, TemplateCall):
                self.template(dot, node)
            elif isinstance(node, Break):
                raise _Break
            elif isinstance(node, Continue):
                raise _Continue

    def branch(self, dot: Any, node: Branch) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        if node.kind == "range":
            self.range(dot, node, value, mark)
        elif truth(value):
            self.walk(value if node.kind == "with" else dot, node.body)
        elif node.orelse is not None:
            self.walk(dot, node.orelse)
        del self.vars[mark:]

    def range(self, dot: Any, node: Branch, value: Any, mark: int) -> None:
        if isinstance(value, dict):
            items: Iterable[tuple[Any, Any]] = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = ((i, i) for i in range(value))
        elif value is None:
            items = []
        else:
            raise self.error(f"range can't iterate over {format_v(value)}")
        decl, empty = node.pipe.decl, True
        for key, elem in items:
            empty = False
            self.steps += 1
            too_long = self.steps % 1024 == 0 and sum(map(len, self.out)) > MAX_OUTPUT
            if self.steps > MAX_ITERATIONS or too_long:
                raise self.error(
                    f"too expensive: over {MAX_ITERATIONS} range steps or {MAX_OUTPUT} characters"
                )
            del self.vars[mark:]  # each iteration starts with the variables of the range itself
            if len(decl) == 1:
                self._set(decl[0], elem, node.pipe.is_assign, mark)
            elif len(decl) == 2:
                self._set(decl[0], key, node.pipe.is_assign, mark)
                self._set(decl[1], elem, node.pipe.is_assign, mark)
            try:
                self.walk(elem, node.body)
            except _Break:
                break
            except _Continue:
                continue
        if empty and node.orelse is not None:
            self.walk(dot, node.orelse)

    def template(self, dot: Any, node: TemplateCall) -> None:
        body = self.defs.get(node.name)
        if body is None:
            raise self.error(f'no such template "{node.name}"')
        value = None if node.pipe is None else self.pipeline(dot, node.pipe)  # Go: no pipeline, nil dot
        if self.depth >= MAX_DEPTH:
            raise self.error(f"exceeded maximum template depth ({MAX_DEPTH})")
        saved, self.vars = self.vars, [("$", value)]
        self.depth += 1
        try:
            self.walk(value, body)
        finally:
            self.vars, self.depth = saved, self.depth - 1

    # -- pipelines ----------------------------------------------------------------------
    def pipeline(self, dot: Any, pipe: Pipe) -> Any:
        value: Any = MISSING
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decl[-1:] if len(pipe.decl) == 1 else []:
            self._set(name, value, pipe.is_assign, len(self.vars))
        return value

    def _set(self, name: str, value: Any, assign: bool, mark: int) -> None:
        if assign:
            for i in range(len(self.vars) - 1, -1, -1):
                if self.vars[i][0] == name:
                    self.vars[i] = (name, value)
                    return
            raise self.error(f"undefined variable: {name}")
        self.vars.append((name, value))

    def var(self, name: str) -> Any:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        raise self.error(f"undefined variable: {name}")

    def command(self, dot: Any, cmd: Command, final: Any) -> Any:
        self.at = (cmd.pos, cmd)
        first, args = cmd.args[0], cmd.args[1:]
        if isinstance(first, Identifier):
            return self.call(dot, first.name, args, final)
        if isinstance(first, Field):
            return self.fields(dot, dot, first, first.names, args, final)
        if isinstance(first, Variable):
            value = self.var(first.names[0])
            return self.fields(dot, value, first, first.names[1:], args, final) if first.names[1:] else value
        if isinstance(first, Chain):
            return self.fields(dot, self.arg(dot, first.node), first, first.names, args, final)
        if isinstance(first, Nil):
            raise self.error("nil is not a command")
        if args or final is not MISSING:
            self.at = (cmd.pos, first)
            raise self.error(f"can't give argument to non-function {text_of(first)}")
        return self.arg(dot, first)

    def arg(self, dot: Any, node: Any) -> Any:
        if isinstance(node, Const):
            return node.value
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Nil):
            return None
        if isinstance(node, Pipe):
            mark = len(self.vars)
            value = self.pipeline(dot, node)
            del self.vars[mark:]
            return value
        if isinstance(node, Identifier):
            return self.call(dot, node.name, [], MISSING)
        return self.command(dot, Command([node]), MISSING)

    def call(self, dot: Any, name: str, args: list[Any], final: Any) -> Any:
        if name in ("and", "or"):
            values = [*args, final] if final is not MISSING else list(args)
            if not values:
                raise self.error(f"wrong number of args for {name}: want at least 1 got 0")
            value: Any = None
            for node in values:
                value = node if node is final else self.arg(dot, node)
                if truth(value) != (name == "and"):
                    return value
            return value
        fn, at = self.funcs[name], self.at
        values = [self.arg(dot, a) for a in args] + ([] if final is MISSING else [final])
        self.at = at
        return self.invoke(name, fn, values)

    def invoke(self, name: str, fn: Callable[..., Any], values: list[Any]) -> Any:
        try:
            return fn(*values)
        except ArgTypeError as exc:
            raise self.error(str(exc)) from exc
        except FuncError as exc:
            raise self.error(f"error calling {name}: {exc}") from exc
        except TypeError as exc:
            raise self.error(f"wrong number or type of args for {name}: {exc}") from exc

    def fields(
        self, dot: Any, receiver: Any, node: Any, names: list[str], args: list[Any], final: Any
    ) -> Any:
        at = (getattr(node, "pos", 0), node)
        for i, name in enumerate(names):
            self.at = at
            last = i == len(names) - 1
            methods = getattr(receiver, "go_methods", None)
            if methods is not None and name in methods:
                values = [self.arg(dot, a) for a in args] if last else []
                if last and final is not MISSING:
                    values.append(final)
                self.at = at
                receiver = self.invoke(name, methods[name], values)
                continue
            if last and (args or final is not MISSING):
                raise self.error(f"{name} is not a method but has arguments")
            if receiver is None:
                return None
            if isinstance(receiver, dict):
                zero = "" if go_type(receiver) == "map[string]string" else None
                receiver = receiver.get(name, zero)
            elif hasattr(receiver, "go_fields") and name in receiver.go_fields:
                receiver = receiver.go_fields[name]
            else:
                raise self.error(f"can't evaluate field {name} in type {go_type(receiver)}")
        return receiver
