"""Noise reduction on the demo's scripted week: raw alert transitions -> notifications -> incidents.

The default rule pack (less its `pulse` group: no daemon runs in a replay, so Pulse's own
health would read "not collecting" all week) and inhibitions run over 7 days of the demo platform
(every scripted incident once; 14 days are written so "against last week" has a last week),
evaluated every 2 minutes (the demo history's sample spacing), with the default route (group by
alertname; 30 s group wait, 5 min group interval, 4 h repeat) to one receiver.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from bench.common import Clock, Row, fresh_store
from core.alerts.grouping import MemoryLog
from core.alerts.inhibit import InhibitRule
from core.alerts.loader import load_rules
from core.alerts.pipeline import AlertPipeline, to_alert
from core.alerts.routing import build_route
from core.alerts.rule_engine import AlertEngine
from core.incidents.service import IncidentService
from core.kernel.records.alerts import Notification
from core.kernel.settings.inhibit import DEFAULT_INHIBIT_RULES
from core.kernel.settings.routing import RouteSettings
from core.runtime.backfill import backfill_demo
from core.storage.repos.alert_states import read_transitions

STEP_S, DAYS = 120, 7


def run(folder: Path) -> list[Row]:
    now = time.time() // STEP_S * STEP_S
    clock = Clock(now)
    store = fresh_store(folder, "noise", clock=clock)
    backfill_demo(store, store.settings, days=2 * DAYS, progress=False, clock=clock)
    groups = [g for g in load_rules(store.settings).groups if g.name != "pulse"]
    engine = AlertEngine(store, store.engine, groups, clock=clock)
    sent: list[Notification] = []
    route = build_route(RouteSettings.model_validate({"receivers": ["oncall"]}))
    pipeline = AlertPipeline(
        route, [InhibitRule.of(r) for r in DEFAULT_INHIBIT_RULES], MemoryLog(), lambda r, n: sent.append(n)
    )
    incidents = IncidentService(store.engine, clock=clock)
    start = now - DAYS * 86_400
    t0 = time.perf_counter()
    t = start
    while t <= now:
        clock.now = t
        for group in engine.groups:
            engine.evaluate(group)
        alerts = [a for s in engine.alerts(["firing", "resolved"]) if (a := to_alert(s)) is not None]
        incidents.ingest(alerts, int(t * 1000))
        pipeline.tick(alerts, int(t * 1000))
        t += STEP_S
    took = time.perf_counter() - t0
    moves = read_transitions(store.engine, int(start * 1000), int(now * 1000) + 1)
    fired = moves.filter(pl.col("to_state") == "firing")
    opened = incidents.list(since_ms=int(start * 1000), limit=10_000)
    by_rule = fired.group_by(pl.col("rule").str.split("/").list.get(1)).len().sort("len", descending=True)
    store.close()
    detail = ", ".join(f"{r} {n}" for r, n in by_rule.iter_rows())
    firing = sum(1 for n in sent if n.status == "firing")
    return [
        Row(
            "demo week, default rules: raw alert transitions -> alerts fired -> firing notifications -> incidents",
            f"{moves.height} -> {fired.height} -> {firing} (+{len(sent) - firing} resolved) -> {opened.height}",
            f"{fired.height / max(firing, 1):.1f} alerts fired per firing notification",
            "fewer notifications than alerts",
            "ok" if firing < fired.height else "MISS",
        ),
        Row("  alerts fired by rule", detail[:200]),
        Row("  replay time (7 days at 2 min steps)", f"{took:.0f} s"),
    ]
