"""What the optimization domain returns: recommendations with their evidence and risks.

A recommendation is never a bare number: it carries the current and recommended values, the
savings, the evidence it was computed from (window, points, percentiles, peaks) and risk flags.
When the history is not enough it is "undefined" with the reason (KRR's
``ResourceRecommendation.undefined(info=...)``), never a guess.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RiskKind = Literal["cpu_throttling", "oom_kills", "restarts", "little_history", "bursty", "limit_below_peak"]
GIB = float(1 << 30)


@dataclass(frozen=True)
class Risk:
    kind: RiskKind
    detail: str


@dataclass(frozen=True)
class Evidence:
    """The history behind a recommendation, as read from the store."""

    window_start_ms: int
    window_end_ms: int
    step_s: int
    points: int  # raw samples behind the buckets
    history_hours: float
    cpu_p50: float | None
    cpu_p95: float | None
    cpu_p99: float | None
    cpu_peak: float | None
    memory_p95: float | None
    memory_peak: float | None
    restarts: float
    oom_kills: float
    throttled_ratio: float | None


@dataclass(frozen=True)
class Resources:
    cpu_request: float | None
    cpu_limit: float | None
    memory_request: float | None
    memory_limit: float | None


@dataclass(frozen=True)
class Recommendation:
    """Right-sizing of one container by one strategy."""

    server: str
    host: str
    team: str
    session_id: str
    strategy: str
    current: Resources
    recommended: Resources | None  # None: undefined, see ``reason``
    evidence: Evidence
    risks: tuple[Risk, ...] = ()
    reason: str = ""
    savings_cores: float = 0.0
    savings_gib: float = 0.0
    savings_monthly: float = 0.0
    info: dict[str, str] = field(default_factory=dict)  # how each value was derived

    @property
    def defined(self) -> bool:
        return self.recommended is not None

    def row(self) -> dict[str, Any]:
        """A flat dict for tables, CSV and JSON (memory in GiB, risks joined)."""
        cur, rec, ev = self.current, self.recommended, asdict(self.evidence)
        out: dict[str, Any] = {
            "server": self.server,
            "host": self.host,
            "team": self.team,
            "session_id": self.session_id,
            "strategy": self.strategy,
            "status": "ok" if rec else "undefined",
            "reason": self.reason,
            "cpu_request": cur.cpu_request,
            "cpu_request_rec": rec.cpu_request if rec else None,
            "cpu_limit": cur.cpu_limit,
            "cpu_limit_rec": rec.cpu_limit if rec else None,
            "memory_request_gib": _gib(cur.memory_request),
            "memory_request_rec_gib": _gib(rec.memory_request if rec else None),
            "memory_limit_gib": _gib(cur.memory_limit),
            "memory_limit_rec_gib": _gib(rec.memory_limit if rec else None),
            "savings_cores": self.savings_cores,
            "savings_gib": self.savings_gib,
            "savings_monthly": self.savings_monthly,
            "risks": ",".join(r.kind for r in self.risks),
            "risk_details": "; ".join(r.detail for r in self.risks),
        }
        for key in ("memory_p95", "memory_peak"):
            ev[key + "_gib"] = _gib(ev.pop(key))
        out.update({f"ev_{k}": v for k, v in ev.items()})
        return out


def _gib(value: float | None) -> float | None:
    return None if value is None else value / GIB
