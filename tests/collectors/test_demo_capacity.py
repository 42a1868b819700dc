"""The demo's capacity ground truth: the slow disk fill's known exhaustion, team growth and onboarding."""

from __future__ import annotations

import numpy as np

from collectors.demo.capacity import (
    SLOW_FILL_DAYS,
    onboarded_team,
    onboarding_ms,
    slow_fill_host,
    slow_fill_windows,
)
from collectors.demo.model import Model
from collectors.demo.topology import build_topology
from core.kernel.settings import DemoSettings

WEEK_MS, DAY_MS, HOUR_MS = 604_800_000, 86_400_000, 3_600_000
START = 2959 * WEEK_MS


def series(model: Model, metric: str, ts: np.ndarray, **labels: str) -> np.ndarray:
    (row,) = [
        i
        for i, (m, lab) in enumerate(model.keys)
        if m == metric and all((k, v) in lab for k, v in labels.items())
    ]
    return model.evaluate(ts // 1000)[0][row]


def test_slow_fill_headroom_shrinks_linearly_to_zero_at_the_known_time() -> None:
    settings = DemoSettings()
    model = Model(build_topology(settings))
    windows = slow_fill_windows(START, START + 3 * WEEK_MS, seed=settings.seed)
    assert len(windows) == 3 and all(b - a == SLOW_FILL_DAYS * DAY_MS for a, b in windows)
    assert [a - windows[0][0] for a, _ in windows] == [0, WEEK_MS, 2 * WEEK_MS]
    fill, exhausted = windows[0]
    host = model.topology.hosts[slow_fill_host(len(model.topology.hosts))].name
    ts = np.arange(fill - DAY_MS, exhausted + DAY_MS, 10 * 60_000, dtype=np.int64)
    ratio = series(model, "host_disk_utilization_ratio", ts, host=host)
    at = {int(t): float(r) for t, r in zip(ts, ratio, strict=True)}
    headroom0 = 1 - at[fill]
    for day in range(1, SLOW_FILL_DAYS):
        expected = headroom0 * (1 - day / SLOW_FILL_DAYS)
        assert abs((1 - at[fill + day * DAY_MS]) - expected) < 0.02, day
    assert at[exhausted - 10 * 60_000] > 0.995 and at[exhausted] < 0.8, "full, then cleaned up"
    assert np.all(ratio <= 1.0)
    other = series(model, "host_disk_utilization_ratio", ts, host="host-01")
    assert other.max() < 0.9


def test_one_team_is_onboarded_and_every_team_grows_slowly() -> None:
    settings = DemoSettings()
    model = Model(build_topology(settings))
    teams = list(model.topology.teams)
    step = onboarding_ms(settings.seed, START)
    assert step >= START and (step - 2870 * WEEK_MS) % WEEK_MS == 0
    # the busy hours of the week before and the week after the step, same weekdays and hours
    hours = np.array([d * DAY_MS + h * HOUR_MS for d in range(7) for h in range(10, 17)], dtype=np.int64)
    before, after = step - WEEK_MS + hours, step + hours
    new = onboarded_team(settings.seed, teams)
    for team in teams:
        b = series(model, "platform_active_users", before, team=team).mean()
        a = series(model, "platform_active_users", after, team=team).mean()
        if team == new:
            assert 1.3 < a / b < 1.7, (team, a / b)
        else:
            assert 0.9 < a / b < 1.15, (team, a / b)
