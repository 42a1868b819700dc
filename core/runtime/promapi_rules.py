"""``/api/v1/rules`` and ``/api/v1/alerts`` of the Prometheus API: Pulse's alert rules as Prometheus lists its own.

The shape is Prometheus 2.42's (web/api/v1/api.go): groups with ``name``, ``file``, ``rules``,
``interval``, ``limit``, ``evaluationTime``, ``lastEvaluation``; alerting rules with ``state``
(firing, pending or inactive), ``name``, ``query``, ``duration``, ``keepFiringFor``, ``labels``,
``annotations``, ``alerts``, ``health`` (ok, err, unknown), ``lastError`` when failing,
``evaluationTime``, ``lastEvaluation`` and ``type``; alerts with ``labels``, ``annotations``,
``state``, ``activeAt`` and ``value`` (Go's ``%e``). Pulse has no recording rules, so
``?type=record`` lists groups without rules. A team token sees the alerts a team member sees on the
Alerts page (``core.views.alerts.visible``: its ``team`` label, or a host running one of its
servers) and the rules with its team in their labels or with one of those alerts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from core.alerts.recording import RecordingRule, recording_key
from core.alerts.rule_engine import RuleHealth, rule_key
from core.alerts.rules import Rule
from core.kernel.records.alerts import AlertState
from core.runtime.promapi_read import BadParam, Request
from core.storage.repos.alert_states import load_states
from core.views.alerts import visible

if TYPE_CHECKING:
    from core.runtime.alerting import AlertService

GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # lastEvaluation of a rule never evaluated, as Go marshals it


def go_float_e(v: float | None) -> str:
    """A value as Go's ``strconv.FormatFloat(v, 'e', -1, 64)``: ``1e+00``, ``2.5e-01``, ``NaN``, ``+Inf``."""
    if v is None or math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return str(np.format_float_scientific(v, unique=True, trim="-", exp_digits=2))


def rfc3339(ms: int | None) -> str:
    if ms is None:
        return GO_ZERO_TIME
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _num(seconds: float) -> float | int:
    """Seconds as Go marshals a float64: ``3600``, not ``3600.0``."""
    return int(seconds) if float(seconds).is_integer() else seconds


def _alert(st: AlertState) -> dict[str, Any]:
    return {
        "labels": dict(st.labels),
        "annotations": dict(st.annotations),
        "state": st.state,
        "activeAt": rfc3339(st.active_at_ms),
        "value": go_float_e(st.value),
    }


def _visibility(req: Request) -> Callable[[dict[str, str]], bool]:
    if req.teams is None:
        return lambda _labels: True
    teams = frozenset(req.teams)
    scope = req.source().scope
    hosts = scope.hosts() if scope is not None else frozenset()
    return lambda labels: visible(labels, teams, hosts)


def alerts(req: Request) -> dict[str, list[dict[str, Any]]]:
    """Pending and firing alerts of Pulse's rules, as ``/api/v1/alerts``; a team token sees its teams'."""
    shown = _visibility(req)
    out = [
        _alert(st)
        for states in load_states(req.store.engine).values()
        for st in states.values()
        if st.state in ("pending", "firing") and shown(dict(st.labels))
    ]
    return {"alerts": sorted(out, key=lambda a: sorted(a["labels"].items()))}


def _rule(group: str, rule: Rule, health: RuleHealth | None, states: dict[str, AlertState]) -> dict[str, Any]:
    active = [s for s in states.values() if s.state in ("pending", "firing")]
    kinds = {s.state for s in active}
    out: dict[str, Any] = {
        "state": "firing" if "firing" in kinds else "pending" if kinds else "inactive",
        "name": rule.alert,
        "query": rule.promql if rule.promql is not None else _pulse_query(rule),
        "duration": _num(rule.for_s),
        "keepFiringFor": _num(rule.keep_firing_for_s),
        "labels": {**rule.labels, "severity": rule.severity},
        "annotations": dict(rule.annotations),
        "alerts": [_alert(s) for s in sorted(active, key=lambda s: sorted(s.labels.items()))],
        "health": "unknown",
        "evaluationTime": 0.0,
        "lastEvaluation": GO_ZERO_TIME,
        "type": "alerting",
    }
    _health(out, health)
    return out


def _recording(rec: RecordingRule, health: RuleHealth | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": rec.record, "query": rec.expr}
    if rec.labels:  # as Prometheus (`omitempty`)
        out["labels"] = dict(rec.labels)
    out |= {
        "health": "unknown",
        "evaluationTime": 0.0,
        "lastEvaluation": GO_ZERO_TIME,
        "type": "recording",
    }
    _health(out, health)
    return out


def _health(out: dict[str, Any], health: RuleHealth | None) -> None:
    """A rule's health, error, evaluation time and last evaluation, once it has been evaluated."""
    if health is not None and health.last_eval_ms is not None:
        out["health"] = "err" if health.last_error else "ok"
        if health.last_error:
            out["lastError"] = health.last_error
        out["evaluationTime"] = health.last_duration_s
        out["lastEvaluation"] = rfc3339(health.last_eval_ms)


def _pulse_query(rule: Rule) -> str:
    """A Pulse rule (selector, aggregation, condition) written out as one line."""
    text = f"{rule.over}_over_time({rule.query}[{rule.window_s:g}s])"
    if rule.across:
        text = f"{rule.across} by ({', '.join(rule.by)}) ({text})"
    if rule.divide_by:
        text += f" / {rule.divide_by}"
    if rule.condition == "threshold":
        return f"{text} {rule.op} {rule.threshold:g}"
    return f"{text} ({rule.condition})"


def rules(req: Request) -> dict[str, list[dict[str, Any]]]:
    """Rule groups with their rules' health and alerts, as ``/api/v1/rules``."""
    kind = req.get("type") or ""
    if kind not in ("", "alert", "record"):
        raise BadParam(f'invalid parameter "type": {kind[:20]!r} is not "alert" or "record"')
    service = req.alerting
    if service is None:
        return {"groups": []}
    return {"groups": list(_groups(service, req, kind))}


def _groups(service: AlertService, req: Request, kind: str) -> Iterable[dict[str, Any]]:
    shown = _visibility(req)
    teams = None if req.teams is None else set(req.teams)
    engine = service.engine
    health, states = dict(engine.health), dict(engine.states)
    default_s = service.settings.alerting.evaluation_interval_s
    files = service.rule_files
    for name, group in sorted(
        engine.groups.items(), key=lambda g: (files.get(g[0], ""), g[0])
    ):  # as Prometheus
        listed = []
        for i, rec in enumerate(group.recording if kind != "alert" else ()):  # evaluated first
            if teams is not None and rec.labels.get("team") not in teams:
                continue  # a team's token sees the recording rules labelled with its team only
            listed.append(_recording(rec, health.get(recording_key(name, i, rec))))
        for rule in group.rules if kind != "record" else ():
            key = rule_key(name, rule)
            mine = {fp: s for fp, s in states.get(key, {}).items() if shown(dict(s.labels))}
            if teams is not None and rule.labels.get("team") not in teams and not mine:
                continue
            listed.append(_rule(name, rule, health.get(key), mine))
        if teams is not None and not listed:
            continue
        cycle = service.stats.last_cycles.get(name)
        yield {
            "name": name,
            "file": service.rule_files.get(name, ""),
            "rules": listed,
            "interval": _num(group.every(default_s)),
            "limit": 0,
            "evaluationTime": cycle.duration_s if cycle else 0.0,
            "lastEvaluation": rfc3339(cycle.at_ms if cycle else None),
        }


ENDPOINTS: dict[str, Callable[[Request], Any]] = {"/api/v1/alerts": alerts, "/api/v1/rules": rules}
