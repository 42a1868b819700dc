"""Capacity planning: forecasts with backtest accuracy, time to exhaustion, anomaly detection.

Domain code only: polars frames and settings in, frames and dataclasses out (no streamlit, no
sqlalchemy). Strategies are small classes with a pydantic settings model whose fields (bounds,
descriptions) the pages turn into what-if widgets; a series that cannot be handled comes back
"undefined" with the reason.
"""

from core.capacity.aggregates import AGGREGATES, CAPACITY_THRESHOLDS, Aggregate, total
from core.capacity.anomaly import Anomalies, Episode, RobustSeasonalDetector
from core.capacity.backtest import Backtest
from core.capacity.exhaustion import Exhaustion, crosses_within, time_to_exhaustion
from core.capacity.forecast import AutoForecaster, Forecast
from core.capacity.models import MODELS, warm_up
from core.capacity.series import Regular, regular, split
from core.capacity.settings import AnomalySettings, ForecastSettings

__all__ = [
    "AGGREGATES",
    "CAPACITY_THRESHOLDS",
    "MODELS",
    "Aggregate",
    "Anomalies",
    "AnomalySettings",
    "AutoForecaster",
    "Backtest",
    "Episode",
    "Exhaustion",
    "Forecast",
    "ForecastSettings",
    "Regular",
    "RobustSeasonalDetector",
    "crosses_within",
    "regular",
    "split",
    "time_to_exhaustion",
    "total",
    "warm_up",
]
