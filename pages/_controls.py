"""The controls every page shares: time range, filters and live refresh in the sidebar, mirrored to
the URL so a copied link opens the same view, plus URL-backed selects and the live fragment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Literal, TypeVar

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.times import (
    CHOICES,
    CUSTOM,
    LABELS,
    PARAM_FROM,
    PARAM_RANGE,
    PARAM_TO,
    TimeRange,
    TimeSpec,
    parse_params,
)
from core.views import Filters, label_values
from pages import _keys as K
from pages._common import backend, principal, query

T = TypeVar("T")
_OWNED_PARAMS = (PARAM_RANGE, PARAM_FROM, PARAM_TO, K.QP_HOST, K.QP_TEAM, K.QP_SERVER, K.QP_LIVE)


@dataclass(frozen=True)
class Controls:
    spec: TimeSpec
    filters: Filters
    live: bool

    def resolve(self) -> TimeRange:
        return self.spec.resolve(backend().now_ms())


def _url_values(name: str) -> tuple[str, ...]:
    parts = (p.strip() for v in st.query_params.get_all(name) for p in v.split(","))
    return tuple(dict.fromkeys(p for p in parts if p))


def _url_bool(name: str) -> bool | None:
    value = st.query_params.get(name)
    return None if value is None else value.lower() in ("1", "true", "on", "yes")


def _init_from_url() -> None:
    if K.TIME_SPEC in st.session_state:
        return
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    st.session_state[K.TIME_SPEC] = parse_params(params)
    st.session_state[K.FILTERS] = Filters(
        _url_values(K.QP_HOST), _url_values(K.QP_TEAM), _url_values(K.QP_SERVER)
    )
    st.session_state[K.LIVE] = _url_bool(K.QP_LIVE)


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


def _on_filters() -> None:
    s = st.session_state
    s[K.FILTERS] = Filters(tuple(s[K.W_HOSTS]), tuple(s[K.W_TEAMS]), tuple(s[K.W_SERVERS]))


def _filter_inputs() -> Filters:
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


def _on_live() -> None:
    st.session_state[K.LIVE] = st.session_state[K.W_LIVE]


def _write_url(spec: TimeSpec, f: Filters, live_override: bool | None) -> None:
    want: dict[str, list[str]] = {k: [v] for k, v in spec.to_params().items()}
    want |= {K.QP_HOST: list(f.hosts), K.QP_TEAM: list(f.teams), K.QP_SERVER: list(f.servers)}
    if live_override is not None:
        want[K.QP_LIVE] = ["1" if live_override else "0"]
    for name in _OWNED_PARAMS:
        new = want.get(name, [])
        if st.query_params.get_all(name) != new:
            if new:
                st.query_params[name] = new if len(new) > 1 else new[0]
            elif name in st.query_params:
                del st.query_params[name]


def sidebar_controls() -> Controls:
    """Time range, filters and live refresh in the sidebar, mirrored to the URL."""
    _init_from_url()
    with st.sidebar:
        st.session_state[K.W_RANGE] = st.session_state[K.TIME_SPEC].preset
        st.selectbox(
            "Time range", CHOICES, key=K.W_RANGE, format_func=LABELS.__getitem__, on_change=_on_range
        )
        spec: TimeSpec = st.session_state[K.TIME_SPEC]
        if spec.preset == CUSTOM:
            _custom_inputs(spec)
        filters = _filter_inputs()
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
    _write_url(spec, filters, None if override is None or override == tr.live else override)
    return Controls(spec, filters, live)


def url_select(
    label: str,
    options: Sequence[T],
    state_key: str,
    widget_key: str,
    param: str,
    format_func: Callable[[T], str] = str,
    width: int | Literal["stretch"] = "stretch",
) -> T:
    """A selectbox whose choice is kept in session state and in the URL (the first option is the default)."""
    by_text = {str(o): o for o in options}
    if state_key not in st.session_state:
        st.session_state[state_key] = by_text.get(st.query_params.get(param, ""), options[0])
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


def run(controls: Controls, body: Callable[[], None]) -> None:
    """Run ``body`` as a fragment re-running on its own while live refresh is on."""
    if controls.live:

        def live() -> None:
            _recheck_principal()
            body()

        st.fragment(run_every=timedelta(seconds=controls.resolve().refresh_s))(live)()
    else:
        body()


def _recheck_principal() -> None:
    """A live fragment re-runs without app.py's gate: when the user was disabled or their role or
    teams changed since, re-run the whole app so the gate applies the change."""
    who = principal()
    try:
        same = backend().signin.principal_of(who.username) == who
    except PulseError:
        same = False
    if not same:
        st.rerun(scope="app")
