"""The engine against Debian's Prometheus 2.42 on the same seeded samples (quick set).

Run alone with ``python -m pytest tests/core/promql -m differential``; the full set is
``python -m bench promql``. Pulse reads the samples back from a real Store (SQLite).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.kernel.settings import load_settings
from core.promql import Engine, StoreSource, to_api_data
from core.storage.tsdb.store import open_store
from tests.core.promql import differential as diff
from tests.promstack import PROMETHEUS, PROMTOOL, require_binary

pytestmark = pytest.mark.differential


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    require_binary(PROMETHEUS, "prometheus")
    require_binary(PROMTOOL, "prometheus")
    root = tmp_path_factory.mktemp("promql-diff")
    series = diff.dataset()
    settings = load_settings(database_url=f"sqlite:///{root}/pulse.db")
    store = open_store(settings, clock=lambda: diff.END_MS / 1000 + 3600)
    result = store.write(diff.to_samples(series))
    assert result.accepted == sum(len(ts) for _, ts, _ in series), result
    with diff.prometheus_on(series, Path(root)) as url:
        yield url, Engine(StoreSource(store))
    store.close()


def test_store_returns_the_samples_written(both: tuple[str, Engine]) -> None:
    """The comparison is only meaningful if Pulse's store gives the dataset back unchanged."""
    _, engine = both
    lb, ts, vals = diff.dataset()[0]
    got = engine.source.select(engine_matchers(lb), int(ts[0]), int(ts[-1]))
    assert len(got) == 1
    assert np.array_equal(got[0][1], ts) and np.array_equal(got[0][2], vals)


def engine_matchers(lb: dict[str, str]) -> list:
    from core.kernel.selector import Matcher

    return [Matcher(k, "=", v) for k, v in lb.items()]


def test_quick_queries_agree_with_prometheus(both: tuple[str, Engine]) -> None:
    url, engine = both
    report = diff.compare(url, engine, diff.cases(full=False))
    print("\n".join(report.lines()))
    assert not report.mismatched, "\n".join(report.lines())
    assert not report.refused, "\n".join(report.lines())
    assert report.agreed == len(diff.cases(full=False))


@pytest.mark.parametrize(
    "query",
    [
        "vector(1e21)",
        "vector(0.1)",
        "1/3",
        "-0.0",
        "vector(1e-7)",
        "1/0",
        "-1/0",
        "0/0",
        '"a string"',
        f'{diff.G}{{host="h1"}}',
        f'{diff.G}{{host="h2"}}[1m]',
    ],
)
def test_results_in_api_shape_equal_prometheus_json(both: tuple[str, Engine], query: str) -> None:
    """The HTTP API shape, value strings included (Go's FormatFloat), equals Prometheus' own."""
    url, engine = both
    t = diff.END_MS - 61_234
    want = diff.fetch_data(url, diff.Case(query, "instant", (t,)))
    got = json.loads(json.dumps(to_api_data(engine.instant(query, t))))
    assert got == want
