"""Escalation of an incident through the alert service: steps go out until someone acknowledges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.kernel.samples import Sample, labels_of
from core.runtime.alerting import AlertService
from core.storage.tsdb import Store
from tests.conftest import FakeClock
from tests.receivers import Receiver

RULES = """groups:
  - name: q
    interval: 30s
    rules:
      - alert: QueueStuck
        query: queue_depth
        over: last
        window: 5m
        threshold: 100
        severity: critical
        labels: {team: core}
"""


def test_steps_until_acknowledged_each_on_the_incident_timeline(
    make_store: Callable[..., Store], clock: FakeClock, receiver: Receiver, tmp_path: Path
) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    alerting = {
        "default_rules": False,
        "rule_files": [str(tmp_path / "rules.yml")],
        "channels": [
            {"type": "webhook", "name": "chat", "url": f"{receiver.url}/chat"},
            {"type": "webhook", "name": "pager", "url": f"{receiver.url}/pager"},
        ],
        "route": {"receivers": ["chat"], "group_wait": "0s", "escalation": "core"},
        "escalations": [
            {
                "name": "core",
                "steps": [{"channels": ["chat"], "wait": "5m"}, {"channels": ["pager"], "wait": "5m"}],
                "repeat": 3,
            }
        ],
        "retry": {"attempts": 1},
    }
    store = make_store(alerting=alerting)
    service = AlertService(store.settings, store, clock)
    for minute in range(30):
        store.write([Sample("queue_depth", labels_of(queue="builds", team="core"), clock.ms - 1000, 500.0)])
        service.evaluate("q")
        service.tick()
        if minute == 12:
            (incident_id,) = service.incidents.list()["id"].to_list()
            service.incidents.acknowledge(incident_id, "ana")
        clock.advance(60)
    paths = [r.path for r in receiver.requests]
    # the route's notification, step 1 (chat), step 2 at 5 min (pager), round 2 at 10 min (chat);
    # acknowledged at 12 min: round 2's pager step (due at 15) and rounds 3-4 never go out
    assert paths == ["/chat", "/chat", "/pager", "/chat"], paths
    steps = [b.get("groupKey") for b in receiver.bodies()]
    assert steps[1:] == [f"incident:{incident_id}"] * 3
    timeline = [(e.kind, e.text) for e in service.incidents.get(incident_id).events]
    escalations = [t for k, t in timeline if k == "escalation"]
    assert escalations == [
        "escalation step 1 (round 1): chat",
        "escalation step 2 (round 1): pager",
        "escalation step 1 (round 2): chat",
    ]
    assert ("ack", "") in [(k, "") for k, _ in timeline]
    service.close()
