"""The sidebar controls' mirror in the URL: read once when a browser session starts (so a copied
link opens the same view), written back after every run. Only the parameters listed in
``OWNED_PARAMS`` are touched; a page's own parameters (``url_select``) stay its business."""

from __future__ import annotations

import streamlit as st

from core.kernel.times import PARAM_FROM, PARAM_RANGE, PARAM_TO, TimeSpec, parse_params
from core.views import Filters
from pages import _keys as K

OWNED_PARAMS = (PARAM_RANGE, PARAM_FROM, PARAM_TO, K.QP_HOST, K.QP_TEAM, K.QP_SERVER, K.QP_LIVE)


def _url_values(name: str) -> tuple[str, ...]:
    parts = (p.strip() for v in st.query_params.get_all(name) for p in v.split(","))
    return tuple(dict.fromkeys(p for p in parts if p))


def _url_bool(name: str) -> bool | None:
    value = st.query_params.get(name)
    return None if value is None else value.lower() in ("1", "true", "on", "yes")


def init_from_url() -> None:
    """Seed the time range, filters and live override from the URL, once per browser session."""
    if K.TIME_SPEC in st.session_state:
        return
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    st.session_state[K.TIME_SPEC] = parse_params(params)
    st.session_state[K.FILTERS] = Filters(
        _url_values(K.QP_HOST), _url_values(K.QP_TEAM), _url_values(K.QP_SERVER)
    )
    st.session_state[K.LIVE] = _url_bool(K.QP_LIVE)


def write_url(spec: TimeSpec, f: Filters, live_override: bool | None) -> None:
    """Put the current choices in the URL, leaving parameters that already match alone."""
    want: dict[str, list[str]] = {k: [v] for k, v in spec.to_params().items()}
    want |= {K.QP_HOST: list(f.hosts), K.QP_TEAM: list(f.teams), K.QP_SERVER: list(f.servers)}
    if live_override is not None:
        want[K.QP_LIVE] = ["1" if live_override else "0"]
    for name in OWNED_PARAMS:
        new = want.get(name, [])
        if st.query_params.get_all(name) != new:
            if new:
                st.query_params[name] = new if len(new) > 1 else new[0]
            elif name in st.query_params:
                del st.query_params[name]
