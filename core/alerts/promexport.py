"""Pulse rules as Prometheus alerting rules: one PromQL expression per rule, and the rule file.

``to_promql(rule)`` writes the PromQL that fires for the same label sets, with the same value, as
Pulse's own evaluation (core/alerts/conditions/); ``export_rules(groups)`` writes a rule file
that ``promtool check rules`` accepts. ``promql`` rules are exported unchanged.

The value V of a rule (a window aggregation, optionally across series, optionally divided):

- ``over``: ``avg|min|max|sum|count|last`` -> ``<over>_over_time(sel[window])``,
  ``quantile`` -> ``quantile_over_time(q, sel[window])``, ``rate|increase`` -> ``rate|increase(...)``.
- ``across`` + ``by`` -> ``<across> by (by...) (...)``; ``quantile`` -> ``quantile by (...) (q, ...)``.
- ``divide_by`` -> ``A / (B != 0)``, B aggregated as A. Both sides carry the same labels (the over
  time functions and the aggregations drop the metric name), which is the one-to-one match on
  every label that PromQL does by default and Pulse does in ``_window``: no ``on()``/``ignoring()``.
  ``!= 0`` drops zero denominators as Pulse does, where a bare ``/`` would yield +Inf or NaN.

The condition:

- ``threshold``: ``V OP threshold``.
- ``absent``: ``absent_over_time(sel[window])`` (labels from the ``=`` matchers, as Pulse).
- ``change``: ``(V - V_old) / (abs(V_old) > 0) OP threshold`` with ``offset change_window`` on every
  range: relative to |old| and never divided by zero, Pulse's formula (not ``V / V_old - 1``,
  which flips the sign for negative values).
- ``predict``: ``predict_linear(sel[window], horizon) OP threshold`` for a plain avg/last rule:
  least squares over the raw samples, where Pulse fits the avg of ``window/30`` buckets (the same
  line for evenly spaced samples). Other rules fit the bucketed value through a subquery,
  ``predict_linear((V_bucket)[window:bucket], horizon)``: Pulse's fit exactly.
- ``anomaly``: the z-score ``(V - avg_over_time(S)) / (stddev_over_time(S) > 0) OP threshold and
  count_over_time(S) >= 10`` with ``S = (V)[baseline:window] offset window``: Pulse's baseline of
  window-wide buckets that ends where the current window starts, at least 10 of them, no zero
  deviation. Prometheus' ``stddev_over_time`` is the population deviation, Pulse the sample one
  (sqrt(n/(n-1)): 0.02 % over a week of 5-minute buckets).
- ``resolve_threshold`` (hysteresis): a Prometheus alert has no state of its own in its expression,
  but its ``ALERTS{alertstate="firing"}`` series holds the previous evaluation's state, so
  ``(V OP threshold) or (V OP resolve and ignoring(...) ALERTS{alertname=..., alertstate="firing"})``
  is Pulse's rule: a firing label set is held to ``resolve_threshold``. (``keep_firing_for`` is a
  delay, not a level: it cannot say "until the value is back under 80 %".) Needs an interval
  shorter than the 5-minute lookback, which every sensible group interval is.

Known small differences: Pulse's ``rate``/``increase`` divide the deltas by the time they span,
Prometheus extrapolates to the window's edges; Prometheus aligns subquery steps to multiples of the
step, Pulse to the window start. Annotation and label templates are Prometheus' own syntax
(core/alerts/templates.py) and pass through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import yaml

from core.alerts.conditions import MIN_BASELINE_POINTS, TREND_POINTS
from core.alerts.conditions.anomaly_score import STEP_MS
from core.alerts.recording import recording_doc
from core.alerts.rules import Rule, RuleGroup
from core.kernel.selector import parse_selector

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))
SCORE_STEP_S = STEP_MS / 1000
_LOOSER = {">": "le", ">=": "le", "<": "ge", "<=": "ge"}  # resolve_threshold loosens the condition


def duration(seconds: float) -> str:
    """Seconds as a Prometheus duration: 300 -> 5m, 5400 -> 1h30m, 604800 -> 7d, 0.5 -> 500ms."""
    ms = round(seconds * 1000)
    if ms <= 0:
        return "0s"
    out = []
    for unit, size in _UNITS:
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def number(v: float) -> str:
    """A float as a PromQL number literal: 1 (not 1.0), 0.9, 1e-09, +Inf, NaN."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(text: str) -> str:
    """A Pulse selector in PromQL syntax (same language; values re-escaped for PromQL strings)."""
    sel = parse_selector(text)
    inner = ", ".join(f"{m.label}{m.op}{_string(m.value)}" for m in sel.matchers)
    return f"{sel.metric}{{{inner}}}" if inner else sel.metric


def _over(rule: Rule, sel: str, window_s: float, offset_s: float) -> str:
    rng = f"{selector(sel)}[{duration(window_s)}]" + (f" offset {duration(offset_s)}" if offset_s else "")
    if rule.over == "quantile":
        return f"quantile_over_time({number(rule.quantile)}, {rng})"
    if rule.over in ("rate", "increase"):
        return f"{rule.over}({rng})"
    return f"{rule.over}_over_time({rng})"


def _across(rule: Rule, inner: str) -> str:
    if rule.across is None:
        return inner
    by = f" by ({', '.join(rule.by)}) " if rule.by else ""
    param = f"{number(rule.quantile)}, " if rule.across == "quantile" else ""
    return f"{rule.across}{by}({param}{inner})"


def value(rule: Rule, window_s: float | None = None, offset_s: float = 0) -> str:
    """The rule's value V per label set (``query``, aggregated, ``/ divide_by``) as PromQL."""
    assert rule.query is not None
    w = rule.window_s if window_s is None else window_s
    num = _across(rule, _over(rule, rule.query, w, offset_s))
    if rule.divide_by is None:
        return num
    keep = f">= {number(rule.min_divisor)}" if rule.min_divisor > 0 else "!= 0"  # Pulse skips these too
    return f"{num} / ({_across(rule, _over(rule, rule.divide_by, w, offset_s))} {keep})"


def _p(expr: str, rule: Rule) -> str:
    """Parenthesised when V is a binary expression (a division)."""
    return f"({expr})" if rule.divide_by else expr


def _compared(rule: Rule) -> tuple[str, str]:
    """(what the condition compares, a guard ANDed to it or "")."""
    if rule.condition == "change":
        old = _p(value(rule, offset_s=rule.change_window_s), rule)
        return f"({_p(value(rule), rule)} - {old}) / (abs({old}) > 0)", ""
    if rule.condition in ("predict", "forecast"):
        horizon = number(rule.horizon_s)
        if rule.over in ("avg", "last") and rule.across is None and rule.divide_by is None:
            assert rule.query is not None
            return f"predict_linear({selector(rule.query)}[{duration(rule.window_s)}], {horizon})", ""
        step = max(rule.window_s / TREND_POINTS, 1.0)
        sub = f"({value(rule, window_s=step)})[{duration(rule.window_s)}:{duration(step)}]"
        return f"predict_linear({sub}, {horizon})", ""
    if rule.condition == "anomaly":
        w = duration(rule.window_s)
        sub = f"({value(rule)})[{duration(rule.baseline_s)}:{w}] offset {w}"
        z = f"({_p(value(rule), rule)} - avg_over_time({sub})) / (stddev_over_time({sub}) > 0)"
        return z, f"count_over_time({sub}) >= {MIN_BASELINE_POINTS}"
    if rule.condition == "anomaly_score":
        now = _p(value(rule, window_s=SCORE_STEP_S), rule)
        sub = f"({value(rule, window_s=SCORE_STEP_S)})[{duration(rule.baseline_s)}:{duration(SCORE_STEP_S)}]"
        return f"abs({now} - avg_over_time({sub})) / (stddev_over_time({sub}) > 0)", ""
    return value(rule), ""


def _alerts_selector(rule: Rule) -> tuple[str, str]:
    """``ALERTS{...}`` of this rule's firing alerts, and the labels to ignore when matching it."""
    labels = {"severity": rule.severity, **rule.labels}
    static = {k: v for k, v in labels.items() if "{{" not in v}
    matchers = {"alertname": rule.alert, "alertstate": "firing", **static}
    inner = ", ".join(f"{k}={_string(v)}" for k, v in matchers.items())
    ignored = ", ".join(["alertname", "alertstate", *labels])
    return f"ALERTS{{{inner}}}", ignored


def to_promql(rule: Rule) -> str:
    """The PromQL alert expression equivalent to ``rule`` (a promql rule: its own expression)."""
    if rule.promql is not None:
        return rule.promql
    assert rule.query is not None
    if rule.condition == "absent":
        return f"absent_over_time({selector(rule.query)}[{duration(rule.window_s)}])"
    compared, guard = _compared(rule)

    def cmp(threshold: float) -> str:
        return f"{compared} {rule.op} {number(threshold)}" + (f" and {guard}" if guard else "")

    if rule.resolve_threshold is None or rule.resolve_threshold == rule.threshold:
        return cmp(rule.threshold)
    alerts, ignored = _alerts_selector(rule)
    held = f"({cmp(rule.resolve_threshold)} and ignoring({ignored}) {alerts})"
    looser = _LOOSER.get(rule.op)
    if (looser == "le" and rule.resolve_threshold <= rule.threshold) or (
        looser == "ge" and rule.resolve_threshold >= rule.threshold
    ):  # firing at the threshold implies holding at the resolve level: a plain "or" is exact
        return f"({cmp(rule.threshold)}) or {held}"
    return f"({cmp(rule.threshold)} unless ignoring({ignored}) {alerts}) or {held}"


def notes(rule: Rule) -> list[str]:
    """Where the exported rule is not literally Pulse's (for the file's header comment)."""
    out = []
    if rule.promql is not None:
        where = (
            f"through source {rule.source!r}" if rule.source not in (None, "pulse") else "on its own store"
        )
        out.append(f"PromQL kept as written (Pulse evaluates it {where})")
    if rule.resolve_threshold is not None and rule.promql is None and rule.condition != "absent":
        out.append(f"hysteresis: a firing alert is held to {number(rule.resolve_threshold)} via ALERTS")
    if rule.query is not None and rule.over in ("rate", "increase") and rule.condition != "absent":
        out.append(f"{rule.over}: Prometheus extrapolates to the window's edges, Pulse does not")
    if rule.condition == "predict":
        out.append("predict_linear: least squares as Pulse's, over raw samples or window/30 buckets")
    if rule.condition == "anomaly":
        out.append("anomaly: stddev_over_time is the population deviation, Pulse's the sample one")
    if rule.condition == "forecast":
        out.append("forecast: Prometheus has no seasonal models; exported as predict_linear at the horizon")
    if rule.condition == "anomaly_score":
        out.append("anomaly_score: Prometheus has no seasonal baseline; exported as a plain z-score")
    return out


def _rule(rule: Rule) -> dict[str, object]:
    out: dict[str, object] = {"alert": rule.alert, "expr": to_promql(rule)}
    if rule.for_s:
        out["for"] = duration(rule.for_s)
    if rule.keep_firing_for_s:
        out["keep_firing_for"] = duration(rule.keep_firing_for_s)
    labels = dict(rule.labels)  # an imported severity Pulse does not know comes back as it was
    out["labels"] = {"severity": labels.pop("severity_original", rule.severity), **labels}
    if rule.annotations:
        out["annotations"] = dict(rule.annotations)
    return out


def group_doc(g: RuleGroup, rules: list[dict[str, object]], pulse: bool = False) -> dict[str, object]:
    """A group's mapping; ``interval`` only when the group has one (else the global one applies);
    its recording rules first (they are evaluated first), then ``rules``."""
    out: dict[str, object] = {"name": g.name}
    if g.interval_s is not None:
        out["interval"] = duration(g.interval_s)
    return {**out, "rules": [recording_doc(r, pulse) for r in g.recording] + rules}


def export_rules(groups: Iterable[RuleGroup], header: str = "") -> str:
    """A Prometheus rule file (``groups: [{name, interval, rules}]``) of these Pulse groups."""
    groups = list(groups)
    doc = {"groups": [group_doc(g, [_rule(r) for r in g.rules]) for g in groups]}
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for g in groups:
        for r in g.rules:
            lines += [f"# {g.name}/{r.alert}: {n}" for n in notes(r)]
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)
    return "\n".join(lines) + ("\n" if lines else "") + body
