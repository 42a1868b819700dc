"""Settings of running several daemons on one database: the node's name and the leader election."""

from __future__ import annotations

import socket

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ClusterSettings(BaseModel):
    """``[cluster]``: each ``pulse collect`` collects its own sources; one of them, the leader, also
    evaluates alerts, sends notifications and runs rollups, compaction and retention (see
    docs/operator-guide.md, "Scale out")."""

    model_config = ConfigDict(extra="forbid")

    node_name: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:@-]+$",
        description="This daemon's name in the health report and pg_stat_activity; unique per daemon"
        " (default: the host name)",
    )
    poll_s: float = Field(
        2.0,
        ge=0.2,
        le=60,
        description="How often a follower tries to become the leader and the leader checks it still is",
    )
    lost_after_s: int = Field(
        15,
        ge=3,
        le=600,
        description="PostgreSQL: a leader whose host or network died loses the lock after this many"
        " seconds (TCP keepalives and tcp_user_timeout of its lock connection); a leader that cannot"
        " confirm its lock within a third of it steps down first",
    )

    @model_validator(mode="after")
    def _poll_within_lease(self) -> ClusterSettings:
        if self.poll_s * 3 > self.lost_after_s:
            raise ValueError(
                f"poll_s ({self.poll_s:g}) must be at most a third of lost_after_s ({self.lost_after_s}),"
                " so a cut-off leader steps down before its lock is released to another daemon"
            )
        return self
