"""Admin > Settings: the page's header (the last revision, or that the file is in effect) and the
File tab (the whole settings as one TOML file to download, or to upload and import)."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core.kernel.text import md_text
from core.seam.settings import SettingsAdmin
from pages import _keys as K
from pages._settings_sections import save


def header(sa: SettingsAdmin) -> None:
    done = st.session_state.pop(K.ADMIN_FLASH, None)
    if done:
        st.success(md_text(done), icon=":material/check_circle:")
    changes = sa.changes()
    if changes:
        last = max(changes.values(), key=lambda o: o.revision)
        when = datetime.fromtimestamp(last.updated_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
        st.caption(md_text(f"Revision {last.revision}: {last.section} changed by {last.updated_by} at {when}. "
                           "Values here override pulse.toml and PULSE_* variables."))  # fmt: skip
    else:
        st.caption("No setting changed here yet: pulse.toml and PULSE_* variables are in effect.")


def file_tab(sa: SettingsAdmin) -> None:
    st.download_button("Download settings (TOML)", sa.export_toml(), "pulse-settings.toml", "application/toml",
                       icon=":material/download:", help="Secrets are written as ********; importing keeps them")  # fmt: skip
    with st.form("settings.import", border=True):
        upload = st.file_uploader("Settings file to import", type=["toml"], key=K.W_SETTINGS_IMPORT)
        if st.form_submit_button("Import", icon=":material/upload:") and upload is not None:
            save(
                lambda: sa.import_toml(upload.getvalue().decode("utf-8", "replace")), "Imported the settings"
            )
