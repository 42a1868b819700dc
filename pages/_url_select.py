"""A selectbox whose choice survives reruns and travels in the URL, for a page's own choices
(a chart's metric, an incident's id) beside the shared sidebar controls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

import streamlit as st

from core.kernel.text import md_text

T = TypeVar("T")


def url_select(
    label: str,
    options: Sequence[T],
    state_key: str,
    widget_key: str,
    param: str,
    format_func: Callable[[T], str] = str,
    width: int | Literal["stretch"] = "stretch",
    not_listed: Callable[[str], str] | None = None,
) -> T:
    """A selectbox whose choice is kept in session state and in the URL (the first option is the
    default). A link naming a choice that is not listed says so with ``not_listed(value)``."""
    by_text = {str(o): o for o in options}
    if state_key not in st.session_state:
        linked = st.query_params.get(param, "")
        st.session_state[state_key] = by_text.get(linked, options[0])
        if linked and linked not in by_text and not_listed is not None:
            st.info(md_text(not_listed(linked[:80])), icon=":material/link_off:")
    value = st.session_state[state_key] if st.session_state[state_key] in options else options[0]
    st.session_state[widget_key] = value
    st.selectbox(
        label,
        options,
        key=widget_key,
        format_func=format_func,
        on_change=_copy,
        args=(widget_key, state_key),
        width=width,
    )
    if value == options[0]:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != str(value):
        st.query_params[param] = str(value)
    return value


def _copy(src: str, dst: str) -> None:
    st.session_state[dst] = st.session_state[src]
