"""The Optimization view's what-if speed on a 14-day demo history (``python -m bench optimization-view``).

Issue 12's targets: the view re-runs within 300 ms after a what-if control moves (AppTest) and
in under 1 s in chromium. (a) Under AppTest, signed in as admin: a full script re-run after the
CPU percentile changed (median of 7 changes, alternating values), and a cold run (``st.cache_data``
cleared: usage read again). (b) In chromium: from Enter in the CPU percentile input to the fleet
total "CPU cores saved" showing a new value (median of 5 changes; the first warms the caches).
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

DAYS, MOVES, BROWSER_MOVES = 14, 7, 5
APPTEST_TARGET_S, BROWSER_TARGET_S = 0.3, 1.0
FIELD = "cpu_percentile"
LABEL = "Cpu percentile"  # core.optimization.whatif.widgets: the field's name, capitalised
SAVED_JS = """() => {
  const m = Array.from(document.querySelectorAll('[data-testid=stMetric]'))
    .find((el) => el.innerText.includes('CPU cores saved'));
  const v = m && m.querySelector('[data-testid=stMetricValue]');
  return v ? v.innerText : null;
}"""


def _apptest_row() -> Row:
    import streamlit as st

    at = signed_in_apptest("pages/optimization.py")
    inputs = [n for n in at.number_input if str(n.key).endswith("." + FIELD)]
    if at.exception or not inputs:
        raise RuntimeError(f"Optimization did not render: {at.exception} {[e.value for e in at.error]}")
    times = []
    for i in range(MOVES + 1):
        inputs[0].set_value(float(90 + i % 2 * 5))
        times.append(_timed(at.run))
        assert not at.exception, at.exception
    st.cache_data.clear()
    cold = _timed(at.run)
    warm = statistics.median(times[1:])
    return Row(
        f"optimization: page re-run after a what-if change, {DAYS} d demo (AppTest)",
        f"{warm * 1000:.0f} ms median of {MOVES}",
        f"cold (cache cleared: usage read again) {cold:.2f} s",
        f"< {APPTEST_TARGET_S * 1000:.0f} ms",
        "ok" if warm < APPTEST_TARGET_S else "MISS",
    )


def _browser_row(url: str, root: Path) -> Row:
    name = "optimization: what-if Enter -> fleet total redrawn (chromium)"
    try:
        with signed_in_browser(url, root, "optimization") as page:
            box = page.get_by_label(LABEL, exact=True)
            times = until_changed(
                page,
                SAVED_JS,
                lambda i: box.press("Enter"),
                BROWSER_MOVES,
                prepare=lambda i: box.fill(str(80 + i % 2 * 15)),  # 80, 95, 80 ...: the default is 95
            )
    except NoBrowser as exc:
        return Row(name, f"skipped: {exc}")
    return judged(name, times, BROWSER_TARGET_S)


def run(folder: Path) -> list[Row]:
    root = Path(tempfile.mkdtemp(prefix="optimization-view-", dir=folder))
    t0 = time.perf_counter()
    url = demo_history(root, DAYS)
    rows = [Row(f"optimization: {DAYS} d demo history written", f"{time.perf_counter() - t0:.0f} s")]
    with _environment(url, root / "data"):
        rows.append(_apptest_row())
    rows.append(_browser_row(url, root))
    return rows
