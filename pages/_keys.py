"""Names of session-state entries and URL query parameters, in one place.

Canonical values (what the user picked) live under ``pulse.*`` keys and survive page switches;
widgets use their own ``w.*`` keys and are re-seeded from the canonical value on every run,
because Streamlit drops a widget's state when the page that drew it is left. URL parameter names
are short and stable, since people paste these links into tickets.
"""

# canonical values
TIME_SPEC = "pulse.time_spec"  # core.kernel.times.TimeSpec
FILTERS = "pulse.filters"  # core.views.Filters
LIVE = "pulse.live"  # bool, or None for "the default of the range"
PERF_SERVER = "pulse.performance.server"  # drill-down: one server's tools, or None
HEATMAP_PANEL = "pulse.health.heatmap_panel"
INCIDENT_STATES = "pulse.incidents.states"  # which incidents the list shows: open, resolved, all
INCIDENT = "pulse.incidents.incident"  # the incident shown in detail (id), or 0 for none

# widget keys
W_RANGE = "w.range"
W_FROM_DATE, W_FROM_TIME = "w.from_date", "w.from_time"
W_TO_DATE, W_TO_TIME = "w.to_date", "w.to_time"
W_HOSTS, W_TEAMS, W_SERVERS = "w.hosts", "w.teams", "w.servers"
W_LIVE = "w.live"
W_PERF_SERVER = "w.performance.server"
W_HEATMAP_PANEL = "w.health.heatmap_panel"
W_INCIDENT_STATES = "w.incidents.states"
W_ALERT_PICK = "w.alerts.pick"  # the alert acted on (fingerprint), or None
W_INCIDENT = "w.incidents.incident"

# URL query parameters (range/from/to are defined with the time range in core.kernel.times)
QP_HOST, QP_TEAM, QP_SERVER = "host", "team", "server"
QP_LIVE = "live"
QP_DRILL = "drill"
QP_HEATMAP = "heatmap"
QP_HEALTH_TAB = "tab"  # the open tab of the Health page (also its widget key)
QP_INCIDENT = "incident"  # the incident shown in detail
QP_INCIDENT_STATES = "show"

# sign-in (pages/_auth.py)
PRINCIPAL = "pulse.auth.principal"  # core.access.policy.Principal of this run, or absent
SESSION = "pulse.auth.session"  # id of this browser session's server-side session, or absent
AUTH_NOTICE = "pulse.auth.notice"  # a message for the sign-in screen ("You are signed out.")
AUTH_COOKIE = "pulse.auth.cookie"  # ((token, max_age) or None to delete, runs left): cookie work
COOKIE_TRIED = "pulse.auth.cookie_tried"  # the cookie token this browser session already tried
CLIENT = "pulse.auth.client"  # this browser session's client id when the connection has no address
W_USERNAME, W_PASSWORD = "w.sign_in.username", "w.sign_in.password"
W_SIGN_OUT = "w.sign_out"
