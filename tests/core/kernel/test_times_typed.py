"""Times and durations given on the command line (``--start``, ``--end``, ``--step``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.kernel.errors import QueryError
from core.kernel.times import parse_duration_ms, parse_time_ms

NOW = 1_795_773_600_000  # 2026-11-27T10:00:00Z
H = 3_600_000


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("250ms", 250),
        ("90s", 90_000),
        ("15m", 900_000),
        ("1h30m", 5_400_000),
        ("1.5h", 5_400_000),
        ("7d", 7 * 24 * H),
        ("2w", 14 * 24 * H),
        ("1d2h3m4s5ms", 24 * H + 2 * H + 3 * 60_000 + 4000 + 5),
        (" 5m ", 300_000),
        ("0s", 0),
    ],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "5", "5x", "m", "1h30", "1h 30m", "-5m", "5 m", "1e3s", "h1"])
def test_bad_durations_say_what_is_allowed(text: str) -> None:
    with pytest.raises(QueryError) as err:
        parse_duration_ms(text)
    msg = str(err.value)
    assert msg.startswith("bad duration") and repr(text.strip()) in msg
    assert "ms, s, m, h, d, w" in msg and "1h30m" in msg


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("now", NOW),
        (" now ", NOW),
        ("-6h", NOW - 6 * H),
        ("now-6h", NOW - 6 * H),
        ("now-1h30m", NOW - 5_400_000),
        ("-90s", NOW - 90_000),
    ],
)
def test_relative_times(text: str, ms: int) -> None:
    assert parse_time_ms(text, NOW) == ms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T10:00:00+00:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T12:00:00+02:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T10:00:00.250Z", datetime(2026, 11, 27, 10, 0, 0, 250_000, tzinfo=UTC)),
        # without a zone an ISO time is UTC, never the machine's local zone
        ("2026-11-27T10:00:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27 10:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ],
)
def test_iso_times(text: str, expected: datetime) -> None:
    assert parse_time_ms(text, NOW) == int(expected.timestamp() * 1000)


def test_iso_without_zone_is_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_time_ms("2026-11-27T10:00:00", NOW) == NOW
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("text", "ms"),
    [("1795773600", NOW), ("1795773600.25", NOW + 250), ("0", 0), ("1700000000.001", 1_700_000_000_001)],
)
def test_epoch_seconds(text: str, ms: int) -> None:
    assert parse_time_ms(text, NOW) == ms


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "",
        "now+1h",
        "2026-13-01T00:00:00Z",
        "27/11/2026",
        "nan",
        # infinities once escaped as OverflowError (a traceback instead of a message)
        "inf",
        "infinity",
        "1e400",
    ],
)
def test_garbage_times_raise_a_clear_query_error(text: str) -> None:
    with pytest.raises(QueryError) as err:
        parse_time_ms(text, NOW)
    msg = str(err.value)
    assert msg.startswith("bad time") and repr(text) in msg
    for hint in ("now", "-6h", "2026-11-27T10:00:00Z", "Unix seconds"):
        assert hint in msg


@pytest.mark.parametrize("text", ["-", "now-", "now-6x", "-6"])
def test_bad_relative_times_name_the_duration(text: str) -> None:
    with pytest.raises(QueryError, match="bad duration"):
        parse_time_ms(text, NOW)
