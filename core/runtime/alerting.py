"""Alerting in the daemon: rule groups on their intervals, then the notification stage.

``AlertService`` loads the rule files, evaluates each group at its interval (``evaluate``) and,
every ``notify_interval_s`` (``tick``), turns the current alert states (its own and those that
arrived through the inbound webhook) into notifications: silences and inhibition mute, routes
group, the dispatcher delivers, retries and records.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.alerts.channels import build_channel
from core.alerts.channels.dispatch import Dispatcher
from core.alerts.escalator import Escalator
from core.alerts.inhibit import InhibitRule
from core.alerts.loader import load_rules
from core.alerts.local_promql import local_promql
from core.alerts.pipeline import AlertPipeline, TickResult, to_alert
from core.alerts.remote_promql import promql_reader
from core.alerts.routing import build_route
from core.alerts.rule_engine import AlertEngine, CycleResult
from core.alerts.rules import RuleGroup, rule_metrics
from core.alerts.ui_rules import load_with_ui_rules
from core.incidents.service import IncidentService
from core.incidents.topology import Topology
from core.kernel.records.alerts import Alert, Notification
from core.kernel.records.incidents import Change
from core.kernel.settings import Settings
from core.kernel.settings.channels import EmailChannel
from core.kernel.settings.sources.prometheus import PrometheusSource
from core.runtime.regression_profiles import RegressionProfiler
from core.storage.repos.alert_states import load_states
from core.storage.repos.notifications import DbNotificationLog, DbOutbox, SilenceCache, record_delivery
from core.storage.repos.ui_rules import UiRuleRepo
from core.storage.tsdb import Store

log = logging.getLogger(__name__)
INBOUND_PREFIX = "inbound/"
INGEST_EVERY_MS = 30_000  # incidents also hear "nothing changed" this often (auto-resolve, reopen windows)
RETRY_EVERY_MS = 5_000  # how often the outbox is looked at for retries that are due


@dataclass
class ServiceStats:
    cycles: int = 0
    notifications: int = 0
    last_tick: TickResult | None = None
    last_cycles: dict[str, CycleResult] = field(default_factory=dict)


def check_alerting(settings: Settings) -> None:
    """Everything of the alerting configuration that can be checked without the database: the
    rule files (parsed, PromQL included), the route tree and the channels. Raises ConfigError
    (or ValueError from a channel) before anything is opened or written."""
    if not settings.alerting.enabled:
        return
    load_rules(settings)
    build_route(settings.alerting.route)
    for c in settings.alerting.channels:
        build_channel(c).close()


class AlertService:
    def __init__(self, settings: Settings, store: Store, clock: Callable[[], float] = time.time) -> None:
        a = settings.alerting
        self.settings, self.store, self.clock = settings, store, clock
        rules = load_with_ui_rules(settings, UiRuleRepo(store.engine))
        self.rule_files = rules.files  # group -> file, for /api/v1/rules
        for w in rules.warnings:
            log.warning("%s", w)
        proms = [s for s in settings.sources if isinstance(s, PrometheusSource)]
        self.engine = AlertEngine(
            store,
            store.engine,
            rules.groups,
            promql_reader(proms, local_promql(store)),
            clock,
            external_url=a.external_url,
            external_labels=a.external_labels,
            **series_models(rules.groups),
            write=store.write,  # recording rules' series
        )
        removed = self.engine.retire_removed_rules(keep_prefix=INBOUND_PREFIX)
        if removed:
            log.info("rules no longer in the rule files, their alerts resolved: %s", ", ".join(removed))
        channels = [build_channel(c, clock=clock) for c in a.channels]
        self.dispatcher = Dispatcher(
            channels,
            retry=a.retry,
            record=lambda d: record_delivery(store.engine, d),
            clock=clock,
            outbox=DbOutbox(store.engine),
        )
        self.silences = SilenceCache(store.engine, lambda: int(self.clock() * 1000))
        route = build_route(a.route)
        self.incidents = IncidentService(
            store.engine,
            a.incidents,
            clock,
            topology=self._topology(store),
            metrics=rule_metrics(rules.groups),
        )
        email = next((c.name for c in a.channels if isinstance(c, EmailChannel)), None)
        self.escalator = Escalator(
            store.engine,
            self.incidents,
            route,
            {p.name: p for p in a.escalations},
            self.dispatcher.dispatch,  # type: ignore[arg-type]
            email,
            a.external_url,
        )
        self.pipeline = AlertPipeline(
            route,
            [InhibitRule.of(r) for r in a.inhibit_rules],
            DbNotificationLog(store.engine),
            self._send,
            self.silences,
            a.external_url,
        )
        self.profiler = RegressionProfiler(self.incidents, settings.sources, rule_metrics(rules.groups))
        self.stats = ServiceStats()
        self._seen: frozenset[tuple[str, str]] | None = None
        self._ingested_ms = self._retried_ms = -(10**15)

    @staticmethod
    def _topology(store: Store) -> Topology:
        """Which servers run on which host, from the series the store has (for correlation)."""
        try:
            labels = store.series("mcp_server_up")["labels"].to_list()
        except Exception:  # an empty or unreachable store: learnt from the alerts instead
            labels = []
        return Topology.from_label_sets(labels)

    @property
    def engine_rules(self) -> int:
        return sum(len(g.rules) for g in self.engine.groups.values())

    @property
    def groups(self) -> dict[str, float]:
        """Rule group name -> evaluation interval (s), for the scheduler."""
        default = self.settings.alerting.evaluation_interval_s
        return {name: g.every(default) for name, g in self.engine.groups.items()}

    def evaluate(self, group: str) -> CycleResult:
        """One cycle of a rule group; alerts that changed reach the notification stage at once,
        so group_wait starts when the alert fires, not at the next notify tick."""
        result = self.engine.evaluate(group)
        self.stats.cycles += 1
        self.stats.last_cycles[group] = result
        if result.transitions:
            self.tick()
        return result

    def current_alerts(self) -> list[Alert]:
        """Firing and recently resolved alerts: the rules' and the inbound webhook's."""
        states = self.engine.alerts(["firing", "resolved"])
        if self.settings.alerting.inbound.enabled:
            inbound = load_states(self.store.engine, prefix=INBOUND_PREFIX)
            states += [s for per in inbound.values() for s in per.values()]
        link = self.settings.alerting.external_url
        return [a for s in states if (a := to_alert(s, link)) is not None]

    def tick(self) -> TickResult:
        """Incidents from the current alerts, notifications of due groups, escalations, retries."""
        now = int(self.clock() * 1000)
        alerts = self.current_alerts()
        seen = frozenset((a.fingerprint, a.status) for a in alerts)
        if seen != self._seen or now - self._ingested_ms >= INGEST_EVERY_MS:  # incidents: on change
            by_fingerprint = {a.fingerprint: a for a in alerts}
            for change in self.incidents.ingest(alerts, now):
                self._incident_changed(change, now)
                self.profiler.changed(change, by_fingerprint, now)
            self._seen, self._ingested_ms = seen, now
        result = self.pipeline.tick(alerts, now)
        self.escalator.tick(now)
        if now - self._retried_ms >= RETRY_EVERY_MS:  # the outbox is in the database: not every tick
            self.dispatcher.tick()
            self._retried_ms = now
        self.stats.last_tick = result
        self.stats.notifications += len(result.notifications)
        return result

    def _incident_changed(self, change: Change, now_ms: int) -> None:
        if change.kind in ("opened", "reopened"):
            self.escalator.opened(change.incident_id, now_ms)

    def _send(self, receiver: str, n: Notification) -> None:
        deliveries = self.dispatcher.dispatch(receiver, n)
        incidents = set(self.incidents.incidents_of(a.fingerprint for a in n.alerts).values())
        for incident_id in incidents:  # each delivery also goes on the timeline of its incidents
            for d in deliveries:
                self.incidents.record_notification(incident_id, d)

    def close(self) -> None:
        self.dispatcher.close()


MODEL_CONDITIONS = frozenset({"forecast", "anomaly_score"})


def series_models(groups: Iterable[RuleGroup]) -> dict[str, Any]:
    """The capacity models for the forecast and anomaly_score conditions, when a rule uses one
    (statsforecast and numba cost seconds and memory to load: a daemon without such rules skips them)."""
    if not any(r.condition in MODEL_CONDITIONS for g in groups for r in g.rules):
        return {}
    from core.capacity.alert_models import AlertModels

    models = AlertModels()
    return {"forecast": models.forecast, "score": models.score}
