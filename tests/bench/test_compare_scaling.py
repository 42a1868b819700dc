"""``python -m bench compare --scaling --quick`` end to end against Debian's real Prometheus.

100 and 1,000 series x 3 hours go into a Pulse store (child processes) and through promtool into
a Prometheus server; the table must hold every figure for both sizes with a ratio, and every
query's results must agree. No Prometheus, no test: a missing promtool fails, it does not skip.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from bench import compare
from tests.promstack import PROMETHEUS, PROMTOOL

FIGURES = (
    "ingest_samples_per_s",
    "bytes_per_sample",
    "instant_sum_by_rate_p50",
    "query_all_series_p50",
    "query_sum_by_rate_p50",
    "peak_rss_ingest_mb",
    "peak_rss_query_mb",
)


def test_quick_scaling_table_against_a_real_prometheus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for binary in (PROMTOOL, PROMETHEUS):
        if not os.access(binary, os.X_OK):
            pytest.fail(
                f"{binary} is missing: apt-get install prometheus (tests/run.sh installs it)", pytrace=False
            )
    out = tmp_path / "scaling.json"

    code = compare.main(["--scaling", "--quick", "--json", str(out)])

    printed = capsys.readouterr().out
    rows = {r["figure"]: r for r in json.loads(out.read_text())["rows"]}
    cells = [[c.strip() for c in line.split(" | ")] for line in printed.splitlines()]
    table = {(c[0], c[1]): c[5] for c in cells if len(c) == 6}
    assert code == 0, printed
    assert set(rows) == {f"scaling_{n}_{f}" for n in (100, 1000) for f in FIGURES}
    for name, r in rows.items():
        assert r["pulse"] > 0 and r["prometheus"] > 0, name
        assert math.isclose(r["ratio"], r["pulse"] / r["prometheus"]), name
        assert r.get("agree", True) is True, f"{name}: Pulse and Prometheus returned different results"
        n, figure = name.split("_", 2)[1:]
        assert table[(f"{int(n):,}", figure)] == f"{r['ratio']:.2f}x", name
    queried = [r for r in rows.values() if r["unit"] == "ms"]
    assert len(queried) == 6 and all(r["agree"] is True for r in queried)
    # promtool's peak is its own (taken by a small launcher), not the bench process' RSS
    assert rows["scaling_100_peak_rss_ingest_mb"]["prometheus"] < 150
