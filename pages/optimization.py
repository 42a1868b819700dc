"""Optimization: right-size containers, find idle servers, drain hosts, tie regressions to deploys.

Usage is read once per range (cached); the what-if controls recompute the recommendations from it,
so moving a slider costs no store read.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import streamlit as st

from core.optimization import service as opt
from core.optimization.rightsizing import recommend, to_frame
from core.optimization.settings import PriceSettings, UsageSettings
from core.optimization.strategies import make_strategy
from core.optimization.usage import read_usage
from core.optimization.whatif import apply, widgets
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _render as render

ui.page_header("Optimization", "optimization")
controls = controls_ui.sidebar_controls()
ui.require_data(["container_cpu_usage_cores"], "container usage")
STRATEGIES = ("simple-limit", "simple", "memory-percentile")
TABS = ("Right-sizing", "Idle", "Consolidation", "Regressions")
ALIGN_MS = 300_000
NUM = st.column_config.NumberColumn
COLUMNS: dict[str, Any] = {
    "cpu_request": NUM("CPU req", format="%.2f"),
    "cpu_request_rec": NUM("→ CPU req", format="%.2f"),
    "cpu_limit": NUM("CPU limit", format="%.2f"),
    "cpu_limit_rec": NUM("→ CPU limit", format="%.2f"),
    "memory_limit_gib": NUM("Mem limit GiB", format="%.2f"),
    "memory_limit_rec_gib": NUM("→ Mem limit GiB", format="%.2f"),
    "savings_monthly": NUM("Saves / month", format="%.2f"),
    "risks": "Risks",
}
SHOWN = ("server", "team", "status", *COLUMNS, "reason")


def whatif(model: type[Any], key: str) -> Any:
    """Number inputs built from a settings model's bounded fields (their description as help)."""
    values = {}
    for w in widgets(model):
        if w.kind == "text":
            continue
        cast: Any = int if w.kind == "int" else float
        lo, hi = (None if b is None else cast(b) for b in (w.minimum, w.maximum))
        values[w.name] = st.number_input(
            w.label, lo, hi, cast(w.default), help=w.help, key=f"opt.{key}.{w.name}"
        )
    return apply(model, values)


def _rows(reader: Any, end_ms: int, kind: Any, what: tuple[str, str, str, str], filters: Any) -> pl.DataFrame:
    """One kind of finding; the settings come as JSON so the cache can key on them."""
    name, strategy, usage, prices = what
    settings = opt.OptimizationSettings(
        strategy=make_strategy(name, **json.loads(strategy)),
        usage=UsageSettings.model_validate_json(usage),
        prices=PriceSettings.model_validate_json(prices),
    )
    return opt.recommendations(reader, end_ms, kind, settings, filters)


def body() -> None:
    tr = controls.resolve()
    with st.sidebar.expander("What if", expanded=True):
        name = st.selectbox("Strategy", STRATEGIES, key="opt.strategy")
        window = st.slider("History (days)", 1, 30, 14, key="opt.window", help="Usage read per container")
        strategy = make_strategy(name)
        strategy = make_strategy(name, **whatif(strategy.settings_class, name).model_dump())
        prices = whatif(PriceSettings, "prices")
    usage_settings = UsageSettings(window_days=window)
    end_ms = tr.end_ms - tr.end_ms % ALIGN_MS  # the cache key: usage is read again every 5 minutes
    usage = ui.query(read_usage, end_ms, usage_settings, controls.filters)
    recs = to_frame(recommend(usage, strategy, prices, usage_settings.step_s))
    if recs.is_empty():
        st.info("No container has usage in this window yet.", icon=":material/info:")
        return
    ok = recs.filter(pl.col("status") == "ok")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Containers",
        f"{ok.height} of {recs.height}",
        help="with enough history for a recommendation",
        border=True,
    )
    c2.metric("CPU cores saved", f"{ok['savings_cores'].sum():.1f}", border=True)
    c3.metric("Memory saved", f"{ok['savings_gib'].sum():.1f} GiB", border=True)
    c4.metric(f"Per month ({prices.currency})", f"{ok['savings_monthly'].sum():,.0f}", border=True)
    tab = st.segmented_control("View", TABS, default=TABS[0], key="opt.tab") or TABS[0]
    if tab == "Right-sizing":
        shown = recs.select([c for c in SHOWN if c in recs.columns]).sort("savings_monthly", descending=True)
        render.table(shown, recs, "optimization-rightsizing", tr, COLUMNS)
        st.caption(
            "Evidence of every row (window, points, percentiles, peaks, restarts, OOM kills, throttling) "
            "is in the CSV."
        )
    else:
        kind = {"Idle": "idle", "Consolidation": "consolidation", "Regressions": "regression"}[tab]
        what = (
            name,
            strategy.settings.model_dump_json(),
            usage_settings.model_dump_json(),
            prices.model_dump_json(),
        )
        with st.spinner(f"Computing {tab.lower()} over the history…"):  # regressions take seconds
            rows = ui.query(_rows, end_ms, kind, what, controls.filters)
        if rows.is_empty():
            st.success(f"No {tab.lower()} finding in this window.", icon=":material/check_circle:")
        else:
            render.table(rows, rows, f"optimization-{kind}", tr)


controls_ui.run(controls, body)
