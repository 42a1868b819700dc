"""Values from labels, annotations and webhooks render as literal text, never as Markdown."""

from __future__ import annotations

import re

import pytest

from core.kernel.text import ZWSP, md_text

HOSTILE = [
    "[click](https://evil.example/x)",
    "![img](https://evil.example/p.png)",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ `code` ~~gone~~",
    ":red[alarm] :material/warning: :smile:",
    "$x^2$ # heading\n- item",
    "a | b | c",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_no_markdown_construct_survives(value: str) -> None:
    out = md_text(value)
    unescaped = re.sub(r"\\.", "", out)  # what is left once escaped characters are taken out
    for ch in "[]()<>*_`~$#|!":
        assert ch not in unescaped, (value, out)
    assert not re.search(r":[a-z/_]+[:\[]", out.replace(ZWSP, "\x00")), out
    assert "\n" not in out


def test_plain_text_reads_the_same() -> None:
    assert md_text("McpServerDown on host-04") == "McpServerDown on host\\-04"
    assert md_text(42) == "42"
