"""How an admin page runs one change: the change, then either its errors beside the form (each
field by its label) or a rerun that shows what was done. A generated password waits in session
state for that rerun and is shown once, never again."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from core.kernel.errors import FieldErrors, PulseError
from core.kernel.text import md_text
from pages import _keys as K


def act(
    done: str, fn: Callable[[], Any], clear: tuple[str, ...] = (), labels: Mapping[str, str] | None = None
) -> Any:
    """Run one change; field errors beside the form (named by ``labels``), else a message kept
    for the next run. ``clear``: widget keys emptied before the widgets are drawn again."""
    try:
        result = fn()
    except FieldErrors as exc:
        for field, text in exc.fields.items():
            label = (labels or {}).get(field, field)
            st.error(f"**{label}**: {md_text(text)}", icon=":material/error:")
        return None
    except PulseError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return None
    if clear:
        st.session_state[K.ADMIN_RESET] = clear  # emptied before the widgets are drawn again
    st.session_state[K.ADMIN_FLASH] = done
    st.rerun()
    return result


def flash() -> None:
    """What the last change did, and a generated password, shown this once."""
    done = st.session_state.pop(K.ADMIN_FLASH, None)
    if done:
        st.success(md_text(done), icon=":material/check_circle:")
    secret = st.session_state.pop(K.ADMIN_SECRET, None)
    if secret:
        st.warning(
            f"Password of {md_text(secret[0])}, shown only this once: pass it on over a safe channel.",
            icon=":material/key:",
        )
        st.code(secret[1], language=None)
