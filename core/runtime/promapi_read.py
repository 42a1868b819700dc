"""The read endpoints of the Prometheus API: parameters as Prometheus parses them, data as it answers.

Each endpoint is a function of a :class:`Request` (settings, store, the token's teams, the form
parameters) returning the ``data`` of the reply; a bad parameter raises :class:`BadParam`
(400 ``bad_data``), an engine error a ``QueryError`` (see :func:`classify`). Series and label
listings read the series index (no samples): ``start``/``end`` are checked as Prometheus checks
them (a bad one is a 400) but not used to filter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.kernel.samples import now_ms
from core.kernel.selector import Matcher
from core.kernel.settings.api import ApiSettings
from core.promql import Engine, error_type, to_api_reply
from core.promql.parse import Select, parse
from core.views.promql_scope import TeamSource, list_series

if TYPE_CHECKING:
    from core.runtime.alerting import AlertService
    from core.storage.tsdb.store import Store

VERSION = "2.42.0"  # the Prometheus whose semantics the engine follows (Grafana picks features by it)
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNITS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_536_000_000,
}
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class BadParam(ValueError):
    """A parameter Prometheus would refuse with 400 bad_data."""


@dataclass
class Request:
    settings: ApiSettings
    store: Store
    teams: list[str] | None
    params: dict[str, list[str]]
    alerting: AlertService | None = None  # the daemon's rules and their health (/api/v1/rules)

    def get(self, name: str) -> str | None:
        vals = self.params.get(name)
        return vals[-1] if vals else None

    def source(self) -> TeamSource:
        return TeamSource(self.store, self.teams)

    def engine(self) -> Engine:
        timeout = self.settings.timeout_s
        if (given := self.get("timeout")) is not None:
            timeout = min(timeout, duration_ms(given, "timeout") / 1000)
        return Engine(self.source(), max_samples=self.settings.max_samples, timeout_s=timeout)


def time_ms(text: str, name: str) -> int:
    """Unix seconds (with fractions) or RFC 3339, as Prometheus' ``parseTime``."""
    try:
        v = float(text)
        if math.isfinite(v):
            return round(v * 1000)
    except ValueError:
        pass
    try:
        return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise BadParam(
            f'invalid parameter "{name}": cannot parse "{text[:80]}" to a valid timestamp'
        ) from None


def duration_ms(text: str, name: str) -> int:
    """Seconds (with fractions) or a Prometheus duration (``1m30s``), as ``parseDuration``."""
    try:
        v = float(text)
        if math.isfinite(v) and v >= 0:
            return round(v * 1000)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise BadParam(f'invalid parameter "{name}": cannot parse "{text[:80]}" to a valid duration')
    return sum(int(n) * _UNITS[u] for n, u in parts)


def _required(req: Request, name: str) -> str:
    value = req.get(name)
    if value is None or value == "":
        raise BadParam(f'invalid parameter "{name}": missing')
    return value


def query(req: Request) -> dict[str, Any]:
    text = _required(req, "query")
    t = time_ms(t_text, "time") if (t_text := req.get("time")) else now_ms()
    return to_api_reply(req.engine().instant(text, t))


def query_range(req: Request) -> dict[str, Any]:
    text = _required(req, "query")
    start = time_ms(_required(req, "start"), "start")
    end = time_ms(_required(req, "end"), "end")
    step = duration_ms(_required(req, "step"), "step")
    if end < start:
        raise BadParam('invalid parameter "end": end timestamp must not be before start time')
    if step <= 0:
        raise BadParam(
            'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'
        )
    return to_api_reply(req.engine().range(text, start, end, step))


def _matchers(req: Request, required: bool) -> list[tuple[Matcher, ...]]:
    texts = req.params.get("match[]", [])
    if required and not texts:
        raise BadParam("no match[] parameter provided")
    out = []
    for text in texts:
        plan = parse(text)
        if not isinstance(plan, Select) or plan.offset_ms or plan.at is not None:
            raise BadParam(f'invalid parameter "match[]": {text[:80]!r} is not a series selector')
        if all(m.matches({}) for m in plan.matchers):
            raise BadParam(
                f'invalid parameter "match[]": {text[:80]!r}: vector selector must contain at least one non-empty matcher'
            )
        out.append(plan.matchers)
    return out


def _limit(req: Request) -> int:
    text = req.get("limit") or "0"
    if not text.isdigit():
        raise BadParam(f'invalid parameter "limit": {text[:20]!r} is not a non-negative integer')
    return int(text)


def _check_span(req: Request) -> None:
    """A listing's ``start`` and ``end``, if given, must be timestamps (Prometheus refuses others)."""
    for name in ("start", "end"):
        text = req.get(name)
        if text:
            time_ms(text, name)


def series(req: Request) -> list[dict[str, str]]:
    _check_span(req)
    return list_series(req.source(), _matchers(req, True), _limit(req))


def labels(req: Request) -> list[str]:
    _check_span(req)
    names = {k for lb in list_series(req.source(), _matchers(req, False)) for k in lb}
    out = sorted(names)
    return out[: _limit(req)] if _limit(req) else out


def label_values(req: Request, name: str) -> list[str]:
    if not _LABEL.match(name) and name != "__name__":
        raise BadParam(f'invalid label name: "{name[:80]}"')
    _check_span(req)
    source = req.source()
    match = _matchers(req, False)
    if name == "__name__" and not match and source.scope is None:
        values = set(req.store.metrics())  # the admin's metric list: the index only
    else:
        values = {lb[name] for lb in list_series(source, match) if lb.get(name)}
    out = sorted(values)
    return out[: _limit(req)] if _limit(req) else out


def metadata(req: Request) -> dict[str, list[dict[str, str]]]:
    """Pulse keeps no HELP/TYPE: each visible metric is listed with type ``unknown``."""
    wanted = req.get("metric")
    names = label_values(req, "__name__")
    limit = _limit(req)
    names = [n for n in names if wanted in (None, "", n)][: limit or None]
    return {n: [{"type": "unknown", "help": "", "unit": ""}] for n in names}


def buildinfo(req: Request) -> dict[str, str]:
    return {
        "version": VERSION,
        "revision": "pulse",
        "branch": "pulse",
        "buildUser": "pulse",
        "buildDate": "",
        "goVersion": "none",
    }


def exemplars(req: Request) -> list[Any]:
    """Pulse keeps no exemplars; the query is still checked, as Grafana's Explore asks for them."""
    parse(_required(req, "query"))
    return []


def classify(exc: Exception) -> tuple[str, int]:
    """``errorType`` and status: a timeout is Prometheus' 503 ``timeout``, else ``error_type``."""
    if "timed out" in str(exc):
        return "timeout", 503
    return error_type(exc)


ENDPOINTS: dict[str, Callable[[Request], Any]] = {
    "/api/v1/query": query,
    "/api/v1/query_range": query_range,
    "/api/v1/series": series,
    "/api/v1/labels": labels,
    "/api/v1/metadata": metadata,
    "/api/v1/query_exemplars": exemplars,
    "/api/v1/status/buildinfo": buildinfo,
}
