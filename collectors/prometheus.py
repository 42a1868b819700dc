"""A Prometheus server as a source: PromQL queries mapped to Pulse metrics, with gap backfill.

Each tick runs every query as an instant query at ``now``. A query whose last collected point is
more than 1.5 intervals old (first connect, an outage, ticks skipped by the scheduler's backoff)
is range-queried instead, from just after that point (at most ``backfill_max_s`` back) to ``now``,
with step ``interval_s`` on a grid that ends exactly at ``now``: the range's last point is the
tick's value, so nothing is written twice. Ranges are split in windows of at most 11,000 points
(Prometheus' limit per series); a window Prometheus refuses (too many samples, its query timeout)
is halved for the next tick. A tick starts no request it could not finish within the
collector's ``deadline_s``; a backfill that does not fit resumes at the next tick.

Labels: ``__name__`` dropped; ``instance`` loses its ``:port`` (``strip_instance_port``); then the
query's ``rename``, its ``keep``, and the source's ``labels`` (which win over the series' own).
No ``source`` label is added: a series is the thing measured, so two Prometheus servers of an HA
pair (or the host collector and node-exporter) write one series rather than two; add
``labels = {source = "..."}`` to keep them apart. NaN and infinite values are dropped and counted
(``health.extra["dropped_nonfinite_total"]``).

Failures: a query Prometheus refuses fails alone (``health.extra["partial_errors"]``, the state is
degraded); a failure of the server (down, slow, HTML, garbage, 401) stops the tick; when no
query succeeded, ``collect()`` raises :class:`CollectorError` with the reason and what to do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collectors.base import SourceCollector
from collectors.prometheus_api import PromApi, QueryFailed, Series
from collectors.prometheus_defaults import default_queries
from core.kernel.errors import CollectorError
from core.kernel.samples import Labels, Sample, labels_of
from core.kernel.settings.sources.prometheus import PrometheusSource, PromQuery

MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series
MIN_POINTS = 60  # the smallest window a refused range query shrinks to
BACKFILL_AFTER = 1.5  # intervals without a point before a query is backfilled
SLACK_S = 1.0  # kept free at the end of the deadline


def strip_port(instance: str) -> str:
    """``host:9100`` -> ``host``, ``[::1]:9100`` -> ``::1``; a bare IPv6 address is kept."""
    if instance.startswith("["):
        return instance[1 : instance.find("]")] if "]" in instance else instance
    host, sep, port = instance.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else instance


def _key(q: PromQuery, i: int, queries: list[PromQuery]) -> str:
    """The query's name in partial_errors: its metric, numbered when several queries share it."""
    return q.metric if sum(o.metric == q.metric for o in queries) == 1 else f"{q.metric}#{i + 1}"


class PrometheusCollector(SourceCollector[PrometheusSource]):
    """Reads one Prometheus server; a source of kind ``prometheus``."""

    def __init__(
        self,
        cfg: PrometheusSource,
        connect: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(cfg)
        self.queries = cfg.queries if cfg.queries is not None else default_queries(cfg.rate_window)
        self._connect = connect
        self._clock = clock
        self._api: PromApi | None = None
        self._step_ms = max(1, round(cfg.interval_s * 1000))
        self._cursor: list[int | None] = [None] * len(self.queries)  # ms of each query's last point
        self._resume = 0
        self._window = [MAX_POINTS] * len(self.queries)  # points per range request, halved on refusal
        self._extra = {str(k): str(v) for k, v in cfg.labels.items()}
        self.health.extra.update(dropped_nonfinite_total=0, partial_errors={})

    @property
    def api(self) -> PromApi:
        if self._api is None:
            if self._connect is None:
                from prometheus_api_client import PrometheusConnect

                self._connect = PrometheusConnect
            self._api = PromApi(self.cfg, self._connect)
        return self._api

    # -- labels and samples --------------------------------------------------------------------

    def _labels(self, q: PromQuery, raw: dict[str, str]) -> Labels:
        d = {k: v for k, v in raw.items() if k != "__name__"}
        if self.cfg.strip_instance_port and "instance" in d:
            d["instance"] = strip_port(d["instance"])
        for src, dst in q.rename.items():
            if src in d:
                d[dst] = d.pop(src)
        if q.keep is not None:
            d = {k: d[k] for k in q.keep if k in d}
        d.update(self._extra)
        return labels_of(**d)

    def _samples(self, q: PromQuery, series: list[Series], out: list[Sample]) -> int:
        """Append the series' finite points to ``out``; returns how many were dropped."""
        dropped = 0
        for raw, points in series:
            labels = self._labels(q, raw)
            for ts, text in points:
                value = float(text)
                if math.isfinite(value):
                    out.append(Sample(q.metric, labels, ts, value))
                else:
                    dropped += 1
        return dropped

    # -- one tick ------------------------------------------------------------------------------

    def _plan(self, cursor: int | None, now_ms: int) -> int:
        """How many steps back from ``now`` this query's grid starts (0: an instant query)."""
        step, max_steps = self._step_ms, int(self.cfg.backfill_max_s * 1000) // self._step_ms
        if cursor is None:
            return max_steps
        if now_ms - cursor <= BACKFILL_AFTER * step:
            return 0
        # the first grid point after the cursor: now - k*step > cursor
        return min(max_steps, math.ceil((now_ms - cursor) / step) - 1)

    def collect(self) -> list[Sample]:
        tick = _Tick(time.monotonic(), round(self._clock() * 1000))
        budget_s = self.deadline_s - self.cfg.timeout_s - SLACK_S
        n = len(self.queries)
        # a tick that ran out of time left off at query _resume: start there, so none starves
        for i in [*range(self._resume, n), *range(self._resume)]:
            q = self.queries[i]
            key = _key(q, i, self.queries)
            if tick.stopped is not None:
                tick.errors[key] = f"not queried: {tick.stopped.reason}"
                continue
            try:
                if self._query(i, q, tick, budget_s, key):
                    tick.succeeded += 1
            except QueryFailed as exc:
                if not exc.source_wide and self._plan(self._cursor[i], tick.now_ms):
                    # too many samples, a server-side timeout: smaller windows at the next tick
                    self._window[i] = max(MIN_POINTS, self._window[i] // 2)
                tick.errors[key] = exc.reason
                if exc.source_wide:
                    tick.stopped = exc
        self._resume = tick.resume_at or 0
        return self._finish(tick)

    def _query(self, i: int, q: PromQuery, tick: _Tick, budget_s: float, key: str) -> bool:
        """Collect one query up to now (or as far as the budget goes); False: nothing was asked."""
        steps, step, now_ms = self._plan(self._cursor[i], tick.now_ms), self._step_ms, tick.now_ms
        asked = False
        # oldest window first, so the cursor only moves forward; steps == 0 is an instant query
        size = self._window[i]
        for hi in range(steps, -1, -size):
            if tick.requests and time.monotonic() - tick.started > budget_s:
                cursor = self._cursor[i]
                behind_ms = now_ms - cursor if cursor is not None else hi * step
                tick.pending[key] = behind_ms / 1000
                if tick.resume_at is None:
                    tick.resume_at = i
                break  # no time left for one more request: resume at the next tick
            tick.requests += 1
            if steps == 0:
                series = self.api.instant(q.promql, now_ms)
            else:
                lo = max(0, hi - size + 1)
                start_ms = now_ms - hi * step
                series = self.api.range(q.promql, start_ms, now_ms - lo * step, step)
                tick.backfill_from = min(tick.backfill_from or start_ms, start_ms)
            before = len(tick.out)
            tick.dropped += self._samples(q, series, tick.out)
            if steps:
                tick.backfilled += len(tick.out) - before
            self._cursor[i], asked = now_ms - max(0, hi - size + 1) * step, True
        return asked

    def _finish(self, tick: _Tick) -> list[Sample]:
        extra = self.health.extra
        extra["dropped_nonfinite_total"] += tick.dropped
        extra["backfill_pending_s"] = tick.pending
        extra["partial_errors"] = tick.errors
        if tick.backfill_from is not None:
            extra["last_backfill"] = {
                "from_ms": tick.backfill_from,
                "to_ms": tick.now_ms,
                "samples": tick.backfilled,
            }
        if tick.succeeded == 0 and tick.errors:
            if tick.stopped is not None:
                reason = tick.stopped.reason
            else:
                key, first = next(iter(tick.errors.items()))
                reason = f"all {len(tick.errors)} queries failed; the first, {key}: {first}"
            raise CollectorError(f"prometheus source {self.name!r}: {reason}") from tick.stopped
        return tick.out


@dataclass
class _Tick:
    """What one collect() has done so far."""

    started: float
    now_ms: int
    out: list[Sample] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    pending: dict[str, float] = field(default_factory=dict)  # query -> seconds it is behind
    stopped: QueryFailed | None = None
    requests: int = 0
    succeeded: int = 0
    dropped: int = 0
    backfilled: int = 0
    backfill_from: int | None = None
    resume_at: int | None = None  # the first query the time budget left out
