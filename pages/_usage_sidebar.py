"""The Usage page's sidebar: the showback prices and basis, and the admin's snapshot button. Not a page.

The price widgets start at the installation's unit prices (``settings.prices``, through
``console().usage.prices``): what the Capacity planner and the CSV snapshots price with, so the
page, the planner and the files agree until someone asks "what if" here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.kernel.settings.prices import PriceSettings
from core.usage import BASES

PRICES = (("cpu_core_hour", "Price per core-hour"), ("memory_gib_hour", "Price per GiB-hour"))


def showback(usage: Any) -> tuple[PriceSettings, str]:
    """The prices and the basis (requested or used resources) the report charges with."""
    start: PriceSettings = usage.prices
    with st.sidebar.expander("Showback", expanded=False):
        basis = st.selectbox(
            "Charge for", BASES, key="usage.basis", help="Requested (held) or used resources"
        )
        price = {
            name: st.number_input(
                f"{label} ({start.currency})",
                0.0,
                100.0,  # PriceSettings' bound
                float(getattr(start, name)),
                format="%.4f",
                key=f"usage.price.{name}",
                help=f"The installation's price is {getattr(start, name):g} (setting prices.{name})",
            )
            for name, label in PRICES
        }
    return PriceSettings(currency=start.currency, **price), basis


def snapshot_button(usage: Any) -> None:
    """Admins only (the seam checks it again): write every CSV snapshot now."""
    if not usage.may_snapshot:
        return
    if st.sidebar.button("Take snapshot now", icon=":material/photo_camera:", key="usage.snapshot"):
        with st.sidebar, st.spinner("Writing the snapshots (forecasts take seconds)…"):
            taken = usage.snapshot_now()
        st.sidebar.success(f"{len(taken.written)} file(s) written", icon=":material/check_circle:")
        st.sidebar.code("\n".join(str(p) for p in taken.written), language=None)
