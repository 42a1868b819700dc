"""Cached reads through the seam: a view function on the user's team-scoped store, and the alert
counts of the sidebar. The cache is keyed by the database and the user's team scope, so two users
with different teams never share an entry; Streamlit caching stays here, in the page layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.seam import Console
from pages._seam import console

T = TypeVar("T")
QUERY_TTL_S, QUERY_MAX_ENTRIES = 30, 256


@st.cache_data(ttl=QUERY_TTL_S, max_entries=QUERY_MAX_ENTRIES, show_spinner=False)
def _cached(
    name: str, key: tuple[Any, ...], args: tuple[Any, ...], _fn: Callable[..., Any], _c: Console
) -> Any:
    return _c.read(_fn, *args)


def query(fn: Callable[..., T], *args: Any) -> T:
    """``fn(reader, *args)`` on the store narrowed to the user's teams, cached per database and
    team scope for QUERY_TTL_S; storage errors end the run politely."""
    c = console()
    try:
        result: T = _cached(f"{fn.__module__}.{fn.__qualname__}", c.cache_key, args, fn, c)
    except PulseError as exc:
        st.warning(
            f"The metrics store did not answer: {md_text(exc)}. The page retries on its next refresh.",
            icon=":material/sync_problem:",
        )
        st.stop()
    return result


@st.cache_data(ttl=5, max_entries=16, show_spinner=False)
def _alert_counts(key: tuple[Any, ...], bucket: int, _c: Console) -> dict[str, int]:
    return _c.alerts.counts()


def alert_counts() -> dict[str, int]:
    """Firing, pending and muted alerts the signed-in user may see (cached 5 s)."""
    c = console()
    return _alert_counts(c.cache_key, c.now_ms() // 5000, c)
