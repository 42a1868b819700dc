"""The preview of the Alert rules view: how often the rule in the editor would have fired over the
last 7 days of stored history, the chart of its values with the threshold and the firing spans."""

from __future__ import annotations

import streamlit as st

from core.admin.rules import RuleRefused
from core.alerts.preview_chart import preview_figure, values_frame
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.seam.rules import AlertRules
from pages._render import PLOTLY_CONFIG, grid

DAYS = 7


def problems(lines: list[str]) -> None:
    """Errors of a rule, one per line, shown as text."""
    st.error("The rule is not saved:", icon=":material/error:")
    st.code("\n".join(lines), language=None)


def saved(rules: AlertRules, group: str, text: str, keep: tuple[str, str] | None) -> str:
    """The message of a save: with the rule's warnings (e.g. its group's rules disagree on the
    group_interval), said before it is saved."""
    try:
        warnings = rules.check(group, text, keep).warnings
    except PulseError:
        warnings = []
    return " ".join(["Rule saved.", *warnings])


def show(rules: AlertRules, text: str, group: str) -> None:
    try:
        with st.spinner(f"Evaluating the rule over the last {DAYS} days of history…"):
            rule, p = rules.preview(text, days=DAYS, group=group)
    except RuleRefused as exc:
        problems(exc.problems)
        return
    except PulseError as exc:
        st.warning(f"No preview: {md_text(exc)}", icon=":material/sync_problem:")
        return
    if p.reason is not None:
        st.info(f"No preview: {md_text(p.reason)}", icon=":material/info:")
        return
    times = "time" if p.fired == 1 else "times"
    st.metric(f"Would have fired in the last {DAYS} days", f"{p.fired} {times}")
    if p.note:
        st.caption(md_text(p.note))
    st.plotly_chart(preview_figure(p, rule), theme=None, config=PLOTLY_CONFIG, key="chart.rules.preview")
    if rule.promql is not None:
        st.caption(
            f"The expression evaluated every {p.every_s:g} s on Pulse's store, as the daemon would have."
        )
    if p.series_total > p.values.n_unique("series"):
        nearest = "with the highest values" if rule.promql is not None else "nearest the threshold"
        st.caption(f"The {p.values.n_unique('series')} series {nearest} of {p.series_total} are drawn.")
    if p.spans:
        grid(values_frame(p), {})
