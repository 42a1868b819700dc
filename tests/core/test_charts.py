from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import plotly.io as pio
import polars as pl
import pytest

from core import charts
from core.kernel import units

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def frame(groups: dict[str, list[float]], by: str = "host") -> pl.DataFrame:
    rows = [
        {"ts": T0 + timedelta(minutes=i), by: g, "value": v}
        for g, vs in groups.items()
        for i, v in enumerate(vs)
    ]
    return pl.DataFrame(rows).with_columns(pl.col("ts").dt.cast_time_unit("ms"))


def as_json(fig: object) -> dict:
    return json.loads(pio.to_json(fig))  # what the browser receives


def test_line_has_one_trace_per_group_in_the_shared_theme() -> None:
    fig = charts.line(frame({"b": [0.1, 0.2], "a": [0.5, 0.6]}), "CPU utilisation", "ratio")
    spec = as_json(fig)
    assert [t["name"] for t in spec["data"]] == ["a", "b"]
    assert spec["data"][0]["y"] == [0.5, 0.6]
    assert spec["layout"]["title"]["text"] == "CPU utilisation"
    assert spec["layout"]["yaxis"]["tickformat"] == ".0%"
    assert spec["layout"]["template"]["layout"]["colorway"] == charts.COLORWAY
    assert spec["data"][0]["x"][0].startswith("2026-01-01T00:00:00")
    assert "%{y:.1%}" in spec["data"][0]["hovertemplate"]


@pytest.mark.parametrize(
    ("unit", "fmt", "suffix"),
    [
        ("seconds", "~s", "s"),
        ("bytes_per_s", "~s", "B/s"),
        ("per_s", ",.3~g", "/s"),
        ("percent", ".0%", None),
    ],
)
def test_axis_formats_follow_the_unit(unit: str, fmt: str, suffix: str | None) -> None:
    spec = as_json(charts.line(frame({"a": [1.0]}), "t", unit))  # type: ignore[arg-type]
    assert spec["layout"]["yaxis"]["tickformat"] == fmt
    assert spec["layout"]["yaxis"].get("ticksuffix") == suffix


def test_many_groups_are_cut_and_the_rest_summed_as_other() -> None:
    df = frame({f"s{i}": [float(i)] * 3 for i in range(12)}, by="server")
    fig = charts.line(df, "Call rate", "per_s", color="server", stacked=True, max_series=3, other="sum")
    names = charts.trace_names(fig)
    assert names == ["s10", "s11", "s9", "other"]
    total = sum(t.y[0] for t in fig.data)
    assert total == pytest.approx(sum(range(12)))
    assert all(t.stackgroup == "one" for t in fig.data)


def test_dropping_extra_groups_keeps_the_largest() -> None:
    df = frame({"low": [0.1], "high": [0.9], "mid": [0.5]}, by="server")
    assert charts.trace_names(charts.line(df, "p95", "seconds", color="server", max_series=2)) == [
        "high",
        "mid",
    ]


def test_empty_frames_give_empty_figures_with_a_title() -> None:
    empty = pl.DataFrame(schema={"ts": pl.Datetime("ms", "UTC"), "host": pl.Utf8, "value": pl.Float64})
    for fig in (
        charts.line(empty, "x", "ratio"),
        charts.heatmap(empty, "x"),
        charts.box(empty.rename({"host": "group"}), "x", "seconds"),
        charts.bars(empty, "value", "host", "x", "seconds"),
    ):
        assert len(fig.data) == 0
        assert fig.layout.title.text == "x"


def test_heatmap_rows_are_hosts_and_cells_time() -> None:
    fig = charts.heatmap(frame({"h2": [0.1, 0.2, 0.3], "h1": [0.9, 0.8, 0.7]}), "CPU per host")
    spec = as_json(fig)
    trace = spec["data"][0]
    assert trace["type"] == "heatmap"
    assert trace["y"] == ["h1", "h2"]
    assert trace["z"] == [[0.9, 0.8, 0.7], [0.1, 0.2, 0.3]]
    assert (trace["zmin"], trace["zmax"]) == (0, 1.0)
    assert spec["layout"]["yaxis"]["autorange"] == "reversed"


def test_bars_keep_the_table_order_top_down() -> None:
    df = pl.DataFrame({"tool": ["slow", "mid"], "p95": [2.0, 0.5]})
    spec = as_json(charts.bars(df, "p95", "tool", "Slowest", "seconds"))
    assert spec["data"][0]["y"] == ["slow", "mid"]
    assert spec["layout"]["yaxis"]["autorange"] == "reversed"
    assert spec["layout"]["xaxis"]["ticksuffix"] == "s"


def test_box_orders_groups_by_median_worst_first() -> None:
    df = pl.DataFrame({"group": ["a", "a", "b", "b", "c"], "value": [0.1, 0.2, 0.9, 1.0, 0.5]})
    assert charts.trace_names(charts.box(df, "Distribution", "seconds")) == ["b", "c", "a"]


def test_status_and_quantile_colours_are_fixed() -> None:
    up = pl.DataFrame({"ts": [T0, T0], "state": ["up", "down"], "servers": [3.0, 1.0]})
    fig = charts.servers_up(up)
    assert {t.name: t.line.color for t in fig.data} == {
        "up": charts.STATUS_COLORS["up"],
        "down": charts.STATUS_COLORS["down"],
    }
    q = frame({"p50": [0.1], "p95": [0.2], "p99": [0.4]}, by="quantile")
    assert {t.name: t.line.color for t in charts.quantiles(q, "Latency").data} == charts.QUANTILE_COLORS


def test_spec_is_plain_json() -> None:
    spec = charts.spec(charts.line(frame({"a": [1.0]}), "t", "count"))
    assert spec["data"][0]["name"] == "a"
    json.dumps(spec, default=str)


# -- number formats shared by charts, tables and KPIs (core.kernel.units) --------------------------------
@pytest.mark.parametrize(
    ("fn", "value", "text"),
    [
        (units.fmt_bytes, 1536, "1.50 KiB"),
        (units.fmt_bytes, 3 * 2**30, "3.00 GiB"),
        (units.fmt_bytes, 100, "100 B"),
        (units.fmt_percent, 0.953, "95.3%"),
        (units.fmt_seconds, 0.0123, "12.3 ms"),
        (units.fmt_seconds, 0.25, "250 ms"),
        (units.fmt_seconds, 1.5, "1.50 s"),
        (units.fmt_seconds, 0.0004, "400 µs"),
        (units.fmt_rate, 12.34, "12.3 req/s"),
        (units.fmt_rate, 0.0123, "0.012 req/s"),
        (units.fmt_rate, 1234.5, "1,234 req/s"),
        (units.fmt_count, 12345, "12.3k"),
        (units.fmt_count, 1234, "1,234"),
        (units.fmt_count, 2.5e6, "2.5M"),
        (units.fmt_percent, None, units.NA),
        (units.fmt_seconds, float("nan"), units.NA),
    ],
)
def test_number_formats(fn: object, value: float | None, text: str) -> None:
    assert fn(value) == text  # type: ignore[operator]


def test_rate_without_a_noun_and_deltas() -> None:
    assert units.fmt_rate(0.12, "") == "0.12/s"
    assert units.fmt_bytes(2048, "/s") == "2.00 KiB/s"
    assert units.fmt_delta_pct(12.34) == "+12.3%"
    assert units.fmt_delta_pct(None) is None
    assert units.fmt(0.5, "ratio") == "50.0%"
    assert units.fmt(2048, "bytes_per_s") == "2.00 KiB/s"


@pytest.mark.parametrize(
    ("minutes", "fmt"), [(5, "%H:%M:%S"), (60, "%H:%M"), (2 * 24 * 60, "%H:%M"), (3 * 24 * 60, "%b %d")]
)
def test_time_ticks_say_seconds_hours_or_days_by_the_data_span(minutes: int, fmt: str) -> None:
    df = pl.DataFrame({"ts": [T0, T0 + timedelta(minutes=minutes)], "host": ["a", "a"], "value": [1.0, 2.0]})
    spec = as_json(charts.line(df.with_columns(pl.col("ts").dt.cast_time_unit("ms")), "x", "ratio"))
    assert spec["layout"]["xaxis"]["tickformat"] == fmt
