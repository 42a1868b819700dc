"""Go's fmt as templates see it: ``%v`` printing of values and ``printf``'s verbs.

Values are Python's stand-ins for Go's: bool, int, float (float64), str, dict (map), list
(slice), None (nil) and objects with ``go_type`` and ``go_string()`` (time.Time, time.Duration,
structs). ``sprintf`` follows fmt.Sprintf: flags ``+-# 0``, width and precision (also ``*``),
verbs ``v d s q f F e E g G x X o b t c U %``; a wrong type prints ``%!d(float64=0.5)``, a missing
argument ``%!d(MISSING)``, an extra one ``%!(EXTRA int=2)``, as Go does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

_SPEC = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.)", re.S)


def go_type(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return (
            "map[string]string" if all(isinstance(x, str) for x in v.values()) else "map[string]interface {}"
        )
    if isinstance(v, list | tuple):
        return "[]interface {}"
    return str(getattr(v, "go_type", type(v).__name__))


def shortest_g(v: float, upper: bool = False) -> str:
    """strconv.FormatFloat(v, 'g', -1, 64): shortest digits, exponent when < 1e-4 or >= 1e6 (%v)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    sign, digits, exp = Decimal(repr(abs(v))).as_tuple()
    d = "".join(map(str, digits))
    dp = len(d) + int(exp)  # digits before the decimal point
    d = d.rstrip("0") or "0"
    x = dp - 1
    out = "-" if v < 0 else ""
    if x < -4 or x >= 6:
        e = "E" if upper else "e"
        return f"{out}{d[0]}{'.' + d[1:] if len(d) > 1 else ''}{e}{'-' if x < 0 else '+'}{abs(x):02d}"
    if dp <= 0:
        return f"{out}0.{'0' * -dp}{d}"
    if dp >= len(d):
        return out + d + "0" * (dp - len(d))
    return f"{out}{d[:dp]}.{d[dp:]}"


def format_v(v: Any, top: bool = True) -> str:
    """fmt.Sprint of one value (``%v``)."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_v_float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{format_v(v[k], False)}" for k in sorted(v)) + "]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(format_v(x, False) for x in v) + "]"
    if hasattr(v, "go_string"):
        return str(v.go_string())
    return str(v)


def _go_v_float(v: float) -> str:
    return shortest_g(v)


def sprint(args: Sequence[Any]) -> str:
    """fmt.Sprint: a space between two operands when neither is a string."""
    out = []
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(format_v(a))
    return "".join(out)


def sprintln(args: Sequence[Any]) -> str:
    return " ".join(format_v(a) for a in args) + "\n"


def quote(s: str) -> str:
    """strconv.Quote: Go escapes, printable Unicode kept."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    return "".join(out) + '"'


def _pad(s: str, flags: str, width: int | None, mode: str) -> str:
    """Go's padding: spaces, or zeros with ``0`` (after the sign for numbers, never for Inf/NaN)."""
    if width is None or len(s) >= width:
        return s
    if "-" in flags:
        return s + " " * (width - len(s))
    if "0" in flags and mode != "special":
        sign = s[0] if mode == "num" and s[:1] in ("+", "-", " ") else ""
        return sign + "0" * (width - len(s)) + s[len(sign) :]
    return " " * (width - len(s)) + s


def _float(v: float, flags: str, prec: int | None, verb: str) -> tuple[str, str]:
    """A float formatted by one of e E f F g G (and the padding mode to use)."""
    if math.isnan(v) or math.isinf(v):
        s = "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
        return ("+" + s if "+" in flags and s == "NaN" else s), "special"
    if verb in "gG" and prec is None:
        sign = "+" if "+" in flags and v >= 0 else " " if " " in flags and v >= 0 else ""
        return sign + shortest_g(v, verb == "G"), "num"
    py = "%" + "".join(c for c in flags if c in "+ #") + ("." + str(prec) if prec is not None else "") + verb
    return py % v, "num"


def _hex_float(v: float, upper: bool) -> str:
    """%x of a float: Go's shortest hex mantissa and a two-digit exponent (1.0 -> 0x1p+00)."""
    if math.isnan(v) or math.isinf(v):
        return "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
    mant, exp = v.hex().split("p")
    mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
    out = f"{mant}p{exp[0]}{int(exp[1:]):02d}"
    return out.upper().replace("0X", "0X") if upper else out


def _int(verb: str, flags: str, prec: int | None, a: int) -> str:
    if verb == "c":
        return chr(a)
    if verb == "b":
        return ("-" if a < 0 else "+" if "+" in flags else "") + format(abs(a), "b")
    py = "%" + "".join(c for c in flags if c in "+ " or (c == "#" and verb in "xX"))
    s = (py + (f".{prec}" if prec is not None else "") + verb) % a
    return s.replace(s.lstrip("+- "), "0" + s.lstrip("+- "), 1) if verb == "o" and "#" in flags else s


def _one(verb: str, flags: str, width: int | None, prec: int | None, a: Any) -> str:
    s = _format(verb, flags, prec, a)
    if s is None:  # a wrong verb: Go prints the value with %v and the same flags
        return (
            f"%!{verb}({go_type(a)}={_one('v', flags, width, prec, a)})"
            if a is not None
            else f"%!{verb}(<nil>)"
        )
    text, mode = s
    return _pad(text, flags, width, mode)


def _format(verb: str, flags: str, prec: int | None, a: Any) -> tuple[str, str] | None:
    """(text, padding mode) of one argument, or None when the verb does not fit its type."""
    mode = "num"
    if verb == "v" and isinstance(a, float):
        s, mode = _float(a, flags, prec, "g")
    elif verb == "v" and isinstance(a, int) and not isinstance(a, bool):
        s, mode = _int("d", flags, prec, a), "num" if prec is None else "special"
    elif verb == "v":
        s, mode = format_v(a), "str"
        s = s[:prec] if prec is not None and isinstance(a, str) else s
    elif verb == "t":
        if not isinstance(a, bool):
            return None
        s, mode = format_v(a), "str"
    elif isinstance(a, bool) or a is None:
        return None
    elif verb == "q" and isinstance(a, int):
        s, mode = "'" + quote(chr(a))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'", "str"
    elif verb == "U" and isinstance(a, int):
        s = f"U+{a:04X}" + (f" '{chr(a)}'" if "#" in flags else "")
    elif verb in "dboxXc" and isinstance(a, int):
        s, mode = _int(verb, flags, prec, a), "num" if prec is None else "special"
    elif verb in "eEfFgG" and isinstance(a, float):
        s, mode = _float(a, flags, prec if prec is not None or verb in "gG" else 6, verb)
    elif verb in "xX" and isinstance(a, float):
        s = _hex_float(a, verb == "X")
    elif verb in "sq" and isinstance(a, str):
        s = a if prec is None else a[:prec]
        s, mode = (quote(s) if verb == "q" else s), "str"
    elif verb in "xX" and isinstance(a, str):
        s, mode = a.encode().hex(), "str"
        s = s.upper() if verb == "X" else s
    elif verb == "s" and (hasattr(a, "go_string") or isinstance(a, dict | list | tuple)):
        s, mode = format_v(a), "str"
    else:
        return None
    return s, mode


def sprintf(fmt: str, args: Sequence[Any]) -> str:
    """fmt.Sprintf with Go's verbs, flags, widths and its error notation."""
    out, pos, n = [], 0, 0
    args = list(args)

    def take() -> tuple[bool, Any]:
        nonlocal n
        if n >= len(args):
            return False, None
        n += 1
        return True, args[n - 1]

    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, w, p, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        width = prec = None
        if w == "*":
            ok, a = take()
            width = a if ok and isinstance(a, int) and not isinstance(a, bool) else None
        elif w:
            width = int(w)
        if p == "*":
            ok, a = take()
            prec = a if ok and isinstance(a, int) and not isinstance(a, bool) else None
        elif p is not None:
            prec = int(p or 0)
        if width is not None and width < 0:
            flags, width = flags + "-", -width
        ok, a = take()
        out.append(_one(verb, flags, width, prec, a) if ok else f"%!{verb}(MISSING)")
    out.append(fmt[pos:])
    if n < len(args):
        extra = ", ".join(f"{go_type(a)}={format_v(a)}" for a in args[n:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
