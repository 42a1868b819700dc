"""What a rule would have done over the stored history: how often it fires, when, and the values
its condition compared (for the chart beside the rule being written).

The rule runs through :class:`core.alerts.range_eval.RangeEvaluator`, the same state machine as
the daemon (``for``, ``keep_firing_for``, hysteresis), at its group's interval, as the daemon's
history backfill does. Each move to ``firing`` is one firing; a firing still on at the end counts
and its span ends there. A PromQL rule on Pulse's store is its expr at every step (the chart
draws the expr's values). Rules that cannot be replayed faithfully say why instead (``reason``):
PromQL sent to a remote Prometheus (its past is not in Pulse's store), and the forecast and
anomaly_score conditions (a model fitted at every evaluation: thousands of fits for a week).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from core.alerts.range_eval import RangeEvaluator, Store, _reach_ms, _steps
from core.alerts.range_promql import remote_source
from core.alerts.range_values import RangeReader, Values, range_evaluable, rule_range_values
from core.alerts.rule_engine import rule_key
from core.alerts.rules import Rule, RuleGroup

DAY_MS = 86_400_000
MAX_SERIES = 12  # label sets drawn at most (those that came closest to firing first)
STEPWISE_OK = frozenset({"anomaly"})  # evaluated step by step; forecast and anomaly_score are refused
VALUES_SCHEMA: dict[str, type[pl.DataType]] = {"time": pl.Int64, "series": pl.Utf8, "value": pl.Float64}


@dataclass
class Preview:
    start_ms: int
    end_ms: int
    fired: int = 0  # moves to firing over the range
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # (from, to, labels) firing
    values: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=VALUES_SCHEMA))
    series_total: int = 0  # label sets with a value (values holds at most MAX_SERIES)
    reason: str | None = None  # why there is no preview (None: computed)
    every_s: float = 60.0  # the evaluation interval it ran at
    note: str = ""  # a limit of the preview worth saying (e.g. evaluated step by step)


def _labels_text(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _refused(rule: Rule, every_s: float, days: int) -> str | None:
    if rule.promql is not None:
        return remote_source(rule)
    why = range_evaluable(rule)
    if why is not None and rule.condition not in STEPWISE_OK:
        fits = int(days * DAY_MS / 1000 / every_s)
        return (
            f"a {rule.condition} rule cannot be replayed faithfully over history: {why};"
            f" {days} days at {every_s:g} s are {fits:,} fits (the daemon fits it at each evaluation)"
        )
    return None


def _values(
    store: Store, rule: Rule, start_ms: int, end_ms: int, every_ms: int, promql: Values | None
) -> tuple[pl.DataFrame, int]:
    """The compared value of each label set at every step (those nearest the threshold first);
    for a PromQL rule, its expr's values (highest first)."""
    steps = _steps(start_ms, end_ms, every_ms)
    if promql is not None:
        vals = promql
    elif range_evaluable(rule) is not None or rule.condition == "absent":
        return pl.DataFrame(schema=VALUES_SCHEMA), 0
    else:
        vals = rule_range_values(RangeReader(store, start_ms - _reach_ms(rule), end_ms + 1), rule, steps)
    sign = -1.0 if rule.op in ("<", "<=") and promql is None else 1.0
    ranked = sorted(vals.values, key=lambda k: -float(np.nanmax(sign * vals.values[k])))
    frames = []
    for k in ranked[:MAX_SERIES]:
        v = vals.values[k]
        ok = ~np.isnan(v)
        frames.append(
            pl.DataFrame(
                {"time": steps[ok], "series": [_labels_text(vals.labels[k])] * int(ok.sum()), "value": v[ok]},
                schema=VALUES_SCHEMA,
            )
        )
    return (pl.concat(frames) if frames else pl.DataFrame(schema=VALUES_SCHEMA)), len(vals.values)


def preview(
    store: Store, rule: Rule, now_ms: int, interval_s: float, days: int = 7, group: str = "preview"
) -> Preview:
    """How ``rule`` would have behaved over the last ``days`` of ``store``'s history."""
    start = now_ms - days * DAY_MS
    out = Preview(start, now_ms, every_s=interval_s)
    out.reason = _refused(rule, interval_s, days)
    if out.reason is not None:
        return out
    result = RangeEvaluator(store, [RuleGroup(name=group, rules=(rule,))], interval_s).run(start, now_ms)
    if result.skipped:
        out.reason = "; ".join(result.skipped.values())
        return out
    if result.stepwise:
        out.note = "evaluated step by step: " + "; ".join(result.stepwise.values())
    opened: dict[str, tuple[int, str]] = {}
    for t in result.transitions:
        if t.to_state == "firing":
            out.fired += 1
            opened[t.fingerprint] = (
                t.at_ms,
                _labels_text({k: v for k, v in t.labels.items() if k != "alertname"}),
            )
        elif t.from_state == "firing" and t.fingerprint in opened:
            begin, text = opened.pop(t.fingerprint)
            out.spans.append((begin, t.at_ms, text))
    out.spans += [(begin, now_ms, text) for begin, text in opened.values()]
    out.spans.sort()
    promql = result.promql_values.get(rule_key(group, rule))
    out.values, out.series_total = _values(store, rule, start, now_ms, int(interval_s * 1000), promql)
    return out
