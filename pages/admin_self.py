"""Self-monitoring (admins): what Pulse itself costs against its 2 % CPU budget, its database,
ingest and jobs; the scheduler with "run now"; Grafana dashboards and Prometheus' scrape config.

Thin: the figures are in ``pages/_admin_self_figures.py``, the scheduler in ``pages/_admin_self_scheduler.py``.
"""

import streamlit as st

from core.kernel.times import TimeSpec
from core.seam import Console
from core.views import self_monitoring as sm
from pages import _common as ui
from pages._admin_self_figures import figures, history
from pages._admin_self_scheduler import scheduler

RANGES = ("1h", "6h", "24h", "7d")
K_RANGE = "selfmon.range"
ui.page_header("Self-monitoring", "admin_self")
c = ui.console()
st.caption(
    "Pulse's own processes, measured by CPU accounting of each (user + system seconds from the OS), "
    f"against an overhead budget of {sm.OVERHEAD_BUDGET:.0%} of the machine. Each daemon records its "
    "figures every 15 s, labelled with its node (cluster.node_name), each dashboard process its own."
)
# the last hour by default: 30 s steps show a daemon's figures from its first minute (ranges with
# minute steps end two minutes back, where rollups are surely written)
preset = st.segmented_control("Range", RANGES, default="1h", key=K_RANGE) or "1h"
tr = TimeSpec(preset).resolve(c.now_ms())


def integrations(c: Console) -> None:
    """Grafana dashboards to download and the Prometheus scrape config to copy."""
    st.subheader("Grafana and Prometheus")
    left, right = st.columns(2)
    with left:
        st.markdown(
            "Dashboards mirroring Health, Performance and Capacity, plus this view, for Grafana with "
            "Pulse's Prometheus API (or any Prometheus with the same metrics) as data source; "
            "with provisioning files. Same as `pulse export grafana DIR`."
        )
        st.download_button(
            "Grafana dashboards and provisioning (zip)",
            data=lambda: c.self_monitoring.grafana_zip(),
            file_name="pulse-grafana.zip",
            mime="application/zip",
            on_click="ignore",
            icon=":material/download:",
        )
    with right:
        st.markdown("Prometheus scrape config for the daemon's `/metrics` (add it to `prometheus.yml`):")
        st.code(c.self_monitoring.scrape_config(), language="yaml")


if ui.has_data(list(sm.SELF_METRICS), "figures of Pulse itself"):
    figures(tr)
    history(tr)
scheduler(c, tr)
integrations(c)
