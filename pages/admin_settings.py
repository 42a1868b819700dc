"""Admin: the settings kept in the database. A form per section, data sources and channels (with
"test now" and "send test"), routing, escalations and inhibitions as TOML, and the whole as one
TOML file to download or upload.

Thin: every read and change goes through ``console.settings_admin`` (``manage_settings``: admins
only), which validates the whole before saving, keeps secrets it never shows, and audits each
change. Running daemons apply a saved change within ``scheduler.settings_poll_s``.
"""

from __future__ import annotations

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from pages import _common as ui
from pages._settings_file import file_tab, header
from pages._settings_items import items_editor
from pages._settings_sections import read_only, save, section_form, toml_editor
from pages._settings_trials import show_send_test, show_source_test

ui.page_header("Settings", "admin_settings")
sa = ui.console().settings_admin
TABS = [
    "Collectors",
    "Data sources",
    "Channels",
    "Routing",
    "Alerting",
    "Retention",
    "Snapshots",
    "Prices",
    "At start",
    "File",
]
ROUTING = {
    "route": "The routing tree: receivers are channel names; matchers pick alerts (Alertmanager's route).",
    "escalations": "Escalation policies: steps of channels after a delay; routes name them with `escalation`.",
    "inhibit_rules": "Inhibition: an alert matching source_matchers mutes those matching target_matchers.",
}
ALERTING_ELSEWHERE = frozenset({"channels", "route", "escalations", "inhibit_rules", "inbound"})


def body() -> None:
    header(sa)
    tabs = dict(zip(TABS, st.tabs(TABS), strict=True))
    effective = sa.effective()
    with tabs["Collectors"]:
        with st.form("settings.collectors", border=True):
            on = st.multiselect(
                "Built-in collectors on", sa.builtin_collectors(), default=list(effective.collectors)
            )
            if st.form_submit_button("Save collectors", icon=":material/save:"):
                save(lambda: sa.update("collectors", on), "Saved the collectors")
        for section in ("host", "demo", "scheduler"):
            st.subheader(section.capitalize())
            section_form(sa, section)
    with tabs["Data sources"]:
        entered, tested, _ = items_editor(sa, sa.section("sources"), "kind", lambda v: sa.update("sources", v),
                                       "source", sa.source_kinds())  # fmt: skip
        if tested and entered is not None:
            show_source_test(sa, entered)
    with tabs["Channels"]:
        st.caption("Send test sends the channel as entered in the form, without saving it; "
                   "a secret left empty is taken from the saved channel.")  # fmt: skip
        channels = sa.section("alerting")["channels"]
        entered, tested, saved_name = items_editor(sa, channels, "type", lambda v: sa.update("alerting", {"channels": v}),
                                       "channel", sa.channel_types())  # fmt: skip
        if tested and entered is not None:
            show_send_test(sa, entered, saved_name)
    with tabs["Routing"]:
        for key, caption in ROUTING.items():
            toml_editor(sa, "alerting", key, caption)
    with tabs["Alerting"]:
        section_form(sa, "alerting", ALERTING_ELSEWHERE)
    with tabs["Retention"]:
        for section in ("retention", "ingest"):
            section_form(sa, section, frozenset({"buffer_max_samples"}))
    with tabs["Snapshots"]:
        section_form(sa, "snapshots")
    with tabs["Prices"]:
        st.caption("Unit prices for showback, capacity cost and the daily snapshots.")
        section_form(sa, "prices")
    with tabs["At start"]:
        read_only(sa, [s for s in sa.sections() if sa.restart_reason(s)])
    with tabs["File"]:
        file_tab(sa)


try:
    body()
except PulseError as exc:
    st.warning(f"The settings could not be read: {md_text(exc)}", icon=":material/sync_problem:")
