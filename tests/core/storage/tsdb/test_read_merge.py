"""Chunk samples and head samples are laid end to end by series, chunks first, the head in
write order: exactly what a stable sort of both together by series gives (small reads take
that sort, large ones a merge run by run; both are checked)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.storage.tsdb import read_series
from core.storage.tsdb.read_series import _merged

SIDS = st.lists(st.integers(0, 6), max_size=40)


@settings(max_examples=300, deadline=None)
@given(SIDS, SIDS, st.sampled_from([0, read_series._SMALL]), st.sampled_from([0, read_series._FEW_SERIES]))
def test_merged_is_a_stable_sort_of_chunks_then_head(
    chunk_sids: list[int], head_sids: list[int], small: int, few: int
) -> None:
    c_sid = np.sort(np.asarray(chunk_sids, np.int64))
    h_sid = np.asarray(head_sids, np.int64)
    chunk = (c_sid, np.arange(c_sid.size, dtype=np.int64), np.arange(c_sid.size) + 0.5)
    head = (h_sid, 1000 + np.arange(h_sid.size, dtype=np.int64), 1000 + np.arange(h_sid.size) + 0.5)
    saved = read_series._SMALL, read_series._FEW_SERIES
    read_series._SMALL, read_series._FEW_SERIES = small, few  # 0: run by run; 0: by scatters
    try:
        got = _merged(chunk, head)
    finally:
        read_series._SMALL, read_series._FEW_SERIES = saved
    both = [np.concatenate((a, b)) for a, b in zip(chunk, head, strict=True)]
    order = np.argsort(both[0], kind="stable")
    for g, want in zip(got, both, strict=True):
        assert g.tolist() == want[order].tolist()
