"""Selectors matched through the inverted index pick what testing every series picks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.kernel.selector import Matcher, Selector
from core.storage.tsdb.matching import matching_ids

names, values = st.sampled_from(["host", "team", "zone"]), st.sampled_from(["", "a", "b", "c"])
label_sets = st.dictionaries(names, values.filter(bool), max_size=3)
matchers = st.builds(
    Matcher, names, st.sampled_from(["=", "!=", "=~", "!~"]), st.sampled_from(["", "a", "b", "a|b", ".*"])
)
selectors = st.builds(lambda ms: Selector("m", tuple(ms)), st.lists(matchers, max_size=3))


@given(st.lists(label_sets, max_size=12), st.lists(selectors, min_size=1, max_size=6))
def test_the_index_picks_what_a_scan_picks(series: list[dict[str, str]], sels: list[Selector]) -> None:
    labels_of = {100 + i: lb for i, lb in enumerate(series)}
    want = [[sid for sid, lb in labels_of.items() if sel.matches(lb)] for sel in sels]
    assert matching_ids(labels_of, sels) == want
