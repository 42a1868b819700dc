"""RE2 (Go) regular expressions as Python ``re`` patterns, for label matchers and label_replace.

The one difference that matters in practice: RE2 accepts inline flags anywhere (``((?i)PRO).*``),
applying to the rest of the enclosing group; Python only at the very start. Such flags become
scoped groups ``(?i:...)``, closed (and reopened after each ``|``) where the enclosing group ends.
"""

from __future__ import annotations

import re

_FLAGS = re.compile(r"\(\?([a-zA-Z-]+)\)")


def re2_to_python(pattern: str) -> str:
    out: list[str] = []
    stack: list[list[str]] = [[]]  # per open group: the inline flags opened inside it
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
            out.append(ch)
            i += 1
            continue
        m = _FLAGS.match(pattern, i)
        if m:
            out.append(f"(?{m.group(1)}:")
            stack[-1].append(m.group(1))
            i = m.end()
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            if pattern.startswith("^]", i + 1) or pattern.startswith("]", i + 1):
                step = 3 if pattern[i + 1] == "^" else 2
                out.append(pattern[i + 1 : i + step])
                i += step
                continue
        elif ch == "(":
            stack.append([])
            out.append(ch)
        elif ch == ")":
            opened = stack.pop() if len(stack) > 1 else []
            out.append(")" * len(opened) + ")")
        elif ch == "|":
            opened = stack[-1]
            out.append(")" * len(opened) + "|" + "".join(f"(?{f}:" for f in opened))
        else:
            out.append(ch)
        i += 1
    out.append(")" * len(stack[0]))
    return "".join(out)
