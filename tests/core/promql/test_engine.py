"""The engine's own contract: refusals by name, one read per selector, range == instant at every
step, and the Store as a source (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from core.kernel.errors import PulseError
from core.kernel.samples import Sample
from core.kernel.selector import Matcher
from core.promql import (
    Engine,
    MemorySource,
    PromQLError,
    PromQLParseError,
    PromQLUnsupported,
    ScopedSource,
    StoreSource,
    Vector,
    error_type,
    evaluate_instant,
    evaluate_range,
    supported,
)
from core.promql.result import key
from core.promql.source import RawSeries
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock


def _source(seed: int = 1) -> MemorySource:
    rng = np.random.default_rng(seed)
    src = MemorySource()
    for host in ("a", "b", "c"):
        t = 0
        counter = 0.0
        for _ in range(400):
            t += 15_000 + int(rng.integers(-2_000, 2_000))
            if rng.random() < 0.05:
                continue  # a missed scrape
            counter = counter + rng.poisson(5) if rng.random() > 0.01 else 0.0
            src.add({"__name__": "req_total", "host": host}, t, counter)
            src.add(
                {"__name__": "temp", "host": host, "dc": "x" if host < "c" else "y"},
                t,
                float(rng.normal(20, 2)),
            )
    return src


@pytest.mark.parametrize(
    ("query", "construct"),
    [
        ("sort_by_label(temp, 'host')", "function sort_by_label"),
        ("histogram_count(temp)", "function histogram_count"),
        ("limitk(2, temp)", "aggregation limitk"),
        ('{__name__="temp" or host="a"}', "'or' between label matchers"),
    ],
)
def test_unsupported_constructs_are_refused_by_name(query: str, construct: str) -> None:
    with pytest.raises(PromQLUnsupported) as err:
        evaluate_instant(query, 600_000, _source())
    assert str(err.value) == f"PromQL: {construct} is not supported"
    assert isinstance(err.value, PulseError)


def test_a_malformed_query_is_a_parse_error() -> None:
    with pytest.raises(PromQLParseError, match="cannot parse"):
        evaluate_instant("sum(rate(temp[5m])", 0, _source())


@pytest.mark.parametrize(
    ("query", "function"), [("ln(0)", "ln"), ("log2(0)", "log2"), ("log10(-1)", "log10")]
)
def test_a_scalar_where_a_function_wants_a_vector_is_refused_as_prometheus_does(
    query: str, function: str
) -> None:
    """promql-parser 0.5 lets these through (``ln(0)`` crashed the evaluator); Prometheus refuses them."""
    with pytest.raises(PromQLParseError) as err:
        evaluate_instant(query, 0, _source())
    assert (
        str(err.value) == f'PromQL: expected type instant vector in call to function "{function}", got scalar'
    )


@pytest.mark.parametrize("query", ['"text"', "temp[5m]"])
def test_a_range_query_needs_a_vector_or_scalar(query: str) -> None:
    with pytest.raises(PromQLError, match="for range query"):
        evaluate_range(query, 0, 600_000, 60_000, _source())


class Counting:
    def __init__(self, inner: MemorySource) -> None:
        self.inner, self.calls = inner, []  # type: ignore[var-annotated]

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]:
        self.calls.append((start_ms, end_ms))
        return self.inner.select(matchers, start_ms, end_ms)


def test_a_range_query_reads_each_selector_once() -> None:
    src = Counting(_source())
    start, end = 3_600_000, 5_400_000
    Engine(src).range("rate(req_total[5m]) / on(host) group_left temp offset 1m", start, end, 15_000)
    assert sorted(src.calls) == sorted([(start - 300_000, end), (start - 60_000 - 300_000, end - 60_000)])


QUERIES = [
    "temp",
    "rate(req_total[1m])",
    "increase(req_total[5m] offset 2m)",
    "irate(req_total[1m])",
    "sum by (dc) (temp)",
    "topk(1, temp)",
    "quantile_over_time(0.3, temp[3m])",
    "temp > on(host) group_left rate(req_total[5m])",
    "max_over_time(rate(req_total[1m])[5m:30s])",
    "temp and on(host) (req_total > 100)",
    "count_values('v', round(temp))",
    "absent_over_time(temp{host='a'}[10s])",
    "stddev_over_time(temp[10m])",
    "time() - timestamp(temp)",
]


@pytest.mark.parametrize("query", QUERIES)
def test_range_results_equal_instant_results_at_every_step(query: str) -> None:
    """The vectorised range evaluation must give, at each step, what an instant query gives."""
    engine = Engine(_source())
    start, end, step = 1_800_000, 3_000_000, 45_000
    matrix = engine.range(query, start, end, step)
    by_step: dict[int, dict] = {}
    for s in matrix.series:
        for t, v in zip(s.ts.tolist(), s.values.tolist(), strict=True):
            by_step.setdefault(t, {})[key(s.labels)] = v
    nonempty = 0
    for t in range(start, end + 1, step):
        got = engine.instant(query, t)
        assert isinstance(got, Vector)
        want = {key(x.labels): x.value for x in got.samples}
        assert by_step.get(t, {}).keys() == want.keys(), (query, t)
        for k, v in want.items():
            assert by_step[t][k] == pytest.approx(v, rel=1e-12, nan_ok=True), (query, t, k)
        nonempty += bool(want)
    assert nonempty, f"{query} is empty at every step: the comparison proves nothing"


def test_the_store_source_matches_the_memory_source(store: Store, clock: FakeClock) -> None:
    mem = MemorySource()
    batch = []
    for i in range(60):
        for metric, host in (("cpu_seconds_total", "h1"), ("cpu_seconds_total", "h2"), ("mem_bytes", "h1")):
            value = float(i * 3 + len(host))
            batch.append(Sample(metric, (("host", host),), T0_MS - 3_600_000 + i * 15_000, value))
            mem.add({"__name__": metric, "host": host}, T0_MS - 3_600_000 + i * 15_000, value)
    store.write(batch)
    t = T0_MS - 3_600_000 + 40 * 15_000
    for query in [
        '{__name__=~"cpu.*|mem_bytes", host="h1"}',
        'rate(cpu_seconds_total{host!="h1"}[2m])',
        "mem_bytes",
    ]:
        ours = Engine(StoreSource(store)).instant(query, t)
        ref = Engine(mem).instant(query, t)
        assert isinstance(ours, Vector) and isinstance(ref, Vector)
        as_set = {(key(x.labels), x.value) for x in ours.samples}
        assert ours.samples and as_set == {(key(x.labels), x.value) for x in ref.samples}, query


def test_stale_markers_in_the_store_end_a_series_as_in_memory(store: Store, clock: FakeClock) -> None:
    """A stale marker written to the store (remote write, a recording rule's vanished series)
    ends the series at once for instant selectors; range functions leave it out."""
    stale = float(np.array([0x7FF0000000000002], dtype=np.uint64).view(np.float64)[0])
    mem = MemorySource()
    points = [(i * 15_000, float(i)) for i in range(20)] + [(20 * 15_000, stale)]
    store.write([Sample("up_total", (("host", "h1"),), T0_MS - 600_000 + t, v) for t, v in points])
    for t, v in points:
        mem.add({"__name__": "up_total", "host": "h1"}, T0_MS - 600_000 + t, v)
    for at in (19, 20, 21, 25):  # before, at and after the marker (within the 5-minute lookback)
        t = T0_MS - 600_000 + at * 15_000
        for query in ["up_total", "rate(up_total[2m])", "count_over_time(up_total[10m])"]:
            ours, ref = Engine(StoreSource(store)).instant(query, t), Engine(mem).instant(query, t)
            assert isinstance(ours, Vector) and isinstance(ref, Vector)
            got = {(key(x.labels), x.value) for x in ours.samples}
            assert got == {(key(x.labels), x.value) for x in ref.samples}, (query, at)
            if query == "up_total":
                assert bool(got) == (at < 20), at


def test_a_scoped_source_only_shows_its_series() -> None:
    scoped = ScopedSource(_source(), [Matcher("host", "=~", "a|b")])
    got = Engine(scoped).instant("sum by (host) (temp) or sum by (host) (rate(req_total[5m]))", 3_000_000)
    assert isinstance(got, Vector)
    assert {s.labels["host"] for s in got.samples} == {"a", "b"}
    everything = Engine(_source()).instant("count(temp)", 3_000_000)
    assert isinstance(everything, Vector) and everything.samples[0].value == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sum(", ("bad_data", 400)),
        ("temp + on(dc) temp", ("execution", 422)),
        ("limitk(1, temp)", ("execution", 422)),
    ],
)
def test_error_types_follow_prometheus_api(query: str, expected: tuple[str, int]) -> None:
    with pytest.raises(PromQLError) as err:
        Engine(_source()).instant(query, 3_000_000)
    assert error_type(err.value) == expected


def test_a_range_query_over_eleven_thousand_steps_is_refused_as_in_prometheus() -> None:
    engine = Engine(_source())
    assert engine.range("temp", 0, 11_000 * 15_000, 15_000).series  # 11,001 steps: the limit itself
    with pytest.raises(PromQLError, match="exceeded maximum resolution of 11,000 points"):
        engine.range("temp", 0, 11_001 * 15_000, 15_000)


def test_a_query_reading_more_samples_than_allowed_is_refused() -> None:
    engine = Engine(_source(), max_samples=1_000)
    assert engine.instant("sum(temp)", 3_000_000)  # a few samples per series: within the limit
    with pytest.raises(PromQLError, match="too many samples"):
        engine.range("rate(req_total[5m])", 0, 6_000_000, 15_000)  # ~1,200 samples read


def test_a_query_past_its_deadline_is_stopped() -> None:
    with pytest.raises(PromQLError, match="timed out"):
        Engine(_source(), timeout_s=-1).instant("temp", 3_000_000)


def test_every_function_listed_as_supported_is_evaluated() -> None:
    """Each listed function, called with arguments of the types promql-parser declares, evaluates."""
    sample = {"Matrix": "temp[5m]", "Vector": "temp", "Scalar": "0.5", "String": '"host"'}
    engine = Engine(_source())
    listed = supported()
    assert {"rate", "histogram_quantile", "label_replace"} <= set(listed["functions"])
    for name in listed["functions"]:
        arg_types = _arg_types(name)
        args = [sample[t] for t in arg_types]
        if name == "label_replace":
            args = ["temp", '"dst"', '"$1"', '"host"', '"(.*)"']
        if name == "label_join":
            args = ["temp", '"dst"', '"-"', '"host"', '"dc"']
        engine.instant(f"{name}({', '.join(args)})", 3_000_000)


def _arg_types(name: str) -> list[str]:
    import promql_parser as pp

    probes = [
        "temp[5m]",
        "temp",
        "0.5",
        '"a"',
        "0.5, temp[5m]",
        "temp[5m], 60",
        "temp, 0.5",
        "temp, 0, 1",
        "temp[5m], 0.1, 0.5",
    ]
    for probe in [*probes, "0.5, temp"]:
        try:
            call = pp.parse(f"{name}({probe})")
        except ValueError:
            continue
        return [str(t).rsplit(".", 1)[-1] for t in call.func.arg_types][: len(call.args)]
    return []


@pytest.mark.parametrize("op", supported()["aggregations"])
def test_every_aggregation_listed_as_supported_is_evaluated(op: str) -> None:
    param = {"topk": "2, ", "bottomk": "2, ", "quantile": "0.5, ", "count_values": '"v", '}.get(op, "")
    got = Engine(_source()).instant(f"{op} by (dc) ({param}temp)", 3_000_000)
    assert isinstance(got, Vector) and got.samples


def test_holt_winters_by_either_name_and_its_factors_checked_as_prometheus_does() -> None:
    """Prometheus 2.42 calls it holt_winters, Prometheus 3 and promql-parser
    double_exponential_smoothing: both names run the same code (Prometheus' own cases in
    functions.test check the numbers); a factor outside (0, 1) fails the query."""
    engine = Engine(_source())
    old = engine.instant("holt_winters(temp[5m], 0.1, 0.5)", 3_000_000)
    new = engine.instant("double_exponential_smoothing(temp[5m], 0.1, 0.5)", 3_000_000)
    assert isinstance(old, Vector) and old.samples and old == new
    with pytest.raises(PromQLError, match=r"invalid smoothing factor. Expected: 0 < sf < 1, got: 1.500000"):
        engine.instant("holt_winters(temp[5m], 1.5, 0.5)", 3_000_000)
    with pytest.raises(PromQLError, match=r"invalid trend factor. Expected: 0 < tf < 1, got: 0.000000"):
        engine.instant("holt_winters(temp[5m], 0.5, 0)", 3_000_000)
    empty = engine.instant("holt_winters(nothing[5m], 2, 2)", 3_000_000)  # no window, no check
    assert isinstance(empty, Vector) and not empty.samples
    with pytest.raises(PromQLParseError, match="in call to 'holt_winters'"):
        engine.instant("holt_winters(temp[5m])", 3_000_000)
    renamed = engine.instant('label_replace(temp, "f", "holt_winters(", "", "")', 3_000_000)
    assert isinstance(renamed, Vector) and {s.labels["f"] for s in renamed.samples} == {"holt_winters("}
