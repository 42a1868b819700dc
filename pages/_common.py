"""Shared UI of the dashboard pages: the store, controls bound to the URL, cached queries, downloads.

Not a page: app.py lists its pages explicitly, so this module never appears in the navigation.
Canonical choices live in session state (core.state_keys) and are mirrored to ``st.query_params``
so a copied link opens the same view; widgets are re-seeded from them on every run.
Every query runs as the signed-in user: :func:`query` hands the views the store narrowed to the
user's teams (``core.views.scoped``) and keys its cache by that scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Literal, TypeVar

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from core import auth, export
from core import state_keys as K
from core.config import Settings, load_settings
from core.errors import PulseError
from core.storage import Store, open_store
from core.storage.users import UserRepo
from core.timerange import (
    CHOICES,
    CUSTOM,
    LABELS,
    PARAM_FROM,
    PARAM_RANGE,
    PARAM_TO,
    TimeRange,
    TimeSpec,
    fmt_utc,
    parse_params,
)
from core.views import Filters, label_values, scoped

T = TypeVar("T")
EMPTY_HINT = "No data yet: run `pulse demo --days 7` or start `pulse collect`, then reload this page."
QUERY_TTL_S, QUERY_MAX_ENTRIES = 30, 256
EMPTY_TTL_S = 5  # a store that was empty a moment ago may have been filled by `pulse demo`
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
STATUS_STYLE = {  # text and background of a status cell
    "ok": ("#166534", "#DCFCE7"),
    "warning": ("#9A3412", "#FFEDD5"),
    "critical": ("#B42318", "#FEE4E2"),
}
_OWNED_PARAMS = (PARAM_RANGE, PARAM_FROM, PARAM_TO, K.QP_HOST, K.QP_TEAM, K.QP_SERVER, K.QP_LIVE)


# -- the store and cached reads ---------------------------------------------------------------
@st.cache_resource(show_spinner="Opening the metrics store…")
def _open_store(url: str, _settings: Settings) -> Store:
    return open_store(_settings)


def get_store() -> Store:
    """The process-wide Store of the configured database (one per URL), or a message and stop."""
    try:
        settings = load_settings()
        return _open_store(settings.url, settings)
    except PulseError as exc:
        st.error(f"Cannot open the metrics store: {exc}", icon=":material/error:")
        st.stop()


@st.cache_data(ttl=QUERY_TTL_S, max_entries=QUERY_MAX_ENTRIES, show_spinner=False)
def _cached(
    name: str,
    url: str,
    teams: tuple[str, ...] | None,
    args: tuple[Any, ...],
    _fn: Callable[..., Any],
    _store: Store,
) -> Any:
    return _fn(scoped(_store, teams), *args)


def principal() -> auth.Principal:
    """The signed-in user of this run (set by app.py's gate), or a message and stop."""
    who: auth.Principal | None = st.session_state.get(K.PRINCIPAL)
    if who is None:
        st.warning("Sign in to see this page.", icon=":material/login:")
        st.stop()
    return who


def query(fn: Callable[..., T], *args: Any) -> T:
    """``fn(reader, *args)`` with the store narrowed to the user's teams, cached per database and
    team scope for QUERY_TTL_S; storage errors end the run politely."""
    store = get_store()
    scope = auth.team_scope(principal())
    teams = None if scope is None else tuple(sorted(scope))
    try:
        result: T = _cached(f"{fn.__module__}.{fn.__qualname__}", store.settings.url, teams, args, fn, store)
    except PulseError as exc:
        st.warning(
            f"The metrics store did not answer: {exc}. The page retries on its next refresh.",
            icon=":material/sync_problem:",
        )
        st.stop()
    return result


@st.cache_data(ttl=EMPTY_TTL_S, max_entries=8, show_spinner=False)
def _metric_names(url: str, _store: Store) -> list[str]:
    return _store.metrics()


def has_data(metrics: Sequence[str], what: str) -> bool:
    """Whether any of ``metrics`` has ever been stored; if not, an empty state that says what to do."""
    store = get_store()
    try:
        names = set(_metric_names(store.settings.url, store))
    except PulseError as exc:
        st.warning(f"The metrics store did not answer: {exc}", icon=":material/sync_problem:")
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


@st.cache_data(ttl=5, max_entries=16, show_spinner=False)
def _alert_counts(url: str, teams: tuple[str, ...] | None, bucket: int) -> dict[str, int]:
    from core.alerts.inhibit import InhibitRule
    from core.views.alerts import current_alerts
    from core.views.scope import ScopedReader

    store = get_store()
    scope = None if teams is None else frozenset(teams)
    hosts = ScopedReader(store, scope).hosts() if scope else frozenset()
    rules = [InhibitRule.of(r) for r in store.settings.alerting.inhibit_rules]
    view = current_alerts(
        store.engine, rules, store.settings.alerting.incidents, store.now_ms(), scope, hosts
    )
    return dict(view.counts)


def alert_counts() -> dict[str, int]:
    """Firing, pending and muted alerts the signed-in user may see (cached 5 s)."""
    scope = auth.team_scope(principal())
    store = get_store()
    teams = None if scope is None else tuple(sorted(scope))
    return _alert_counts(store.settings.url, teams, store.now_ms() // 5000)


# -- page setup ---------------------------------------------------------------------------------
def no_access(who: auth.Principal, title: str) -> None:
    st.error(
        f"{who.label} ({who.role.label}) may not open {title}. Ask an admin if you need it.",
        icon=":material/block:",
    )
    st.stop()


def page_header(title: str, page: str) -> None:
    """The page title, after making sure the page runs inside app.py's navigation and that the
    signed-in user may open ``page`` (its URL path); otherwise a message and stop.

    ``pages/`` is also Streamlit's legacy pages folder: in a fresh server process, until app.py has
    called ``st.navigation`` once, a deep link such as ``/performance`` runs the page file alone
    (no page config, every file of ``pages/`` listed as a page). Leave that mode and rerun, which
    runs app.py and lands on the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - internal module moved
        PagesManager = None  # type: ignore[assignment,misc]  # noqa: N806
    if PagesManager is not None and getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
    who = principal()
    if not auth.may(who, page=page):
        no_access(who, title)
    st.title(title)


# -- controls -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Controls:
    spec: TimeSpec
    filters: Filters
    live: bool

    def resolve(self) -> TimeRange:
        return self.spec.resolve(get_store().now_ms())


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
        tr = old.resolve(get_store().now_ms())
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
        tr = spec.resolve(get_store().now_ms())
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
        user = UserRepo(get_store().engine).get(who.username)
        same = user is not None and not user.disabled and auth.Principal.of(user) == who
    except PulseError:
        same = False
    if not same:
        st.rerun(scope="app")


# -- rendering ------------------------------------------------------------------------------------
def freshness(tr: TimeRange, live: bool) -> None:
    refresh = f"refreshes every {tr.refresh_s} s" if live else "live refresh off"
    st.caption(
        f"{tr.label}: {fmt_utc(tr.start_ms)} to {fmt_utc(tr.end_ms)} · one point per {_step(tr.step_ms)} · {refresh}"
    )


def _step(ms: int) -> str:
    s = ms // 1000
    return f"{s // 3600} h" if s >= 3600 and s % 3600 == 0 else f"{s // 60} min" if s >= 60 else f"{s} s"


def no_data(tr: TimeRange, what: str = "samples") -> None:
    st.info(
        f"No {what} between {fmt_utc(tr.start_ms)} and {fmt_utc(tr.end_ms)}. Pick a longer range or clear the filters.",
        icon=":material/search_off:",
    )


def download(df: pl.DataFrame, view: str, tr: TimeRange) -> None:
    if not auth.may(st.session_state.get(K.PRINCIPAL), action=auth.Action.EXPORT):
        return
    st.download_button(
        "CSV",
        data=export.to_csv_bytes(df),
        file_name=export.file_name(view, tr.start_ms, tr.end_ms),
        mime="text/csv",
        on_click="ignore",
        key=f"dl.{view}",
        icon=":material/download:",
        type="tertiary",
        help=f"Download the data behind this view ({df.height} rows) as CSV",
    )


def chart(fig: go.Figure, data: pl.DataFrame, view: str, tr: TimeRange, what: str = "samples") -> None:
    """A plotly chart with its CSV under it, or an empty state naming the range."""
    if data.is_empty():
        st.markdown(f"**{fig.layout.title.text}**")
        no_data(tr, what)
        return
    st.plotly_chart(fig, theme=None, config=PLOTLY_CONFIG, key=f"chart.{view}")
    download(data, view, tr)


def table(
    shown: pl.DataFrame,
    data: pl.DataFrame,
    view: str,
    tr: TimeRange,
    columns: Mapping[str, Any] | None = None,
    height: int | None = None,
) -> None:
    """A dataframe (display columns; a ``status`` or ``state`` column is coloured) with the CSV of
    ``data`` under it."""
    styled: Any = shown
    coloured = [c for c in ("status", "state") if c in shown.columns]
    if coloured:
        styled = shown.to_pandas().style.map(_status_style, subset=coloured)
    st.dataframe(
        styled,
        hide_index=True,
        column_config=dict(columns or {}),
        height=height or "auto",
        width="stretch",
        key=f"table.{view}",
    )
    download(data, view, tr)


STATE_STATUS = {"up": "ok", "degraded": "warning", "down": "critical"}  # a source's state as a status


def _status_style(status: object) -> str:
    text = str(status)
    fg, bg = STATUS_STYLE.get(STATE_STATUS.get(text, text), ("inherit", "transparent"))
    return f"color: {fg}; background-color: {bg}; font-weight: 600"


def in_ms(df: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    return df.with_columns(pl.col(c) * 1000 for c in columns if c in df.columns)
