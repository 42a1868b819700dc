"""What-if widgets from settings models: each bounded field becomes a number input spec.

The Optimization page renders these (``st.number_input(label, min_value, max_value, value,
help=description)``) and builds the settings back with :func:`apply`; nothing here imports
Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel


@dataclass(frozen=True)
class Widget:
    name: str
    label: str
    kind: str  # "int", "float" or "text"
    default: Any
    minimum: float | None
    maximum: float | None
    help: str


def widgets(model: type[BaseModel]) -> list[Widget]:
    """One widget per field of ``model``, with its bounds and description."""
    out = []
    for name, f in model.model_fields.items():
        bound: dict[str, float] = {}
        for m in f.metadata:
            for key in ("ge", "gt", "le", "lt"):
                if isinstance(m, Ge | Gt | Le | Lt) and hasattr(m, key):
                    bound[key] = float(getattr(m, key))
        lo, hi = bound.get("gt", bound.get("ge")), bound.get("lt", bound.get("le"))
        kind = "int" if f.annotation is int else "float" if f.annotation is float else "text"
        out.append(
            Widget(name, name.replace("_", " ").capitalize(), kind, f.default, lo, hi, f.description or "")
        )
    return out


def apply(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    """The settings with the widgets' values (validated: a value out of bounds raises)."""
    return model(**values)
