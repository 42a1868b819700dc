"""Result types of the PromQL engine, and the step matrix the evaluator works on internally.

Public results mirror Prometheus' API: an instant query returns a :class:`Vector`, a
:class:`Scalar`, a :class:`String` or (for a range selector) a :class:`Matrix`; a range query
returns a :class:`Matrix`. Times are Unix milliseconds, labels plain dicts with ``__name__``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.promql.errors import PromQLEvalError

Labels = dict[str, str]
NAME = "__name__"


def key(labels: Labels) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def fmt(labels: Labels) -> str:
    """As Prometheus prints label sets in errors: ``name{a="b", c="d"}``."""
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != NAME)
    return f"{labels.get(NAME, '')}{{{inner}}}"


def drop_name(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != NAME}


@dataclass
class Sample:
    labels: Labels
    value: float
    ts: int


@dataclass
class Series:
    labels: Labels
    ts: np.ndarray  # int64 ms
    values: np.ndarray  # float64


@dataclass
class Vector:
    samples: list[Sample]
    ts: int
    type: str = "vector"


@dataclass
class Matrix:
    series: list[Series]
    type: str = "matrix"


@dataclass
class Scalar:
    value: float
    ts: int
    type: str = "scalar"


@dataclass
class String:
    value: str
    ts: int
    type: str = "string"


Result = Vector | Matrix | Scalar | String


@dataclass
class Block:
    """An instant vector at every step: one row per label set, ``present`` says where it exists.

    ``sample_ts`` (only straight from a selector) holds each value's sample timestamp, for
    ``timestamp()``.
    """

    labels: list[Labels]
    values: np.ndarray  # (rows, steps) float64
    present: np.ndarray  # (rows, steps) bool
    sample_ts: np.ndarray | None = field(default=None)

    @staticmethod
    def empty(steps: int) -> Block:
        return Block([], np.zeros((0, steps)), np.zeros((0, steps), bool))

    def __len__(self) -> int:
        return len(self.labels)

    def compact(self) -> Block:
        """Rows present at least once only."""
        keep: np.ndarray = np.asarray(self.present.any(axis=1))
        if keep.all():
            return self
        ts = None if self.sample_ts is None else self.sample_ts[keep]
        labels = [lb for lb, k in zip(self.labels, keep, strict=True) if k]
        return Block(labels, self.values[keep], self.present[keep], ts)

    def merged(self) -> Block:
        """Rows with equal label sets folded into one, as Prometheus' range evaluation does.

        Two such rows present at the same step are the error Prometheus raises.
        """
        groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for i, lb in enumerate(self.labels):
            groups.setdefault(key(lb), []).append(i)
        if len(groups) == len(self.labels):
            return self.compact()
        labels, values, present = [], [], []
        for rows in groups.values():
            pres = self.present[rows]
            if (pres.sum(axis=0) > 1).any():
                raise PromQLEvalError("vector cannot contain metrics with the same labelset")
            labels.append(self.labels[rows[0]])
            values.append(np.where(pres, self.values[rows], 0.0).sum(axis=0))
            present.append(pres.any(axis=0))
        return Block(labels, np.array(values), np.array(present)).compact()


def to_matrix(block: Block, steps: np.ndarray) -> Matrix:
    out = []
    for i, lb in enumerate(block.labels):
        p = block.present[i]
        if p.any():
            out.append(Series(lb, steps[p].astype(np.int64), block.values[i][p]))
    out.sort(key=lambda s: key(s.labels))
    return Matrix(out)


def to_vector(block: Block, t: int) -> Vector:
    samples = [
        Sample(lb, float(block.values[i, 0]), t) for i, lb in enumerate(block.labels) if block.present[i, 0]
    ]
    return Vector(samples, t)
