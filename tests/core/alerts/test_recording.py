"""Recording rules on Pulse's own store: parsed with errors that name the line, written as
Prometheus writes them (``__name__`` dropped, the rule's labels set, stale markers for series that
are gone), evaluated before the group's alerts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.alerts.loader import check_rules, parse_rules
from core.alerts.local_promql import local_promql
from core.alerts.recording import recording_key
from core.alerts.remote_promql import promql_reader
from core.alerts.rule_engine import AlertEngine, rule_key
from core.alerts.rules import RuleGroup
from core.promql import Engine, StoreSource
from core.storage.tsdb import Store
from tests.conftest import FakeClock
from tests.core.alerts.test_rule_engine import put

RULES = """groups:
  - name: g
    rules:
      - record: host:req:rate1m
        expr: sum by (host) (rate(req_total[1m]))
        labels: {team: web, host: overridden-not}
      - alert: HostBusy
        expr: host:req:rate1m > 1
        labels: {severity: warning}
"""


PLAIN = RULES.replace(", host: overridden-not", "")  # the rule's labels without the host


def _two_hosts(make_store: Callable[..., Store]) -> Store:
    """A store with two counters: host a at 2/s, host b at 0.5/s, for the last 5 minutes."""
    store = make_store()
    put(store, "req_total", lambda t: t * 2.0, 5, host="a")
    put(store, "req_total", lambda t: t * 0.5, 5, host="b")
    return store


def _engine(store: Store, clock: FakeClock, text: str) -> tuple[AlertEngine, RuleGroup]:
    (group,) = parse_rules(text, "r.yml").groups
    reader = promql_reader([], local_promql(store))
    return AlertEngine(store, store.engine, [group], reader, clock=clock, write=store.write), group


def _instant(store: Store, query: str) -> dict[str, float]:
    result = Engine(StoreSource(store)).instant(query, store.now_ms())
    return {dict(s.labels).get("host", ""): s.value for s in result.samples}  # type: ignore[union-attr]


def test_recorded_series_and_the_alert_that_reads_them_in_one_cycle(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = _two_hosts(make_store)
    engine, group = _engine(store, clock, PLAIN)
    result = engine.evaluate("g")
    assert not result.errors and result.recorded == 2
    assert _instant(store, "host:req:rate1m") == pytest.approx({"a": 2.0, "b": 0.5})
    series = store.series("host:req:rate1m")
    assert sorted(series["labels"].to_list(), key=str) == [
        {"host": "a", "team": "web"},
        {"host": "b", "team": "web"},
    ]
    (alert,) = group.rules
    assert {s.labels["host"] for s in engine.states[rule_key("g", alert)].values()} == {"a"}


def test_the_rules_labels_win_and_a_series_that_is_gone_is_marked_stale(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = _two_hosts(make_store)
    text = PLAIN.replace("sum by (host) (rate(req_total[1m]))", "sum by (host) (rate(req_total[1m])) > 1")
    engine, _ = _engine(store, clock, text)
    engine.evaluate("g")
    assert _instant(store, "host:req:rate1m") == pytest.approx({"a": 2.0})
    clock.advance(120)  # host a stops: no sample in the last minute, so no rate
    put(store, "req_total", lambda t: t * 0.5, 2, host="b")
    result = engine.evaluate("g")
    assert not result.errors and result.recorded == 1  # the stale marker of host a
    assert _instant(store, "host:req:rate1m") == {}  # gone at once, not after the 5-minute lookback
    # the rule's labels are set over the result's
    engine, _ = _engine(store, clock, RULES)
    engine.evaluate("g")
    assert set(store.series("host:req:rate1m")["labels"].to_list()[-1].items()) >= {
        ("host", "overridden-not")
    }


def test_two_series_the_same_without_their_name_are_an_error_and_nothing_is_written(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    put(store, "one_total", lambda t: 1.0, 2, host="a")
    put(store, "two_total", lambda t: 2.0, 2, host="a")
    text = "groups:\n  - name: g\n    rules:\n      - record: both\n        expr: '{__name__=~\"one_total|two_total\"}'\n"
    engine, group = _engine(store, clock, text)
    errors = engine.evaluate("g").errors
    key = recording_key("g", 0, group.recording[0])
    assert 'the result holds {host="a"} twice once __name__ is dropped' in errors[key]
    assert store.series("both").is_empty()
    assert engine.health[key].last_error == errors[key]


def test_without_a_store_to_write_to_the_rule_reports_it(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    (group,) = parse_rules(RULES, "r.yml").groups
    engine = AlertEngine(store, store.engine, [group], promql_reader([], local_promql(store)), clock=clock)
    errors = engine.evaluate("g").errors
    assert "need PromQL and a store to write to" in errors[recording_key("g", 0, group.recording[0])]


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (
            "      - record: 'bad name'\n        expr: up\n",
            "r.yml:4: group 'g', rule 'bad name': record: record 'bad name' is not a valid metric name",
        ),
        (
            "      - record: ok\n        expr: 'sum(up'\n",
            "r.yml:4: group 'g', rule 'ok': expr: invalid PromQL",
        ),
        (
            "      - record: ok\n        expr: up\n        labels: {__name__: x}\n",
            "invalid label name(s) '__name__'",
        ),
        ("      - record: ok\n        expr: up\n        for: 5m\n", "for: Extra inputs are not permitted"),
    ],
)
def test_bad_recording_rules_name_the_line(rule: str, problem: str) -> None:
    rs = check_rules("groups:\n  - name: g\n    rules:\n" + rule, "r.yml")
    assert any(problem in e for e in rs.errors), rs.errors


def test_samples_the_store_refuses_are_the_rules_error(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store(ingest={"max_series_per_metric": 1})
    put(store, "req_total", lambda t: t * 2.0, 5, host="a")
    two = PLAIN.replace(
        "sum by (host) (rate(req_total[1m]))", "sum by (host) (rate(req_total[1m])) or vector(1)"
    )
    engine, group = _engine(store, clock, two)  # two series of host:req:rate1m, one allowed
    errors = engine.evaluate("g").errors
    assert (
        "the store refused 1 sample(s): {'cardinality': 1}"
        in errors[recording_key("g", 0, group.recording[0])]
    )
