"""The controls every page shares: time range, filters and live refresh in the sidebar, mirrored to
the URL so a copied link opens the same view.

The parts live in their own modules (``_time_range_inputs``, ``_filter_inputs``, ``_controls_url``);
a page's own URL-backed select (``_url_select``) and the live fragment (``_live_refresh``) are
gathered here too, so a page imports one module: ``from pages import _controls as controls_ui``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.kernel.times import CUSTOM, TimeRange, TimeSpec
from core.views import Filters
from pages import _keys as K
from pages._controls_url import init_from_url, write_url
from pages._filter_inputs import filter_inputs
from pages._live_refresh import run
from pages._seam import backend
from pages._time_range_inputs import time_range_inputs
from pages._url_select import url_select

__all__ = ["Controls", "run", "sidebar_controls", "url_select"]


@dataclass(frozen=True)
class Controls:
    spec: TimeSpec
    filters: Filters
    live: bool

    def resolve(self) -> TimeRange:
        return self.spec.resolve(backend().now_ms())


def _on_live() -> None:
    st.session_state[K.LIVE] = st.session_state[K.W_LIVE]


def sidebar_controls() -> Controls:
    """Time range, filters and live refresh in the sidebar, mirrored to the URL."""
    init_from_url()
    with st.sidebar:
        spec = time_range_inputs()
        filters = filter_inputs()
        tr = spec.resolve(backend().now_ms())
        override: bool | None = st.session_state[K.LIVE]
        live = tr.live if override is None or spec.preset == CUSTOM else override
        st.session_state[K.W_LIVE] = live
        st.toggle(
            "Live refresh",
            key=K.W_LIVE,
            on_change=_on_live,
            disabled=spec.preset == CUSTOM,
            help=f"Re-reads the data every {tr.refresh_s} s. On by default for ranges up to 6 hours.",
        )
    write_url(spec, filters, None if override is None or override == tr.live else override)
    st.session_state[K.FILTERED] = filters.active
    return Controls(spec, filters, live)
