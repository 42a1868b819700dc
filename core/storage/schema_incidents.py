"""Tables of incidents (see core.incidents); registered on the shared metadata of schema.py.

An incident row holds its current state and derived fields (severity, priority, impact as JSON);
``incident_teams`` repeats its teams one per row so lists and MTTA/MTTR filter by team in SQL;
``incident_alerts`` is the membership (one row per alert fingerprint); ``incident_events`` is the
append-only timeline; ``incident_actions`` the action items of the post-incident report.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from core.storage.schema import metadata

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(40), nullable=False),
    Column("title", String(500), nullable=False),
    Column("state", String(16), nullable=False),  # triggered | acknowledged | resolved
    Column("severity", String(20), nullable=False),
    Column("priority", Float, nullable=False),
    Column("opened_ms", BigInteger, nullable=False),
    Column("acked_ms", BigInteger),
    Column("acked_by", String(200)),
    Column("resolved_ms", BigInteger),
    Column("resolved_by", String(200)),
    Column("assignee", String(200)),
    Column("labels", Text, nullable=False),  # JSON: labels all its alerts share
    Column("impact", Text, nullable=False),  # JSON: users, teams, servers, hosts
    Column("alert_count", Integer, nullable=False),
    Column("firing_count", Integer, nullable=False),
    Column("first_alert_ms", BigInteger, nullable=False),
    Column("last_alert_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),  # optimistic locking
    UniqueConstraint("key", name="uq_incidents_key"),
    Index("ix_incidents_state", "state", "opened_ms"),
    Index("ix_incidents_opened", "opened_ms"),
)

incident_teams = Table(
    "incident_teams",
    metadata,
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("team", String(200), primary_key=True),
    Index("ix_incident_teams_team", "team"),
)

incident_alerts = Table(
    "incident_alerts",
    metadata,
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("fingerprint", String(16), primary_key=True),
    Column("rule", String(300), nullable=False),
    Column("alertname", String(200), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("labels", Text, nullable=False),  # JSON
    Column("annotations", Text, nullable=False),  # JSON
    Column("state", String(10), nullable=False),  # firing | resolved
    Column("first_ms", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
    Column("resolved_ms", BigInteger),
    Column("value", Float),
    Index("ix_incident_alerts_fingerprint", "fingerprint"),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    # alert | notification | ack | note | resolve | assign | escalation | reopen
    Column("kind", String(20), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("data", Text, nullable=False),  # JSON
    Index("ix_incident_events_incident", "incident_id", "at_ms"),
)

incident_actions = Table(
    "incident_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("owner", String(200)),
    Column("done", Boolean, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("done_ms", BigInteger),
    Index("ix_incident_actions_incident", "incident_id"),
)
