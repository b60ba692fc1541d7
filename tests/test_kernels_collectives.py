"""Alpha-beta collective cost models against hand-computed values and their limits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cupy_kernels.collectives import (
    allreduce_time,
    p2p_time,
    ring_allreduce_time,
    tree_allreduce_time,
)

GB = 1e9


def test_ring_matches_formula() -> None:
    # 8 ranks, 1 GB at 100 GB/s, 5 us: 14·5e-6 + 14/8 · 0.01 s
    t = ring_allreduce_time(np, 1 * GB, 8, 100 * GB, 5e-6)
    assert t == pytest.approx(14 * 5e-6 + 1.75 * 0.01, rel=1e-12)


def test_tree_matches_formula() -> None:
    t = tree_allreduce_time(np, 1 * GB, 8, 100 * GB, 5e-6)
    assert t == pytest.approx(2 * 3 * 5e-6 + 2 * 0.01, rel=1e-12)


@pytest.mark.parametrize("fn", [ring_allreduce_time, tree_allreduce_time, allreduce_time])
def test_single_rank_costs_nothing(fn: object) -> None:
    t = fn(np, np.array([1e9, 1e9, 1e9]), np.array([0, 1, 2]), 1e11, 1e-5)  # type: ignore[operator]
    assert t[0] == 0.0 and t[1] == 0.0 and t[2] > 0.0


def test_allreduce_picks_tree_for_small_messages_and_ring_for_large() -> None:
    n, bw, alpha = 1024, 50 * GB, 10e-6
    small, large = 1e3, 10 * GB
    assert allreduce_time(np, small, n, bw, alpha) == tree_allreduce_time(np, small, n, bw, alpha)
    # with few ranks the ring's 2(n-1)/n bandwidth term beats the tree's 2
    assert allreduce_time(np, large, 8, bw, alpha) == ring_allreduce_time(np, large, 8, bw, alpha)
    assert tree_allreduce_time(np, small, n, bw, alpha) < ring_allreduce_time(
        np, small, n, bw, alpha
    )


def test_vectorised_rows_equal_scalar_calls() -> None:
    nb = np.array([1e6, 1e8, 1e10])
    n = np.array([2, 64, 16384])
    bw = np.array([450e9, 50e9, 50e9])
    got = allreduce_time(np, nb, n, bw, 5e-6)
    want = [float(allreduce_time(np, nb[i], n[i], bw[i], 5e-6)) for i in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert got.shape == (3,)


def test_p2p() -> None:
    assert p2p_time(np, 2e9, 50e9, 1e-5) == pytest.approx(1e-5 + 0.04)


@given(
    nbytes=st.floats(1.0, 1e12),
    n=st.integers(2, 100_000),
    bw=st.floats(1e8, 1e13),
    alpha=st.floats(0.0, 1e-3),
)
def test_allreduce_properties(nbytes: float, n: int, bw: float, alpha: float) -> None:
    best = allreduce_time(np, nbytes, n, bw, alpha)
    assert best <= ring_allreduce_time(np, nbytes, n, bw, alpha)
    assert best <= tree_allreduce_time(np, nbytes, n, bw, alpha)
    # never faster than moving the bytes once at full bandwidth, and monotone in size
    assert best >= nbytes / bw * (2 * (n - 1) / n) * (1 - 1e-12)
    assert allreduce_time(np, 2 * nbytes, n, bw, alpha) > best
