"""Head blocks: one written batch as three packed little-endian arrays (series id, ts, value).

Writing a batch costs one row, whatever its size; this is what keeps ingest near the speed of a
bare ``executemany`` while still validating every sample.
"""

from __future__ import annotations

import numpy as np

_SID, _TS, _VAL = np.dtype("<i4"), np.dtype("<i8"), np.dtype("<f8")
BYTES_PER_SAMPLE = _SID.itemsize + _TS.itemsize + _VAL.itemsize


def pack(sids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> bytes:
    return sids.astype(_SID).tobytes() + ts.astype(_TS).tobytes() + values.astype(_VAL).tobytes()


def unpack(blob: bytes, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(blob) != n * BYTES_PER_SAMPLE:
        raise ValueError(f"head block holds {len(blob)} bytes, expected {n * BYTES_PER_SAMPLE}")
    a, b = n * _SID.itemsize, n * (_SID.itemsize + _TS.itemsize)
    sids = np.frombuffer(blob, _SID, n, 0).astype(np.int64)
    ts = np.frombuffer(blob, _TS, n, a)
    values = np.frombuffer(blob, _VAL, n, b)
    return sids, ts, values
