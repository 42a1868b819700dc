"""A running `pulse collect` applies settings changed in the database without a restart, seen
from outside: the host collector's new interval in the daemon's /metrics, a data source added
(its endpoint starts being scraped) and switched off (it stops), and a channel added to the route
(a real local receiver gets the firing alert)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.admin.audit import Actor
from core.admin.settings import SettingsService
from core.kernel.settings import load_settings
from core.storage.repos.settings import SettingsRepo
from tests.daemons import Daemon, open_at, wait_for
from tests.receivers import Receiver

RULES = """groups:
  - name: always
    interval: 1s
    rules:
      - alert: HostSeen
        expr: count(host_up) > 0
        labels: {severity: info}
"""


class Endpoint:
    """A real /metrics endpoint that counts the scrapes it answers."""

    def __init__(self) -> None:
        self.hits = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                endpoint.hits += 1
                body = b"edge_up 1\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.server.shutdown()
    e.server.server_close()


def host_runs(d: Daemon) -> float:
    return d.value("pulse_collector_duration_seconds_count", collector="host") or 0.0


def test_a_change_in_the_database_reaches_the_running_daemon(
    tmp_path: Path,
    daemons: list[Daemon],
    endpoint: Endpoint,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    config = tmp_path / "pulse.toml"
    config.write_text(
        f"""database_url = "sqlite:///{tmp_path}/pulse.db"
data_dir = "{tmp_path}/data"
collectors = ["host"]
[host]
interval_s = 300
[scheduler]
settings_poll_s = 1
[alerting]
default_rules = false
notify_interval_s = 0.5
prometheus_rule_files = [{{ path = "{tmp_path}/rules.yml" }}]
"""
    )
    d = Daemon(tmp_path, {"PULSE_CONFIG": str(config)})
    daemons.append(d)
    monkeypatch.setenv("PULSE_CONFIG", str(config))  # the service's base: the daemon's own file
    base = load_settings()
    store = open_at(base.url)
    service = SettingsService(base, SettingsRepo(store.engine), store.now_ms)
    admin = Actor("root")
    try:
        wait_for(lambda: host_runs(d) >= 1, what="the host collector's first run")
        time.sleep(2)
        assert host_runs(d) == 1  # every 300 s: no second run yet

        service.update("host", {"interval_s": 1}, admin)
        wait_for(lambda: host_runs(d) >= 4, timeout=15, what="the host collector every second")

        source = {"kind": "scrape", "name": "edge", "url": endpoint.url, "interval_s": 1}
        service.update("sources", [source], admin)
        wait_for(lambda: endpoint.hits >= 2, timeout=15, what="the new source scraped")
        wait_for(lambda: d.value("pulse_collector_up", collector="edge") == 1, what="edge up in /metrics")

        service.update("sources", [{**source, "enabled": False}], admin)
        time.sleep(3)  # the poll (1 s) and a scrape that had started
        stopped_at = endpoint.hits
        time.sleep(3)
        assert endpoint.hits == stopped_at, "the source switched off is still scraped"

        hook = {"name": "hook", "type": "webhook", "url": f"{receiver.url}/hook"}
        route = {"receivers": ["hook"], "group_wait": "0s", "group_interval": "1s"}
        service.update("alerting", {"channels": [hook], "route": route}, admin)
        wait_for(lambda: bool(receiver.bodies("/hook")), timeout=20, what="a notification at the new channel")
        [first, *_] = receiver.bodies("/hook")
        assert first["receiver"] == "hook" and first["alerts"][0]["labels"]["alertname"] == "HostSeen"
    finally:
        store.close()
        d.proc.terminate()
    assert d.wait(30) == 0
    log = d.stderr()
    for line in (
        "settings revision 1: host changed: interval_s: 300 -> 1",
        "settings revision 1: collector 'host' restarted, every 1s",
        "settings revision 2: collector 'edge' started, every 1s",
        "settings revision 3: collector 'edge' stopped",
        "settings revision 4: alerting reloaded",
    ):
        assert line in log, f"{line!r} not logged:\n{log}"
