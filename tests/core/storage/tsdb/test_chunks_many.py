"""Many chunks encoded at once give, byte for byte, what encoding each chunk alone gives.

And chunks of the first format (zlib, before 2026-12-04) still decode.
"""

from __future__ import annotations

import zlib

import cramjam
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.storage.tsdb.chunks import _HEADER, decode_table, decode_tables, encode_table
from core.storage.tsdb.chunks_many import encode_segments
from tests.core.storage.tsdb.test_chunks import decimals, finite, magnitudes, timestamps

mixed = st.one_of(
    decimals,
    finite,
    magnitudes,
    st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf, 2.0**53, 1e300, 0.1, 0.30000000000000004]),
)


@st.composite
def segment(draw: st.DrawFn, ncols: int) -> tuple[np.ndarray, list[np.ndarray]]:
    ts = draw(timestamps)
    kind = draw(st.sampled_from(["decimal", "mixed", "constant", "tail"]))
    cols = []
    for _ in range(ncols):
        if kind == "constant":
            col = np.full(ts.size, draw(mixed))
        elif kind == "tail":  # the first 32 values propose an exponent the rest refutes
            col = np.round(draw(hnp.arrays(np.float64, ts.size, elements=decimals)), 1)
            col[32:] += 0.001
        else:
            col = draw(hnp.arrays(np.float64, ts.size, elements=decimals if kind == "decimal" else mixed))
        cols.append(col)
    return ts, cols


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 5).flatmap(lambda k: st.lists(segment(k), min_size=1, max_size=8)))
@example([(np.arange(40, dtype=np.int64), [np.r_[np.full(32, 0.5), np.full(8, 0.25)]])])
def test_segments_encode_as_each_alone(segments: list[tuple[np.ndarray, list[np.ndarray]]]) -> None:
    ts = np.concatenate([t for t, _ in segments])
    ncols = len(segments[0][1])
    cols = [np.concatenate([c[j] for _, c in segments]) for j in range(ncols)]
    bounds = np.r_[0, np.cumsum([t.size for t, _ in segments])]
    alone = [encode_table(t, c) for t, c in segments]
    assert encode_segments(ts, cols, bounds) == alone
    counts, got_ts, got_cols = decode_tables(alone, ncols)
    np.testing.assert_array_equal(got_ts, ts)
    for got, want in zip(got_cols, cols, strict=True):
        np.testing.assert_array_equal(got, want)


def test_segments_are_encoded_a_group_at_a_time_with_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.storage.tsdb import chunks_many

    rng = np.random.default_rng(5)
    sizes = rng.integers(1, 120, 60)
    ts = np.concatenate([np.cumsum(rng.integers(1, 30_000, n)) for n in sizes])
    col = np.round(rng.normal(size=ts.size), 2)
    bounds = np.r_[0, np.cumsum(sizes)]
    whole = encode_segments(ts, [col], bounds)
    monkeypatch.setattr(chunks_many, "_GROUP", 50)  # most groups hold one segment, some several
    assert encode_segments(ts, [col], bounds) == whole
    assert whole == [encode_table(ts[a:b], [col[a:b]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def test_an_empty_segment_is_refused() -> None:
    with pytest.raises(ValueError, match="empty segment"):
        encode_segments(np.arange(3), [np.zeros(3)], np.array([0, 0, 3]))


def as_version_1(blob: bytes) -> bytes:
    """The same chunk as the first format wrote it: version 1, zlib."""
    ncols = blob[1]
    at = _HEADER.size + ncols
    body = bytes(cramjam.zstd.decompress(blob[at:]))
    return bytes([1]) + blob[1:at] + zlib.compress(body, 6)


def test_chunks_of_the_zlib_format_still_decode() -> None:
    ts = np.arange(0, 15_000 * 500, 15_000, dtype=np.int64)
    cols = [np.round(np.sin(ts / 1e6), 3), np.cumsum(np.ones(ts.size))]
    blob = encode_table(ts, cols)
    old = as_version_1(blob)
    assert old[0] == 1 and blob[0] == 2 and old != blob
    for b in (blob, old):
        got_ts, got = decode_table(b)
        np.testing.assert_array_equal(got_ts, ts)
        np.testing.assert_array_equal(got[1], cols[1])
    _, mixed_ts, _ = decode_tables([blob, old, blob], 2)
    np.testing.assert_array_equal(mixed_ts, np.tile(ts, 3))
    with pytest.raises(ValueError, match="unknown chunk version 7"):
        decode_table(bytes([7]) + blob[1:])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2**31 - 1), st.integers(-(2**62), 2**62)), max_size=60),
    st.booleans(),
)
def test_series_time_order_is_lexsort(rows: list[tuple[int, int]], narrow: bool) -> None:
    from core.storage.tsdb.read import series_time_order

    sid = np.array([s for s, _ in rows], np.int64)
    ts = np.array([t for _, t in rows], np.int64)
    if narrow:  # the usual case: the one-key sort
        sid, ts = sid % 7, ts % 1000
    want = np.lexsort((np.arange(sid.size), ts, sid))
    np.testing.assert_array_equal(series_time_order(sid, ts), want)
