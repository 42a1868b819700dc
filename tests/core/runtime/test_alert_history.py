"""The demo week's alerts on first start: the scripted incidents become alerts, incidents and
historical notifications at their own times, and nothing reaches a configured channel."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from collectors.demo.incidents import incident_windows
from core.incidents.service import IncidentService
from core.runtime.alert_history import HISTORY_ACTOR, HISTORY_OUTCOME
from core.runtime.alerting import AlertService
from core.runtime.backfill import DEMO_ACK_AFTER_S, backfill_demo, backfill_demo_alerts
from core.storage.repos.alert_states import read_transitions
from core.storage.repos.notifications import read_deliveries
from core.storage.tsdb import Store
from tests.conftest import FakeClock
from tests.receivers import Receiver

MIN, DAY = 60_000, 86_400_000
DEMO = {"seed": 42, "hosts": 6, "teams": 4, "servers_per_host": 3}
# scripted incident -> the rule that must catch it
CAUGHT_BY = {
    "host_down": "HostDown",
    "memory_leak": "McpServerMemoryNearLimit",
    "error_spike": "McpToolErrorRateHigh",
    "disk_filling": "HostDiskFullWithin24h",
    "latency_regression": "McpToolLatencyJump",
}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_demo_week_becomes_alerts_incidents_and_unsent_notifications(
    make_store: Callable[..., Store], clock: FakeClock, receiver: Receiver
) -> None:
    alerting = {
        "channels": [{"type": "webhook", "name": "hook", "url": f"{receiver.url}/hook"}],
        "route": {"receivers": ["hook"]},
    }
    store = make_store(alerting=alerting, demo=DEMO)
    backfill_demo(store, store.settings, days=7, progress=False, clock=clock)
    report = backfill_demo_alerts(store, store.settings, days=7, progress=False)
    assert report is not None
    end = int(store.get_meta("demo_backfilled_until_ms") or 0)
    start = end - 7 * DAY

    moves = read_transitions(store.engine, start, end + 1)
    fired = moves.filter(pl.col("to_state") == "firing")
    windows = incident_windows(start, end, seed=DEMO["seed"])
    for inc, begin, finish in windows:
        if begin < start + DAY or finish > end:
            continue  # cut by the history's edges (the latency rule compares with a day before)
        rule = CAUGHT_BY[inc.kind]
        hits = fired.filter(
            pl.col("rule").str.ends_with("/" + rule) & pl.col("at_ms").is_between(begin, finish + 30 * MIN)
        )
        assert hits.height >= 1, f"{inc.name}: no {rule} between {begin} and {finish}"
    # the latency rule fires on the regression only, not on the other days' noise
    bad = [(b, f) for inc, b, f in windows if inc.kind == "latency_regression"]
    jumps = fired.filter(pl.col("rule").str.ends_with("/McpToolLatencyJump"))
    assert jumps.height >= 1, jumps
    assert all(any(b < at <= f for b, f in bad) for at in jumps["at_ms"]), (jumps, bad)

    # host down: fired a few minutes into the outage, resolved after it
    (host_down, down_from, down_to) = next(w for w in windows if w[0].kind == "host_down")
    hd = moves.filter(pl.col("rule") == "hosts/HostDown")
    (fired_at,) = hd.filter(pl.col("to_state") == "firing")["at_ms"].to_list()
    (resolved_at,) = hd.filter(pl.col("to_state") == "resolved")["at_ms"].to_list()
    assert down_from < fired_at <= down_from + 5 * MIN and down_to <= resolved_at <= down_to + 5 * MIN

    # incidents with the historical times, resolved by their alerts, acknowledged by the simulation
    incidents = IncidentService(store.engine, clock=clock).list(since_ms=start, limit=1000)
    assert incidents.height >= 4 and incidents.height == len(report.incidents)
    row = incidents.filter(pl.col("title").str.contains("down")).row(0, named=True)
    assert abs(row["opened_ms"] - fired_at) <= MIN and row["resolved_ms"] >= resolved_at - MIN
    assert row["acked_ms"] == row["opened_ms"] + DEMO_ACK_AFTER_S * 1000
    detail = IncidentService(store.engine, clock=clock).get(int(row["id"]))
    assert detail.incident.acked_by == HISTORY_ACTOR
    assert detail.incident.state == "resolved"

    # notifications: recorded as historical for the configured receiver, never sent
    deliveries = read_deliveries(store.engine, start, end + 1)
    assert deliveries.height == len(report.notifications) >= 5
    assert set(deliveries["outcome"]) == {HISTORY_OUTCOME} and set(deliveries["channel"]) == {"hook"}
    groups = set(deliveries["group_key"])
    assert not [g for g in groups if "McpServerDown" in g]  # muted by HostDown, as live
    assert receiver.bodies() == []

    # the daemon continues from the final states and sends nothing of the history either
    clock.now = end / 1000 + 60
    service = AlertService(store.settings, store, clock)
    for _ in range(4):
        service.tick()
        clock.advance(60)
    service.close()
    assert receiver.bodies() == []
    # a second run records nothing twice
    assert backfill_demo_alerts(store, store.settings, days=7, progress=False) is None
    assert read_deliveries(store.engine, start, end + 1).height == deliveries.height
