"""The time range of the sidebar: a preset, or a custom window picked as dates and times in UTC.
The canonical choice is the ``TimeSpec`` in session state; widgets only edit it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import streamlit as st

from core.kernel.times import CHOICES, CUSTOM, LABELS, TimeSpec
from pages import _keys as K
from pages._seam import backend


def _on_range() -> None:
    choice, old = st.session_state[K.W_RANGE], st.session_state[K.TIME_SPEC]
    if choice == CUSTOM:  # start from the window on screen, then let the user move it
        tr = old.resolve(backend().now_ms())
        st.session_state[K.TIME_SPEC] = TimeSpec(CUSTOM, tr.start_ms, tr.end_ms)
    else:
        st.session_state[K.TIME_SPEC] = TimeSpec(choice)
    st.session_state[K.LIVE] = None


def _ms(d: date, t: dtime) -> int:
    return int(datetime.combine(d, t, UTC).timestamp() * 1000)


def _on_custom() -> None:
    s = st.session_state
    start, end = _ms(s[K.W_FROM_DATE], s[K.W_FROM_TIME]), _ms(s[K.W_TO_DATE], s[K.W_TO_TIME])
    s[K.TIME_SPEC] = TimeSpec(CUSTOM, min(start, end), max(start, end))


def _custom_inputs(spec: TimeSpec) -> None:
    start = datetime.fromtimestamp((spec.start_ms or 0) / 1000, UTC)
    end = datetime.fromtimestamp((spec.end_ms or 0) / 1000, UTC)
    seeds = {
        K.W_FROM_DATE: start.date(),
        K.W_FROM_TIME: start.time(),
        K.W_TO_DATE: end.date(),
        K.W_TO_TIME: end.time(),
    }
    st.session_state.update(seeds)
    step = timedelta(minutes=5)
    left, right = st.columns(2)
    left.date_input("From (UTC)", key=K.W_FROM_DATE, on_change=_on_custom)
    right.time_input(
        "From time", key=K.W_FROM_TIME, on_change=_on_custom, step=step, label_visibility="hidden"
    )
    left.date_input("To (UTC)", key=K.W_TO_DATE, on_change=_on_custom)
    right.time_input("To time", key=K.W_TO_TIME, on_change=_on_custom, step=step, label_visibility="hidden")


def time_range_inputs() -> TimeSpec:
    """The range select (and the custom window's inputs when chosen); returns the chosen spec."""
    st.session_state[K.W_RANGE] = st.session_state[K.TIME_SPEC].preset
    st.selectbox("Time range", CHOICES, key=K.W_RANGE, format_func=LABELS.__getitem__, on_change=_on_range)
    spec: TimeSpec = st.session_state[K.TIME_SPEC]
    if spec.preset == CUSTOM:
        _custom_inputs(spec)
    return spec
