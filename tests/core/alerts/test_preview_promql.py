"""The preview of PromQL rules over stored history: the expr evaluated at every step of the group's
interval (range queries of core.promql, as the daemon's history backfill does), fed to the same
state machine; the firing count is exact on known data, the values at each step are those the
daemon's instant queries give, and the chart draws the expr's values without a threshold line."""

from __future__ import annotations

import numpy as np
import pytest

from core.alerts.local_promql import local_promql
from core.alerts.preview import DAY_MS, preview
from core.alerts.preview_chart import preview_figure
from core.alerts.range_eval import _steps
from core.alerts.range_promql import promql_range_values, step_elements
from core.alerts.rules import Rule
from core.charts import spec
from core.storage.tsdb import Store
from tests.core.alerts import test_preview
from tests.core.alerts.test_preview import EPISODES, MIN

history = test_preview.history  # the same 7 days of known episodes (a fixture)


def promql(expr: str, **kw: object) -> Rule:
    return Rule.model_validate({"alert": "GHigh", "promql": expr, **kw})


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_promql_rule_fires_once_per_episode(history: tuple[Store, int]) -> None:
    store, now = history
    p = preview(store, promql("g > 0.8", **{"for": "3m"}), now, 60)
    assert p.reason is None and p.fired == 3
    start = now - 7 * DAY_MS
    for (begin, end, labels), (offset, minutes) in zip(p.spans, EPISODES, strict=True):
        assert labels == '{host="a", severity="warning"}'
        assert start + offset + 3 * MIN <= begin <= start + offset + 4 * MIN  # pending for 3m
        assert start + offset + minutes * MIN <= end <= start + offset + (minutes + 1) * MIN
    assert p.series_total == 1 and set(p.values["series"]) == {'{__name__="g", host="a"}'}
    assert preview(store, promql("g > 0.8", **{"for": "15m"}), now, 60).fired == 2  # 8 minutes: too short
    assert preview(store, promql("max_over_time(g[1h]) > 0.9"), now, 60).fired == 3
    assert preview(store, promql("g > 0.99"), now, 60).fired == 0
    assert preview(store, promql("count(g > 0.5) > 0", **{"for": "1m"}), now, 300).fired == 3

    fig = spec(preview_figure(p, promql("g > 0.8")))
    assert len(fig["layout"]["shapes"]) == 3  # the firing spans; the expr is its own condition: no line
    assert "would have fired 3 times" in fig["layout"]["title"]["text"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_range_gives_what_the_daemons_instant_queries_give(history: tuple[Store, int]) -> None:
    store, now = history
    offset, minutes = EPISODES[1]
    begin = now - 7 * DAY_MS + offset - 20 * MIN
    steps = _steps(begin, begin + (minutes + 40) * MIN, 60_000)
    expr = 'avg_over_time(g[3m]) > 0.5 or g{host="b"}'
    ranged = step_elements(promql_range_values(store, expr, steps))
    instant = local_promql(store)
    for k, t in enumerate(steps):
        want = sorted((sorted(lb.items()), v) for lb, v in instant(expr, int(t)))
        got = sorted((sorted(lb.items()), v) for lb, v in ranged.get(k, []))
        assert got == want, f"step {k}"
    assert any(len(ranged.get(k, [])) == 2 for k in range(steps.size))  # both hosts at times


@pytest.mark.parametrize("backend", ["sqlite"])
def test_weeks_of_steps_are_asked_in_pieces(history: tuple[Store, int]) -> None:
    store, now = history
    p = preview(store, promql("g > 0.8", **{"for": "3m"}), now, 15)  # 40,320 steps: four range queries
    assert p.reason is None and p.fired == 3
    assert np.diff(p.values["time"].to_numpy()).min() == 15_000
