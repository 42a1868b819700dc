"""Rules made in the UI: the preview over a week of history, the leader's check of the UI rules'
version (every few seconds in the daemon), and a reload (the alerting service built anew).

Figures: the preview of a threshold rule over 7 days of 50 series at one sample a minute (504,000
samples; median of 3), once rarely past its threshold and once a third of the time (the cost grows
with the steps where a label set holds: each goes through the engine's state machine), the version check (median of 200) and a reload with 20 UI rules (median of 5).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from bench.common import Row, fresh_store, median_of, timed
from core.admin.audit import Actor
from core.admin.rules import RuleAdmin
from core.alerts.preview import DAY_MS, preview
from core.alerts.rules import Rule
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.runtime.alerting import AlertService
from core.storage.repos.ui_rules import UiRuleRepo

SERIES, MIN = 50, 60_000


def run(tmp: Path) -> list[Row]:
    store = fresh_store(tmp, "rules")
    now = store.now_ms()
    ts = np.arange(now - 7 * DAY_MS, now, MIN)
    rng = np.random.default_rng(3)
    for s in range(SERIES):
        values = 0.5 + 0.3 * np.sin(ts / 3_600_000 + s) + 0.05 * rng.standard_normal(ts.size)
        store.write(
            [Sample("g", labels_of(host=f"h{s}"), int(t), float(v)) for t, v in zip(ts, values, strict=True)]
        )
    figures = []
    for threshold in (0.82, 0.75):  # rarely past it; past it a third of the time
        rule = Rule.model_validate(
            {"alert": "G", "query": "g", "window": "5m", "threshold": threshold, "for": "5m"}
        )
        fired = preview(store, rule, now, 60).fired
        figures.append((threshold, fired, median_of(3, timed(partial(preview, store, rule, now, 60)))))
    repo = UiRuleRepo(store.engine)
    settings = load_settings(database_url=str(store.engine.url), alerting={"default_rules": False})
    admin = RuleAdmin(repo, settings, Actor("bench"), store.now_ms)
    for i in range(20):
        admin.create(f"g{i % 4}", f"alert: R{i}\nquery: g\nthreshold: {0.5 + i / 100}\n")
    check = median_of(200, timed(repo.version))
    reload = median_of(5, timed(lambda: AlertService(settings, store).close()))
    store.close()
    return [
        *(Row(f"rules: preview, 7 days x {SERIES} series at 1/min, > {t} (fired {n} times)", f"{s:.2f} s")
          for t, n, s in figures),
        Row("rules: the leader's UI-rules version check (one row)", f"{check * 1000:.2f} ms"),
        Row("rules: reload, the alerting service built with 20 UI rules", f"{reload * 1000:.0f} ms"),
    ]  # fmt: skip
