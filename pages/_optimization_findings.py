"""The Optimization page's finding tabs: the right-sizing table (recomputed from the cached usage
at every what-if change) and the idle, consolidation and regression findings (cached per settings)."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import streamlit as st

from core.optimization import service as opt
from core.optimization.settings import PriceSettings, UsageSettings
from core.optimization.strategies import make_strategy
from pages import _common as ui
from pages import _render as render
from pages._optimization_whatif import WhatIf

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
KINDS = {"Idle": "idle", "Consolidation": "consolidation", "Regressions": "regression"}


def rightsizing(recs: pl.DataFrame, tr: Any) -> None:
    shown = recs.select([c for c in SHOWN if c in recs.columns]).sort("savings_monthly", descending=True)
    render.table(shown, recs, "optimization-rightsizing", tr, COLUMNS)
    st.caption(
        "Evidence of every row (window, points, percentiles, peaks, restarts, OOM kills, throttling) "
        "is in the CSV."
    )


def _rows(reader: Any, end_ms: int, kind: Any, what: tuple[str, str, str, str], filters: Any) -> pl.DataFrame:
    """One kind of finding; the settings come as JSON so the cache can key on them."""
    name, strategy, usage, prices = what
    settings = opt.OptimizationSettings(
        strategy=make_strategy(name, **json.loads(strategy)),
        usage=UsageSettings.model_validate_json(usage),
        prices=PriceSettings.model_validate_json(prices),
    )
    return opt.recommendations(reader, end_ms, kind, settings, filters)


def findings(tab: str, w: WhatIf, end_ms: int, filters: Any, tr: Any) -> None:
    """Idle, consolidation or regression findings (regressions take seconds: a spinner says so)."""
    kind = KINDS[tab]
    with st.spinner(f"Computing {tab.lower()} over the history…"):
        rows = ui.query(_rows, end_ms, kind, w.as_json(), filters)
    if rows.is_empty():
        st.success(f"No {tab.lower()} finding in this window.", icon=":material/check_circle:")
    else:
        render.table(rows, rows, f"optimization-{kind}", tr)
