"""The team, host and MCP server filters of the sidebar. The choices offered are the label values
the user's team-scoped store holds, so a user never sees a team, host or server outside it."""

from __future__ import annotations

import streamlit as st

from core.views import Filters, label_values
from pages import _keys as K
from pages._cached_reads import query


def _on_filters() -> None:
    s = st.session_state
    s[K.FILTERS] = Filters(tuple(s[K.W_HOSTS]), tuple(s[K.W_TEAMS]), tuple(s[K.W_SERVERS]))


def filter_inputs() -> Filters:
    """Three multiselects seeded from session state; returns the filters, stale choices dropped."""
    f: Filters = st.session_state[K.FILTERS]
    hosts = sorted(
        set(query(label_values, "host_up", "host")) | set(query(label_values, "mcp_server_up", "host"))
    )
    options = {
        K.W_TEAMS: ("Team", query(label_values, "mcp_server_up", "team"), f.teams),
        K.W_HOSTS: ("Host", hosts, f.hosts),
        K.W_SERVERS: ("MCP server", query(label_values, "mcp_server_up", "server"), f.servers),
    }
    for key, (label, choices, chosen) in options.items():
        st.session_state[key] = [c for c in chosen if c in choices]
        st.multiselect(label, choices, key=key, on_change=_on_filters, placeholder="All")
    _on_filters()  # drops choices that no longer exist
    result: Filters = st.session_state[K.FILTERS]
    return result
