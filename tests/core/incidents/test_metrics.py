"""MTTA and MTTR per team and severity, checked by hand."""

from __future__ import annotations

import polars as pl
import pytest

from core.incidents.metrics import mtta_mttr

MIN = 60_000


def times() -> pl.DataFrame:
    # id, team, severity, opened, acked (min after), resolved (min after)
    rows = [
        (1, "payments", "critical", 0, 1, 10),
        (2, "payments", "critical", 0, 2, 30),
        (3, "payments", "critical", 0, 5, 20),
        (3, "search", "critical", 0, 5, 20),  # incident 3 hit two teams
        (4, "payments", "critical", 0, None, 40),  # resolved without an acknowledgement
        (5, "search", "warning", 0, None, None),  # still open
    ]
    return pl.DataFrame(
        [
            (i, t, s, o, None if a is None else a * MIN, None if r is None else r * MIN)
            for i, t, s, o, a, r in rows
        ],
        schema={
            "id": pl.Int64,
            "team": pl.Utf8,
            "severity": pl.Utf8,
            "opened_ms": pl.Int64,
            "acked_ms": pl.Int64,
            "resolved_ms": pl.Int64,
        },
        orient="row",
    )


def test_per_team_and_severity_by_hand() -> None:
    out = mtta_mttr(times())
    pay = out.filter(pl.col("team") == "payments").row(0, named=True)
    # TTA 60, 120, 300 s: median 120; p90 = 120 + 0.8 * (300 - 120) = 264
    # TTR 600, 1800, 1200, 2400 s: median (1200 + 1800) / 2 = 1500; p90 = 1800 + 0.7 * 600 = 2220
    assert pay == {
        "team": "payments",
        "severity": "critical",
        "incidents": 4,
        "acknowledged": 3,
        "resolved": 4,
        "mtta_median_s": 120.0,
        "mtta_p90_s": pytest.approx(264.0),
        "mttr_median_s": 1500.0,
        "mttr_p90_s": pytest.approx(2220.0),
    }
    assert out.select("team", "severity").rows() == [
        ("payments", "critical"),
        ("search", "critical"),
        ("search", "warning"),
    ]
    open_one = out.row(2, named=True)
    assert open_one["incidents"] == 1 and open_one["mtta_median_s"] is None and open_one["mttr_p90_s"] is None


def test_overall_counts_each_incident_once() -> None:
    out = mtta_mttr(times(), by=())
    row = out.row(0, named=True)
    # TTA 60, 120, 300 (incident 3 once); TTR 600, 1800, 1200, 2400
    assert (row["incidents"], row["acknowledged"], row["resolved"]) == (5, 3, 4)
    assert row["mtta_median_s"] == 120.0 and row["mttr_median_s"] == 1500.0


def test_by_severity_only_and_empty_input() -> None:
    out = mtta_mttr(times(), by=("severity",))
    assert out["severity"].to_list() == ["critical", "warning"]
    assert out.row(0, named=True)["acknowledged"] == 3  # incident 3 counted once, not once per team
    assert mtta_mttr(times().head(0)).columns[:3] == ["team", "severity", "incidents"]
    with pytest.raises(ValueError, match="cannot group"):
        mtta_mttr(times(), by=("host",))
