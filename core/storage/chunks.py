"""Compressed per-series chunks of older raw samples.

Timestamps are stored as delta-of-delta integers; values as scaled decimal integers when every
value in the chunk is an exact decimal with at most 9 fraction digits (the approach of
VictoriaMetrics), else as XOR-ed float bits (Gorilla). Both integer streams are zig-zag coded,
packed at the narrowest width, byte-shuffled and zlib-compressed. Lossless.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_VERSION = 1
_FLOAT = 255
_HEADER = struct.Struct("<BBIq")  # version, value mode, count, first timestamp
_WIDTHS = ((1, np.uint8), (2, np.uint16), (4, np.uint32), (8, np.uint64))


def _zigzag(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.int64)
    return ((a << 1) ^ (a >> 63)).astype(np.uint64)


def _unzigzag(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.uint64)
    return ((z >> np.uint64(1)).astype(np.int64)) ^ (-(z & np.uint64(1)).astype(np.int64))


def _pack(u: np.ndarray) -> bytes:
    top = int(u.max()) if u.size else 0
    for width, dtype in _WIDTHS:
        if top < (1 << (8 * width)):
            shuffled = u.astype(dtype).view(np.uint8).reshape(-1, width).T.tobytes()
            return bytes([width]) + shuffled
    raise AssertionError("unreachable")


def _unpack(buf: memoryview, n: int) -> tuple[np.ndarray, memoryview]:
    width = buf[0]
    dtype = dict(_WIDTHS)[width]
    size = n * width
    raw = np.frombuffer(buf[1 : 1 + size], dtype=np.uint8).reshape(width, n).T.copy()
    return raw.view(dtype).reshape(n).astype(np.uint64), buf[1 + size :]


def _decimal_exponent(values: np.ndarray) -> int | None:
    """Smallest k with every value == round(value * 10**k) / 10**k, or None."""
    if not np.all(np.abs(values) < 2**52) or np.any((values == 0) & np.signbit(values)):
        return None  # too large for exact integers, or a -0.0 whose sign must survive
    for k in range(10):
        scale = 10.0**k
        scaled = np.round(values * scale)
        if np.all(np.abs(scaled) < 2**53) and np.array_equal(scaled / scale, values):
            return k
    return None


def encode(ts: np.ndarray, values: np.ndarray) -> bytes:
    """Encode sorted int64 millisecond timestamps and float64 values into one blob."""
    ts = np.asarray(ts, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    n = ts.size
    dod = np.diff(np.diff(ts, prepend=ts[:1]), prepend=0) if n else ts
    k = _decimal_exponent(values)
    if k is None:
        bits = values.view(np.uint64)
        stream = bits ^ np.concatenate(([np.uint64(0)], bits[:-1])) if n else bits
        mode = _FLOAT
    else:
        mant = np.round(values * 10.0**k).astype(np.int64)
        stream = _zigzag(np.diff(mant, prepend=0))
        mode = k
    body = _pack(_zigzag(dod)) + _pack(stream)
    return _HEADER.pack(_VERSION, mode, n, int(ts[0]) if n else 0) + zlib.compress(body, 6)


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode`: (int64 timestamps, float64 values)."""
    version, mode, n, first = _HEADER.unpack_from(blob)
    if version != _VERSION:
        raise ValueError(f"unknown chunk version {version}")
    body = memoryview(zlib.decompress(blob[_HEADER.size :]))
    dod_z, rest = _unpack(body, n)
    stream, _ = _unpack(rest, n)
    deltas = np.cumsum(_unzigzag(dod_z))
    ts = first + np.cumsum(deltas) - deltas[0] if n else np.zeros(0, np.int64)
    if mode == _FLOAT:
        values = np.bitwise_xor.accumulate(stream).view(np.float64)
    else:
        values = np.cumsum(_unzigzag(stream)).astype(np.float64) / 10.0**mode
    return ts.astype(np.int64), values
