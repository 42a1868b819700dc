"""The Capacity page's what-if widgets, built from the Scenario model's bounded, described fields.

Not a page (app.py lists its pages explicitly). Each widget's state lives under
``K.W_CAP_PREFIX + field``; loading a saved scenario writes those keys in a button callback, before
the widgets are drawn again.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.capacity.fleet import Baseline
from core.capacity.scenario import Scenario
from core.kernel.settings.prices import PriceSettings
from core.optimization.whatif import Widget, widgets
from pages import _keys as K

SLIDERS = {"user_growth_pct": 5.0, "teams_onboarded": 1, "hosts_added": 1, "target_utilization": 0.05}
AVERAGE_TEAM = "(average team)"
LABELS = {
    "host_cores": "Cores of an added host",
    "host_memory_gib": "GiB of an added host",
    "price_core_hour": "Price per core-hour",
    "price_gib_hour": "Price per GiB-hour",
}


def _key(name: str) -> str:
    return K.W_CAP_PREFIX + name


def load(s: Scenario) -> None:
    """Put a scenario's values into the widgets (a button callback: runs before they are drawn)."""
    for name, value in s.model_dump().items():
        st.session_state[_key(name)] = value


def _slider(w: Widget, lo: Any, hi: Any, help_text: str) -> Any:
    cast: Any = int if w.kind == "int" else float
    step = cast(SLIDERS[w.name])
    label = {"user_growth_pct": "User growth (%)", "target_utilization": "Target utilization"}.get(
        w.name, w.label
    )
    fmt = {"user_growth_pct": "%+.0f %%", "target_utilization": "%.2f"}.get(w.name)
    return st.slider(label, cast(lo), cast(hi), step=step, key=_key(w.name), help=help_text, format=fmt)


def inputs(base: Baseline, prices: PriceSettings) -> dict[str, Any]:
    """The sidebar's what-if widgets; their values by Scenario field name. The prices start at the
    installation's (``settings.prices``, as Usage and the snapshots price), the rest at the model's
    defaults."""
    start = {"price_core_hour": prices.cpu_core_hour, "price_gib_hour": prices.memory_gib_hour}
    start["currency"] = prices.currency
    fleet = base.fleet
    n, teams = fleet.hosts.height, fleet.teams["team"].to_list()
    avg = {"host_cores": fleet.cores / max(n, 1), "host_memory_gib": fleet.memory_gib / max(n, 1)}
    values: dict[str, Any] = {}
    with st.sidebar.expander("What if", expanded=True, icon=":material/tune:"):
        for w in widgets(Scenario):
            key = _key(w.name)
            if key not in st.session_state or (
                w.name == "profile_team" and st.session_state[key] not in teams
            ):
                st.session_state[key] = start.get(w.name, w.default)
            if w.name == "profile_team":
                values[w.name] = st.selectbox(
                    "Profile of a new team",
                    ["", *teams],
                    key=key,
                    format_func=lambda t: t or AVERAGE_TEAM,
                    help=w.help,
                )
            elif w.name == "currency":
                values[w.name] = st.text_input("Currency", key=key, max_chars=8, help=w.help)
            elif w.name in SLIDERS:
                lo, hi = w.minimum, w.maximum
                if w.name == "hosts_added":  # down to no host at all (which the planner refuses)
                    lo, hi = max(lo or -n, -n), min(hi or n, max(20, 3 * n))
                    st.session_state[key] = min(max(st.session_state[key], lo), hi)
                values[w.name] = _slider(w, lo, hi, w.help)
            else:
                cast: Any = float
                extra = f" Now {avg[w.name]:.1f}." if w.name in avg else ""
                values[w.name] = st.number_input(
                    LABELS.get(w.name, w.label),
                    cast(w.minimum or 0),
                    cast(w.maximum),
                    key=key,
                    help=w.help + extra,
                    format="%.4f" if w.name.startswith("price") else "%.1f",
                )
    return values
