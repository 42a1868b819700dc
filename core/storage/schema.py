"""Tables of the metrics store (SQLAlchemy Core). Alembic migrations create and upgrade them.

Timestamps are Unix milliseconds (BIGINT). Each written batch lands as one row of ``head``
(columnar arrays of series ids, timestamps and values: the write-ahead "head block" of
Prometheus' TSDB); compaction moves samples older than the out-of-order window into compressed
per-series ``chunks``.
Rollups keep min, max, sum, count, last, the first sample and the last sample's time per series
and bucket.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(32), nullable=False, unique=True),
    Column("metric", String(200), nullable=False, index=True),
    Column("labels", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("interval_ms", Integer, nullable=True),  # typical sample interval, once measured (tiers.py)
    # a stale marker was written for it once (rollups leave markers out: PromQL reads raw then)
    Column("stale_seen", Boolean, nullable=False, server_default=false()),
)

head = Table(
    "head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("min_ts", BigInteger, nullable=False, index=True),
    Column("max_ts", BigInteger, nullable=False, index=True),
    Column("n", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    sqlite_autoincrement=True,  # ids never reused: readers cache decoded blocks by id (0017)
)

chunks = Table(
    "chunks",
    metadata,
    Column("series_id", Integer, primary_key=True),
    Column("start_ts", BigInteger, primary_key=True),
    Column("end_ts", BigInteger, nullable=False),
    Column("n", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_chunks_series_end", "series_id", "end_ts"),  # ranges find their chunks by end (0016)
    sqlite_with_rowid=False,
)


def _rollup(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("series_id", Integer, primary_key=True),
        Column("ts", BigInteger, primary_key=True),
        # NULL is NaN (SQLite has no NaN; migration 0018, read.rollup_rows)
        Column("min", Float, nullable=True),
        Column("max", Float, nullable=True),
        Column("sum", Float, nullable=True),
        Column("count", Integer, nullable=False),
        Column("last", Float, nullable=True),
        # the bucket's first sample; NULL: not known (rows written before migration 0019)
        Column("first", Float, nullable=True),
        Column("first_ts", Float, nullable=True),
        Column("last_ts", Float, nullable=True),
        sqlite_with_rowid=False,
    )


rollup_1m = _rollup("rollup_1m")
rollup_1h = _rollup("rollup_1h")
ROLLUPS = {60_000: rollup_1m, 3_600_000: rollup_1h}

rollup_chunks = Table(
    "rollup_chunks",
    metadata,
    Column("resolution", BigInteger, primary_key=True),
    Column("series_id", Integer, primary_key=True),
    Column("start_ts", BigInteger, primary_key=True),
    Column("end_ts", BigInteger, nullable=False),
    Column("n", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_rollup_chunks_series_end", "resolution", "series_id", "end_ts"),
    sqlite_with_rowid=False,
)

rollup_dirty = Table(
    "rollup_dirty",
    metadata,
    Column("resolution", BigInteger, primary_key=True),
    Column("bucket", BigInteger, primary_key=True),
    sqlite_with_rowid=False,
)

ingest_rejects = Table(
    "ingest_rejects",
    metadata,
    Column("reason", String(40), primary_key=True),
    Column("metric", String(200), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# -- users and their teams (sign-in, roles, team scoping; see core.access.policy) -----------------------------
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("password_hash", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until_ms", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

user_teams = Table(
    "user_teams",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("team", String(200), primary_key=True),
)

# -- sessions and sign-in attempts (see core.access.sessions, core.access.throttle) ------------------------
sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the cookie's token
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("client", String(200), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=False),
    Column("renewed_ms", BigInteger, nullable=False),
    Index("ix_sessions_user", "user_id"),
    sqlite_autoincrement=True,  # ids never reused: a browser holds its session's id (migration 0012)
)

sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("username", String(64), nullable=False),  # as typed (normalised), known or not
    Column("known", Boolean, nullable=False),  # whether such a user existed
    Column("client", String(200), nullable=False),
    Column("outcome", String(10), nullable=False),  # ok | wrong | throttled
    Index("ix_sign_in_attempts_user", "username", "at_ms"),
    Index("ix_sign_in_attempts_client", "client", "at_ms"),
    Index("ix_sign_in_attempts_at", "at_ms"),
)

# -- alerting: rule state and its history (see core.alerts) ------------------------------------------
alert_states = Table(
    "alert_states",
    metadata,
    Column("rule", String(300), primary_key=True),  # "<group>/<alert>"
    Column("fingerprint", String(16), primary_key=True),
    Column("labels", Text, nullable=False),  # JSON
    Column("annotations", Text, nullable=False),  # JSON
    Column("state", String(10), nullable=False),  # pending | firing | resolved
    Column("active_at_ms", BigInteger, nullable=False),
    Column("fired_at_ms", BigInteger),
    Column("resolved_at_ms", BigInteger),
    Column("last_active_ms", BigInteger, nullable=False),
    Column("value", Float),
)

alert_transitions = Table(
    "alert_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(300), nullable=False),
    Column("fingerprint", String(16), nullable=False),
    Column("labels", Text, nullable=False),
    Column("from_state", String(10), nullable=False),  # inactive | pending | firing | resolved
    Column("to_state", String(10), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("value", Float),
    Index("ix_alert_transitions_at", "at_ms"),
    Index("ix_alert_transitions_rule", "rule", "at_ms"),
)

# -- notifications: what each receiver was told, silences, deliveries, retries, escalations ----------
notification_log = Table(
    "notification_log",
    metadata,
    Column("receiver", String(100), primary_key=True),
    Column("group_key", String(1000), primary_key=True),
    Column("firing", Text, nullable=False),  # JSON list of fingerprints
    Column("resolved", Text, nullable=False),
    Column("sent_ms", BigInteger, nullable=False),
)

silences = Table(
    "silences",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("matchers", Text, nullable=False),  # JSON list of 'label op "value"'
    Column("starts_ms", BigInteger, nullable=False),
    Column("ends_ms", BigInteger, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(100), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("action", String(20), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("group_key", String(1000), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("error", Text, nullable=False),
    Column("alerts", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_deliveries_at", "at_ms"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("group_key", String(1000), primary_key=True),
    Column("kind", String(10), primary_key=True),  # notify | ack
    Column("next_at_ms", BigInteger, nullable=False),
    Column("entry", Text, nullable=False),  # JSON of OutboxEntry.to_dict()
)

escalations = Table(
    "escalations",
    metadata,
    Column("incident_id", Integer, primary_key=True),
    Column("policy", String(100), nullable=False),
    Column("step", Integer, nullable=False),
    Column("round", Integer, nullable=False),
    Column("next_ms", BigInteger, nullable=False),
    Column("done", Boolean, nullable=False),
)

# the incident, recommendation, audit, job-request and scenario tables are declared in their own modules
from core.storage import (  # noqa: E402,F401
    schema_audit,
    schema_incidents,
    schema_jobs,
    schema_rules,
    schema_scenarios,
    schema_settings,
)
from core.storage import schema_recommendations as _recommendations  # noqa: E402,F401
