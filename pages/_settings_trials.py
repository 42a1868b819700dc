"""Admin > Settings: how a try of an item went: "test now" of a data source (its collector run
once here) and "send test" of a channel (a synthetic alert through the channel as entered)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.kernel.text import md_text
from core.seam.settings import SettingsAdmin
from pages._settings_form import attempt


def show_source_test(sa: SettingsAdmin, values: dict[str, Any]) -> None:
    result = attempt(lambda: sa.test_source(values))
    if result is None:
        return
    if result.ok:
        st.success(
            f"Collected {result.samples:,} samples in {result.duration_s:.2f} s.",
            icon=":material/check_circle:",
        )
        st.code("\n".join(result.preview) or "(no samples)", language=None)
    else:
        st.error(
            md_text(f"The source failed after {result.duration_s:.2f} s: {result.error}"),
            icon=":material/error:",
        )


def show_send_test(sa: SettingsAdmin, values: dict[str, Any], saved_name: str | None) -> None:
    """Send a test through the channel as entered (not saved) and say how it went."""
    channel = str(values.get("name") or saved_name or "")
    d = attempt(lambda: sa.send_test(values, saved_name))
    if d is None:
        return
    code = f" (HTTP {d.status_code})" if d.status_code else ""
    how = "with the form's values; nothing was saved"
    if d.ok:
        done = f"{channel}: delivered{code} in {d.duration_ms} ms ({how})."
        st.success(md_text(done), icon=":material/check_circle:")
    else:
        st.error(md_text(f"{channel}: {d.outcome}{code}: {d.error} ({how})"), icon=":material/error:")
