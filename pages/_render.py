"""How pages show data: range captions, empty states, charts, coloured tables and their CSV downloads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from core.access import policy as auth
from core.kernel import csvsafe as export
from core.kernel.text import md_text
from core.kernel.times import (
    TimeRange,
    fmt_utc,
)
from pages import _keys as K

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
STATUS_STYLE = {  # text and background of a status cell
    "ok": ("#166534", "#DCFCE7"),
    "warning": ("#9A3412", "#FFEDD5"),
    "critical": ("#B42318", "#FEE4E2"),
}


def freshness(tr: TimeRange, live: bool) -> None:
    refresh = f"refreshes every {tr.refresh_s} s" if live else "live refresh off"
    st.caption(
        f"{tr.label}: {fmt_utc(tr.start_ms)} to {fmt_utc(tr.end_ms)} · one point per {_step(tr.step_ms)} · {refresh}"
    )


def _step(ms: int) -> str:
    s = ms // 1000
    return f"{s // 3600} h" if s >= 3600 and s % 3600 == 0 else f"{s // 60} min" if s >= 60 else f"{s} s"


def no_data(tr: TimeRange, what: str = "samples") -> None:
    advice = (
        "Pick a longer range or clear the filters."
        if st.session_state.get(K.FILTERED)
        else "Pick a longer range."
    )
    st.info(
        f"No {what} between {fmt_utc(tr.start_ms)} and {fmt_utc(tr.end_ms)}. {advice}",
        icon=":material/search_off:",
    )


def download(df: pl.DataFrame, view: str, tr: TimeRange) -> None:
    if not auth.may(st.session_state.get(K.PRINCIPAL), action=auth.Action.EXPORT):
        return
    st.download_button(
        "CSV",
        # made when clicked (deferred): no file is published under /media/ for every table on every run
        data=lambda: export.to_csv_bytes(df),
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
        st.markdown(f"**{md_text(fig.layout.title.text)}**")
        no_data(tr, what)
        return
    st.plotly_chart(fig, theme=None, config=PLOTLY_CONFIG, key=f"chart.{view}")
    download(data, view, tr)


def grid(shown: pl.DataFrame, columns: Mapping[str, Any]) -> None:
    """A dataframe of text cells neutralised like the CSV downloads: Streamlit's own table toolbar
    offers "Download as CSV" of exactly what is shown."""
    st.dataframe(export.safe_frame(shown), hide_index=True, column_config=dict(columns), width="stretch")


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
    shown = export.safe_frame(shown)
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


STATE_STATUS = {  # a source's, an alert's and an incident's state as a status
    **{"up": "ok", "degraded": "warning", "down": "critical"},
    **{"firing": "critical", "pending": "warning", "resolved": "ok"},
    **{"triggered": "critical", "acknowledged": "warning"},
}


def _status_style(status: object) -> str:
    """A known status coloured; any other value (an alert's ``firing``) unstyled: the grid draws
    on a canvas, where CSS ``inherit`` is no colour and the text would vanish."""
    text = str(status)
    style = STATUS_STYLE.get(STATE_STATUS.get(text, text))
    if style is None:
        return ""
    fg, bg = style
    return f"color: {fg}; background-color: {bg}; font-weight: 600"


def in_ms(df: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    return df.with_columns(pl.col(c) * 1000 for c in columns if c in df.columns)
