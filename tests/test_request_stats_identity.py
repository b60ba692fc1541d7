"""Request statistics reduce to the same numbers as the plain per-bucket reduction.

:class:`~emulator.request_stats.RequestStats` counts histogram buckets with one bincount
and skips the copy of batches without NaN. The reference below is the plain reduction
(``np.unique`` per histogram, a masked copy per column, one dict update per bucket); for
any batches, with NaN, infinities, zeros, float32 and strided columns, the reduced and
merged statistics must be identical to it: the digest bytes, and the buckets in the same
order.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.request_stats import _LOG_GROWTH, _MIN_VALUE, _OFFSET, LogHistogram, RequestStats

_NAMES = ("wait_s", "ttft_s", "tpot_s", "e2e_s")


def _hist_add(counts: dict[int, int], values: np.ndarray) -> None:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return
    buckets = np.floor(np.log(np.maximum(v, _MIN_VALUE)) / _LOG_GROWTH).astype(np.int64) + _OFFSET
    buckets, n = np.unique(buckets, return_counts=True)
    for b, c in zip(buckets.tolist(), n.tolist(), strict=True):
        counts[b] = counts.get(b, 0) + c


def _reference_add(stats: RequestStats, columns: list[np.ndarray], prompt: np.ndarray,
                   output: np.ndarray, slo_ttft_s: float, slo_tpot_s: float) -> None:
    wait_s, ttft_s, tpot_s, _ = columns
    n = int(ttft_s.size)
    if n == 0:
        return
    stats.count += n
    cut = np.isnan(wait_s)
    stats.unreachable += int(np.count_nonzero(cut))
    stats.unfinished += int(np.count_nonzero(np.isnan(ttft_s) & ~cut))
    # a one-token request has no time per token after its first: its TTFT alone counts
    tpot_ok = (tpot_s <= slo_tpot_s) | (output <= 1)
    stats.slo_met += int(np.count_nonzero((ttft_s <= slo_ttft_s) & tpot_ok))
    stats.prompt_tokens += int(np.sum(prompt))
    stats.output_tokens += int(np.sum(output))
    for name, values in zip(_NAMES, columns, strict=True):
        known = values[~np.isnan(values)]
        stats.sums[name] += float(known.sum())
        stats.counted[name] += int(known.size)
        _hist_add(stats.hists[name].counts, known)


def _reference_merge(into: RequestStats, other: RequestStats) -> None:
    for key in ("count", "unreachable", "unfinished", "slo_met", "prompt_tokens",
                "output_tokens"):
        setattr(into, key, getattr(into, key) + getattr(other, key))
    for name in into.sums:
        into.sums[name] += other.sums[name]
        into.counted[name] += other.counted[name]
        counts = into.hists[name].counts
        for b, c in other.hists[name].counts.items():
            counts[b] = counts.get(b, 0) + c


def _column(rng: np.random.Generator, n: int, kind: int) -> np.ndarray:
    """Latencies over several decades, with NaN, inf, zeros or negatives by ``kind``."""
    v = rng.lognormal(rng.uniform(-6, 3), rng.uniform(0.1, 3), 2 * n)
    if kind & 1:
        v[rng.random(2 * n) < 0.2] = np.nan
    if kind & 2:
        v[rng.random(2 * n) < 0.1] = 0.0
    if kind & 4:
        v[rng.random(2 * n) < 0.05] = np.inf
    if kind & 8:
        v[rng.random(2 * n) < 0.05] = -1e-3
    if kind & 16:
        return v[::2]  # strided view
    if kind & 32:
        return v[:n].astype(np.float32)
    return v[:n].copy()


def _same(a: RequestStats, b: RequestStats) -> None:
    assert a.to_bytes() == b.to_bytes()
    assert a.sums == b.sums and a.counted == b.counted
    for name in _NAMES:
        assert list(a.hists[name].counts.items()) == list(b.hists[name].counts.items())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.lists(st.integers(0, 63), min_size=4,
                                                        max_size=4)),
                min_size=1, max_size=6),
       st.integers(0, 2**32 - 1))
def test_reduction_and_merge_equal_the_plain_reduction(
        batches: list[tuple[int, list[int]]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    merged, merged_ref = RequestStats(), RequestStats()
    for n, kinds in batches:
        columns = [_column(rng, n, k) for k in kinds]
        prompt, output = rng.integers(1, 4000, n), rng.integers(1, 500, n)
        window, window_ref = RequestStats(), RequestStats()
        window.add(*columns, prompt, output, 0.5, 0.03)
        _reference_add(window_ref, columns, prompt, output, 0.5, 0.03)
        _same(window, window_ref)
        merged.merge(window)
        _reference_merge(merged_ref, window_ref)
        _same(merged, merged_ref)


def test_histogram_add_and_merge_keep_bucket_order() -> None:
    """New buckets go after the known ones, in ascending order per batch."""
    h = LogHistogram()
    h.add(np.array([2.0, 1.0, 2.0, np.nan, np.inf]))
    h.add(np.array([0.5, 1.0]))
    b1, b2, b05 = (int(LogHistogram.bucket_of(np.array([v]))[0]) for v in (1.0, 2.0, 0.5))
    assert list(h.counts.items()) == [(b1, 2), (b2, 2), (b05, 1)]
    other = LogHistogram({b05: 3, b1 - 7: 1})
    h.merge(other)
    assert list(h.counts.items()) == [(b1, 2), (b2, 2), (b05, 4), (b1 - 7, 1)]
    empty = LogHistogram()
    empty.merge(h)
    assert list(empty.counts.items()) == list(h.counts.items())
