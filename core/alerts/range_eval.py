"""Evaluate the rule groups over a stretch of history at once, as ``promtool tsdb create-blocks-from rules``.

Each rule's values over the whole range come from :mod:`core.alerts.range_values` (one store
read per selector, arrays over all steps); per step, only the label sets that can hold (past
the threshold or the hysteresis' resolve threshold) are handed to the same
:func:`core.alerts.conditions.active_set` and :func:`core.alerts.state.advance` the engine
uses, so ``for``, ``keep_firing_for``, hysteresis and annotations behave exactly as in the
daemon; steps where a rule has no candidate and no state are skipped. Rules that are not
range-evaluable (anomaly) are evaluated step by step through the engine's own query path.
PromQL rules on Pulse's own store run as range queries at their steps
(:mod:`core.alerts.range_promql`); those sent to a remote Prometheus source, and rules whose
metric the store never saw, are left out (with the reason).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.alerts.conditions import Cycle, Element, Reader, active_set, rule_values
from core.alerts.range_promql import promql_range_values, remote_source, step_elements
from core.alerts.range_values import I64, RangeReader, RawReader, Values, range_evaluable, rule_range_values
from core.alerts.rule_engine import rule_key
from core.alerts.rules import OPS, Rule, RuleGroup
from core.alerts.state import advance
from core.kernel.records.alerts import AlertState, Transition
from core.kernel.selector import parse_selector
from core.storage.tsdb.query import LOOKBACK_MS

States = dict[str, dict[str, AlertState]]
OnStep = Callable[[int, States, list[Transition]], None]


class Store(Reader, RawReader, Protocol):  # the store does both
    def metrics(self) -> list[str]: ...


@dataclass
class RangeResult:
    start_ms: int
    end_ms: int
    transitions: list[Transition] = field(default_factory=list)
    states: States = field(default_factory=dict)
    stepwise: dict[str, str] = field(default_factory=dict)  # rule key -> why it was not range-evaluated
    skipped: dict[str, str] = field(default_factory=dict)  # rule key -> why it was left out
    promql_values: dict[str, Values] = field(default_factory=dict)  # rule key -> its expr at its steps
    reads: int = 0
    steps: int = 0
    values_s: float = 0.0  # reading the history and computing every rule's values over it
    duration_s: float = 0.0  # all of it: values, state machine and what on_step did


def _steps(start_ms: int, end_ms: int, every_ms: int) -> I64:
    first = start_ms - start_ms % every_ms + (every_ms if start_ms % every_ms else 0)
    return np.arange(first, end_ms + 1, every_ms, dtype=np.int64)


def _reach_ms(rule: Rule) -> int:
    """How far before a step the rule reads."""
    w = int(rule.window_s * 1000)
    back = w + max(w + 1, LOOKBACK_MS)
    if rule.condition == "change":
        back += int(rule.change_window_s * 1000)
    if rule.condition == "anomaly":
        back += w + int(rule.baseline_s * 1000)
    return back


def _candidates(rule: Rule, reader: RangeReader, steps: I64) -> dict[int, list[Element]]:
    """Step index -> the elements that may hold there (others cannot, whatever the state)."""
    vals = rule_range_values(reader, rule, steps)
    out: dict[int, list[Element]] = {}
    if rule.condition == "absent":
        present = np.zeros(steps.size, dtype=bool)
        for v in vals.values.values():
            present |= ~np.isnan(v)
        sel = parse_selector(rule.query or "")
        labels = {m.label: m.value for m in sel.matchers if m.op == "="}
        return {int(k): [(dict(labels), 1.0)] for k in np.nonzero(~present)[0]}
    op = OPS[rule.op]
    for key, v in vals.values.items():
        ok = ~np.isnan(v)
        with np.errstate(invalid="ignore"):
            could = ok & np.asarray(op(v, rule.threshold), dtype=bool)
            if rule.resolve_threshold is not None:
                could |= ok & np.asarray(op(v, rule.resolve_threshold), dtype=bool)
        labels = vals.labels[key]
        for k in np.nonzero(could)[0]:
            out.setdefault(int(k), []).append((labels, float(v[k])))
    return out


class RangeEvaluator:
    def __init__(
        self,
        store: Store,
        groups: Iterable[RuleGroup],
        default_interval_s: float = 60,
        external_url: str = "",
        external_labels: Mapping[str, str] | None = None,
    ) -> None:
        self.store, self.external_url = store, external_url
        self.external_labels = dict(external_labels or {})
        self.groups = list(groups)
        self.default_interval_s = default_interval_s

    def run(self, start_ms: int, end_ms: int, on_step: OnStep | None = None) -> RangeResult:
        """Evaluate every group at its interval over [start, end]; ``on_step`` hears each step
        where a state changed or any alert is held (firing, or resolved and still kept)."""
        t0 = time.perf_counter()
        result = RangeResult(start_ms, end_ms)
        rules = [(g, r) for g in self.groups for r in g.rules]
        reach = max((_reach_ms(r) for _, r in rules), default=0)
        reader = RangeReader(self.store, start_ms - reach, end_ms + 1)
        known = set(self.store.metrics())
        plans: list[tuple[str, Rule, I64, dict[int, list[Element]] | None]] = []
        for g, rule in rules:
            key = rule_key(g.name, rule)
            steps = _steps(start_ms, end_ms, int(g.every(self.default_interval_s) * 1000))
            if rule.promql is not None:
                try:
                    if (why := remote_source(rule)) is not None:
                        raise ValueError(why)
                    vals = promql_range_values(self.store, rule.promql, steps)
                except ValueError as exc:
                    result.skipped[key] = str(exc)
                    continue
                result.promql_values[key] = vals
                plans.append((key, rule, steps, step_elements(vals)))
                continue
            metric = parse_selector(rule.query or "").metric
            if metric not in known:
                result.skipped[key] = f"the history holds no {metric}"
                continue
            why = range_evaluable(rule)
            if why is None:
                plans.append((key, rule, steps, _candidates(rule, reader, steps)))
            else:
                result.stepwise[key] = why
                plans.append((key, rule, steps, None))
        result.reads = reader.reads
        result.values_s = time.perf_counter() - t0
        index = [{int(t): k for k, t in enumerate(steps)} for _, _, steps, _ in plans]
        times = sorted({int(t) for _, _, steps, _ in plans for t in steps})
        states: States = {key: {} for key, *_ in plans}
        for t in times:
            moves_now: list[Transition] = []
            for (key, rule, _, cands), at in zip(plans, index, strict=True):
                k = at.get(t)
                if k is None:
                    continue
                if cands is None:
                    elements = rule_values(self.store, rule, Cycle(t, self.external_url), None)
                else:
                    elements = cands.get(k, [])
                current = states[key]
                if not elements and not current:
                    continue
                firing = {fp for fp, s in current.items() if s.state == "firing"}
                active = active_set(
                    rule,
                    elements,
                    firing,
                    self.external_url,
                    now_ms=t,
                    external_labels=self.external_labels,
                )
                new, moves = advance(
                    key, current, active, t, int(rule.for_s * 1000), int(rule.keep_firing_for_s * 1000)
                )
                states[key] = new
                moves_now += moves
            result.steps += 1
            result.transitions += moves_now
            held = any(s.state != "pending" for per in states.values() for s in per.values())
            if on_step is not None and (moves_now or held):
                on_step(t, states, moves_now)
        result.states = states
        result.duration_s = time.perf_counter() - t0
        return result
