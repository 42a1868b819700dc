"""The Capacity page's saved scenarios: save by name, load, delete, compare side by side, CSV.

Not a page. Saving and deleting go through ``console.plans`` (which needs the Plan section) in
button callbacks; a message for the next run is kept under ``K.CAP_NOTICE``.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.capacity.fleet import Baseline
from core.capacity.planner import project
from core.capacity.scenario import Scenario, ScenarioError, make_scenario
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange
from pages import _capacity_whatif as whatif
from pages import _common as ui
from pages import _keys as K
from pages import _render as render

NUM = st.column_config.NumberColumn
COLUMNS: dict[str, Any] = {
    "name": "Scenario",
    "user_growth_pct": NUM("Growth %", format="%+.0f"),
    "teams_onboarded": NUM("New teams", format="%d"),
    "hosts_added": NUM("Hosts ±", format="%+d"),
    "target_utilization": NUM("Target", format="percent"),
    "hosts_planned": NUM("Hosts", format="%d"),
    "hosts_needed": NUM("Hosts needed", format="%d"),
    "cpu_peak_utilization": NUM("CPU peak", format="percent"),
    "memory_peak_utilization": NUM("Memory peak", format="percent"),
    "monthly_cost_planned": NUM("Cost / month", format="%,.0f"),
    "monthly_cost_needed": NUM("Cost needed / month", format="%,.0f"),
    "problem": "Problem",
}


def _current() -> Scenario:
    fields = Scenario.model_fields
    return make_scenario(
        **{f: st.session_state[K.W_CAP_PREFIX + f] for f in fields if K.W_CAP_PREFIX + f in st.session_state}
    )


def _save() -> None:
    try:
        name = st.session_state.get(K.W_CAP_NAME, "")
        replaced = ui.console().plans.save(name, _current())
        compared = st.session_state.get(K.W_CAP_COMPARE)
        if isinstance(compared, list) and name.strip() not in compared:  # a new one joins the comparison
            st.session_state[K.W_CAP_COMPARE] = [*compared, name.strip()]
        st.session_state[K.CAP_NOTICE] = (
            "success",
            f"{'Replaced' if replaced else 'Saved'} scenario {name.strip()!r}.",
        )
    except PulseError as exc:
        st.session_state[K.CAP_NOTICE] = ("error", f"Not saved: {exc}")


def _load(saved: dict[str, Scenario]) -> None:
    name = st.session_state.get(K.W_CAP_PICK)
    if name in saved:
        whatif.load(saved[name])
        st.session_state[K.CAP_NOTICE] = ("success", f"Loaded scenario {name!r} into the what-if controls.")


def _delete() -> None:
    name = st.session_state.get(K.W_CAP_PICK) or ""
    try:
        ui.console().plans.delete(name)
        st.session_state[K.CAP_NOTICE] = ("success", f"Deleted scenario {name!r}.")
    except PulseError as exc:
        st.session_state[K.CAP_NOTICE] = ("error", f"Not deleted: {exc}")


def comparison(base: Baseline, saved: dict[str, Scenario]) -> pl.DataFrame:
    """One row per saved scenario projected on today's forecast (a problem instead of results)."""
    rows = []
    for name, s in saved.items():
        try:
            rows.append({"name": name, **project(base, s).summary(), "problem": ""})
        except ScenarioError as exc:
            rows.append({"name": name, **s.model_dump(), "problem": str(exc)})
    return pl.DataFrame(rows, infer_schema_length=None)


def section(base: Baseline, tr: TimeRange) -> None:
    st.subheader("Saved scenarios")
    if notice := st.session_state.pop(K.CAP_NOTICE, None):
        (st.success if notice[0] == "success" else st.error)(md_text(notice[1]))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.text_input("Name", key=K.W_CAP_NAME, max_chars=60, placeholder="e.g. Q3 onboarding")
    right.button("Save the what-if", key=K.W_CAP_SAVE, on_click=_save, icon=":material/save:")
    try:
        saved = ui.console().plans.scenarios()
    except PulseError as exc:
        st.warning(f"Saved scenarios cannot be read: {md_text(exc)}", icon=":material/sync_problem:")
        return
    if not saved:
        st.caption(
            "No saved scenario yet: set the what-if controls, name it and save it to compare it later."
        )
        return
    names = list(saved)
    if K.W_CAP_COMPARE in st.session_state:  # deleted ones leave the comparison
        st.session_state[K.W_CAP_COMPARE] = [n for n in st.session_state[K.W_CAP_COMPARE] if n in saved]
    else:
        st.session_state[K.W_CAP_COMPARE] = names
    picked = st.multiselect("Compare", names, key=K.W_CAP_COMPARE)
    data = comparison(base, {n: saved[n] for n in picked})
    if data.height:
        shown = data.select([c for c in COLUMNS if c in data.columns])
        render.table(shown, data, "capacity-scenarios", tr, COLUMNS)
    a, b, c = st.columns([3, 1, 1], vertical_alignment="bottom")
    a.selectbox("Saved scenario", names, key=K.W_CAP_PICK)
    b.button("Load", key=K.W_CAP_LOAD, on_click=_load, args=(saved,), icon=":material/upload:")
    c.button("Delete", key=K.W_CAP_DELETE, on_click=_delete, icon=":material/delete:")
