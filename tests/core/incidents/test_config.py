"""Incident settings: defaults, bounds and unknown keys."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.kernel.settings.incidents import IncidentSettings


def test_defaults() -> None:
    s = IncidentSettings()
    assert (s.correlation_window_s, s.max_window_s, s.min_alerts) == (600, 3600, 1)
    assert s.correlate_by == ["host", "server"] and s.topology_parents == ["host"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"corelation_window_s": 60}, "Extra inputs are not permitted"),
        ({"correlation_window_s": 900, "max_window_s": 600}, "at least correlation_window_s"),
        ({"min_alerts": 0}, "greater than or equal to 1"),
        ({"severity_weights": {"critical": -1}}, "must not be negative"),
        ({"topology_leaf": "host"}, "cannot also be one of topology_parents"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        IncidentSettings.model_validate(values)
