"""Aggregated request statistics: percentiles within 1% of the exact values, mergeable."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.request_stats import RequestStats
from tests.conftest import run_scenario, small_scenario


def _batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    ttft = rng.lognormal(-2.0, 1.0, n)
    tpot = rng.lognormal(-4.0, 0.3, n)
    wait = np.where(rng.random(n) < 0.5, 0.0, rng.exponential(0.2, n))
    # at least two output tokens: a one-token request has no TPOT (NaN)
    return wait, ttft, tpot, ttft + 200 * tpot, rng.integers(1, 4000, n), rng.integers(2, 500, n)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_within_one_percent_of_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts = [_batch(rng, int(rng.integers(1, 5000))) for _ in range(40)]
    merged = RequestStats()
    for p in parts:
        window = RequestStats()
        window.add(*p, slo_ttft_s=0.5, slo_tpot_s=0.03)
        merged.merge(window)
    exact = {name: np.concatenate([p[i] for p in parts])
             for i, name in enumerate(("wait_s", "ttft_s", "tpot_s", "e2e_s"))}
    for name in ("ttft_s", "tpot_s", "e2e_s"):
        got = merged.stats(name)
        assert got["mean"] == pytest.approx(exact[name].mean(), rel=1e-12)
        for q, key in ((50, "p50"), (99, "p99")):
            want = np.percentile(exact[name], q)
            assert abs(got[key] / want - 1) <= 0.01, (name, key, got[key], want)
    ttft, tpot = exact["ttft_s"], exact["tpot_s"]
    assert merged.slo_met == int(np.count_nonzero((ttft <= 0.5) & (tpot <= 0.03)))
    assert merged.count == ttft.size


def test_unreachable_requests_are_counted_not_averaged() -> None:
    st = RequestStats()
    nan = np.full(3, np.nan)
    st.add(nan, nan, nan, nan, np.ones(3), np.ones(3), 1.0, 1.0)
    st.add(np.zeros(2), np.full(2, 0.1), np.full(2, 0.01), np.full(2, 1.0), np.ones(2),
           np.ones(2), 1.0, 1.0)
    assert st.count == 5 and st.unreachable == 3 and st.slo_met == 2
    assert st.stats("ttft_s")["n"] == 2 and st.stats("ttft_s")["mean"] == pytest.approx(0.1)


def test_summary_without_request_rows_matches_exact_within_one_percent() -> None:
    exact = run_scenario(small_scenario(duration="6h"))
    lean = run_scenario(small_scenario(duration="6h", output={"requests": False}))
    assert not lean.log.requests and lean.log.request_stats  # no rows kept
    from emulator.results import collect

    a = collect(exact).summary["requests"]
    b = collect(lean, include_requests=False).summary["requests"]
    assert a["count"] == b["count"] and a["slo_attainment"] == b["slo_attainment"]
    for name in ("ttft_s", "tpot_s"):
        assert b[name]["mean"] == pytest.approx(a[name]["mean"], rel=1e-9)
        for key in ("p50", "p99"):
            assert abs(b[name][key] / a[name][key] - 1) <= 0.01
