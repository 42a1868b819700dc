"""Tool time shares and latency against load on hand-made buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from core.optimization.hotspots import latency_vs_load, tool_time_shares

T0 = datetime(2026, 9, 17, tzinfo=UTC)


def buckets(n: int = 48) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for k in range(n):
        load = 1 + (k % 12)
        for server, tool, p50, slope in (
            ("a", "slow", 1.0, 0.1),
            ("a", "fast", 0.01, 0.0),
            ("b", "x", 0.2, 0.0),
        ):
            p95 = p50 * 3 * (1 + slope * load) * (1 + 0.01 * rng.normal())
            rows.append(
                {
                    "ts": T0 + timedelta(minutes=5 * k),
                    "server": server,
                    "gen_ai_tool_name": tool,
                    "calls": 10.0 * load,
                    "calls_rate": load / 30,
                    "p50": p50,
                    "p95": p95,
                }
            )
    return pl.DataFrame(rows)


def test_tools_ranked_by_share_of_time() -> None:
    got = tool_time_shares(buckets())
    assert got["gen_ai_tool_name"].to_list() == ["slow", "x", "fast"]
    assert got["share"].sum() == pytest.approx(1.0)
    assert got["share"][0] == pytest.approx(1.0 / 1.21, rel=1e-6)  # p50 1.0 vs 0.2 vs 0.01, same calls


def test_only_the_server_whose_latency_follows_load_is_flagged() -> None:
    got = latency_vs_load(buckets()).rows_by_key("server", named=True)
    assert got["a"][0]["rises_with_load"] and got["a"][0]["spearman"] > 0.9
    assert not got["b"][0]["rises_with_load"]
