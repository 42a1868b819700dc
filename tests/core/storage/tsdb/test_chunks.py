"""The chunk codec (delta-of-delta timestamps, decimal or XOR-ed float values): lossless and small."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.storage.tsdb.chunks import decode, encode
from tests.conftest import T0_MS

FLOAT_MODE = 255


def mode_of(blob: bytes) -> int:
    """The value mode of the first column (the byte after the fixed header)."""
    from core.storage.tsdb.chunks import _HEADER

    return blob[_HEADER.size]


def round_trip(ts: np.ndarray, values: np.ndarray) -> None:
    got_ts, got_values = decode(encode(ts, values))
    assert got_ts.dtype == np.int64 and got_values.dtype == np.float64
    np.testing.assert_array_equal(got_ts, ts)
    np.testing.assert_array_equal(got_values, values)  # == per element (0.0 == -0.0)


timestamps = st.lists(st.integers(0, 2**42), min_size=1, max_size=300, unique=True).map(
    lambda xs: np.array(sorted(xs), dtype=np.int64)
)


@st.composite
def series(draw: st.DrawFn, values: st.SearchStrategy[float]) -> tuple[np.ndarray, np.ndarray]:
    ts = draw(timestamps)
    vals = draw(hnp.arrays(np.float64, ts.size, elements=values))
    return ts, vals


finite = st.floats(allow_nan=False, allow_infinity=False)
decimals = st.builds(lambda m, k: m / 10**k, st.integers(-(10**12), 10**12), st.integers(0, 9))
magnitudes = st.builds(
    lambda m, e, s: s * m * 10.0**e, st.floats(1, 10), st.integers(-300, 300), st.sampled_from([-1.0, 1.0])
)


@settings(max_examples=150, deadline=None)
@given(series(finite))
def test_lossless_on_any_finite_floats(data: tuple[np.ndarray, np.ndarray]) -> None:
    round_trip(*data)


@settings(max_examples=100, deadline=None)
@given(series(decimals))
def test_lossless_on_decimals(data: tuple[np.ndarray, np.ndarray]) -> None:
    round_trip(*data)


@settings(max_examples=100, deadline=None)
@given(
    series(st.one_of(magnitudes, decimals, st.sampled_from([0.0, 1e-308, 5e-324, 1.7976931348623157e308])))
)
def test_lossless_on_mixed_magnitudes_and_signs(data: tuple[np.ndarray, np.ndarray]) -> None:
    round_trip(*data)


@settings(max_examples=50, deadline=None)
@given(series(st.floats(allow_nan=True, allow_infinity=True)))
def test_float_mode_is_bit_exact(data: tuple[np.ndarray, np.ndarray]) -> None:
    ts, values = data
    blob = encode(ts, values)
    _, got = decode(blob)
    if mode_of(blob) == FLOAT_MODE:
        assert got.tobytes() == values.tobytes()
    else:
        np.testing.assert_array_equal(got, values)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-(2**62) + 1, 2**62 - 1), min_size=1, max_size=50, unique=True))
def test_lossless_on_the_whole_accepted_timestamp_range(xs: list[int]) -> None:
    ts = np.array(sorted(xs), dtype=np.int64)  # deltas overflow int64 and wrap back exactly
    round_trip(ts, np.linspace(-1, 1, ts.size))


@pytest.mark.parametrize(
    "values",
    [
        [42.0],
        [-1.5],
        [0.1, 0.2, 0.30000000000000004],
        [1e300, -1e-300, 3.0],
        [2.0**52 - 1, -(2.0**52) + 1],
        [2.0**53 + 2, 1.0],
        [123456.123456789, -0.000000001],
        [5e-324, 0.0, -5e-324],
    ],
)
def test_edge_values(values: list[float]) -> None:
    v = np.array(values)
    ts = T0_MS + np.cumsum(np.arange(1, v.size + 1) * 997).astype(np.int64)
    round_trip(ts, v)


def test_empty_and_single_sample() -> None:
    ts, vals = decode(encode(np.array([], np.int64), np.array([], np.float64)))
    assert ts.size == 0 and vals.size == 0
    round_trip(np.array([T0_MS]), np.array([3.25]))
    round_trip(np.array([0]), np.array([-7.0]))


def test_irregular_timestamps_with_huge_jumps() -> None:
    ts = np.array([0, 1, 2, 10**6, 10**6 + 1, 2**41, 2**42 - 7, 2**42], dtype=np.int64)
    round_trip(ts, np.arange(ts.size, dtype=np.float64) * 1.1)


def test_decimal_values_use_the_decimal_mode_and_others_the_float_mode() -> None:
    ts = T0_MS + np.arange(100, dtype=np.int64) * 15_000
    assert mode_of(encode(ts, np.round(np.linspace(0, 50, 100), 2))) == 2
    assert mode_of(encode(ts, np.arange(100.0))) == 0
    assert mode_of(encode(ts, np.random.default_rng(1).random(100))) == FLOAT_MODE


def test_regular_series_compress_to_about_a_byte_per_sample() -> None:
    rng = np.random.default_rng(2)
    ts = T0_MS + np.arange(7200, dtype=np.int64) * 15_000
    counter = np.cumsum(rng.integers(0, 5, ts.size)).astype(np.float64)
    gauge = np.round(50 + np.cumsum(rng.normal(0, 0.5, ts.size)), 1)
    assert len(encode(ts, counter)) / ts.size < 1.0
    assert len(encode(ts, gauge)) / ts.size < 2.0
    jittered = ts + rng.integers(-40, 40, ts.size)
    assert len(encode(np.sort(jittered), counter)) / ts.size < 2.5
    assert len(encode(ts, rng.random(ts.size))) / ts.size < 8.5  # random bits do not compress


def test_decode_rejects_an_unknown_version() -> None:
    blob = bytearray(encode(np.array([1, 2]), np.array([1.0, 2.0])))
    blob[0] = 9
    with pytest.raises(ValueError, match="unknown chunk version 9"):
        decode(bytes(blob))
    assert struct.unpack_from("<BBIq", encode(np.array([5]), np.array([1.0])))[2:] == (1, 5)


def test_negative_zero_keeps_its_sign() -> None:
    _, got = decode(encode(np.array([1, 2]), np.array([-0.0, 1.0])))
    assert np.signbit(got[0])


def test_decode_tables_equals_decoding_each_blob_bit_for_bit() -> None:
    """Many blobs of mixed lengths, value modes, widths, NaN and empty ones, decoded at once."""
    from core.storage.tsdb.chunks import decode_table, decode_tables, encode_table

    rng = np.random.default_rng(3)
    blobs = []
    for i in range(200):
        n = int(rng.integers(0, 170)) if i % 7 else 168  # many share a layout, some are empty
        ts = (T0_MS + np.cumsum(rng.integers(1, 5_000, n))).astype(np.int64)
        cols = [
            np.round(rng.random(n) * 100, int(rng.integers(0, 4)))
            if rng.random() < 0.5
            else rng.standard_normal(n) * 10.0 ** int(rng.integers(0, 20))
            for _ in range(3)
        ]
        if n and i % 5 == 0:
            cols[1][0] = np.nan
        blobs.append(encode_table(ts, cols))
    counts, ts_all, cols_all = decode_tables(blobs, 3)
    each = [decode_table(b) for b in blobs]
    assert counts.tolist() == [t.size for t, _ in each]
    np.testing.assert_array_equal(ts_all, np.concatenate([t for t, _ in each]))
    for j in range(3):
        want = np.concatenate([c[j] for _, c in each])
        np.testing.assert_array_equal(cols_all[j].view(np.uint64), want.view(np.uint64))
    with pytest.raises(ValueError, match="columns"):
        decode_tables(blobs[:1], 2)


@pytest.mark.parametrize("width", [1, 2, 4])
def test_narrow_streams_decode_their_extreme_deltas(width: int) -> None:
    """A stream packed at ``width`` bytes is zig-zag decoded in that width: its extreme deltas
    (the most negative and the largest positive signed value of that width) survive, in values
    and in timestamps, through decode_tables as through decode."""
    from core.storage.tsdb.chunks import _pack, _zigzag, decode_table, decode_tables, encode_table

    low, high = -(2 ** (8 * width - 1)), 2 ** (8 * width - 1) - 1
    steps = np.array([0, high, low, low, high, high, low, 1, -1, 0], dtype=np.int64)
    values = np.cumsum(steps).astype(np.float64)
    assert _pack(_zigzag(np.diff(values.astype(np.int64), prepend=0)))[0] == width
    gaps = np.array([15_000] * 3 + [15_000 + high, 15_000 + high + low, 15_000] * 2 + [15_000])
    ts = T0_MS + np.cumsum(gaps).astype(np.int64)
    blob = encode_table(ts, [values])
    _, (want,) = decode_table(blob)
    counts, got_ts, (got,) = decode_tables([blob, blob], 1)
    np.testing.assert_array_equal(want, values)
    np.testing.assert_array_equal(got, np.concatenate([values, values]))
    np.testing.assert_array_equal(got_ts, np.concatenate([ts, ts]))
