"""What-if widget specs come from the strategies' and settings' fields."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.optimization.settings import ConsolidationSettings
from core.optimization.strategies import STRATEGIES
from core.optimization.whatif import apply, widgets


def test_every_strategy_field_becomes_a_bounded_widget() -> None:
    for cls in STRATEGIES.values():
        specs = {w.name: w for w in widgets(cls.settings_class)}
        assert set(specs) == set(cls.settings_class.model_fields)
        for w in specs.values():
            assert w.kind in ("int", "float") and w.minimum is not None and w.maximum is not None and w.help
            assert w.minimum <= w.default <= w.maximum
    cpu = {w.name: w for w in widgets(STRATEGIES["simple"].settings_class)}["cpu_percentile"]
    assert (cpu.minimum, cpu.maximum, cpu.default) == (50, 100, 95)


def test_apply_validates_the_values() -> None:
    assert apply(ConsolidationSettings, {"target_utilization": 0.5}) == ConsolidationSettings(
        target_utilization=0.5
    )
    with pytest.raises(ValidationError):
        apply(ConsolidationSettings, {"target_utilization": 1.5})
