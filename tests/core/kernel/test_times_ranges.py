from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kernel.times import (
    CUSTOM,
    DAY,
    DEFAULT_PRESET,
    HOUR,
    MAX_SPAN,
    MIN_SPAN,
    MINUTE,
    PRESETS,
    TimeSpec,
    clamp,
    fmt_url,
    parse_instant,
    parse_params,
    pick_step,
)

NOW = 1_767_225_600_000 + 37_123  # 2026-01-01T00:00:37.123Z


@pytest.mark.parametrize(
    ("preset", "step", "live"),
    [
        ("15m", 15_000, True),
        ("1h", 30_000, True),
        ("6h", 120_000, True),
        ("24h", 600_000, False),
        ("7d", HOUR, False),
        ("30d", 6 * HOUR, False),
    ],
)
def test_presets_resolve_to_whole_buckets_ending_now(preset: str, step: int, live: bool) -> None:
    tr = TimeSpec(preset).resolve(NOW)
    assert tr.span_ms == PRESETS[preset]
    assert tr.step_ms == step
    assert tr.span_ms % tr.step_ms == 0
    assert NOW - 4 * MINUTE < tr.end_ms <= NOW
    assert tr.live is live
    assert tr.preset == preset


def test_raw_ranges_end_now_and_minute_ranges_end_on_the_last_minute_before_the_ingest_lag() -> None:
    assert NOW - TimeSpec("15m").resolve(NOW).end_ms < 15_000
    # NOW is 37 s past the minute: 15 s of lag still leave this minute's start as the end
    assert TimeSpec("24h").resolve(NOW).end_ms == NOW - 37_123
    # 10 s past the minute, the minute before
    assert TimeSpec("24h").resolve(NOW - 27_123).end_ms == NOW - 37_123 - MINUTE


def test_status_instant_is_now_for_presets_and_the_end_for_custom_ranges() -> None:
    assert NOW - TimeSpec("7d").resolve(NOW).as_of_ms < 5_000
    custom = TimeSpec(CUSTOM, NOW - DAY, NOW - HOUR).resolve(NOW)
    assert custom.as_of_ms == custom.end_ms == NOW - HOUR - (NOW - HOUR) % MINUTE


@pytest.mark.parametrize("preset", [*PRESETS])
def test_preset_round_trips_through_the_url(preset: str) -> None:
    spec = TimeSpec(preset)
    assert spec.to_params() == {"range": preset}
    assert parse_params(spec.to_params()) == spec


def test_custom_range_round_trips_through_the_url_at_minute_precision() -> None:
    spec = TimeSpec(CUSTOM, NOW - 3 * HOUR - 37_123, NOW - HOUR - 37_123)
    params = spec.to_params()
    assert params == {"range": "custom", "from": "2025-12-31T21:00Z", "to": "2025-12-31T23:00Z"}
    assert parse_params(params) == TimeSpec(CUSTOM, NOW - 3 * HOUR - 37_123, NOW - HOUR - 37_123)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"range": "bogus"},
        {"range": "custom"},
        {"range": "custom", "from": "yesterday", "to": "2025-01-01"},
        {"range": ""},
        {"range": ["", ""]},
    ],
)
def test_unreadable_parameters_fall_back_to_the_default(params: dict[str, str]) -> None:
    assert parse_params(params) == TimeSpec(DEFAULT_PRESET)


def test_grafana_style_from_to_links_are_custom_ranges_and_ends_are_ordered() -> None:
    spec = parse_params({"from": "1700003600000", "to": "1700000000"})
    assert spec == TimeSpec(CUSTOM, 1_700_000_000_000, 1_700_003_600_000)


def test_repeated_parameters_use_the_last_value() -> None:
    assert parse_params({"range": ["1h", "7d"]}) == TimeSpec("7d")


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2026-01-01T00:00Z", 1_767_225_600_000),
        ("2026-01-01T01:00+01:00", 1_767_225_600_000),
        ("2026-01-01 00:00", 1_767_225_600_000),
        ("1767225600", 1_767_225_600_000),
        ("1767225600000", 1_767_225_600_000),
        ("nonsense", None),
        ("", None),
    ],
)
def test_parse_instant(text: str, ms: int | None) -> None:
    assert parse_instant(text) == ms


def test_clamp_keeps_ranges_out_of_the_future_and_within_bounds() -> None:
    assert clamp(NOW - HOUR, NOW + DAY, NOW) == (NOW - HOUR, NOW)
    assert clamp(NOW, NOW - HOUR, NOW) == (NOW - HOUR, NOW)
    assert clamp(NOW - 1000, NOW, NOW) == (NOW - MIN_SPAN, NOW)
    assert clamp(NOW - 400 * DAY, NOW, NOW) == (NOW - MAX_SPAN, NOW)


def test_previous_period_is_adjacent_and_as_long() -> None:
    tr = TimeSpec("6h").resolve(NOW)
    prev = tr.previous()
    assert prev.end_ms == tr.start_ms
    assert prev.span_ms == tr.span_ms
    assert prev.step_ms == tr.step_ms


def test_with_step_keeps_the_end_and_whole_buckets() -> None:
    tr = TimeSpec("1h").resolve(NOW).with_step(7 * MINUTE)
    assert tr.span_ms % (7 * MINUTE) == 0
    assert tr.span_ms >= HOUR


def test_pick_step() -> None:
    assert pick_step(15 * MINUTE) == 15_000
    assert pick_step(400 * DAY) == DAY


def test_labels_and_url_format() -> None:
    assert TimeSpec("24h").resolve(NOW).label == "Last 24 hours"
    assert "2025-12-31 23:00 UTC" in TimeSpec(CUSTOM, NOW - 2 * HOUR, NOW - HOUR).resolve(NOW).label
    assert fmt_url(1_767_225_600_000) == "2026-01-01T00:00Z"


@given(
    start=st.integers(0, 2 * 10**12),
    end=st.integers(0, 2 * 10**12),
    now=st.integers(10**12, 2 * 10**12),
)
def test_any_custom_range_resolves_to_a_valid_query(start: int, end: int, now: int) -> None:
    if start == end:
        return
    tr = TimeSpec(CUSTOM, min(start, end), max(start, end)).resolve(now)
    assert tr.start_ms < tr.end_ms <= now
    assert tr.span_ms % tr.step_ms == 0
    assert tr.span_ms <= MAX_SPAN + tr.step_ms
