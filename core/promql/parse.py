"""From the promql-parser AST to the engine's small plan (frozen dataclasses).

Parsing is promql-parser's (a port of Prometheus' own grammar); this module only translates its
nodes, resolves durations to milliseconds and refuses, by name, every construct the engine does
not evaluate, so nothing unsupported reaches evaluation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import promql_parser as pp

from core.kernel.errors import QueryError
from core.kernel.selector import Matcher
from core.promql.errors import PromQLParseError, PromQLUnsupported
from core.promql.functions import RANGE_FUNCTIONS
from core.promql.instant import INSTANT_FUNCTIONS
from core.promql.result import NAME

# promql-parser's enums are not hashable: keyed by their text
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
_CARD = {
    "VectorMatchCardinality.OneToOne": "one-to-one",
    "VectorMatchCardinality.ManyToOne": "many-to-one",
    "VectorMatchCardinality.OneToMany": "one-to-many",
    "VectorMatchCardinality.ManyToMany": "many-to-many",
}
AGGREGATIONS = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"}
AGGREGATIONS |= {"topk", "bottomk", "quantile", "count_values"}
SET_OPS = {"and", "or", "unless"}


@dataclass(frozen=True)
class At:
    kind: str  # "at", "start" or "end"
    ms: int = 0


@dataclass(frozen=True)
class Number:
    value: float
    type: str = "scalar"


@dataclass(frozen=True)
class Str:
    value: str
    type: str = "string"


@dataclass(frozen=True)
class Select:
    matchers: tuple[Matcher, ...]
    offset_ms: int
    at: At | None
    type: str = "vector"


@dataclass(frozen=True)
class Window:
    """A range selector ``sel[range]``."""

    sel: Select
    range_ms: int
    type: str = "matrix"


@dataclass(frozen=True)
class Subquery:
    expr: Any
    range_ms: int
    step_ms: int | None
    offset_ms: int
    at: At | None
    type: str = "matrix"


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]
    type: str
    absent_labels: tuple[tuple[str, str], ...] = ()
    selector_arg: bool = False  # the (only) argument is a plain vector selector: timestamp()


@dataclass(frozen=True)
class Aggregate:
    op: str
    expr: Any
    param: Any
    labels: tuple[str, ...]
    without: bool
    type: str = "vector"


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: Any
    rhs: Any
    card: str
    on: bool
    labels: tuple[str, ...]
    include: tuple[str, ...]
    bool: bool
    type: str


@dataclass(frozen=True)
class Negate:
    expr: Any
    type: str


Plan = Number | Str | Select | Window | Subquery | Call | Aggregate | Binary | Negate


def ms(d: timedelta | None) -> int:
    return 0 if d is None else round(d.total_seconds() * 1000)


def _at(node: Any) -> At | None:
    at = node.at
    if at is None:
        return None
    if at.type == pp.AtModifierType.Start:
        return At("start")
    if at.type == pp.AtModifierType.End:
        return At("end")
    return At("at", round(at.at.timestamp() * 1000))


def _select(vs: Any) -> Select:
    if vs.matchers.or_matchers:
        raise PromQLUnsupported("'or' between label matchers")
    matchers = [Matcher(NAME, "=", vs.name)] if vs.name else []
    for m in vs.matchers.matchers:
        op = _OPS[str(m.op)]
        try:
            matchers.append(Matcher(m.name, op, m.value))  # type: ignore[arg-type]
        except QueryError as exc:  # an RE2 pattern that does not compile
            raise PromQLParseError(str(exc)) from None
    return Select(tuple(matchers), ms(vs.offset), _at(vs))


def _absent_labels(arg: Any) -> tuple[tuple[str, str], ...]:
    """Prometheus' createLabelsForAbsentFunction: equality matchers, minus labels matched otherwise."""
    if isinstance(arg, Window):
        arg = arg.sel
    if not isinstance(arg, Select):
        return ()
    out: dict[str, str] = {}
    dropped = set()
    for m in arg.matchers:
        if m.label == NAME:
            continue
        if m.op == "=" and m.label not in out:
            out[m.label] = m.value
        else:
            dropped.add(m.label)
    return tuple(sorted((k, v) for k, v in out.items() if k not in dropped and v != ""))


def _type_name(value_type: Any) -> str:
    return str(value_type).rsplit(".", 1)[-1].lower()


def _check_arg_types(name: str, args: tuple[Plan, ...], wanted: list[str]) -> None:
    """Prometheus' argument type check, which promql-parser 0.5 skips for ``ln``, ``log2`` and
    ``log10`` of a number literal (``ln(0)``): a variadic function's last type repeats."""
    for i, arg in enumerate(args):
        want = wanted[min(i, len(wanted) - 1)] if wanted else arg.type
        if arg.type != want:
            shown = "instant vector" if want == "vector" else "range vector" if want == "matrix" else want
            raise PromQLParseError(
                f'PromQL: expected type {shown} in call to function "{name}", got {arg.type}'
            )


def _call(node: Any) -> Call:
    name = node.func.name
    if name not in RANGE_FUNCTIONS and name not in INSTANT_FUNCTIONS:
        raise PromQLUnsupported(f"function {name}")
    args = tuple(translate(a) for a in node.args)
    _check_arg_types(name, args, [_type_name(t) for t in node.func.arg_types])
    rtype = _type_name(node.func.return_type)
    bare = node.args[0] if node.args else None
    while isinstance(bare, pp.ParenExpr):
        bare = bare.expr
    return Call(
        name,
        args,
        rtype,
        _absent_labels(args[0]) if name in ("absent", "absent_over_time") and args else (),
        isinstance(bare, pp.VectorSelector),
    )


def _binary(node: Any) -> Binary:
    op = str(node.op)
    lhs, rhs = translate(node.lhs), translate(node.rhs)
    mod = node.modifier
    card, on, labels, include, is_bool = "one-to-one", False, (), (), False
    if mod is not None:
        if mod.fill_values is not None and (
            mod.fill_values.lhs is not None or mod.fill_values.rhs is not None
        ):
            raise PromQLUnsupported("the fill modifier of binary operators")
        card, is_bool = _CARD[str(mod.card)], bool(mod.return_bool)
        if mod.matching is not None:
            on = mod.matching.type == pp.LabelModifierType.Include
            labels = tuple(mod.matching.labels)
        include = tuple(mod.group_labels or ())
    if op in SET_OPS:
        card = "many-to-many"
    rtype = "scalar" if lhs.type == rhs.type == "scalar" else "vector"
    return Binary(op, lhs, rhs, card, on, labels, include, is_bool, rtype)


def translate(node: Any) -> Plan:
    if isinstance(node, pp.ParenExpr):
        return translate(node.expr)
    if isinstance(node, pp.NumberLiteral):
        return Number(float(node.val))
    if isinstance(node, pp.StringLiteral):
        return Str(str(node.val))
    if isinstance(node, pp.VectorSelector):
        return _select(node)
    if isinstance(node, pp.MatrixSelector):
        return Window(_select(node.vector_selector), ms(node.range))
    if isinstance(node, pp.SubqueryExpr):
        step = ms(node.step) if node.step is not None else None
        return Subquery(translate(node.expr), ms(node.range), step, ms(node.offset), _at(node))
    if isinstance(node, pp.Call):
        return _call(node)
    if isinstance(node, pp.AggregateExpr):
        op = str(node.op)
        if op not in AGGREGATIONS:
            raise PromQLUnsupported(f"aggregation {op}")
        mod = node.modifier
        without = mod is not None and mod.type == pp.AggModifierType.Without
        labels = tuple(mod.labels) if mod is not None else ()
        param = translate(node.param) if node.param is not None else None
        return Aggregate(op, translate(node.expr), param, labels, without)
    if isinstance(node, pp.BinaryExpr):
        return _binary(node)
    if isinstance(node, pp.UnaryExpr):
        inner = translate(node.expr)
        return Negate(inner, inner.type)
    raise PromQLUnsupported(f"expression {type(node).__name__}")


_HOLT_WINTERS = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|\bholt_winters(\s*\()""")


def _renamed(query: str) -> str:
    """``holt_winters(`` as ``double_exponential_smoothing(``: Prometheus 2's name for the function
    that Prometheus 3 (and promql-parser) call so; string literals are left as they are."""
    return _HOLT_WINTERS.sub(lambda m: m.group(1) or "double_exponential_smoothing" + m.group(2), query)


@lru_cache(maxsize=1024)  # rules and dashboards ask the same queries again and again
def parse(query: str) -> Plan:
    try:
        ast = pp.parse(_renamed(query) if "holt_winters" in query else query)
    except ValueError as exc:
        unknown = re.match(r"unknown function with name '(\w+)'", str(exc))
        if unknown:
            raise PromQLUnsupported(f"function {unknown.group(1)}") from exc
        said = (
            str(exc)
            if "holt_winters" not in query
            else str(exc).replace("double_exponential_smoothing", "holt_winters")
        )
        raise PromQLParseError(f"PromQL: cannot parse {query!r}: {said}") from exc
    return translate(ast)
