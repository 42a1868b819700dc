"""A running ``pulse collect`` picks up a rule an admin creates in the UI, fires it to a real local
webhook receiver, and resolves it when the rule is disabled: no restart, within one evaluation
interval (the leader checks the UI rules' version, one row, at most that far apart)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from core.access.policy import Principal
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.seam import open_backend
from core.storage.repos.alert_states import load_states
from core.storage.repos.users import UserRepo
from tests.daemons import Daemon, sqlite_env, wait_for
from tests.receivers import Receiver

RULE = "alert: QueueDeep\nquery: queue_depth\nover: last\nwindow: 1m\nthreshold: 100\n"


def test_a_ui_rule_fires_and_resolves_without_a_restart(
    tmp_path: Path, receiver: Receiver, daemons: list[Daemon]
) -> None:
    alerting = {
        "default_rules": False,
        "evaluation_interval_s": 1,
        "channels": [{"type": "webhook", "name": "hook", "url": f"{receiver.url}/hook"}],
        "route": {"receivers": ["hook"], "group_wait": 0, "group_interval": 1, "repeat_interval": 3600},
    }
    env = sqlite_env(tmp_path, PULSE_COLLECTORS="[]", PULSE_ALERTING=json.dumps(alerting))
    daemon = Daemon(tmp_path, env)
    daemons.append(daemon)
    wait_for(lambda: "alerting: 0 rules in 0 groups" in daemon.stdout(), 30, "the daemon leading, no rules")

    backend = open_backend(load_settings(database_url=env["PULSE_DATABASE_URL"], alerting=alerting))
    try:
        users = UserRepo(backend.store.engine)
        users.add(username="root", password_hash="not-used", role="admin", now_ms=1)
        admin = backend.console(Principal.of(users.get("root")))  # type: ignore[arg-type]
        now = int(time.time() * 1000)
        backend.store.write(
            [Sample("queue_depth", labels_of(queue="jobs"), now - s * 1000, 500.0) for s in range(30)]
        )

        created = time.monotonic()
        admin.rules.create("queues", RULE)
        wait_for(
            lambda: any(b["status"] == "firing" for b in receiver.bodies()),
            20,
            "the UI rule's alert notified",
        )
        took = time.monotonic() - created
        firing = next(b for b in receiver.bodies() if b["status"] == "firing")
        assert firing["alerts"][0]["labels"] == {
            "alertname": "QueueDeep",
            "queue": "jobs",
            "severity": "warning",
        }
        states = load_states(backend.store.engine)
        assert [s.state for s in states["queues/QueueDeep"].values()] == ["firing"]
        assert daemon.proc.poll() is None and "alert rules reloaded" in daemon.stderr()

        rec = admin.rules.ui_rule("queues", "QueueDeep")
        assert rec is not None
        admin.rules.set_enabled("queues", "QueueDeep", rec.revision, False)
        wait_for(
            lambda: any(b["status"] == "resolved" for b in receiver.bodies()), 20, "the resolution notified"
        )
        assert daemon.proc.poll() is None
    finally:
        backend.store.close()
    print(f"UI rule created -> notified in {took:.2f} s")
