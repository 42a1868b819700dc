"""The rule engine: evaluates groups of rules, advances alert states, persists them.

``AlertEngine.evaluate(group)`` runs one cycle of one group at the engine's clock: first its
recording rules (core/alerts/recording.py: PromQL evaluated, the result written to the store),
then each alerting rule's query and condition (core.alerts.conditions), then the state machine
(core.alerts.state), then one transaction that stores the new states and transitions. A rule whose query fails keeps its
previous states (a broken query must not resolve every alert) and reports the error in its
health, like Prometheus' rule health.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from core.alerts.conditions import (
    OWN_STORE,
    Cycle,
    ForecastFn,
    PromQL,
    Reader,
    ScoreFn,
    active_set,
    prefetch,
    rule_values,
)
from core.alerts.promfuncs import QueryFn, Sample
from core.alerts.recording import RecordingRule, recorded, recording_key
from core.alerts.rules import Rule, RuleGroup
from core.alerts.state import advance
from core.kernel.records.alerts import RESOLVED_RETENTION_MS, AlertState, Transition
from core.kernel.samples import Labels
from core.kernel.samples import Sample as StoreSample
from core.storage import Database
from core.storage.repos.alert_states import load_states, save_states

log = logging.getLogger(__name__)


def rule_key(group: str, rule: Rule) -> str:
    """Stable identity of a rule: group/alert, plus its static labels when it has any, plus
    "#n" for the n-th rule of the group with that name and those labels (n >= 2)."""
    extra = ",".join(f"{k}={v}" for k, v in sorted(rule.labels.items()))
    nth = f"#{rule.ordinal + 1}" if rule.ordinal else ""
    return f"{group}/{rule.alert}" + (f"{{{extra}}}" if extra else "") + nth


@dataclass
class RuleHealth:
    last_eval_ms: int | None = None
    last_error: str | None = None
    last_duration_s: float = 0.0


@dataclass
class CycleResult:
    group: str
    at_ms: int
    transitions: list[Transition] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    queries: int = 0
    recorded: int = 0  # samples written by the group's recording rules
    duration_s: float = 0.0


class AlertEngine:
    def __init__(
        self,
        store: Reader,
        engine: Database,
        groups: Iterable[RuleGroup],
        promql: PromQL | None = None,
        clock: Callable[[], float] = time.time,
        external_url: str = "",
        external_labels: Mapping[str, str] | None = None,
        forecast: ForecastFn | None = None,
        score: ScoreFn | None = None,
        write: Callable[[list[StoreSample]], object] | None = None,
    ) -> None:
        self.store, self.engine, self.promql, self.clock = store, engine, promql, clock
        self.forecast, self.score = forecast, score  # the series models of two condition kinds
        self.external_url = external_url
        self.external_labels = dict(external_labels or {})  # $externalLabels in templates
        self.groups = {g.name: g for g in groups}
        self.known = {rule_key(g.name, r) for g in self.groups.values() for r in g.rules}
        self.states: dict[str, dict[str, AlertState]] = load_states(engine)
        self.health: dict[str, RuleHealth] = {}
        self.write = write  # where recording rules' series go (the store's write)
        self.recorded: dict[str, set[Labels]] = {}  # recording rule -> label sets of its last cycle

    def retire_removed_rules(self, keep_prefix: str) -> list[str]:
        """Resolve the alerts of rules no longer in the rule files (except keys with ``keep_prefix``,
        written by others); the resolution is notified like any other, then they age out."""
        now = int(self.clock() * 1000)
        retired, moves, kept = [], [], []
        for key in sorted(set(self.states) - self.known):
            if key.startswith(keep_prefix):
                del self.states[key]  # not ours: the service reads those from the database itself
                continue
            retired.append(key)
            new, m = advance(key, self.states[key], {}, now, 0, 0)
            self.states[key] = new
            moves += m
            kept += list(new.values())
        if retired:
            save_states(self.engine, retired, kept, moves)
        return retired

    def _template_query(self, rule: Rule, now_ms: int) -> QueryFn | None:
        """``query`` in a promql rule's templates runs through the rule's Prometheus source."""
        promql, source = self.promql, rule.source or OWN_STORE
        if promql is None or rule.promql is None:
            return None
        return lambda expr: [Sample(lb, v) for lb, v in promql(source, expr, now_ms)]

    def evaluate(self, group_name: str) -> CycleResult:
        group = self.groups[group_name]
        t0 = time.perf_counter()
        cycle = Cycle(int(self.clock() * 1000), self.external_url, forecast=self.forecast, score=self.score)
        result = CycleResult(group.name, cycle.now_ms)
        changed: dict[str, dict[str, AlertState]] = {}
        for i, rec in enumerate(group.recording):  # first: the group's alerts may read what they write
            self._record(recording_key(group.name, i, rec), rec, cycle, result)
        try:
            prefetch(self.store, group.rules, cycle)
        except Exception as exc:  # the rules then query one by one and report their own errors
            log.warning("group %s: shared queries failed (%s); evaluating rule by rule", group.name, exc)
        for rule in group.rules:
            key = rule_key(group.name, rule)
            h = self.health.setdefault(key, RuleHealth())
            r0 = time.perf_counter()
            current = self.states.get(key, {})
            try:
                elements = rule_values(self.store, rule, cycle, self.promql)
                firing = {fp for fp, s in current.items() if s.state == "firing"}
                active = active_set(
                    rule,
                    elements,
                    firing,
                    self.external_url,
                    now_ms=cycle.now_ms,
                    query=self._template_query(rule, cycle.now_ms),
                    external_labels=self.external_labels,
                )
            except Exception as exc:  # one broken rule never stops the others
                h.last_error = f"{type(exc).__name__}: {exc}"
                result.errors[key] = h.last_error
                log.warning("rule %s failed: %s", key, h.last_error)
                continue
            finally:
                h.last_eval_ms, h.last_duration_s = cycle.now_ms, time.perf_counter() - r0
            h.last_error = None
            new, moves = advance(
                key, current, active, cycle.now_ms, int(rule.for_s * 1000), int(rule.keep_firing_for_s * 1000)
            )
            if moves or new != current:
                changed[key] = new
            result.transitions += moves
        if changed:
            states = [s for new in changed.values() for s in new.values()]
            save_states(self.engine, changed, states, result.transitions)
            self.states.update(changed)
        result.queries, result.duration_s = cycle.queries, time.perf_counter() - t0
        return result

    def _record(self, key: str, rec: RecordingRule, cycle: Cycle, result: CycleResult) -> None:
        """One recording rule: its expr at the cycle's time, the result written (with stale
        markers for the series it no longer returns); an error is the rule's health."""
        h = self.health.setdefault(key, RuleHealth())
        r0 = time.perf_counter()
        try:
            if self.promql is None or self.write is None:
                raise ValueError("recording rules need PromQL and a store to write to (pulse collect)")
            elements = self.promql(rec.source or OWN_STORE, rec.expr, cycle.now_ms)
            samples, seen = recorded(rec, elements, cycle.now_ms, self.recorded.get(key, set()))
            refused = getattr(self.write(samples), "rejected", None)  # the store's WriteResult
            if refused:
                raise ValueError(f"the store refused {sum(refused.values())} sample(s): {dict(refused)}")
        except Exception as exc:  # one broken rule never stops the others
            h.last_error = f"{type(exc).__name__}: {exc}"
            result.errors[key] = h.last_error
            log.warning("recording rule %s failed: %s", key, h.last_error)
        else:
            h.last_error = None
            self.recorded[key] = seen
            result.recorded += len(samples)
        finally:
            h.last_eval_ms, h.last_duration_s = cycle.now_ms, time.perf_counter() - r0

    def alerts(self, states: Iterable[str] = ("pending", "firing", "resolved")) -> list[AlertState]:
        """Current states; resolved ones only while they are kept (RESOLVED_RETENTION_MS)."""
        wanted, now = set(states), int(self.clock() * 1000)
        return [
            s
            for per in self.states.values()
            for s in per.values()
            if s.state in wanted
            and not (s.state == "resolved" and now - (s.resolved_at_ms or now) >= RESOLVED_RETENTION_MS)
        ]
