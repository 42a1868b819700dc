"""The empty state of a page: when none of its metrics was ever stored, say what to do instead of
drawing empty charts (a fresh install, or a source that was never configured)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.seam import Backend
from pages._seam import backend

EMPTY_HINT = "No data yet: run `pulse demo --days 7` or start `pulse collect`, then reload this page."
EMPTY_TTL_S = 5  # a store that was empty a moment ago may have been filled by `pulse demo`


@st.cache_data(ttl=EMPTY_TTL_S, max_entries=8, show_spinner=False)
def _metric_names(url: str, _backend: Backend) -> list[str]:
    return _backend.metric_names()


def has_data(metrics: Sequence[str], what: str) -> bool:
    """Whether any of ``metrics`` has ever been stored; if not, an empty state that says what to do."""
    b = backend()
    try:
        names = set(_metric_names(b.url, b))
    except PulseError as exc:
        st.warning(f"The metrics store did not answer: {md_text(exc)}", icon=":material/sync_problem:")
        return False
    if not names:
        st.info(EMPTY_HINT, icon=":material/database:")
        return False
    if not names.intersection(metrics):
        st.info(f"No {what} recorded yet. {EMPTY_HINT}", icon=":material/database:")
        return False
    return True


def require_data(metrics: Sequence[str], what: str) -> None:
    """Stop with an empty state that says what to do when none of ``metrics`` has ever been stored."""
    if not has_data(metrics, what):
        st.stop()
