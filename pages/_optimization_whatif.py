"""The Optimization page's what-if controls: the strategy, the history read and number inputs built
from the strategies' and prices' settings models (their bounds, defaults and descriptions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.optimization.settings import PriceSettings, UsageSettings
from core.optimization.strategies import Strategy, make_strategy
from core.optimization.whatif import apply, widgets
from pages import _common as ui

STRATEGIES = ("simple-limit", "simple", "memory-percentile")


@dataclass(frozen=True)
class WhatIf:
    name: str
    strategy: Strategy
    usage: UsageSettings
    prices: PriceSettings

    def as_json(self) -> tuple[str, str, str, str]:
        """The settings as JSON text, so a cached read can key on them."""
        return (
            self.name,
            self.strategy.settings.model_dump_json(),
            self.usage.model_dump_json(),
            self.prices.model_dump_json(),
        )


def inputs(model: type[Any], key: str, start: Any = None) -> Any:
    """Number inputs built from a settings model's bounded fields (their description as help),
    starting at ``start``'s values when given (else the model's defaults)."""
    values = {}
    for w in widgets(model):
        default = w.default if start is None else getattr(start, w.name)
        if w.kind == "text":
            if start is not None:
                values[w.name] = default
            continue
        cast: Any = int if w.kind == "int" else float
        lo, hi = (None if b is None else cast(b) for b in (w.minimum, w.maximum))
        values[w.name] = st.number_input(
            w.label, lo, hi, cast(default), help=w.help, key=f"opt.{key}.{w.name}"
        )
    return apply(model, values)


def sidebar() -> WhatIf:
    with st.sidebar.expander("What if", expanded=True):
        name = st.selectbox("Strategy", STRATEGIES, key="opt.strategy")
        window = st.slider("History (days)", 1, 30, 14, key="opt.window", help="Usage read per container")
        strategy = make_strategy(name)
        strategy = make_strategy(name, **inputs(strategy.settings_class, name).model_dump())
        prices = inputs(PriceSettings, "prices", ui.console().settings.prices)  # the installation's prices
    return WhatIf(name, strategy, UsageSettings(window_days=window), prices)
