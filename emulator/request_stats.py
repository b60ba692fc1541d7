"""Mergeable streaming statistics of inference requests (count, sums, log-bucket histograms).

When per-request rows are not kept (``output.requests: false``), each serving window's
requests are reduced into a :class:`RequestStats` per service, so memory no longer grows
with the number of requests. Means are exact (from sums); percentiles come from a
logarithmic histogram whose buckets are ``GROWTH`` wide in ratio: the value reported for
a bucket is its geometric centre, so any percentile is within ``(GROWTH - 1) / 2 ≈ 0.5%``
of a value inside that bucket. Two :class:`RequestStats` merge by adding counts, so
per-window, per-service and per-tenant figures come from one mechanism.

Values are seconds. A request whose origin was cut off from the site, or that had no
replica (NaN queue wait), is counted in ``unreachable``; one still queued or in prefill
when the run ended (NaN TTFT, a wait) in ``unfinished``. Both count as SLO misses and are
left out of the latency figures, as the per-request tables do.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

__all__ = ["GROWTH", "LogHistogram", "RequestStats", "slo_met"]

GROWTH = 1.01
"""Ratio between consecutive histogram bucket edges (relative bucket width 1%)."""

_LOG_GROWTH = math.log(GROWTH)
_MIN_VALUE = 1e-9
"""Smallest positive value told apart (s); zero and smaller values share bucket 0."""
_OFFSET = math.ceil(-math.log(_MIN_VALUE) / _LOG_GROWTH) + 1


@dataclass
class LogHistogram:
    """Counts of positive values in logarithmic buckets (a sparse dict: bucket → count)."""

    counts: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def bucket_of(values: np.ndarray) -> np.ndarray:
        """Bucket index of each value (values ≤ ``_MIN_VALUE`` → 0)."""
        v = np.maximum(np.asarray(values, dtype=np.float64), _MIN_VALUE)  # a new array
        np.log(v, out=v)  # the same operations as floor(log(v) / ln GROWTH), in place
        v /= _LOG_GROWTH
        np.floor(v, out=v)
        buckets = v.astype(np.int64)
        buckets += _OFFSET
        return buckets

    @staticmethod
    def value_of(bucket: int) -> float:
        """The geometric centre of ``bucket`` (0 for the zero bucket)."""
        if bucket <= 0:
            return 0.0
        return math.exp((bucket - _OFFSET + 0.5) * _LOG_GROWTH)

    def add(self, values: np.ndarray) -> None:
        """Count finite ``values`` (NaN and inf are left out)."""
        v = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(v)
        if not finite.all():
            v = v[finite]
        if v.size == 0:
            return
        # counts per bucket in bucket order (as np.unique gives them), by one bincount
        # over the span of buckets present (a few hundred: 1% buckets over a decade each)
        buckets = self.bucket_of(v)
        low = int(buckets.min())
        buckets -= low
        per_bucket = np.bincount(buckets)
        present = per_bucket.nonzero()[0]
        self._add_counts((present + low).tolist(), per_bucket[present].tolist())

    def merge(self, other: LogHistogram) -> None:
        """Add ``other``'s counts to this histogram."""
        self._add_counts(list(other.counts), list(other.counts.values()))

    def _add_counts(self, buckets: list[int], n: list[int]) -> None:
        """Add ``n[i]`` values to bucket ``buckets[i]`` (distinct buckets); new buckets are
        appended in the order given, as adding them one by one would."""
        counts = self.counts
        if not counts:
            counts.update(zip(buckets, n, strict=True))
            return
        get = counts.get
        counts.update(zip(buckets, map(operator.add, map(get, buckets, repeat(0)), n),
                          strict=True))

    @property
    def n(self) -> int:
        """Values counted."""
        return sum(self.counts.values())

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) as numpy's default (linear) rule would pick it, to
        within one bucket; ``None`` when empty."""
        n = self.n
        if n == 0:
            return None
        keys = sorted(self.counts)
        rank = q * (n - 1)  # the 0-based position numpy interpolates at
        lo, hi = math.floor(rank), math.ceil(rank)
        frac = rank - lo
        seen = 0
        v_lo = v_hi = None
        for b in keys:
            c = self.counts[b]
            if v_lo is None and lo < seen + c:
                v_lo = self.value_of(b)
            if hi < seen + c:
                v_hi = self.value_of(b)
                break
            seen += c
        assert v_lo is not None and v_hi is not None
        return v_lo + (v_hi - v_lo) * frac


@dataclass
class RequestStats:
    """Aggregated figures of a set of requests (one service's window, or any merge)."""

    count: int = 0
    unreachable: int = 0  # no route or no replica (no wait, no first token): NaN wait
    # queued or in prefill when the run ended: no first token by then (the summary's
    # ``unfinished`` also counts those still decoding: count - unreachable - counted e2e)
    unfinished: int = 0
    slo_met: int = 0
    prompt_tokens: int = 0
    output_tokens: int = 0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("wait_s", "ttft_s", "tpot_s", "e2e_s"), 0.0))
    counted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("wait_s", "ttft_s", "tpot_s", "e2e_s"), 0))  # values that are not NaN
    hists: dict[str, LogHistogram] = field(default_factory=lambda: {
        k: LogHistogram() for k in ("wait_s", "ttft_s", "tpot_s", "e2e_s")})

    def add(self, wait_s: np.ndarray, ttft_s: np.ndarray, tpot_s: np.ndarray,
            e2e_s: np.ndarray, prompt_tokens: np.ndarray, output_tokens: np.ndarray,
            slo_ttft_s: float, slo_tpot_s: float) -> None:
        """Reduce one batch of requests (arrays of equal length, seconds and tokens)."""
        n = int(ttft_s.size)
        if n == 0:
            return
        self.count += n
        cut = np.isnan(wait_s)
        self.unreachable += int(np.count_nonzero(cut))
        self.unfinished += int(np.count_nonzero(np.isnan(ttft_s) & ~cut))
        self.slo_met += int(np.count_nonzero(slo_met(ttft_s, tpot_s, output_tokens,
                                                     slo_ttft_s, slo_tpot_s)))
        self.prompt_tokens += int(np.sum(prompt_tokens))
        self.output_tokens += int(np.sum(output_tokens))
        for name, values in (("wait_s", wait_s), ("ttft_s", ttft_s), ("tpot_s", tpot_s),
                             ("e2e_s", e2e_s)):
            known = _known(values)  # NaN: unreachable, or not done by the end
            self.sums[name] += float(known.sum())
            self.counted[name] += int(known.size)
            self.hists[name].add(known)

    def merge(self, other: RequestStats) -> None:
        """Add ``other`` into this one."""
        self.count += other.count
        self.unreachable += other.unreachable
        self.unfinished += other.unfinished
        self.slo_met += other.slo_met
        self.prompt_tokens += other.prompt_tokens
        self.output_tokens += other.output_tokens
        for name in self.sums:
            self.sums[name] += other.sums[name]
            self.counted[name] += other.counted[name]
            self.hists[name].merge(other.hists[name])

    def stats(self, name: str) -> dict[str, float | None]:
        """Mean (exact), p50 and p99 (histogram) and count of ``name`` (e.g. ``ttft_s``)."""
        n = self.counted[name]
        if n == 0:
            return {"mean": None, "p50": None, "p99": None, "n": 0}
        h = self.hists[name]
        return {"mean": self.sums[name] / n, "p50": h.quantile(0.5), "p99": h.quantile(0.99),
                "n": n}

    def to_bytes(self) -> bytes:
        """A canonical encoding (for the event log's digest)."""
        head = np.array([self.count, self.unreachable, self.unfinished, self.slo_met,
                         self.prompt_tokens, self.output_tokens], dtype=np.int64).tobytes()
        body = np.array([self.sums[k] for k in sorted(self.sums)], dtype=np.float64).tobytes()
        body += np.array([self.counted[k] for k in sorted(self.counted)],
                         dtype=np.int64).tobytes()
        hist = b"".join(np.array(sorted(self.hists[k].counts.items()), dtype=np.int64).tobytes()
                        for k in sorted(self.hists))
        return head + body + hist


def slo_met(ttft_s: np.ndarray, tpot_s: np.ndarray, output_tokens: np.ndarray,
            slo_ttft_s: float | np.ndarray, slo_tpot_s: float | np.ndarray) -> np.ndarray:
    """Which requests met their SLO (bool per request): a first token (TTFT, s) within
    ``slo_ttft_s`` and a time per output token after it (TPOT, s) within ``slo_tpot_s``.
    A one-token request has no TPOT (NaN: no token after the first), so only its TTFT
    counts; an unfinished or unreachable one (NaN TTFT) never meets it."""
    tpot_ok = (tpot_s <= slo_tpot_s) | (output_tokens <= 1)
    return (ttft_s <= slo_ttft_s) & tpot_ok


def _known(values: np.ndarray) -> np.ndarray:
    """``values`` without NaN; ``values`` itself when it has none and is a contiguous
    float64 vector, since a copy of it would hold the same numbers in the same layout (and
    so sum to the same float)."""
    nan = np.isnan(values)
    if (not nan.any() and values.dtype == np.float64 and values.ndim == 1
            and values.flags.c_contiguous):
        return values
    return values[~nan]
