"""PromQL rules without a Prometheus source: evaluated by core.promql on Pulse's own store."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.alerts.local_promql import local_promql
from core.alerts.remote_promql import promql_reader
from core.alerts.rule_engine import AlertEngine, rule_key
from core.alerts.rules import Rule
from core.storage.tsdb import Store
from tests.conftest import FakeClock
from tests.core.alerts.test_rule_engine import group, put, states


def prom_rule(expr: str, source: str | None = None, **kw: object) -> Rule:
    return Rule.model_validate({"alert": "A", "promql": expr, "source": source, **kw})


@pytest.mark.parametrize(
    ("expr", "source", "expected"),
    [
        ("rate(req_total[1m]) > 1", None, {"a": "firing"}),  # a: 2/s, b: 0.5/s
        ("rate(req_total[1m]) > 1", "pulse", {"a": "firing"}),
        ('rate(req_total{host="b"}[1m]) > 0.4', None, {"b": "firing"}),
        ("rate(req_total[1m]) > 10", None, {}),
        ("sum by (host) (rate(req_total[1m])) / 2 >= 0.25", None, {"a": "firing", "b": "firing"}),
    ],
)
def test_promql_rules_on_the_store(
    make_store: Callable[..., Store],
    clock: FakeClock,
    expr: str,
    source: str | None,
    expected: dict[str, str],
) -> None:
    store = make_store()
    put(store, "req_total", lambda t: t * 2.0, 5, host="a")
    put(store, "req_total", lambda t: t * 0.5, 5, host="b")
    rule = prom_rule(
        expr, source, annotations={"summary": '{{ $labels.host }}: {{ $value | printf "%.2f" }}/s'}
    )
    engine = AlertEngine(
        store, store.engine, [group(rule)], promql_reader([], local_promql(store)), clock=clock
    )
    result = engine.evaluate("g")
    assert not result.errors
    assert states(engine, rule) == expected
    for st in engine.states.get(rule_key("g", rule), {}).values():
        if st.labels["host"] == "a" and expr.startswith("rate"):
            assert st.annotations["summary"] == "a: 2.00/s"


def test_errors_name_the_problem(make_store: Callable[..., Store], clock: FakeClock) -> None:
    store = make_store()
    scalar, unsupported = prom_rule("1 > bool 0"), prom_rule('sort_by_label(x, "a")', alert="B")
    engine = AlertEngine(
        store, store.engine, [group(scalar, unsupported)], promql_reader([], local_promql(store)), clock=clock
    )
    errors = engine.evaluate("g").errors
    assert "gives a scalar; an alert rule needs an instant vector" in errors[rule_key("g", scalar)]
    assert "sort_by_label is not supported" in errors[rule_key("g", unsupported)]
    # a named Prometheus source that is not configured is still an error, never the own store
    remote = prom_rule("up == 0", "prom-main")
    engine = AlertEngine(
        store, store.engine, [group(remote)], promql_reader([], local_promql(store)), clock=clock
    )
    assert "no prometheus source named 'prom-main'" in engine.evaluate("g").errors[rule_key("g", remote)]
