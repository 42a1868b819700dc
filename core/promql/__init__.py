"""PromQL over Pulse's own store: promql-parser for the grammar, numpy for evaluation.

Public API: :func:`evaluate_instant`, :func:`evaluate_range`, :class:`Engine`, the result types
and the sources (:class:`StoreSource`, :class:`MemorySource`). Semantics are Prometheus 2.42's.
"""

from core.promql.api import Engine, evaluate_instant, evaluate_range, supported
from core.promql.api_json import error_type, to_api_data, to_api_reply
from core.promql.errors import PromQLError, PromQLEvalError, PromQLParseError, PromQLUnsupported
from core.promql.result import Matrix, Result, Sample, Scalar, Series, String, Vector
from core.promql.source import MemorySource, ScopedSource, Source, StoreSource

__all__ = [
    "Engine",
    "Matrix",
    "MemorySource",
    "PromQLError",
    "PromQLEvalError",
    "PromQLParseError",
    "PromQLUnsupported",
    "Result",
    "Sample",
    "Scalar",
    "ScopedSource",
    "Series",
    "Source",
    "StoreSource",
    "String",
    "Vector",
    "error_type",
    "evaluate_instant",
    "evaluate_range",
    "supported",
    "to_api_data",
    "to_api_reply",
]
