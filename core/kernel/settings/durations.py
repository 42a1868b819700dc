"""Durations in settings and rule files: seconds, or Prometheus duration strings ("5m", "1h30m")."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from core.kernel.errors import QueryError
from core.kernel.times import parse_duration_ms


def _seconds(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return parse_duration_ms(v) / 1000
        except QueryError as exc:
            raise ValueError(str(exc)) from exc
    return v


Seconds = Annotated[float, BeforeValidator(_seconds)]
