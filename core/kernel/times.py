"""Times in Pulse: ranges of the dashboards, and times and durations typed by people.

Ranges: presets, custom ranges, their URL form and the query step.

A :class:`TimeSpec` is what the user picked (a preset like ``6h`` or a custom ``from``/``to``);
:meth:`TimeSpec.resolve` turns it into a :class:`TimeRange` of epoch milliseconds at a given
``now``. The range's duration is always a whole number of steps, so every bucket the store
returns is complete (no half-empty last bucket that makes rates dip). Bad URL values never raise:
they fall back to the default, because a shared link must always open.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from core.kernel.errors import QueryError

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
PRESETS: dict[str, int] = {
    "15m": 15 * MINUTE,
    "1h": HOUR,
    "6h": 6 * HOUR,
    "24h": DAY,
    "7d": 7 * DAY,
    "30d": 30 * DAY,
}
CUSTOM = "custom"
CHOICES = (*PRESETS, CUSTOM)
DEFAULT_PRESET = "1h"
LABELS = {
    "15m": "Last 15 minutes",
    "1h": "Last hour",
    "6h": "Last 6 hours",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    CUSTOM: "Custom range",
}
MIN_SPAN = 5 * MINUTE
MAX_SPAN = 90 * DAY
LIVE_MAX = 6 * HOUR
# The same "nice" steps the store uses; about POINTS buckets per chart.
STEPS = [s * 1000 for s in (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)]
POINTS = 200
STATUS_ALIGN = 5_000  # "now" of the status board, rounded so cached reads are shared for a moment
# Minute-step ranges end this long before now (then on the minute): the newest samples may still
# be on their way from a collector's batch. Minutes not rolled up yet are no reason to wait: reads
# compute them from raw samples (core.storage.tsdb.rollup.read_rollup_current).
INGEST_LAG = 15_000
PARAM_RANGE, PARAM_FROM, PARAM_TO = "range", "from", "to"
_URL_FORMAT = "%Y-%m-%dT%H:%MZ"


def pick_step(span_ms: int, points: int = POINTS) -> int:
    """The smallest nice step giving at most ``points`` buckets over ``span_ms``."""
    want = span_ms / points
    return next((s for s in STEPS if s >= want), STEPS[-1])


def clamp(start_ms: int, end_ms: int, now_ms: int) -> tuple[int, int]:
    """Order the ends, keep the range out of the future and between MIN_SPAN and MAX_SPAN."""
    start_ms, end_ms = sorted((start_ms, end_ms))
    end_ms = min(end_ms, now_ms)
    start_ms = min(start_ms, end_ms - MIN_SPAN)
    return max(start_ms, end_ms - MAX_SPAN), end_ms


@dataclass(frozen=True)
class TimeRange:
    """A resolved range: ``start_ms <= ts < end_ms`` in buckets of ``step_ms``."""

    preset: str
    start_ms: int
    end_ms: int
    step_ms: int
    as_of_ms: int = 0  # the instant "current status" refers to: now for presets, the end otherwise

    def __post_init__(self) -> None:
        if not self.as_of_ms:
            object.__setattr__(self, "as_of_ms", self.end_ms)

    @property
    def span_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def live(self) -> bool:
        """Relative ranges up to 6 h refresh themselves by default."""
        return self.preset != CUSTOM and self.span_ms <= LIVE_MAX

    @property
    def refresh_s(self) -> int:
        """Auto-refresh interval: one step, at least 15 s and at most a minute."""
        return max(15, min(60, self.step_ms // 1000))

    @property
    def label(self) -> str:
        if self.preset != CUSTOM:
            return LABELS[self.preset]
        return f"{fmt_utc(self.start_ms)} to {fmt_utc(self.end_ms)}"

    def previous(self) -> TimeRange:
        """The period of the same length just before this one (for period-over-period deltas)."""
        return replace(
            self, start_ms=self.start_ms - self.span_ms, end_ms=self.start_ms, as_of_ms=self.start_ms
        )

    def with_step(self, step_ms: int) -> TimeRange:
        """The same end with a coarser step; the start moves back to keep whole buckets."""
        n = max(1, -(-self.span_ms // step_ms))
        return replace(self, start_ms=self.end_ms - n * step_ms, step_ms=step_ms)


@dataclass(frozen=True)
class TimeSpec:
    """What the user picked: a preset, or ``custom`` with explicit ends (epoch ms)."""

    preset: str = DEFAULT_PRESET
    start_ms: int | None = None
    end_ms: int | None = None

    def resolve(self, now_ms: int) -> TimeRange:
        preset = self.preset if self.preset in PRESETS else DEFAULT_PRESET
        if self.preset == CUSTOM and self.start_ms is not None and self.end_ms is not None:
            preset = CUSTOM
            start, end = clamp(self.start_ms, self.end_ms, now_ms)
        else:
            end, start = now_ms, now_ms - PRESETS[preset]
        span = end - start
        step = pick_step(span)
        if step >= MINUTE and end > now_ms - INGEST_LAG:
            end = now_ms - INGEST_LAG  # leave out seconds whose samples may still be on their way
        align = min(step, MINUTE)  # stable ends for a while, so cached queries are reused
        end -= end % align
        n = max(1, -(-span // step))  # whole buckets covering the span
        as_of = end if preset == CUSTOM else now_ms - now_ms % STATUS_ALIGN
        return TimeRange(preset, end - n * step, end, step, as_of)

    def to_params(self) -> dict[str, str]:
        """URL query parameters; the default preset still appears so links are explicit."""
        if self.preset == CUSTOM and self.start_ms is not None and self.end_ms is not None:
            return {PARAM_RANGE: CUSTOM, PARAM_FROM: fmt_url(self.start_ms), PARAM_TO: fmt_url(self.end_ms)}
        return {PARAM_RANGE: self.preset}


def _first(params: Mapping[str, str | list[str]], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list):
        value = value[-1] if value else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_instant(text: str | None) -> int | None:
    """Epoch ms from ``1700000000000``, ``1700000000`` (seconds) or ISO 8601 (naive means UTC)."""
    if not text:
        return None
    if text.isdigit():
        n = int(text)
        return n if n >= 10**11 else n * 1000
    try:
        dt = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_params(params: Mapping[str, str | list[str]]) -> TimeSpec:
    """The TimeSpec of URL query parameters; anything unreadable falls back to the default."""
    preset = _first(params, PARAM_RANGE)
    start, end = parse_instant(_first(params, PARAM_FROM)), parse_instant(_first(params, PARAM_TO))
    if preset is None and start is not None and end is not None:
        preset = CUSTOM  # Grafana-style links carry only from/to
    if preset == CUSTOM:
        if start is None or end is None or start == end:
            return TimeSpec()
        start, end = sorted((start, end))
        return TimeSpec(CUSTOM, start, end)
    return TimeSpec(preset if preset in PRESETS else DEFAULT_PRESET)


def fmt_url(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(_URL_FORMAT)


def fmt_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_compact(ms: int) -> str:
    """``20250102T0304Z``: for file names."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%dT%H%MZ")


# -- times and durations typed on the command line: now, -6h, ISO 8601, epoch seconds --------
_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration_ms(text: str) -> int:
    """``90s``, ``15m``, ``1h30m``, ``7d`` -> milliseconds; ``0`` alone is 0, as in Prometheus
    (``for: 0`` in mixins' rule files)."""
    text = text.strip()
    if text == "0":
        return 0
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise QueryError(
            f"bad duration {text!r}: use a number and a unit (ms, s, m, h, d, w), e.g. 15m or 1h30m"
        )
    return int(sum(float(n) * _UNITS[u] for n, u in parts))


def parse_time_ms(text: str, now_ms: int) -> int:
    """``now``, ``-6h`` or ``now-6h`` (relative to now), an ISO 8601 time or Unix seconds -> Unix milliseconds."""
    text = text.strip()
    if text == "now":
        return now_ms
    if text.startswith("now-"):
        text = text[3:]
    if text.startswith("-"):
        return now_ms - parse_duration_ms(text[1:])
    try:
        return int(float(text) * 1000)
    except (ValueError, OverflowError):  # not a number, or nan/inf/1e400
        pass
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise QueryError(f"bad time {text!r}: use now, -6h, 2026-11-27T10:00:00Z or Unix seconds") from None
