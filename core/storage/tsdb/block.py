"""Head blocks: one written batch as three packed little-endian arrays (series id, ts, value),
zstd-compressed (level 1) when that makes it smaller.

Writing a batch costs one row, whatever its size; this is what keeps ingest near the speed of a
bare ``executemany`` while still validating every sample. Uncompressed, a sample takes 20 bytes
until compaction moves it into a chunk (about 2-4 bytes): on PostgreSQL the space of deleted
head rows stays with the table after a plain VACUUM, so the head's high-water mark was most of
the database after a backfill (12.6 of 17.2 MB for 3 days of 100 series). zstd at level 1 costs
about 50 ns a sample to write and 30 ns to read back (the head cache keeps decoded blocks). A
blob of exactly ``n * BYTES_PER_SAMPLE`` bytes is stored plain (blocks written before the
compression, or data zstd could not shrink); any other length is a zstd frame.
"""

from __future__ import annotations

import cramjam
import numpy as np

_SID, _TS, _VAL = np.dtype("<i4"), np.dtype("<i8"), np.dtype("<f8")
BYTES_PER_SAMPLE = _SID.itemsize + _TS.itemsize + _VAL.itemsize
_LEVEL = 1


def pack(sids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> bytes:
    plain = sids.astype(_SID).tobytes() + ts.astype(_TS).tobytes() + values.astype(_VAL).tobytes()
    small = bytes(cramjam.zstd.compress(plain, level=_LEVEL))
    return small if len(small) < len(plain) else plain


def unpack(blob: bytes, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = n * BYTES_PER_SAMPLE
    data: bytes | np.ndarray = blob
    if len(blob) != size:
        out = np.empty(size, np.uint8)
        try:
            got = cramjam.zstd.decompress_into(bytes(blob), out.data)
        except cramjam.DecompressionError as exc:
            raise ValueError(
                f"head block of {n} samples: {len(blob)} bytes that are not zstd ({exc})"
            ) from None
        if got != size:
            raise ValueError(f"head block holds {got} bytes once decompressed, expected {size}")
        out.setflags(write=False)  # as arrays over bytes are: readers share them (head cache)
        data = out
    a, b = n * _SID.itemsize, n * (_SID.itemsize + _TS.itemsize)
    sids = np.frombuffer(data, _SID, n, 0).astype(np.int64)
    ts = np.frombuffer(data, _TS, n, a)
    values = np.frombuffer(data, _VAL, n, b)
    return sids, ts, values
