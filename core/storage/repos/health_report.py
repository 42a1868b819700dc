"""The daemons' last reports of their health, kept in the meta table for the dashboard.

Each daemon writes its own key (``daemon:<node>``): its collectors, whether it is the leader and
when it reported, so several daemons on one database do not overwrite each other. A report stays
after its daemon stops: the dashboard shows the last state (and its age) of a daemon that died.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

HEALTH_KEY = "collector_health"  # the single report of daemons before scale-out, still read
NODE_PREFIX = "daemon:"


class Meta(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def meta_items(self, prefix: str) -> dict[str, str]: ...


def write_report(
    meta: Meta,
    report: dict[str, dict[str, object]],
    node: str = "",
    leader: bool | None = None,
    at_ms: int | None = None,
    pid: int | None = None,
) -> None:
    """Save the daemon ``node``'s collector health and whether it leads (None: not known)."""
    entry = {"node": node, "leader": leader, "at_ms": at_ms, "pid": pid, "collectors": report}
    meta.set_meta(NODE_PREFIX + node, json.dumps(entry))


def read_daemons(meta: Meta) -> list[dict[str, Any]]:
    """Each daemon's last report (node, leader, at_ms, pid, collectors), by node name.

    Only the newest report that claims the lead counts as the leader: a leader killed without a
    word keeps ``leader: true`` in its last report until the daemon that took over reports.
    """
    found = []
    for text in meta.meta_items(NODE_PREFIX).values():
        try:
            entry = json.loads(text)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("collectors"), dict):
            found.append(entry)
    claims = [e for e in found if e.get("leader")]
    newest = max(claims, key=lambda e: e.get("at_ms") or 0) if claims else None
    for e in claims:
        e["leader"] = e is newest
    return sorted(found, key=lambda e: str(e.get("node")))


def read_report(meta: Meta) -> dict[str, dict[str, object]]:
    """Collector name -> state, last error, last success, last duration, interval ({} before the
    first). With several daemons, each collector is named ``<node>/<collector>`` and says its node."""
    daemons = read_daemons(meta)
    if not daemons:
        text = meta.get_meta(HEALTH_KEY)
        return json.loads(text) if text else {}
    if len(daemons) == 1:
        return dict(daemons[0]["collectors"])
    return {
        f"{d['node']}/{name}": {**h, "node": d["node"]}
        for d in daemons
        for name, h in d["collectors"].items()
    }
