"""The errors of the PromQL engine: all are :class:`core.kernel.errors.QueryError` (a PulseError)."""

from __future__ import annotations

from core.kernel.errors import QueryError


class PromQLError(QueryError):
    """A PromQL query is malformed or cannot be evaluated (Prometheus would also refuse it)."""


class PromQLParseError(PromQLError):
    """The query text does not parse."""


class PromQLUnsupported(PromQLError):
    """A valid PromQL construct that Pulse does not evaluate (yet): refused, never approximated."""

    def __init__(self, construct: str) -> None:
        super().__init__(f"PromQL: {construct} is not supported")
        self.construct = construct


class PromQLEvalError(PromQLError):
    """Evaluation failed the way Prometheus' would (duplicate label sets, many-to-many matching)."""
