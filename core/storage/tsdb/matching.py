"""Which of a metric's series each of many selectors picks, through a per-call inverted index.

An alerting cycle asks a thousand selectors like ``metric{host="h7"}`` of the same few metrics:
testing every selector against every series is selectors x series dict lookups. Here each label
name that an equality matcher uses is indexed once (value -> series ids), a selector starts from
its smallest posting list and checks its other matchers only on those candidates. Selectors
without an equality matcher are tested series by series, as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from core.kernel.selector import Selector


class _Postings:
    def __init__(self, labels_of: Mapping[int, Mapping[str, str]]) -> None:
        self.labels_of = labels_of
        self.by_label: dict[str, dict[str, list[int]]] = {}

    def of(self, label: str, value: str) -> list[int]:
        """Series whose ``label`` equals ``value`` (a missing label counts as ""), in input order."""
        index = self.by_label.get(label)
        if index is None:
            built: defaultdict[str, list[int]] = defaultdict(list)
            for sid, labels in self.labels_of.items():
                built[labels.get(label, "")].append(sid)
            index = self.by_label[label] = dict(built)
        return index.get(value, [])


def matching_ids(
    labels_of: Mapping[int, Mapping[str, str]], selectors: Sequence[Selector]
) -> list[list[int]]:
    """For each selector, the ids of ``labels_of`` whose labels satisfy all its matchers, in the
    mapping's order (the metric name is the caller's business: ``labels_of`` holds one metric)."""
    postings = _Postings(labels_of)
    out: list[list[int]] = []
    for selector in selectors:
        equal = [m for m in selector.matchers if m.op == "="]
        if not equal:
            out.append([sid for sid, lb in labels_of.items() if selector.matches(lb)])
            continue
        first = min(equal, key=lambda m: len(postings.of(m.label, m.value)))
        rest = [m for m in selector.matchers if m is not first]
        candidates = postings.of(first.label, first.value)
        out.append([sid for sid in candidates if all(m.matches(labels_of[sid]) for m in rest)])
    return out
