"""Go's time.Time (UTC, nanoseconds) and time.Duration for ``toTime``, ``toDuration``, ``now``.

Only what templates reach: ``String`` and ``Format`` with Go's reference-time layouts, ``Add``,
``Sub``, ``Unix*``, the calendar fields; a duration's ``String`` (``1h2m0.01s``) and its unit
conversions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from core.alerts.gotemplate.builtins import FuncError
from core.alerts.gotemplate.gofmt import shortest_g

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAYOUT = re.compile(
    r"January|Jan|Monday|Mon|MST|2006|Z07:00|Z0700|Z07|-07:00|-0700|-07|002|__2|_2|01|02|03|04|05|06"
    r"|15|PM|pm|[.,](?:0+|9+)(?!\d)|1|2|3|4|5"
)


class Duration:
    go_type = "time.Duration"

    def __init__(self, ns: int) -> None:
        self.ns = ns
        self.go_methods = {
            "String": self.go_string,
            "Seconds": lambda: self.ns / 1e9,
            "Minutes": lambda: self.ns / 6e10,
            "Hours": lambda: self.ns / 3.6e12,
            "Milliseconds": lambda: int(self.ns / 1e6),
            "Microseconds": lambda: int(self.ns / 1e3),
            "Nanoseconds": lambda: self.ns,
            "Abs": lambda: Duration(abs(self.ns)),
        }

    def go_string(self) -> str:
        u, sign = abs(self.ns), "-" if self.ns < 0 else ""
        if u == 0:
            return "0s"
        if u < 1000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return sign + _frac(u, 3) + "µs"
        if u < 1_000_000_000:
            return sign + _frac(u, 6) + "ms"
        h, rest = divmod(u, 3_600_000_000_000)
        m, rest = divmod(rest, 60_000_000_000)
        out = (f"{h}h" if h else "") + (f"{m}m" if h or m else "")
        return sign + out + _frac(rest, 9) + "s"


def _frac(v: int, digits: int) -> str:
    whole, frac = divmod(v, 10**digits)
    f = str(frac).rjust(digits, "0").rstrip("0")
    return f"{whole}.{f}" if f else str(whole)


def as_duration(v: Any) -> Duration:
    if isinstance(v, Duration):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return Duration(v)
    raise FuncError(f"wrong type for value; expected time.Duration; got {type(v).__name__}")


class Time:
    go_type = "*time.Time"

    def __init__(self, ns: int) -> None:
        self.ns = ns
        self.go_methods = {
            "String": self.go_string,
            "Format": self.format,
            "Add": lambda d: Time(self.ns + as_duration(d).ns),
            "Sub": lambda t: Duration(self.ns - t.ns),
            "Unix": lambda: self.ns // 10**9,
            "UnixMilli": lambda: self.ns // 10**6,
            "UnixMicro": lambda: self.ns // 10**3,
            "UnixNano": lambda: self.ns,
            "UTC": lambda: self,
            "Local": lambda: self,
            "Year": lambda: self.dt.year,
            "Month": lambda: self.dt.month,
            "Day": lambda: self.dt.day,
            "Hour": lambda: self.dt.hour,
            "Minute": lambda: self.dt.minute,
            "Second": lambda: self.dt.second,
            "YearDay": lambda: self.dt.timetuple().tm_yday,
            "Before": lambda t: self.ns < t.ns,
            "After": lambda t: self.ns > t.ns,
            "Equal": lambda t: self.ns == t.ns,
        }

    @property
    def dt(self) -> datetime:
        try:
            return _EPOCH + timedelta(microseconds=self.ns // 1000)
        except OverflowError as exc:
            raise FuncError(f"time out of range: {self.ns} ns") from exc

    def go_string(self) -> str:
        return self.format("2006-01-02 15:04:05.999999999 -0700 MST")

    def format(self, layout: Any) -> str:
        if not isinstance(layout, str):
            raise FuncError("wrong type for value; expected string")
        dt, nanos = self.dt, self.ns % 10**9
        return _LAYOUT.sub(lambda m: _element(m.group(0), dt, nanos), layout)


def _element(tok: str, dt: datetime, nanos: int) -> str:
    hour12 = dt.hour % 12 or 12
    simple = {
        "January": dt.strftime("%B"), "Jan": dt.strftime("%b"), "Monday": dt.strftime("%A"),
        "Mon": dt.strftime("%a"), "MST": "UTC", "2006": f"{dt.year:04d}", "06": f"{dt.year % 100:02d}",
        "01": f"{dt.month:02d}", "1": str(dt.month), "02": f"{dt.day:02d}", "2": str(dt.day),
        "_2": f"{dt.day:>2}", "002": f"{dt.timetuple().tm_yday:03d}", "__2": f"{dt.timetuple().tm_yday:>3}",
        "15": f"{dt.hour:02d}", "03": f"{hour12:02d}", "3": str(hour12), "04": f"{dt.minute:02d}",
        "4": str(dt.minute), "05": f"{dt.second:02d}", "5": str(dt.second),
        "PM": "PM" if dt.hour >= 12 else "AM", "pm": "pm" if dt.hour >= 12 else "am",
        "Z07:00": "Z", "Z0700": "Z", "Z07": "Z", "-07:00": "+00:00", "-0700": "+0000", "-07": "+00",
    }  # fmt: skip
    if tok in simple:
        return simple[tok]
    digits = str(nanos).rjust(9, "0")[: len(tok) - 1]
    if tok[1] == "9":  # .999: trailing zeros (and the point) dropped
        digits = digits.rstrip("0")
        return tok[0] + digits if digits else ""
    return tok[0] + digits


def float_to_time(v: float) -> Time:
    """Prometheus' FloatToTime: seconds -> a time in whole milliseconds (model.Time)."""
    ns = v * 1e9
    if ns > 2.0**63 or ns < -(2.0**63):
        raise FuncError(
            f"{shortest_g(v)} cannot be represented as a nanoseconds timestamp since it overflows int64"
        )
    n = int(ns)
    ms = -((-n) // 10**6) if n < 0 else n // 10**6
    return Time(ms * 10**6)
