"""The alert service over time (fake clock): restarts send nothing twice; notifications leave in time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.kernel.records.alerts import fingerprint
from core.kernel.samples import Sample, labels_of
from core.runtime.alerting import AlertService
from core.storage.repos.notifications import read_deliveries
from core.storage.tsdb import Store
from tests.conftest import FakeClock
from tests.promstack import Alertmanager
from tests.receivers import Receiver, alertmanager  # noqa: F401

RULES = """groups:
  - name: q
    interval: 30s
    rules:
      - alert: QueueStuck
        query: queue_depth
        over: last
        window: 5m
        threshold: 100
        for: 1m
"""


def setup(make_store: Callable[..., Store], receiver: Receiver, tmp_path: Path) -> Store:
    (tmp_path / "rules.yml").write_text(RULES)
    alerting = {
        "default_rules": False,
        "rule_files": [str(tmp_path / "rules.yml")],
        "channels": [{"type": "webhook", "name": "hook", "url": f"{receiver.url}/hook"}],
        "route": {
            "receivers": ["hook"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "1h",
        },
        "retry": {"attempts": 1},
    }
    return make_store(alerting=alerting)


def step(service: AlertService, store: Store, clock: FakeClock, seconds: int, depth: float = 500.0) -> None:
    """Run the daemon's jobs for ``seconds``: a sample every 15 s, rules every 30 s, notify every 5 s."""
    for _ in range(seconds // 5):
        now = clock.ms
        if now % 15_000 == 0:
            store.write([Sample("queue_depth", labels_of(queue="builds"), now - 1, depth)])
        if now % 30_000 == 0:
            service.evaluate("q")
        service.tick()
        clock.advance(5)


def test_a_notification_leaves_within_interval_plus_for_plus_group_wait(
    make_store: Callable[..., Store], clock: FakeClock, receiver: Receiver, tmp_path: Path
) -> None:
    store = setup(make_store, receiver, tmp_path)
    service = AlertService(store.settings, store, clock)
    step(service, store, clock, 60, depth=10)
    condition_from = clock.ms  # the queue gets stuck now
    step(service, store, clock, 300)
    assert [b["status"] for b in receiver.bodies("/hook")] == ["firing"]
    at = read_deliveries(store.engine, 0, 2**62)["at_ms"][0]
    bound = 30_000 + 60_000 + 30_000 + 5_000  # evaluation interval + for + group_wait + notify tick
    assert at - condition_from <= bound, (at - condition_from) / 1000
    service.close()


def test_a_restart_sends_nothing_twice_and_repeats_on_schedule(
    make_store: Callable[..., Store], clock: FakeClock, receiver: Receiver, tmp_path: Path
) -> None:
    store = setup(make_store, receiver, tmp_path)
    first = AlertService(store.settings, store, clock)
    step(first, store, clock, 300)
    assert len(receiver.requests) == 1
    first.close()
    second = AlertService(store.settings, store, clock)  # pulse collect restarted
    step(second, store, clock, 1800)
    assert len(receiver.requests) == 1, [b["status"] for b in receiver.bodies()]
    step(second, store, clock, 2400)  # past repeat_interval (1 h), at the next group_interval flush
    assert [b["status"] for b in receiver.bodies()] == ["firing", "firing"]
    second.close()


def test_pulse_collect_starts_with_a_prometheus_rule_file_it_cannot_fully_render(
    make_store: Callable[..., Store], clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A community rule file with a template Pulse cannot render: the daemon starts, the rule
    loads, the problem is logged once, and the group runs at the global evaluation interval."""
    path = tmp_path / "community.yml"
    path.write_text(
        "groups:\n  - name: node\n    rules:\n      - alert: NodeDown\n        expr: up == 0\n"
        "        labels: {severity: critical}\n"
        "        annotations:\n"
        "          summary: '{{ $labels.instance }} down ({{ $value | printf \"%.1f\" }})'\n"
        "          odd: '{{ $value | tmpl }}'\n"
    )
    alerting = {
        "default_rules": False,
        "prometheus_rule_files": [{"path": str(path), "source": "prom"}],
        "evaluation_interval_s": "2m",
    }
    store = make_store(alerting=alerting)
    with caplog.at_level(logging.WARNING, "core.runtime.alerting"):
        service = AlertService(store.settings, store, clock)
    assert service.engine_rules == 1 and service.groups == {"node": 120}
    logged = [r.getMessage() for r in caplog.records if "NodeDown" in r.getMessage()]
    assert len(logged) == 1 and 'function "tmpl" not defined' in logged[0]
    service.close()


def test_alerts_reach_a_real_alertmanager_linked_to_the_alerts_page(
    make_store: Callable[..., Store],
    alertmanager: Alertmanager,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Issue 15 item 19: every alert Pulse sends to Alertmanager carries a ``generatorURL``, the
    Alerts page of ``alerting.external_url`` opened at that alert (``?alert=<fingerprint>``)."""
    clock = FakeClock((int(time.time()) // 30) * 30 - 600)  # the rule fires 5 min before now
    (tmp_path / "rules.yml").write_text(RULES)
    alerting = {
        "default_rules": False,
        "rule_files": [str(tmp_path / "rules.yml")],
        "external_url": "https://pulse.example.com/",
        "channels": [
            {"type": "alertmanager", "name": "am", "url": alertmanager.url, "resend_interval_s": 600}
        ],
        "route": {"receivers": ["am"], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "1h"},
        "retry": {"attempts": 1},
    }
    store = make_store(clock=clock, alerting=alerting)
    service = AlertService(store.settings, store, clock)
    step(service, store, clock, 300)
    service.close()
    (got,) = alertmanager.alerts()
    labels = got["labels"]
    assert labels["alertname"] == "QueueStuck" and labels["queue"] == "builds"
    assert got["generatorURL"] == f"https://pulse.example.com/alerts?alert={fingerprint(labels)}"
