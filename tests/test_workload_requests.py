"""Arrival processes and request batches."""

from __future__ import annotations

import numpy as np
import pytest

from workloads.distributions import FixedTokens, LognormalTokens
from workloads.requests import (
    RequestArrays,
    poisson_arrivals,
    sample_requests,
    sequential_arrivals,
)
from workloads.spec import InferenceServiceSpec


def test_poisson_arrivals_sorted_in_window() -> None:
    t = poisson_arrivals(np.random.default_rng(1), 5.0, 100.0, 200.0)
    assert t.dtype == np.float64
    assert np.all(np.diff(t) >= 0)
    assert t.min() >= 100.0 and t.max() < 200.0


def test_poisson_count_mean_over_long_horizon() -> None:
    # Expected count 2e5; Poisson sd = sqrt(2e5) ~ 447, so 1% (2000) is > 4 sd.
    t = poisson_arrivals(np.random.default_rng(2), 2.0, 0.0, 1e5)
    assert t.size == pytest.approx(2e5, rel=0.01)


def test_poisson_interarrivals_are_exponential() -> None:
    t = poisson_arrivals(np.random.default_rng(3), 10.0, 0.0, 1e4)
    gaps = np.diff(t)
    assert gaps.mean() == pytest.approx(0.1, rel=0.02)
    assert gaps.std() == pytest.approx(0.1, rel=0.03)  # exponential: sd == mean


def test_sequential_count_mean_and_prefix_stability() -> None:
    long = sequential_arrivals(np.random.default_rng(4), 2.0, 0.0, 1e5)
    assert long.size == pytest.approx(2e5, rel=0.01)
    short = sequential_arrivals(np.random.default_rng(4), 2.0, 0.0, 5e4)
    assert np.array_equal(short, long[: short.size])
    assert long[short.size] >= 5e4
    capped = sequential_arrivals(np.random.default_rng(4), 2.0, 0.0, 1e5, max_count=10)
    assert np.array_equal(capped, long[:10])


def test_empty_and_invalid_windows() -> None:
    g = np.random.default_rng(5)
    assert poisson_arrivals(g, 0.0, 0.0, 10.0).size == 0
    assert poisson_arrivals(g, 3.0, 5.0, 5.0).size == 0
    assert sequential_arrivals(g, 3.0, 5.0, 5.0).size == 0
    with pytest.raises(ValueError, match="t1"):
        poisson_arrivals(g, 1.0, 10.0, 5.0)
    with pytest.raises(ValueError, match="rate"):
        sequential_arrivals(g, -1.0, 0.0, 5.0)


def _service(rate: float) -> InferenceServiceSpec:
    return InferenceServiceSpec(
        service_id=0, tenant="t", name="chat", model="llama3-8b", start_s=0.0, replicas=1,
        gpus_per_replica=1, rate_per_s=rate,
        prompt_tokens=LognormalTokens(median=1020, p90=2735),
        output_tokens=FixedTokens(value=7), slo_ttft_s=2.0, slo_tpot_s=0.1, origin="here")


def test_sample_requests_is_reproducible() -> None:
    a = sample_requests(np.random.default_rng(6), _service(20.0), 0.0, 60.0)
    b = sample_requests(np.random.default_rng(6), _service(20.0), 0.0, 60.0)
    assert len(a) > 0
    assert np.array_equal(a.times_s, b.times_s)
    assert np.array_equal(a.prompt_tokens, b.prompt_tokens)
    assert set(a.output_tokens.tolist()) == {7}


def test_request_arrays_window_and_validation() -> None:
    r = RequestArrays(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1, 2, 3, 4]),
                      np.array([5, 6, 7, 8]))
    w = r.window(1.0, 3.0)
    assert w.times_s.tolist() == [1.0, 2.0] and w.prompt_tokens.tolist() == [2, 3]
    assert len(RequestArrays.empty()) == 0
    with pytest.raises(ValueError, match="sorted"):
        RequestArrays(np.array([1.0, 0.0]), np.array([1, 1]), np.array([1, 1]))
    with pytest.raises(ValueError, match="one length"):
        RequestArrays(np.array([1.0]), np.array([1, 1]), np.array([1]))
