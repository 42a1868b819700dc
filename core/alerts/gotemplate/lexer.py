"""Go text/template's lexer: text and ``{{ }}`` actions, comments, ``{{-``/``-}}`` trimming.

``lex(text, name)`` returns a list of tokens ``(kind, value, line)``. Kinds: ``text``, ``left``,
``right``, ``space``, ``ident``, ``keyword``, ``bool``, ``nil``, ``field`` (``.Name``), ``variable``
(``$``, ``$x``), ``dot``, ``string``, ``number``, ``char``, ``pipe``, ``(``, ``)``, ``:=``, ``=``,
``,``, ``eof``. Errors raise TemplateError with Go's wording ("unclosed action").
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from core.alerts.gotemplate.nodes import TemplateError

Token = tuple[str, str, int, int]  # kind, value, line, byte offset
KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
SPACE = " \t\r\n"
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[oObB][0-7_]+"
    r"|(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?)i?"
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_CHAR = re.compile(r"'(?:[^'\\\n]|\\.[^']*)'")


def _trim_marker(text: str, i: int) -> bool:
    """``-`` + a space right after ``{{`` (or ``-}}`` right after a space)."""
    return text.startswith("-", i) and i + 1 < len(text) and text[i + 1] in SPACE


def lex(text: str, name: str) -> list[Token]:
    out: list[Token] = []
    pos, trim_next = 0, False

    def err(msg: str, at: int) -> TemplateError:
        return TemplateError(f"template: {name}:{text.count(chr(10), 0, at) + 1}: {msg}")

    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        if trim_next:
            chunk = chunk.lstrip(SPACE)
        line = text.count("\n", 0, pos) + 1
        if start < 0:
            if chunk:
                out.append(("text", chunk, line, pos))
            out.append(("eof", "", text.count("\n") + 1, len(text)))
            return out
        i = start + 2
        if _trim_marker(text, i):
            chunk, i = chunk.rstrip(SPACE), i + 2
        if chunk:
            out.append(("text", chunk, line, pos))
        line = text.count("\n", 0, start) + 1
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise err("unclosed comment", start)
            j = end + 2
            trim_next = text.startswith(" -}}", j)
            j += 4 if trim_next else 0
            if not text.startswith("}}", j) and not trim_next:
                raise err("comment ends before closing delimiter", start)
            pos = j if trim_next else j + 2
            continue
        out.append(("left", "{{", line, start))
        pos, trim_next = _action(text, i, out, err)


def _action(
    text: str, i: int, out: list[Token], err: Callable[[str, int], TemplateError]
) -> tuple[int, bool]:
    """Tokens of one action from ``i``; returns the position after ``}}`` and whether it trims."""
    depth = 0
    while True:
        line = text.count("\n", 0, i) + 1
        if i >= len(text):
            raise err("unclosed action", i)
        c = text[i]
        if c in SPACE:
            j = i
            while j < len(text) and text[j] in SPACE:
                j += 1
            if text.startswith("-}}", j):
                out.append(("right", "}}", line, j))
                return j + 3, True
            out.append(("space", text[i:j], line, i))
            i = j
            continue
        if text.startswith("}}", i):
            if depth:
                raise err("unclosed left paren", i)
            out.append(("right", "}}", line, i))
            return i + 2, False
        if c == "|":
            out.append(("pipe", c, line, i))
            i += 1
        elif c == "(":
            depth += 1
            out.append(("(", c, line, i))
            i += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise err("unexpected right paren", i)
            out.append((")", c, line, i))
            i += 1
        elif text.startswith(":=", i):
            out.append((":=", ":=", line, i))
            i += 2
        elif c in "=,":
            out.append((c, c, line, i))
            i += 1
        elif c == '"':
            m = _STRING.match(text, i)
            if not m:
                raise err("unterminated quoted string", i)
            out.append(("string", m.group(0), line, i))
            i = m.end()
        elif c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise err("unterminated raw quoted string", i)
            out.append(("string", text[i : end + 1], line, i))
            i = end + 1
        elif c == "'":
            m = _CHAR.match(text, i)
            if not m or len(unquote(m.group(0))) != 1:
                raise err("unterminated character constant", i)
            out.append(("char", m.group(0), line, i))
            i = m.end()
        elif c == "$":
            m = _IDENT.match(text, i + 1)
            j = m.end() if m else i + 1
            out.append(("variable", text[i:j], line, i))
            i = j
        elif c == "." and not (i + 1 < len(text) and text[i + 1].isdigit()):
            m = _IDENT.match(text, i + 1)
            if m:
                out.append(("field", m.group(0), line, i))
                i = m.end()
            else:
                out.append(("dot", ".", line, i))
                i += 1
        elif c in "+-." or c.isdigit():
            m = _NUMBER.match(text, i)
            if not m or not m.group(0) or (m.end() < len(text) and (text[m.end()].isalnum())):
                raise err(f"bad number syntax: {text[i : i + 10]!r}", i)
            out.append(("number", m.group(0), line, i))
            i = m.end()
        elif c.isalpha() or c == "_":
            m = _IDENT.match(text, i)
            assert m is not None
            word = m.group(0)
            kind = "keyword" if word in KEYWORDS else "bool" if word in ("true", "false") else "ident"
            out.append(("nil" if word == "nil" else kind, word, line, i))
            i = m.end()
        else:
            raise err(f"unrecognized character in action: U+{ord(c):04X}", i)


def unquote(token: str) -> str:
    """A Go interpreted string or rune literal (Go's escapes are Python's, minus \\N{...})."""
    try:
        value = ast.literal_eval(token)
    except (SyntaxError, ValueError) as exc:
        raise TemplateError(f"invalid syntax: {token}") from exc
    return str(value)
