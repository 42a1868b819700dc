"""Label-matcher and label_replace regexes follow RE2 as Prometheus' do (Go's regexp): checked
against Debian's Prometheus 2.42 on label values where RE2 and Python's ``re`` disagree (Unicode
digits and letters under ``\\d`` and ``\\w``, POSIX classes, ``\\pL``, ``\\Q...\\E``, inline
flags), and on patterns RE2 refuses (lookarounds, backreferences, possessive quantifiers)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from core.kernel.settings import load_settings
from core.promql import Engine, PromQLError, StoreSource
from core.storage.tsdb.store import open_store
from tests.core.promql.diffdata import END_MS, prometheus_on, to_samples
from tests.core.promql.differential import Case, compare
from tests.promstack import PROMETHEUS, require_binary

pytestmark = pytest.mark.differential

VALUES = ["123", "٣٤", "abc", "ABC", "ÄBC", "äbc", "a.b", "a+b", "foo-bar", "αβγ", "under_score", "x y"]
REGEXES = [
    r"\\d+",
    r"\\w+",
    r"\\s",
    r"x\\sy",
    "[[:digit:]]+",
    "[[:alpha:]]+",
    "[[:upper:]].*",
    r"\\pL+",
    r"\\p{Greek}+",
    r"\\PL.*",
    "(?i)abc",
    "(?i)äbc",
    "a.b",
    "foo-bar|abc",
    "(a|A).*",
    ".*b.*",
    "x*",
    "",
    # refused by RE2 (and so by Prometheus): both must fail
    "(?=a).*",
    "(?!a).*",
    r"(a)\\1",
    "a++",
    "(?<=a)b",
]


# promql-parser checks selector regexes with Rust's regex crate, which has no \Q...\E: refused in
# selectors (a known difference, docs/promql.md); label_replace's regex is RE2's alone
LABEL_REPLACE_ONLY = [r"a\\Q.\\Eb", r"\\Q+\\E"]


def _series() -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
    ts = END_MS - np.arange(10, dtype=np.int64)[::-1] * 15_000
    return [({"__name__": "re2_probe", "v": v}, ts, np.full(10, float(i))) for i, v in enumerate(VALUES)]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    require_binary(PROMETHEUS, "prometheus")
    root = tmp_path_factory.mktemp("re2")
    series = _series()
    store = open_store(
        load_settings(database_url=f"sqlite:///{root}/pulse.db"), clock=lambda: END_MS / 1000 + 60
    )
    store.write(to_samples(series))
    with prometheus_on(series, root) as url:
        yield url, Engine(StoreSource(store))
    store.close()


def _cases() -> list[Case]:
    out = []
    for rx in REGEXES:
        out += [
            Case(f're2_probe{{v=~"{rx}"}}', "instant", (END_MS,)),
            Case(f're2_probe{{v!~"{rx}"}}', "instant", (END_MS,)),
            Case(f'label_replace(re2_probe, "m", "[$1]", "v", "({rx})")', "instant", (END_MS,)),
        ]
    out += [
        Case(f'label_replace(re2_probe, "m", "$1", "v", "({rx})")', "instant", (END_MS,))
        for rx in LABEL_REPLACE_ONLY
    ]
    return out


def test_regexes_agree_with_prometheus(both: tuple[str, Engine]) -> None:
    url, engine = both
    todo = _cases()
    report = compare(url, engine, todo)
    assert report.agreed == len(todo), "\n".join(report.lines())
    assert report.both_failed >= 5 * 2  # the refused patterns were refused by both, in selectors


def test_refusals_are_clear(both: tuple[str, Engine]) -> None:
    _url, engine = both
    with pytest.raises(PromQLError, match=r"illegal regex for \(\?=a\)\.\*"):  # the parser's own check
        engine.instant('re2_probe{v=~"(?=a).*"}', END_MS)
    with pytest.raises(
        PromQLError, match=r"label_replace\(\): \(a\)\\1: .*RE2, as in Prometheus: no lookarounds"
    ):
        engine.instant('label_replace(re2_probe, "m", "$1", "v", "(a)\\\\1")', END_MS)
