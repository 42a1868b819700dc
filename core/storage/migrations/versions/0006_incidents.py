"""Incidents: correlated alerts, their teams, membership, timeline and action items.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def _incident_fk() -> sa.ForeignKey:
    return sa.ForeignKey("incidents.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("opened_ms", sa.BigInteger, nullable=False),
        sa.Column("acked_ms", sa.BigInteger),
        sa.Column("acked_by", sa.String(200)),
        sa.Column("resolved_ms", sa.BigInteger),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("assignee", sa.String(200)),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("impact", sa.Text, nullable=False),
        sa.Column("alert_count", sa.Integer, nullable=False),
        sa.Column("firing_count", sa.Integer, nullable=False),
        sa.Column("first_alert_ms", sa.BigInteger, nullable=False),
        sa.Column("last_alert_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("key", name="uq_incidents_key"),
    )
    op.create_index("ix_incidents_state", "incidents", ["state", "opened_ms"])
    op.create_index("ix_incidents_opened", "incidents", ["opened_ms"])
    op.create_table(
        "incident_teams",
        sa.Column("incident_id", sa.Integer, _incident_fk(), primary_key=True),
        sa.Column("team", sa.String(200), primary_key=True),
    )
    op.create_index("ix_incident_teams_team", "incident_teams", ["team"])
    op.create_table(
        "incident_alerts",
        sa.Column("incident_id", sa.Integer, _incident_fk(), primary_key=True),
        sa.Column("fingerprint", sa.String(16), primary_key=True),
        sa.Column("rule", sa.String(300), nullable=False),
        sa.Column("alertname", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("first_ms", sa.BigInteger, nullable=False),
        sa.Column("last_ms", sa.BigInteger, nullable=False),
        sa.Column("resolved_ms", sa.BigInteger),
        sa.Column("value", sa.Float),
    )
    op.create_index("ix_incident_alerts_fingerprint", "incident_alerts", ["fingerprint"])
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, _incident_fk(), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_incident_events_incident", "incident_events", ["incident_id", "at_ms"])
    op.create_table(
        "incident_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, _incident_fk(), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("done_ms", sa.BigInteger),
    )
    op.create_index("ix_incident_actions_incident", "incident_actions", ["incident_id"])


def downgrade() -> None:
    op.drop_table("incident_actions")
    op.drop_table("incident_events")
    op.drop_table("incident_alerts")
    op.drop_table("incident_teams")
    op.drop_table("incidents")
