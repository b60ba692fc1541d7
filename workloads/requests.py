"""Request and job arrival processes, and the columnar request batch the engine consumes.

Two ways to draw a homogeneous Poisson process on ``[t0, t1)``, both from a generator the
caller owns:

* :func:`poisson_arrivals` — vectorised: a Poisson count, then sorted uniforms. The engine
  uses it for inference requests, one serving window at a time.
* :func:`sequential_arrivals` — cumulative exponential gaps. Slower per event but
  *prefix-stable*: extending ``t1`` only appends times, the earlier ones are unchanged. The
  training-job generator uses it so a longer horizon keeps the same first jobs.

:class:`RequestArrays` is a batch of requests (arrival time, prompt and output tokens) as
numpy arrays, produced by :func:`sample_requests` for a synthetic service and by the trace
readers for replayed traces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workloads.spec import InferenceServiceSpec

__all__ = ["RequestArrays", "poisson_arrivals", "sample_requests", "sequential_arrivals"]


_CHUNK = 256  # exponential gaps drawn per block; part of the stream's definition, keep fixed


def _check_window(rate_per_s: float, t0: float, t1: float) -> None:
    if not rate_per_s >= 0.0 or not np.isfinite(rate_per_s):
        raise ValueError(f"rate_per_s must be a finite number >= 0, got {rate_per_s}")
    if not t1 >= t0:
        raise ValueError(f"window end t1 ({t1}) must be >= start t0 ({t0})")


def poisson_arrivals(rng: np.random.Generator, rate_per_s: float, t0: float,
                     t1: float) -> np.ndarray:
    """Sorted arrival times (s, float64) of a Poisson process of ``rate_per_s`` on ``[t0, t1)``.

    Draws ``N ~ Poisson(rate_per_s · (t1 − t0))`` then ``N`` sorted uniforms on the window
    (given ``N``, Poisson arrival times are i.i.d. uniform). Two draws from ``rng`` per call.
    """
    _check_window(rate_per_s, t0, t1)
    n = int(rng.poisson(rate_per_s * (t1 - t0)))
    times = np.sort(rng.uniform(t0, t1, size=n))
    # uniform() can round up to t1 when t1 - t0 is tiny relative to t0; keep the half-open window.
    return times[times < t1] if n and times[-1] >= t1 else times


def sequential_arrivals(rng: np.random.Generator, rate_per_s: float, t0: float, t1: float,
                        max_count: int | None = None) -> np.ndarray:
    """Arrival times (s) on ``[t0, t1)`` from cumulative exponential gaps of mean ``1/rate``.

    At most ``max_count`` times are returned. The ``k``-th time depends only on the first
    ``k`` exponential draws, so the result for a longer window (or larger ``max_count``)
    starts with the result for a shorter one (bit for bit: gaps are drawn and summed in
    fixed blocks of :data:`_CHUNK`, whatever the window).
    """
    _check_window(rate_per_s, t0, t1)
    limit = np.inf if max_count is None else max_count
    if rate_per_s == 0.0 or t1 == t0 or limit <= 0:
        return np.empty(0, dtype=np.float64)
    parts: list[np.ndarray] = []
    count, t = 0, float(t0)
    while count < limit:
        times = t + np.cumsum(rng.exponential(1.0 / rate_per_s, size=_CHUNK))
        inside = times[times < t1]
        parts.append(inside)
        count += inside.size
        if inside.size < _CHUNK:
            break
        t = float(times[-1])
    out = np.concatenate(parts)
    return out if max_count is None else out[:max_count]


@dataclass(frozen=True, eq=False)
class RequestArrays:
    """A batch of inference requests, one array element per request, sorted by arrival.

    ``times_s`` are arrival times in seconds (float64), ``prompt_tokens`` and
    ``output_tokens`` token counts (int64), all the same length.
    """

    times_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray

    def __post_init__(self) -> None:
        n = self.times_s.shape
        if self.prompt_tokens.shape != n or self.output_tokens.shape != n or len(n) != 1:
            raise ValueError("times_s, prompt_tokens and output_tokens must be 1-D arrays of "
                             f"one length, got shapes {self.times_s.shape}, "
                             f"{self.prompt_tokens.shape}, {self.output_tokens.shape}")
        if n[0] > 1 and np.any(np.diff(self.times_s) < 0):
            raise ValueError("times_s must be sorted (non-decreasing)")

    def __len__(self) -> int:
        return int(self.times_s.shape[0])

    def window(self, t0: float, t1: float) -> RequestArrays:
        """The requests that arrive in ``[t0, t1)`` (a view, no copy)."""
        lo, hi = np.searchsorted(self.times_s, [t0, t1], side="left")
        return RequestArrays(self.times_s[lo:hi], self.prompt_tokens[lo:hi],
                             self.output_tokens[lo:hi])

    @classmethod
    def empty(cls) -> RequestArrays:
        """A batch with no requests."""
        return cls(np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64),
                   np.empty(0, dtype=np.int64))


def sample_requests(rng: np.random.Generator, service: InferenceServiceSpec, t0: float,
                    t1: float) -> RequestArrays:
    """Synthetic requests of ``service`` arriving in ``[t0, t1)``.

    Poisson arrivals at ``service.rate_per_s``, then prompt lengths, then output lengths,
    all from ``rng`` in that fixed order.
    """
    times = poisson_arrivals(rng, service.rate_per_s, t0, t1)
    prompt = service.prompt_tokens.sample(rng, times.size)
    output = service.output_tokens.sample(rng, times.size)
    return RequestArrays(times, prompt, output)
