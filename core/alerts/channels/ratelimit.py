"""A token bucket per channel: ``per_minute`` notifications, bursts up to the same number."""

from __future__ import annotations


class TokenBucket:
    """Refills continuously at ``per_minute / 60`` tokens a second; 0 means no limit."""

    def __init__(self, per_minute: int, now_s: float) -> None:
        self.per_minute = per_minute
        self.capacity = float(max(per_minute, 1))
        self.rate = per_minute / 60.0
        self.tokens = self.capacity
        self.updated_s = now_s

    def _refill(self, now_s: float) -> None:
        if now_s > self.updated_s:
            self.tokens = min(self.capacity, self.tokens + (now_s - self.updated_s) * self.rate)
        self.updated_s = max(self.updated_s, now_s)

    def take(self, now_s: float) -> bool:
        """Spend one token if there is one."""
        if self.per_minute == 0:
            return True
        self._refill(now_s)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_s(self, now_s: float) -> float:
        """Seconds until the next token."""
        if self.per_minute == 0:
            return 0.0
        self._refill(now_s)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
