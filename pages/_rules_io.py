"""Import and export of the Alert rules view: a Prometheus rule file in (validated, all or none,
errors as FILE:LINE), every rule out as one Prometheus rule file."""

from __future__ import annotations

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.seam.rules import AlertRules
from pages import _keys as K
from pages._rules_preview import problems


def import_file(rules: AlertRules) -> None:
    st.subheader("Import a Prometheus rule file")
    with st.form("rules.import", border=True):
        upload = st.file_uploader("Rule file (YAML)", type=["yml", "yaml"], key=K.W_RULE_IMPORT)
        source = st.text_input(
            "Prometheus source for their PromQL", key=K.W_RULE_SOURCE, help="Empty: Pulse's own store"
        )
        if not st.form_submit_button("Import", icon=":material/upload_file:") or upload is None:
            return
    try:
        text = upload.getvalue().decode("utf-8")
    except UnicodeDecodeError:
        st.error(f"{md_text(upload.name)} is not UTF-8 text.", icon=":material/error:")
        return
    try:
        done = rules.import_prometheus(upload.name, text, source.strip() or None)
    except PulseError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return
    if done.errors:
        problems(done.errors)
        st.caption("Nothing was imported.")
        return
    if done.warnings:
        st.code("\n".join(done.warnings), language=None)
    st.session_state[K.RULES_FLASH] = f"Imported {len(done.records)} rule(s) from {upload.name}."
    st.rerun()


def export_file(rules: AlertRules) -> None:
    st.subheader("Export")
    st.caption("Every rule that runs (rule files and enabled UI rules) as one Prometheus rule file.")
    if st.button("Prepare the export", icon=":material/download:"):
        st.download_button(
            "Download pulse-rules.yml",
            rules.export_prometheus(),
            file_name="pulse-rules.yml",
            mime="application/yaml",
            on_click="ignore",
        )
