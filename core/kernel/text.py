"""Values from outside Pulse shown as the literal text they are.

Streamlit renders Markdown (and its own directives: ``:red[...]``, ``:material/icon:``, emoji
shortcodes, ``$...$`` as LaTeX) in titles, subheaders, captions, messages and expander labels. A
label, annotation or webhook value such as ``[click](https://evil)`` must not become a link
there: :func:`md_text` escapes it so it shows literally. Pulse's own strings stay Markdown.
"""

from __future__ import annotations

import re

_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&=\"'])")
ZWSP = "\u200b"  # after a colon: Streamlit's directive and shortcode parsing sees no ":name:" pair


def md_text(value: object) -> str:
    """``value`` as text that Markdown shows literally: punctuation backslash-escaped, colons broken
    up for Streamlit's directives, line breaks as spaces."""
    text = " ".join(str(value).splitlines())
    return _PUNCT.sub(r"\\\1", text).replace(":", ":" + ZWSP)
