"""Go text/template's predefined functions: and, or, not, eq..ge, len, index, slice, print*,
html, js, urlquery (``and``/``or`` are evaluated lazily by the executor)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from core.alerts.gotemplate.gofmt import go_type, sprint, sprintf, sprintln


class FuncError(Exception):
    """A function failed: shown as ``error calling NAME: message``, as Go does."""


class ArgTypeError(FuncError):
    """An argument of the wrong type: Go says so before calling (no ``error calling NAME``)."""


def truth(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, bool | int | float):
        return v != 0
    if isinstance(v, str | list | tuple | dict):
        return len(v) > 0
    return True


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if v is None:
        raise FuncError("invalid type for comparison")
    raise FuncError(f"non-comparable type {go_type(v)}")


def eq(a: Any, *others: Any) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    ka = _kind(a)
    for b in others:
        if _kind(b) != ka:
            raise FuncError("incompatible types for comparison")
        if a == b:
            return True
    return False


def _order(a: Any, b: Any) -> bool:
    """a < b for two basic values of the same kind (Go's lt)."""
    ka, kb = _kind(a), _kind(b)
    if ka == "bool" or kb == "bool":
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    return bool(a < b)


def _len(v: Any) -> int:
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, list | tuple | dict):
        return len(v)
    raise FuncError(f"len of type {go_type(v)}")


def index(item: Any, *keys: Any) -> Any:
    for k in keys:
        if item is None:
            raise FuncError("index of untyped nil")
        if isinstance(item, dict):
            if not isinstance(k, str):
                raise FuncError(f"value has type {go_type(k)}; should be string")
            item = item.get(k, "" if go_type(item) == "map[string]string" else None)
        elif isinstance(item, list | tuple | str):
            if not isinstance(k, int) or isinstance(k, bool):
                raise FuncError(f"cannot index slice/array with type {go_type(k)}")
            if not 0 <= k < len(item):
                raise FuncError(f"index out of range: {k}")
            item = item[k] if not isinstance(item, str) else item.encode()[k]
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: Any, *idx: Any) -> Any:
    if not isinstance(item, str | list | tuple):
        raise FuncError(f"can't slice item of type {go_type(item)}")
    if len(idx) > 2:
        raise FuncError("too many slice indexes")
    bounds = [*idx, len(item)] if len(idx) == 1 else list(idx) or [0, len(item)]
    if not all(isinstance(b, int) for b in bounds) or not 0 <= bounds[0] <= bounds[1] <= len(item):
        raise FuncError(f"index out of range: {bounds}")
    return item[bounds[0] : bounds[1]]


def _text(args: tuple[Any, ...]) -> str:
    return args[0] if len(args) == 1 and isinstance(args[0], str) else sprint(list(args))


def html_escape(*args: Any) -> str:
    s = _text(args)
    for a, b in (
        ("&", "&amp;"),
        ("'", "&#39;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&#34;"),
        ("\0", "\ufffd"),
    ):
        s = s.replace(a, b)
    return s


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def js_escape(*args: Any) -> str:
    out = []
    for ch in _text(args):
        if ch in _JS:
            out.append(_JS[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u00{ord(ch):02X}")
        elif ord(ch) >= 0x80 and not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _printf(fmt: Any, *args: Any) -> str:
    if not isinstance(fmt, str):
        raise ArgTypeError(f"wrong type for value; expected string; got {go_type(fmt)}")
    return sprintf(fmt, args)


def _call(*args: Any) -> Any:
    raise FuncError("call of a function value is not supported in alert templates")


BUILTIN_FUNCS: dict[str, Callable[..., Any]] = {
    "not": lambda v: not truth(v),
    "eq": eq,
    "ne": lambda a, b: not eq(a, b),
    "lt": _order,
    "le": lambda a, b: _order(a, b) or eq(a, b),
    "gt": lambda a, b: not (_order(a, b) or eq(a, b)),
    "ge": lambda a, b: not _order(a, b),
    "len": _len,
    "index": index,
    "slice": _slice,
    "print": lambda *a: sprint(a),
    "printf": _printf,
    "println": lambda *a: sprintln(a),
    "html": html_escape,
    "js": js_escape,
    "urlquery": lambda *a: urllib.parse.quote_plus(_text(a), safe=""),
    "call": _call,
}
