"""Many chunks encoded at once: :func:`chunks.encode_table`'s arithmetic in a few array passes.

Compaction and rollup packing encode thousands of chunks per run (10,000 series make 10,000
chunks a window). Encoding them one at a time cost about 0.75 ms each, most of it numpy's fixed
cost per call on arrays of a few hundred values (the decimal-exponent search alone tried up to
ten scales on every chunk). Here the delta-of-delta timestamps, the decimal exponents, mantissa
deltas, XOR-ed float bits and zig-zag codes are computed for all chunks in one pass each, and
only the byte packing and compression run per chunk. The bytes are those :func:`chunks.encode_table`
writes for each chunk alone (a property test holds both to that).
"""

from __future__ import annotations

import numpy as np

from core.storage.tsdb.chunks import _FLOAT, _HEADER, _VERSION, _WIDTHS, _exact_at, _zigzag, compress

_HEAD = 32  # values that propose a chunk's decimal exponent, as in chunks._decimal_exponent


def _exact(values: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """Per value: is it ``round(value * scale) / scale`` exactly (as chunks._exact_at, per element)."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.round(values * scale)
        return (np.abs(scaled) < 2**53) & (scaled / scale == values)


def _heads(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indexes of the first ``_HEAD`` values of every segment, and where each segment's start."""
    lens = np.minimum(counts, _HEAD)
    at = np.cumsum(lens) - lens
    idx = np.repeat(starts - at, lens) + np.arange(int(lens.sum()))
    return idx, at


def exponents(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per segment, what chunks._decimal_exponent gives for it alone (-1 for None)."""
    finite = (np.abs(values) < 2**52) & ~((values == 0) & np.signbit(values))
    ok = np.logical_and.reduceat(finite, starts)
    idx, head_at = _heads(starts, counts)
    head = values[idx]
    guess = np.full(starts.size, -1)
    for k in range(10):
        fits = np.logical_and.reduceat(_exact(head, 10.0**k), head_at) & (guess < 0)
        guess[fits] = k
    guess[~ok] = -1
    scale = np.repeat(10.0 ** np.maximum(guess, 0), counts)
    confirmed = np.logical_and.reduceat(_exact(values, scale), starts)
    for i in np.flatnonzero((guess >= 0) & ~confirmed).tolist():  # rare: search on, chunk alone
        seg = values[starts[i] : starts[i] + counts[i]]
        guess[i] = next((k for k in range(int(guess[i]) + 1, 10) if _exact_at(seg, k)), -1)
    return guess


def _value_streams(
    values: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(mode per segment, unsigned stream of every value), as chunks._value_stream per segment."""
    k = exponents(values, starts, counts)
    decimal = np.repeat(k >= 0, counts)
    scale = np.repeat(10.0 ** np.maximum(k, 0), counts)
    mant = np.zeros(values.size, np.int64)
    mant[decimal] = np.round(values[decimal] * scale[decimal]).astype(np.int64)
    deltas = np.diff(mant, prepend=0)
    deltas[starts] = mant[starts]
    bits = values.view(np.uint64)
    xored = bits ^ np.concatenate(([np.uint64(0)], bits[:-1]))
    xored[starts] = bits[starts]
    return np.where(k >= 0, k, _FLOAT), np.where(decimal, _zigzag(deltas), xored)


def _packed(stream: np.ndarray, a: int, b: int, top: int) -> bytes:
    for width, dtype in _WIDTHS:
        if top < (1 << (8 * width)):
            return bytes([width]) + stream[a:b].astype(dtype).view(np.uint8).reshape(-1, width).T.tobytes()
    raise AssertionError("unreachable")


_GROUP = 262_144  # values encoded per round of array passes: bounds the temporaries (~30 MB)


def encode_segments(ts: np.ndarray, columns: list[np.ndarray], bounds: np.ndarray) -> list[bytes]:
    """One :func:`chunks.encode_table` blob per segment ``[bounds[i], bounds[i + 1])`` of the arrays.

    ``ts`` (int64, sorted within each segment) and the float64 ``columns`` hold the segments end
    to end; ``bounds`` starts at 0, ends at ``ts.size`` and has no empty segment. Segments are
    encoded a group of about ``_GROUP`` values at a time.
    """
    bounds = np.asarray(bounds, np.int64)
    out: list[bytes] = []
    i = 0
    while i < bounds.size - 1:
        j = max(i + 1, int(np.searchsorted(bounds, bounds[i] + _GROUP, side="right")) - 1)
        a, b = int(bounds[i]), int(bounds[j])
        out += _encode_group(ts[a:b], [c[a:b] for c in columns], bounds[i : j + 1] - a)
        i = j
    return out


def _encode_group(ts: np.ndarray, columns: list[np.ndarray], bounds: np.ndarray) -> list[bytes]:
    ts = np.asarray(ts, dtype=np.int64)
    starts, counts = bounds[:-1], np.diff(bounds)
    if starts.size == 0:
        return []
    if np.any(counts <= 0):
        raise ValueError("encode_segments: empty segment")
    d = np.diff(ts, prepend=ts[:1])
    d[starts] = 0
    dod = np.diff(d, prepend=0)
    dod[starts] = 0
    streams, modes = [_zigzag(dod)], []
    for col in columns:
        mode, stream = _value_streams(np.asarray(col, dtype=np.float64), starts, counts)
        modes.append(mode)
        streams.append(stream)
    tops = [np.maximum.reduceat(s, starts).tolist() for s in streams]
    mode_rows = np.stack(modes, axis=1).astype(np.uint8) if modes else np.zeros((starts.size, 0), np.uint8)
    out = []
    for i, (a, b) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)):
        body = b"".join(_packed(s, a, b, top[i]) for s, top in zip(streams, tops, strict=True))
        header = _HEADER.pack(_VERSION, len(columns), b - a, int(ts[a])) + mode_rows[i].tobytes()
        out.append(header + compress(body))
    return out
