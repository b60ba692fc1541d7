"""Token-length samplers: statistics over large samples, fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest

from workloads.distributions import (
    ExponentialTokens,
    FixedTokens,
    LognormalTokens,
    UniformTokens,
)

N = 200_000


def rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_lognormal_median_and_p90() -> None:
    d = LognormalTokens(median=1020, p90=2735)
    x = d.sample(rng(), N)
    # With 200k draws the sample quantiles' relative standard error is well under 1%.
    assert np.median(x) == pytest.approx(1020, rel=0.02)
    assert np.quantile(x, 0.9) == pytest.approx(2735, rel=0.02)
    assert x.mean() == pytest.approx(d.mean(), rel=0.02)
    assert x.dtype == np.int64 and x.min() >= 1


def test_lognormal_clipped_to_max() -> None:
    x = LognormalTokens(median=100, p90=1000, max=300).sample(rng(), 10_000)
    assert x.max() == 300 and x.min() >= 1


def test_geometric_mean() -> None:
    d = ExponentialTokens(mean=50)
    x = d.sample(rng(), N)
    # sd of a geometric with mean 50 is ~49.5: standard error of the mean ~0.11.
    assert x.mean() == pytest.approx(50, abs=0.5)
    assert x.min() >= 1


def test_uniform_bounds_and_mean() -> None:
    x = UniformTokens(low=10, high=20).sample(rng(), N)
    assert x.min() == 10 and x.max() == 20
    assert x.mean() == pytest.approx(15, abs=0.05)


def test_fixed() -> None:
    assert FixedTokens(value=64).sample(rng(), 5).tolist() == [64] * 5


def test_same_seed_same_draws() -> None:
    d = LognormalTokens(median=129, p90=424)
    assert np.array_equal(d.sample(rng(3), 100), d.sample(rng(3), 100))
    assert not np.array_equal(d.sample(rng(3), 100), d.sample(rng(4), 100))
