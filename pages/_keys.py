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
QP_ALERT = "alert"  # the alert picked on the Alerts page (fingerprint): notifications link to it

# sign-in (pages/_auth.py)
PRINCIPAL = "pulse.auth.principal"  # core.access.policy.Principal of this run, or absent
SESSION = "pulse.auth.session"  # id of this browser session's server-side session, or absent
FILTERED = "pulse.filtered"  # whether this run's sidebar filters narrow the view (empty states say so)
AUTH_NOTICE = "pulse.auth.notice"  # a message for the sign-in screen ("You are signed out.")
AUTH_COOKIE = "pulse.auth.cookie"  # ((token, max_age) or None to delete, runs left): cookie work
COOKIE_TRIED = "pulse.auth.cookie_tried"  # the cookie token this browser session already tried
CLIENT = "pulse.auth.client"  # this browser session's client id when the connection has no address
W_USERNAME, W_PASSWORD = "w.sign_in.username", "w.sign_in.password"
W_SIGN_OUT = "w.sign_out"
W_SSO = "w.sign_in.sso"  # the single sign-on button
SSO_REFUSED = "pulse.auth.sso_refused"  # why the provider's identity may not sign in, or absent

# admin views (pages/admin_users.py, pages/admin_audit.py)
ADMIN_FLASH = "pulse.admin.flash"  # (kind, text) messages of the last action, shown once
ADMIN_SECRET = "pulse.admin.secret"  # (username, generated password): shown once, then dropped
ADMIN_RESET = "pulse.admin.reset"  # widget keys of a form to empty on the next run (after a success)
W_ADMIN_USER = "w.admin.user"  # the user being changed
W_NEW_USERNAME, W_NEW_NAME, W_NEW_EMAIL = "w.admin.new.username", "w.admin.new.name", "w.admin.new.email"
W_NEW_ROLE, W_NEW_TEAMS, W_NEW_PASSWORD = "w.admin.new.role", "w.admin.new.teams", "w.admin.new.password"
W_RESET_PASSWORD = "w.admin.reset_password"
W_AUDIT_RANGE, W_AUDIT_ACTOR = "w.audit.range", "w.audit.actor"
W_AUDIT_ACTION, W_AUDIT_OBJECT = "w.audit.action", "w.audit.object"

# the Alert rules view (pages/admin_rules.py and its pages/_rules_*.py helpers)
RULES_FLASH = "pulse.rules.flash"  # the message of the last change, shown once
RULES_OPEN = "pulse.rules.open"  # the rule to open in the editor on the next run (after a change)
RULES_LOADED = "pulse.rules.loaded"  # the rule whose text is in the editor: (source, group, name)
W_RULE_PICK, W_RULE_GROUP, W_RULE_YAML = "w.rules.pick", "w.rules.group", "w.rules.yaml"
W_RULE_PREFIX = "w.rules.form."  # + a form field: the fields that write the YAML
W_RULE_IMPORT, W_RULE_SOURCE = "w.rules.import", "w.rules.import_source"

# the Capacity page (pages/capacity.py and its pages/_capacity_*.py helpers)
W_CAP_HISTORY, W_CAP_HORIZON = "w.capacity.history", "w.capacity.horizon"
W_CAP_PREFIX = "w.capacity.scenario."  # + a Scenario field name: the what-if widgets
W_CAP_NAME, W_CAP_SAVE, W_CAP_LOAD = "w.capacity.name", "w.capacity.save", "w.capacity.load"
W_CAP_DELETE, W_CAP_PICK, W_CAP_COMPARE = "w.capacity.delete", "w.capacity.pick", "w.capacity.compare"
W_HEALTH_BANDS = "w.health.anomaly_bands"  # the Health page's anomaly bands toggle
W_PERF_BANDS = "w.performance.anomaly_bands"  # the Performance page's anomaly bands toggle
CAP_NOTICE = "pulse.capacity.notice"  # a message for the next run ("Saved scenario x.")

# Admin > Settings (pages/admin_settings.py); widget keys are this prefix + section + field
W_SETTINGS = "w.settings"
W_SETTINGS_IMPORT = "w.settings.import"
