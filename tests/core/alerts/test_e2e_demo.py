"""End to end on the demo's scripted host-down incident: data -> rules -> alerts -> notifications.

The demo platform writes its history around the incident; the alert service (default rule pack,
default inhibitions) is stepped through that time with a fake clock, as the daemon's jobs would
run it, and delivers to a real webhook receiver on loopback and a real Alertmanager.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from aiosmtpd.controller import Controller

from collectors.demo import DemoCollector
from collectors.demo.incidents import incident_windows
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import DemoSettings
from core.runtime.alerting import AlertService
from core.storage.repos.alert_states import read_transitions
from core.storage.repos.notifications import read_deliveries
from core.storage.tsdb import Store
from tests.conftest import FakeClock
from tests.core.alerts.test_channels_email import Mailbox
from tests.promstack import Alertmanager, free_port
from tests.receivers import Receiver

MIN = 60_000


@dataclass
class SmtpSink:
    port: int
    box: Mailbox

    @property
    def messages(self) -> list:  # type: ignore[type-arg]
        return self.box.messages


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpSink(port, box)
    controller.stop()


DEMO = DemoSettings(seed=42, hosts=6, teams=4, servers_per_host=6)


def host_down_window(now_ms: int) -> tuple[int, int]:
    for inc, start, end in incident_windows(now_ms - 14 * 86_400_000, now_ms, seed=DEMO.seed):
        if inc.kind == "host_down":
            return start, end
    raise AssertionError("the demo has no host_down incident in two weeks")


def test_host_down_becomes_one_notification_per_receiver_and_its_resolution(
    make_store: Callable[..., Store], clock: FakeClock, receiver: Receiver
) -> None:
    start, end = host_down_window(clock.ms)
    begin, finish = start - 30 * MIN, end + 25 * MIN
    clock.now = finish / 1000
    alerting = {
        "channels": [
            {"type": "webhook", "name": "hook", "url": f"{receiver.url}/hook"},
        ],
        "route": {
            "receivers": ["hook"],
            "group_by": ["alertname"],
            "group_wait": "30s",
            "group_interval": "2m",
        },
        "retry": {"attempts": 1},
    }
    store = make_store(alerting=alerting, demo=DEMO.model_dump())
    demo = DemoCollector(DEMO, clock=clock)
    for batch in demo.backfill(begin - 10 * MIN, finish, 30_000):
        store.write(batch)
    store.run_rollups()
    service = AlertService(store.settings, store, clock)
    receiver.stop()  # the webhook receiver is down when the first notification leaves
    clock.now = begin / 1000
    t = begin
    while t <= finish:
        clock.now = t / 1000
        if t % 30_000 == 0:
            for group in ("hosts", "mcp-servers"):
                assert service.evaluate(group).errors == {}
        service.tick()
        if t == start + 10 * MIN:
            receiver.start()  # back: the waiting notification is delivered from the outbox, once
        t += 15_000

    hook = [b for b in receiver.bodies("/hook")]
    host_down = [b for b in hook if b["groupLabels"] == {"alertname": "HostDown"}]
    assert [b["status"] for b in host_down] == ["firing", "resolved"], [b["status"] for b in hook]
    (firing_alert,) = host_down[0]["alerts"]
    assert (
        firing_alert["labels"]["alertname"] == "HostDown" and firing_alert["labels"]["severity"] == "critical"
    )
    assert firing_alert["labels"]["host"] == "host-05"  # the host the demo script takes down
    # its MCP servers went down with it, but the host-down inhibition kept them quiet
    assert not [b for b in hook if b["groupLabels"].get("alertname") == "McpServerDown"]
    transitions = read_transitions(store.engine, begin, finish + 1)
    server_firing = transitions.filter(
        (transitions["to_state"] == "firing")
        & transitions["rule"].str.starts_with("mcp-servers/McpServerDown")
    )
    assert server_firing.height >= 1  # they did fire: muted, not missing
    deliveries = read_deliveries(store.engine, begin, finish + 1)
    hook_tries = deliveries.filter(deliveries["channel"] == "hook")
    assert hook_tries["outcome"].to_list()[:1] == ["failed"] and hook_tries["ok"].sum() == len(hook)

    # one incident: the host and its servers, correlated; resolved when they all came back. The
    # demo's under-provisioned servers (topology "under") hit their memory limits meanwhile: their
    # own incidents, nothing to do with the host
    incidents = service.incidents.list(since_ms=begin)
    under = {s.name for s in demo.topology.servers if s.profile == "under"}
    host = incidents.filter(~pl.col("title").str.contains("memory limit"))
    others = set(incidents.filter(pl.col("title").str.contains("memory limit"))["title"])
    assert host.height == 1, incidents["title"].to_list()
    assert all(t.split(" ")[0] in under for t in others), others
    detail = service.incidents.get(int(host["id"][0]))
    names = sorted({a.name for a in detail.alerts})
    assert names == ["HostDown", "McpServerDown"] and len(detail.alerts) == 1 + DEMO.servers_per_host
    assert detail.incident.state == "resolved" and detail.incident.severity == "critical"
    kinds = [e.kind for e in detail.events]
    assert kinds[0] == "alert" and kinds.count("notification") >= 2 and kinds[-1] == "resolve"
    service.close()


def test_live_alerts_reach_a_real_alertmanager_and_an_smtp_server(
    make_store: Callable[..., Store], alertmanager: Alertmanager, smtp: SmtpSink, tmp_path: Path
) -> None:
    """In real time (Alertmanager judges endsAt by its own clock): a rule fires, both receive it."""
    alerting = {
        "default_rules": False,
        "rule_files": [],
        "channels": [
            {"type": "alertmanager", "name": "am", "url": alertmanager.url},
            {
                "type": "email",
                "name": "mail",
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "none",
                "sender": "pulse@example.com",
                "to": ["oncall@example.com"],
            },
        ],
        "route": {"receivers": ["am", "mail"], "group_wait": "1s", "group_interval": "1m"},
        "retry": {"attempts": 1},
    }
    store = make_store(clock=time.time, alerting=alerting, data_dir=tmp_path)  # never the repository's data/
    rules = store.settings.data_dir / "rules.yml"
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(
        "groups:\n  - name: live\n    interval: 1s\n    rules:\n"
        "      - alert: QueueStuck\n        query: queue_depth\n        over: last\n        window: 1m\n"
        "        threshold: 100\n        severity: critical\n"
        "        annotations: {summary: 'queue {{ $labels.queue }} at {{ $value }}'}\n"
    )
    settings = store.settings.model_copy(
        update={"alerting": store.settings.alerting.model_copy(update={"rule_files": [rules]})}
    )
    now = int(time.time() * 1000)
    store.write([Sample("queue_depth", labels_of(queue="builds"), now - 1000, 250.0)])
    service = AlertService(settings, store)
    service.evaluate("live")  # fires (for: 0) and places the alert in its group at once
    time.sleep(1.1)  # group_wait
    result = service.tick()
    assert [n.receiver for n in result.notifications] == ["am", "mail"]
    found = am_alerts(alertmanager)
    fp = result.notifications[0].alerts[0].fingerprint
    assert ("QueueStuck", None, fp) in found
    (mail,) = smtp.messages
    assert (
        mail["Subject"].startswith("[FIRING:1] QueueStuck")
        and "queue builds at 250" in mail.get_body().get_content()
    )  # type: ignore[union-attr]
    service.close()


def am_alerts(am: Alertmanager) -> set[tuple[str, str | None, str]]:
    with urllib.request.urlopen(f"{am.url}/api/v2/alerts?active=true", timeout=5) as resp:
        return {
            (a["labels"]["alertname"], a["labels"].get("host"), a["fingerprint"]) for a in json.load(resp)
        }
