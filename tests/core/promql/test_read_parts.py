"""A query over many series reads them a part at a time (source.select_parts): the answers are
those of one read, the parts really are several, and a team's scope still applies to each."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.kernel.selector import Matcher
from core.promql import Engine, ScopedSource, StoreSource
from core.promql import source as source_mod
from core.promql.result import Matrix, key
from core.storage.schema import head
from core.storage.tsdb.chunk_cache import CACHE
from core.storage.tsdb.head_cache import head_cache
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS

HOUR = 3_600_000
QUERIES = [
    "m",
    "rate(c_total[5m])",
    "sum by (team) (rate(c_total[10m]))",
    "max_over_time(m[15m])",
    "count_over_time(m[1h])",
    'absent_over_time(m{host="nobody"}[5m])',
    "topk(3, m)",
]


@pytest.fixture
def filled(store: Store) -> Store:
    rng = np.random.default_rng(3)
    samples = []
    for h in range(12):
        lb = labels_of(host=f"h{h:02}", team="ab"[h % 2])
        for k, t in enumerate(range(T0_MS - 6 * HOUR, T0_MS, 15_000)):
            samples.append(Sample("m", lb, t, float(rng.normal())))
            samples.append(Sample("c_total", lb, t, float(k % 500)))  # restarts every 500 samples
    store.write(samples)
    store.compact()  # most in chunks, the last hours in head blocks
    return store


def _rows(result: Matrix) -> dict[tuple, list[float]]:
    return {key(s.labels): [round(v, 9) if math.isfinite(v) else v for v in s.values] for s in result.series}


@pytest.mark.parametrize("cache_mb", [64, 0.01])
def test_parts_answer_what_one_read_answers(
    filled: Store, monkeypatch: pytest.MonkeyPatch, cache_mb: float
) -> None:
    """Also when the whole read is larger than the chunk cache (0.01 MB here): then the parts are
    decoded straight into flat arrays, past the cache, and the answers stay the same."""
    eng = Engine(StoreSource(filled))
    whole = [_rows(eng.range(q, T0_MS - 5 * HOUR, T0_MS, 60_000)) for q in QUERIES]
    reads: list[tuple[int, bool]] = []
    real = StoreSource._read

    def counted(
        self: StoreSource, found: list, start: int, end: int, cached: bool = True, head: object = None
    ) -> list:
        reads.append((len(found), cached))
        return real(self, found, start, end, cached, head)  # type: ignore[arg-type]

    monkeypatch.setattr(source_mod, "PART_SAMPLES", 3_000)  # about 2 series of 6 hours a part
    monkeypatch.setattr(StoreSource, "_read", counted)
    monkeypatch.setattr(CACHE, "max_bytes", int(cache_mb * 1024 * 1024))
    parts = [_rows(eng.range(q, T0_MS - 5 * HOUR, T0_MS, 60_000)) for q in QUERIES]
    assert parts == whole
    assert max(n for n, _ in reads) <= 2 and len(reads) >= 6 * len(QUERIES)  # 12 series, two or fewer a read
    assert {cached for _, cached in reads} == {cache_mb > 1}


def test_the_parts_of_a_read_decode_each_head_block_once(
    filled: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head the head cache cannot hold (turned off here) is decoded once for the whole read,
    not once per part: every part needs every block, as collection writes all series together."""
    with filled.engine.connect() as conn:
        cache = head_cache(conn)
        blocks = conn.execute(sa.select(sa.func.count()).select_from(head)).scalar_one()
    assert blocks >= 1
    eng = Engine(StoreSource(filled))
    whole = _rows(eng.range("m", T0_MS - 5 * HOUR, T0_MS, 60_000))
    monkeypatch.setattr(cache, "max_bytes", 0)
    cache.clear()
    monkeypatch.setattr(source_mod, "PART_SAMPLES", 3_000)  # six parts or more
    misses = cache.misses
    assert _rows(eng.range("m", T0_MS - 5 * HOUR, T0_MS, 60_000)) == whole
    assert cache.misses - misses == blocks


def test_a_scope_applies_to_every_part(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_mod, "PART_SAMPLES", 3_000)
    scoped = ScopedSource(StoreSource(filled), [Matcher("team", "=", "a")])
    got = Engine(scoped).range("m", T0_MS - 5 * HOUR, T0_MS, 60_000)
    assert isinstance(got, Matrix) and len(got.series) == 6
    assert {s.labels["team"] for s in got.series} == {"a"}


def test_the_api_team_source_reads_in_parts_within_its_teams(
    filled: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.views.promql_scope import TeamSource

    monkeypatch.setattr(source_mod, "PART_SAMPLES", 3_000)
    reads: list[int] = []
    real = StoreSource._read
    monkeypatch.setattr(
        StoreSource,
        "_read",
        lambda self, f, a, b, c=True, h=None: reads.append(len(f)) or real(self, f, a, b, c, h),
    )
    got = Engine(TeamSource(filled, ["a"])).range("rate(c_total[5m])", T0_MS - 5 * HOUR, T0_MS, 60_000)
    assert isinstance(got, Matrix) and len(got.series) == 6
    assert {s.labels["team"] for s in got.series} == {"a"} and len(reads) >= 3 and max(reads) <= 2


def test_long_series_searched_one_by_one_give_what_all_at_once_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.promql import selectors

    rng = np.random.default_rng(11)
    found = []
    for i in range(7):
        ts = np.sort(
            rng.choice(np.arange(0, 4_000_000, 1_000), size=int(rng.integers(0, 3_000)), replace=False)
        )
        vals = rng.normal(size=ts.size)
        vals[rng.random(ts.size) < 0.05] = np.frombuffer(np.uint64(0x7FF0000000000002).tobytes(), np.float64)[
            0
        ]
        found.append(({"i": str(i)}, ts.astype(np.int64), vals))
    refs = np.arange(-300_000, 4_300_000, 37_000, dtype=np.int64)
    each = selectors._latest_each(found, refs, 300_000)
    monkeypatch.setattr(selectors, "_LONG", 10**9)  # all at once
    together = selectors._latest(found, refs, 300_000)
    assert each[0] == together[0]
    assert np.array_equal(each[1], together[1]) and np.array_equal(each[2], together[2])
    assert np.array_equal(each[3][each[2]], together[3][together[2]])  # stamps where a sample is


def test_the_api_team_source_answers_whole_hour_steps_from_rollups_within_its_teams(filled: Store) -> None:
    """Selectors at whole hours (rollup buckets alone) see a team's series only, as raw reads do."""
    from core.views.promql_scope import TeamSource

    team, everyone = TeamSource(filled, ["a"]), TeamSource(filled, None)
    asked = team.select_buckets([Matcher("__name__", "=", "m")], HOUR, T0_MS - 5 * HOUR, T0_MS - HOUR)
    assert asked is not None and {lb["team"] for lb, _ in asked} == {"a"} and len(asked) == 6
    args = ("sum by (team) (m)", T0_MS - 5 * HOUR, T0_MS - HOUR, HOUR)
    mine, all_teams = Engine(team).range(*args), Engine(everyone).range(*args)
    assert [s.labels for s in mine.series] == [{"team": "a"}]
    assert mine.series[0].values.tolist() == all_teams.series[0].values.tolist()
    raw = Engine(StoreSource(filled, rollups=False)).range('sum by (team) (m{team="a"})', *args[1:])
    assert np.allclose(raw.series[0].values, mine.series[0].values, rtol=1e-12)
