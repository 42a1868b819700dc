"""The preview over stored history: a gauge above the threshold in three separate episodes fires
three times, its spans where the episodes were; ``for`` long enough to skip an episode counts
two; rules without a preview say why."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from core.alerts.preview import DAY_MS, Preview, preview
from core.alerts.preview_chart import preview_figure
from core.alerts.rules import Rule
from core.charts import spec
from core.kernel.samples import Sample, labels_of
from core.storage.tsdb import Store
from tests.conftest import FakeClock

MIN = 60_000
EPISODES = [(1 * DAY_MS, 30), (3 * DAY_MS, 20), (5 * DAY_MS + 7 * 3_600_000, 8)]  # (offset, minutes)


def _history(start_ms: int) -> list[Sample]:
    """7 days of one gauge per host at 1/min: 0.3, and host "a" at 0.95 during each episode."""
    ts = np.arange(start_ms, start_ms + 7 * DAY_MS, MIN)
    out = []
    for host in ("a", "b"):
        for t in ts:
            hot = host == "a" and any(o <= t - start_ms < o + m * MIN for o, m in EPISODES)
            out.append(Sample("g", labels_of(host=host), int(t), 0.95 if hot else 0.3))
    return out


@pytest.fixture
def history(make_store: Callable[..., Store], clock: FakeClock) -> tuple[Store, int]:
    start = clock.ms
    clock.now = (start + 7 * DAY_MS) / 1000
    store = make_store()
    store.write(_history(start))
    return store, clock.ms


def rule(**kw: object) -> Rule:
    return Rule.model_validate({"alert": "GHigh", "query": "g", "window": "2m", "threshold": 0.8, **kw})


@pytest.mark.parametrize("backend", ["sqlite"])
def test_three_episodes_fire_three_times(history: tuple[Store, int]) -> None:
    store, now = history
    p = preview(store, rule(**{"for": "3m"}), now, 60)
    assert p.reason is None and p.fired == 3
    start = now - 7 * DAY_MS
    for (begin, end, labels), (offset, minutes) in zip(p.spans, EPISODES, strict=True):
        assert labels == '{host="a", severity="warning"}'
        assert start + offset < begin <= start + offset + 6 * MIN  # pending for 3m after the window sees it
        assert start + offset + minutes * MIN <= end <= start + offset + (minutes + 3) * MIN
    assert p.series_total == 2 and set(p.values["series"]) == {'{host="a"}', '{host="b"}'}
    fig = spec(preview_figure(p, rule(**{"for": "3m"})))
    assert len(fig["layout"]["shapes"]) == 4  # the threshold line and three firing spans
    assert "would have fired 3 times" in fig["layout"]["title"]["text"]
    assert {t["name"] for t in fig["data"]} == {'{host="a"}', '{host="b"}'}

    assert preview(store, rule(**{"for": "15m"}), now, 60).fired == 2  # the 8-minute episode is too short
    assert preview(store, rule(threshold=0.99), now, 60).fired == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_rules_without_a_preview_say_why(history: tuple[Store, int]) -> None:
    store, now = history
    remote = preview(store, Rule(alert="P", promql="up == 0", source="prom"), now, 60).reason or ""
    assert "Prometheus source 'prom'" in remote and "cannot be replayed" in remote
    assert "gives a scalar" in (preview(store, Rule(alert="P", promql="1 > bool 0"), now, 60).reason or "")
    assert "PromQL on Pulse's store" in (preview(store, Rule(alert="P", promql="g >"), now, 60).reason or "")
    missing = preview(store, rule(query="nothing_here"), now, 60)
    assert missing.reason == "the history holds no nothing_here" and missing.fired == 0
    fc = rule(condition="forecast", window="1h")
    why = preview(store, fc, now, 60).reason or ""
    assert "fits a model" in why and "10,080 fits" in why
    assert "cannot be replayed" in (preview(store, rule(condition="anomaly_score"), now, 60).reason or "")


def test_label_values_reach_the_legend_as_text() -> None:
    values = pl.DataFrame(
        {"time": [0, 60_000], "series": ['{host="<a href=//x>h</a>"}'] * 2, "value": [1.0, 2.0]}
    )
    p = Preview(0, 120_000, fired=0, values=values, series_total=1)
    fig = spec(preview_figure(p, rule()))
    assert fig["data"][0]["name"] == '{host="&lt;a href=//x&gt;h&lt;/a&gt;"}'
