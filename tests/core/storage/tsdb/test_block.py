"""Head blocks: zstd-compressed when smaller, plain otherwise (and as written before), bit for bit."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.storage.tsdb.block import BYTES_PER_SAMPLE, pack, unpack

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


@given(
    hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(0, 2**31 - 1)),
    st.data(),
)
def test_a_block_reads_back_bit_for_bit(sids: np.ndarray, data: st.DataObject) -> None:
    n = sids.size
    ts = data.draw(hnp.arrays(np.int64, n, elements=st.integers(-(2**62), 2**62)))
    values = data.draw(hnp.arrays(np.float64, n, elements=st.floats(allow_nan=True, allow_infinity=True)))
    values[: n // 3] = STALE  # Prometheus' stale marker is one NaN among others: its bits must survive
    got = unpack(pack(sids, ts, values), n)
    assert got[0].tolist() == sids.tolist() and got[1].tolist() == ts.tolist()
    assert got[2].view(np.uint64).tolist() == values.view(np.uint64).tolist()


def test_regular_data_is_compressed_and_blocks_written_plain_still_read() -> None:
    n = 10_000
    sids, ts, values = np.arange(n) % 100, np.arange(n) * 150, np.round(np.sin(np.arange(n)), 2)
    blob = pack(sids, ts, values)
    assert len(blob) < n * BYTES_PER_SAMPLE / 4
    plain = sids.astype("<i4").tobytes() + ts.astype("<i8").tobytes() + values.astype("<f8").tobytes()
    assert all(a.tolist() == b.tolist() for a, b in zip(unpack(plain, n), unpack(blob, n), strict=True))


def test_a_damaged_block_is_refused_with_its_size() -> None:
    with pytest.raises(ValueError, match="33 bytes that are not zstd"):
        unpack(b"x" * 33, 5)
    blob = pack(np.arange(1000), np.arange(1000), np.zeros(1000))
    with pytest.raises(ValueError, match="expected 20020"):
        unpack(blob, 1001)
