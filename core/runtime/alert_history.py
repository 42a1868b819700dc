"""Alerts over backfilled history: the rules evaluated over the range, then notifications and incidents.

``backfill_alerts`` evaluates the rule files over [start, end] at once
(:class:`core.alerts.range_eval.RangeEvaluator`), and at each evaluation step where an alert
changed or is held it feeds the alerts, with the step's historical time, to the same incident
service and notification stage (grouping, inhibition: HostDown mutes its servers) the daemon
uses. Nothing is sent: a notification the stage flushes is recorded as a delivery with outcome
``historical`` (and on its incidents' timelines), never handed to a channel; when no receiver is
configured the history's notifications are recorded for :data:`HISTORY_RECEIVER`, so the log
shows what the grouping would have sent. Escalation does not run over history.

Acknowledgement: history has no on-call person. With ``ack_after_s`` (the demo passes its
simulated on-call's reaction time) an incident still open that long after it opened is
acknowledged by :data:`HISTORY_ACTOR` at that historical time, so MTTA has data; without it none
is acknowledged and MTTA stays empty. Incidents resolve when their alerts do (``auto_resolve``).
The final alert states and every transition are saved, so the daemon continues from them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from core.alerts.channels.base import action_of
from core.alerts.inhibit import InhibitRule
from core.alerts.loader import load_rules
from core.alerts.pipeline import AlertPipeline, to_alert
from core.alerts.range_eval import RangeEvaluator, RangeResult, States
from core.alerts.routing import all_routes, build_route
from core.alerts.rules import rule_metrics
from core.incidents.service import IncidentService
from core.incidents.topology import Topology
from core.kernel.errors import IncidentError
from core.kernel.records.alerts import Notification, Transition
from core.kernel.records.notifications import Delivery
from core.kernel.settings import Settings
from core.storage.repos.alert_states import save_states
from core.storage.repos.notifications import DbNotificationLog, record_delivery
from core.storage.tsdb import Store

log = logging.getLogger(__name__)
HISTORY_OUTCOME = "historical"  # a delivery that was never attempted: the notification of backfilled history
HISTORY_RECEIVER = "history"
HISTORY_ACTOR = "demo on-call (simulated)"
INGEST_EVERY_MS = 15 * 60_000  # incidents hear "nothing changed" this often over history (30 s live)


@dataclass
class HistoryReport:
    result: RangeResult
    notifications: list[Notification] = field(default_factory=list)
    incidents: set[int] = field(default_factory=set)
    acknowledged: int = 0

    @property
    def fired(self) -> int:
        return sum(1 for t in self.result.transitions if t.to_state == "firing")


class _HistoryClock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms / 1000


def backfill_alerts(
    store: Store,
    settings: Settings,
    start_ms: int,
    end_ms: int,
    ack_after_s: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> HistoryReport:
    """Evaluate the rules over [start, end] and record their alerts, incidents and notifications."""
    a = settings.alerting
    rules = load_rules(settings)
    clock = _HistoryClock(start_ms)
    route = build_route(a.route)
    if not any(r.receivers for r in all_routes(route)):
        route = replace(route, receivers=(HISTORY_RECEIVER,))
    try:
        servers = store.series("mcp_server_up")["labels"].to_list()
    except Exception:
        servers = []
    incidents = IncidentService(
        store.engine,
        a.incidents,
        clock,
        topology=Topology.from_label_sets(servers),
        metrics=rule_metrics(rules.groups),
    )
    report = HistoryReport(RangeResult(start_ms, end_ms))

    def send(receiver: str, n: Notification) -> None:
        d = Delivery(
            channel=receiver,
            at_ms=clock.now_ms,
            ok=True,
            action=action_of(n),
            group_key=n.group_key,
            outcome=HISTORY_OUTCOME,
            error="backfilled history: recorded, not sent",
            alerts=len(n.alerts),
        )
        record_delivery(store.engine, d)
        for incident_id in set(incidents.incidents_of(al.fingerprint for al in n.alerts).values()):
            incidents.record_notification(incident_id, d)
        report.notifications.append(n)

    pipeline = AlertPipeline(
        route,
        [InhibitRule.of(r) for r in a.inhibit_rules],
        DbNotificationLog(store.engine),
        send,
        list,  # silences are made by people, after the fact: none over history
        a.external_url,
    )
    pending_acks: dict[int, int] = {}  # incident id -> when it is acknowledged
    last_seen: frozenset[tuple[str, str]] | None = None  # the last ingested (fingerprint, status) set
    last_ingest_ms = -(10**15)

    def step(t: int, states: States, moves: list[Transition]) -> None:
        nonlocal last_seen, last_ingest_ms
        clock.now_ms = t
        alerts = [al for per in states.values() for s in per.values() if (al := to_alert(s)) is not None]
        for incident_id, due in sorted(pending_acks.items(), key=lambda kv: kv[1]):
            if due > t:
                continue
            del pending_acks[incident_id]
            clock.now_ms = due
            try:
                incidents.acknowledge(incident_id, HISTORY_ACTOR)
                report.acknowledged += 1
            except IncidentError:  # resolved (or acknowledged) before the on-call got to it
                pass
            clock.now_ms = t
        now_seen = frozenset((al.fingerprint, al.status) for al in alerts)
        if now_seen != last_seen or t - last_ingest_ms >= INGEST_EVERY_MS:
            last_seen, last_ingest_ms = now_seen, t
            for change in incidents.ingest(alerts, t):
                report.incidents.add(change.incident_id)
                if ack_after_s is not None and change.kind in ("opened", "reopened"):
                    pending_acks.setdefault(change.incident_id, change.at_ms + int(ack_after_s * 1000))
        pipeline.tick(alerts, t)
        if on_progress is not None:
            on_progress(t)

    evaluator = RangeEvaluator(
        store, rules.groups, a.evaluation_interval_s, a.external_url, a.external_labels
    )
    result = evaluator.run(start_ms, end_ms, step)
    report.result = result
    # resolved states are kept live only to notify their resolution, which history did (recorded):
    # handed to the daemon, a real channel would hear of the end of an alert it never heard of
    kept = [s for per in result.states.values() for s in per.values() if s.state != "resolved"]
    save_states(store.engine, list(result.states), kept, result.transitions)
    for key, why in {**result.skipped, **result.stepwise}.items():
        log.info("history: %s: %s", key, why)
    return report
