"""`pulse collect` with alerting: a real Alertmanager delivers its alerts into a Pulse incident."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from core.incidents.service import IncidentService
from core.kernel.settings import load_settings
from core.runtime.daemon import run_daemon
from core.storage.tsdb import open_store
from tests.core.alerts.inbound_support import WebhookAlertmanager
from tests.promstack import ALERTMANAGER, cleanup, free_port, require_binary

TOKEN = "s3cret-token-for-the-inbound-test"


def test_alertmanager_alerts_flow_into_a_pulse_incident(tmp_path: Path) -> None:
    require_binary(ALERTMANAGER, "prometheus-alertmanager")
    port = free_port()
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db",
        data_dir=tmp_path / "data",
        collectors=[],
        alerting={"inbound": {"enabled": True, "port": port, "token": TOKEN}},
    )
    stop = threading.Event()
    daemon = threading.Thread(
        target=run_daemon, args=(settings, stop), kwargs={"metrics_port": 0}, daemon=True
    )
    daemon.start()
    root = tmp_path / "am"
    am = WebhookAlertmanager(root, f"http://127.0.0.1:{port}/api/alerts/inbound", TOKEN, receiver="platform")
    store = None
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the daemon's inbound server is up
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        am.start()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
        labels = {
            "alertname": "NodeFilesystemAlmostFull",
            "severity": "critical",
            "host": "db-1",
            "team": "data",
        }
        am.post_alerts(
            [{"labels": labels, "annotations": {"summary": "/var on db-1 at 97%"}, "startsAt": now}]
        )
        store = open_store(settings)
        incidents = IncidentService(store.engine)
        found = None
        while time.monotonic() < deadline + 20 and found is None:
            df = incidents.list()
            found = df if df.height else None
            time.sleep(0.2)
        assert found is not None, "no incident opened from the Alertmanager alert"
        detail = incidents.get(int(found["id"][0]))
        (alert,) = detail.alerts
        assert alert.name == "NodeFilesystemAlmostFull" and alert.labels["host"] == "db-1"
        assert detail.incident.severity == "critical" and detail.incident.teams == ("data",)
    finally:
        stop.set()
        daemon.join(20)
        am.stop()
        cleanup(root)
        if store is not None:
            store.close()
    assert not daemon.is_alive()
