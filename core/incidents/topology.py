"""The fleet's shape as incidents need it: which host (parent) each server (leaf) runs on.

Learned from alert labels (a server alert carries ``host=...``) and, optionally, seeded from the
label sets of a metric's series (``Topology.from_label_sets(store.series("mcp_server_up")["labels"])``).
Two uses: correlation (an alert naming only a server still correlates with its host's alerts) and
impact (a host alert affects the servers known to run on that host).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Key = tuple[str, str]
LEAF_LABELS = ("server", "host", "team", "user", "session_id", "kind")


class Topology:
    def __init__(self, leaf: str = "server", parents: Iterable[str] = ("host",)) -> None:
        self.leaf = leaf
        self.parents = tuple(parents)
        self._leaves: dict[str, dict[str, str]] = {}

    @classmethod
    def from_label_sets(
        cls, label_sets: Iterable[Mapping[str, str]], leaf: str = "server", parents: Iterable[str] = ("host",)
    ) -> Topology:
        topo = cls(leaf, parents)
        for labels in label_sets:
            topo.learn(labels)
        return topo

    def learn(self, labels: Mapping[str, str]) -> None:
        """Remember a leaf's labels (the latest wins), when ``labels`` name a leaf."""
        name = labels.get(self.leaf)
        if not name:
            return
        keep = {k: labels[k] for k in (*LEAF_LABELS, *self.parents) if labels.get(k)}
        self._leaves[name] = {**self._leaves.get(name, {}), **keep}

    def leaf_labels(self, name: str) -> Mapping[str, str]:
        return self._leaves.get(name, {})

    def parent_keys(self, labels: Mapping[str, str]) -> set[Key]:
        """The parents of the leaf ``labels`` name, as (label, value), when known."""
        name = labels.get(self.leaf)
        if not name:
            return set()
        known = self._leaves.get(name, {})
        return {(p, known[p]) for p in self.parents if known.get(p)}

    def members(self, labels: Mapping[str, str]) -> list[Mapping[str, str]]:
        """Known leaves under the parent ``labels`` name (when they name a parent and no leaf)."""
        if labels.get(self.leaf):
            return []
        wanted = [(p, labels[p]) for p in self.parents if labels.get(p)]
        if not wanted:
            return []
        return [
            self._leaves[n]
            for n in sorted(self._leaves)
            if all(self._leaves[n].get(p) == v for p, v in wanted)
        ]

    def __len__(self) -> int:
        return len(self._leaves)
