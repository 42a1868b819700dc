"""The Capacity view's speed on a 14-day demo history (``python -m bench capacity``).

(a) The baseline (read the fleet, forecast used cores and memory 30 days ahead): the first call in
this process (numba compiles every model; what the first visitor of the page pays), then a fresh
forecaster (compiled, caches empty: a new range), then the same data again (cached results).
(b) ``project()`` alone: a scenario re-projected on the baseline (median of 50).
(c) The page under AppTest, signed in as admin: a full script re-run after a what-if slider moved
(median of 7 moves, alternating values; target 300 ms) and a cold run (``st.cache_data`` cleared).
(d) In chromium: from a keypress on the growth slider to the scenario's trace redrawn with new
values (median of 5 moves; target 1 s), read from the page's own data.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Row
from bench.page_timing import (
    NoBrowser,
    demo_history,
    judged,
    signed_in_apptest,
    signed_in_browser,
    until_changed,
)
from bench.pages import _environment, _timed
from core.kernel.settings import load_settings
from core.storage.tsdb import open_store
from pages import _keys as K

DAYS, HORIZON, MOVES, BROWSER_MOVES = 14, 30, 7, 5
SLIDER_TARGET_S, BROWSER_TARGET_S = 0.3, 1.0
PAGE = "pages/capacity.py"


def _baseline_rows(url: str) -> list[Row]:
    from core.capacity import fleet
    from core.capacity.planner import project
    from core.capacity.scenario import make_scenario

    store = open_store(load_settings(database_url=url))
    end = store.now_ms()
    first = _timed(lambda: fleet.baseline(store, end, DAYS, HORIZON))
    fleet._forecasters.clear()
    fresh = _timed(lambda: fleet.baseline(store, end, DAYS, HORIZON))
    cached = _timed(lambda: fleet.baseline(store, end, DAYS, HORIZON))
    base = fleet.baseline(store, end, DAYS, HORIZON)
    store.close()
    s = make_scenario(user_growth_pct=30, teams_onboarded=2, hosts_added=3)
    proj = statistics.median(_timed(lambda: project(base, s)) for _ in range(50))
    return [
        Row(
            f"capacity: baseline forecast, {DAYS} d history, {HORIZON} d ahead",
            f"{fresh:.2f} s fresh forecaster",
            f"first in process (numba compiles) {first:.1f} s; cached {cached:.2f} s",
        ),
        Row("capacity: project() a scenario", f"{proj * 1000:.1f} ms median of 50"),
    ]


def _apptest_row() -> Row:
    import streamlit as st

    at = signed_in_apptest(PAGE)
    if at.exception or not at.get("plotly_chart"):
        raise RuntimeError(f"Capacity did not render: {at.exception} {[e.value for e in at.error]}")
    growth = at.slider(key=K.W_CAP_PREFIX + "user_growth_pct")
    times = []
    for i in range(MOVES + 1):
        growth.set_value(float(10 * (i % 2 + 1)))
        times.append(_timed(at.run))
        assert not at.exception
    st.cache_data.clear()
    cold = _timed(at.run)
    warm = statistics.median(times[1:])
    return Row(
        f"capacity: page re-run after a slider move, {DAYS} d demo (AppTest)",
        f"{warm * 1000:.0f} ms median of {MOVES}",
        f"cold (cache cleared: reads and forecasts again) {cold:.2f} s",
        f"< {SLIDER_TARGET_S * 1000:.0f} ms",
        "ok" if warm < SLIDER_TARGET_S else "MISS",
    )


SCENARIO_LAST = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  const t = plot && plot._fullData && plot._fullData.find((d) => d.name === 'Scenario');
  return t ? JSON.stringify(t.y[t.y.length - 1]) : null;
}"""


def _browser_row(url: str, root: Path) -> Row:
    name = "capacity: slider keypress -> scenario redrawn (chromium)"
    from tests.e2e.conftest import CHART

    try:
        with signed_in_browser(url, root, "capacity") as page:
            page.locator(CHART).first.wait_for(state="attached")
            thumb = page.get_by_role("slider", name="User growth (%)")
            times = until_changed(
                page,
                SCENARIO_LAST,
                lambda i: page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft"),
                BROWSER_MOVES,
                prepare=lambda i: thumb.focus(),
            )
    except NoBrowser as exc:
        return Row(name, f"skipped: {exc}")
    return judged(name, times, BROWSER_TARGET_S)


def run(folder: Path) -> list[Row]:
    root = Path(tempfile.mkdtemp(prefix="capacity-", dir=folder))
    t0 = time.perf_counter()
    url = demo_history(root, DAYS)
    rows = [Row(f"capacity: {DAYS} d demo history written", f"{time.perf_counter() - t0:.0f} s")]
    rows += _baseline_rows(url)
    with _environment(url, root / "data"):
        rows.append(_apptest_row())
    rows.append(_browser_row(url, root))
    return rows
