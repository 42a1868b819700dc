"""Selectors: the parser, each matcher and their effect on a real store."""

from __future__ import annotations

import warnings

import pytest

from core.kernel.errors import QueryError
from core.kernel.samples import Sample, labels_of
from core.kernel.selector import Matcher, Selector, parse_selector
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS


def test_parse_a_bare_metric_and_an_empty_body() -> None:
    assert parse_selector("up") == Selector("up")
    assert parse_selector("  ns:up_total {} ") == Selector("ns:up_total")


def test_parse_every_operator_with_spaces_and_a_trailing_comma() -> None:
    sel = parse_selector('m{ a = "x", b!="y",c=~"z.*" , d!~"w|v", }')
    assert sel.metric == "m"
    assert sel.matchers == (
        Matcher("a", "=", "x"),
        Matcher("b", "!=", "y"),
        Matcher("c", "=~", "z.*"),
        Matcher("d", "!~", "w|v"),
    )


def test_parse_escapes_in_values() -> None:
    sel = parse_selector(r'm{path="a\"b\\c", re=~"1\\.5"}')
    assert sel.matchers[0].value == 'a"b\\c'
    assert sel.matchers[1].value == r"1\.5"
    assert sel.matches({"path": 'a"b\\c', "re": "1.5"}) and not sel.matches({"path": 'a"b\\c', "re": "105"})


def test_str_round_trips() -> None:
    text = 'm{a="x",b!="y",c=~"z.*",d!~"w"}'
    assert str(parse_selector(text)) == text
    assert parse_selector(str(parse_selector(text))) == parse_selector(text)


def test_parse_keeps_non_ascii_values() -> None:
    assert parse_selector('m{city="東京", name=~"café|thé"}').matchers == (
        Matcher("city", "=", "東京"),
        Matcher("name", "=~", "café|thé"),
    )


def test_unknown_escape_is_a_query_error_or_taken_literally() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            sel = parse_selector(r'm{code=~"\d+"}')
        except QueryError:
            return
    assert sel.matches({"code": "123"})


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", "bad selector"),
        ("1metric", "bad selector"),
        ('m{a="x"', "bad selector"),
        ('m{a="x"}}', "bad matcher"),
        ("m{a=x}", "bad matcher"),
        ('m{a=="x"}', "bad matcher"),
        ('m{a="x" b="y"}', "bad matcher"),
        ('m{1a="x"}', "bad matcher"),
        ('m{a~"x"}', "bad matcher"),
        ('m{a="x"}{b="y"}', "bad matcher"),
        ('m{a=~"("}', "bad regular expression for label 'a'"),
        ('m{a!~"[z-a]"}', "bad regular expression for label 'a'"),
    ],
)
def test_parse_errors_name_the_problem(text: str, names: str) -> None:
    with pytest.raises(QueryError, match=names) as err:
        parse_selector(text)
    assert isinstance(err.value, QueryError)


def test_matcher_rejects_an_unknown_operator() -> None:
    with pytest.raises(QueryError, match="unknown matcher operator"):
        Matcher("a", "==", "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("op", "value", "labels", "expected"),
    [
        ("=", "web1", {"host": "web1"}, True),
        ("=", "web1", {"host": "web10"}, False),
        ("=", "", {}, True),  # a missing label equals ""
        ("=", "", {"host": "x"}, False),
        ("!=", "web1", {"host": "web2"}, True),
        ("!=", "web1", {}, True),
        ("!=", "", {}, False),
        ("!=", "", {"host": "x"}, True),
        ("=~", "web", {"host": "web1"}, False),  # fully anchored at both ends
        ("=~", "eb1", {"host": "web1"}, False),
        ("=~", "web.*", {"host": "web1"}, True),
        ("=~", "a|web1", {"host": "web1"}, True),  # alternation stays inside the anchors
        ("=~", "web1|a", {"host": "xweb1"}, False),
        ("=~", ".*", {}, True),
        ("=~", ".+", {}, False),
        ("!~", "web.*", {"host": "db1"}, True),
        ("!~", "web.*", {"host": "web1"}, False),
        ("!~", "web", {"host": "web1"}, True),
        ("!~", ".+", {}, True),
    ],
)
def test_matcher_semantics(op: str, value: str, labels: dict[str, str], expected: bool) -> None:
    assert Matcher("host", op, value).matches(labels) is expected  # type: ignore[arg-type]


def hosts(store: Store, selector: str) -> set[str]:
    return {lb.get("host", "") for lb in store.series(selector)["labels"]}


@pytest.fixture
def fleet(store: Store) -> Store:
    batch = [
        Sample("up", labels_of(host="web1", env="prod"), T0_MS, 1.0),
        Sample("up", labels_of(host="web2", env="prod"), T0_MS, 1.0),
        Sample("up", labels_of(host="web10", env="dev"), T0_MS, 0.0),
        Sample("up", labels_of(host="db1"), T0_MS, 1.0),  # no env label
        Sample("down", labels_of(host="web1", env="prod"), T0_MS, 1.0),
    ]
    assert store.write(batch).accepted == 5
    return store


SELECTIONS = {
    "up": {"web1", "web2", "web10", "db1"},
    "up{}": {"web1", "web2", "web10", "db1"},
    'up{host="web1"}': {"web1"},
    'up{host!="web1"}': {"web2", "web10", "db1"},
    'up{host=~"web."}': {"web1", "web2"},
    'up{host=~"web.*"}': {"web1", "web2", "web10"},
    'up{host!~"web.*"}': {"db1"},
    'up{env=""}': {"db1"},
    'up{env!=""}': {"web1", "web2", "web10"},
    'up{env=~"prod|"}': {"web1", "web2", "db1"},
    'up{env!~"prod"}': {"web10", "db1"},
    'up{env="prod",host!~".*2"}': {"web1"},
    'up{host="nope"}': set(),
    "nothing": set(),
}


def test_matchers_select_series_in_the_store(fleet: Store) -> None:
    for selector, expected in SELECTIONS.items():
        assert hosts(fleet, selector) == expected, selector
        df = fleet.select(selector, T0_MS, T0_MS + 1, step_ms=1, resolution="raw")
        assert set(df["host"].to_list() if "host" in df.columns else []) == expected, selector


def test_select_with_a_bad_selector_raises_query_error(store: Store) -> None:
    with pytest.raises(QueryError, match="bad regular expression"):
        store.select('up{host=~"("}', T0_MS, T0_MS + 1)
    with pytest.raises(QueryError, match="bad selector"):
        store.series("up{")
